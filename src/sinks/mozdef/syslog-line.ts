import { pythonJson, pythonStr } from "../../util/pyformat.js";
import { formatFrame, type Frame, type FrameOptions } from "../syslog/format.js";
import { SYSLOG_LEVEL, toSeverity } from "./severity.js";
import type { Json } from "../../types.js";

/** json: mozdef_client's line (Python's separators and key order); flat: mozdef_lib's `key: 'value' `. */
export type SyslogStyle = "json" | "flat";
export const STYLES: readonly SyslogStyle[] = ["json", "flat"];

export interface SyslogLineOptions extends Omit<FrameOptions, "bare"> {
  style: SyslogStyle;
  /** To the local socket: logger writes the header, so the line is only `<PRI>` and the message. */
  local: boolean;
}

// mozdef_client's insertion order (Python 3 dicts keep it)
const MOZDEF_CLIENT_ORDER = ["timestamp", "processid", "processname", "hostname", "category", "source", "details", "summary", "tags", "severity"];
// mozdef_lib: the keys it leaves out of the flattened line, and the order its README's example shows
const FLAT_SKIP = new Set(["severity", "hostname", "processid", "timestamp", "processname"]);
const FLAT_ORDER = ["summary", "category", "tags", "details"];

function ordered(event: Json, order: string[]): [string, unknown][] {
  const keys = [...order.filter((k) => k in event), ...Object.keys(event).filter((k) => !order.includes(k))];
  return keys.map((k) => [k, event[k]]);
}

/** The message text: mozdef_client's JSON line or mozdef_lib's `key: 'value' ` flattening. */
export function messageText(event: Json, style: SyslogStyle): string {
  if (style === "json") return pythonJson(Object.fromEntries(ordered(event, MOZDEF_CLIENT_ORDER)));
  let out = "";
  for (const [k, v] of ordered(event, FLAT_ORDER)) {
    if (FLAT_SKIP.has(k) || (k === "source" && v === null)) continue;
    out += `${k}: '${pythonStr(v)}' `;
  }
  return out;
}

/** Syslog severity of the event's MozDef severity (INFO when it has none or an unknown one). */
export function levelOf(event: Json): number {
  try {
    return SYSLOG_LEVEL[toSeverity(event.severity ?? "INFO")];
  } catch {
    return SYSLOG_LEVEL.INFO;
  }
}

/** The syslog line a MozDef event becomes: the one place that does it (sending and --dry-run alike). */
export function syslogLine(event: Json, opts: SyslogLineOptions, now?: Date): Frame {
  return formatFrame(levelOf(event), messageText(event, opts.style), { ...opts, bare: opts.local }, now);
}
