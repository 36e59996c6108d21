/** The library: mozdef_client's message classes, typed, on the same delivery code as the commands. */
export { MozDefMessage, MozDefEvent, MozDefCompliance, MozDefAssetHint, MozDefVulnerability, validateComplianceItem, type MessageContext } from "./sinks/mozdef/messages.js";
export type { DeliverySettings } from "./sinks/mozdef/send.js";
export { resolveFqdn } from "./sinks/mozdef/host.js";
export { MozDefError } from "./sinks/mozdef/error.js";
export {
  SEVERITIES,
  SEVERITY_DEBUG,
  SEVERITY_INFO,
  SEVERITY_NOTICE,
  SEVERITY_WARNING,
  SEVERITY_ERROR,
  SEVERITY_CRITICAL,
  SEVERITY_ALERT,
  SEVERITY_EMERGENCY,
  toSeverity,
  type MozDefSeverity,
} from "./sinks/mozdef/severity.js";
export { DEFAULT_RETRIES, DEFAULT_TIMEOUT_S } from "./delivery/http.js";
export { Deliverer, type DelivererOptions } from "./sinks/mozdef/deliver.js";
export { HttpSender, type HttpSenderOptions } from "./delivery/http.js";
export type { Outcome, Failure, HttpAnswer } from "./delivery/outcome.js";
export type { RuleResult, ComplianceItem, RunnerResult, MigCommand } from "./types.js";
