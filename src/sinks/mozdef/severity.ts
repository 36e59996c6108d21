import { MozDefError } from "./error.js";

export const SEVERITIES = ["DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"] as const;
export type MozDefSeverity = (typeof SEVERITIES)[number];

/** mozdef_client's integer constants (set_severity takes them); setSeverity() takes them too. */
export const SEVERITY_DEBUG = 0;
export const SEVERITY_INFO = 1;
export const SEVERITY_NOTICE = 2;
export const SEVERITY_WARNING = 3;
export const SEVERITY_ERROR = 4;
export const SEVERITY_CRITICAL = 5;
export const SEVERITY_ALERT = 6;
export const SEVERITY_EMERGENCY = 7;

// mozdef_lib's and syslog's short forms
const ALIASES: Record<string, MozDefSeverity> = { CRIT: "CRITICAL", ERR: "ERROR", WARN: "WARNING", EMERG: "EMERGENCY" };

/** Case-insensitive name, alias or mozdef_client's integer constant (DEBUG 0 … EMERGENCY 7). */
export function toSeverity(value: unknown): MozDefSeverity {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value < SEVERITIES.length) return SEVERITIES[value];
  if (typeof value === "string") {
    const up = value.trim().toUpperCase();
    if ((SEVERITIES as readonly string[]).includes(up)) return up as MozDefSeverity;
    if (up in ALIASES) return ALIASES[up];
  }
  throw new MozDefError(`severity must be one of ${SEVERITIES.join(", ")} (got ${JSON.stringify(value)})`);
}

/** Syslog severity number (RFC 5424) of a MozDef severity. */
export const SYSLOG_LEVEL: Record<MozDefSeverity, number> = { EMERGENCY: 0, ALERT: 1, CRITICAL: 2, ERROR: 3, WARNING: 4, NOTICE: 5, INFO: 6, DEBUG: 7 };
