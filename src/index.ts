/** The library: mozdef_client's message classes, typed, on the same delivery code as the commands. */
export { MozDefMessage, MozDefEvent, MozDefCompliance, MozDefAssetHint, MozDefVulnerability, validateComplianceItem, type DeliverySettings } from "./lib/mozdef/messages.js";
export { MozDefError } from "./lib/mozdef/error.js";
export { SEVERITIES, toSeverity, type MozDefSeverity } from "./lib/mozdef/severity.js";
export { Deliverer, type DelivererOptions } from "./lib/mozdef/deliver.js";
export { HttpSender, type HttpSenderOptions, type SendResult } from "./lib/http-sender.js";
export type { RuleResult, ComplianceItem, RunnerResult, MigCommand } from "./types.js";
