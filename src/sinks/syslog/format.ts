import { pythonJson, pythonStr } from "../../util/pyformat.js";
import { SYSLOG_LEVEL, toSeverity } from "../mozdef/severity.js";

export const FACILITIES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};

export type SyslogStyle = "json" | "flat";
export type SyslogFormat = "3164" | "5424";

export interface FormatOptions {
  style: SyslogStyle;
  format: SyslogFormat;
  facility: number;
  ident: string;
  hostname: string;
  /** Largest frame in bytes; longer messages are cut and marked. */
  maxSize: number;
  /** Only `<PRI>` before the message: the local logger adds syslog(3)'s header itself. */
  bare?: boolean;
}

// mozdef_client's insertion order (Python 3 dicts keep it)
const MOZDEF_CLIENT_ORDER = ["timestamp", "processid", "processname", "hostname", "category", "source", "details", "summary", "tags", "severity"];
// mozdef_lib: the keys it leaves out of the flattened line, and the order its README's example shows
const FLAT_SKIP = new Set(["severity", "hostname", "processid", "timestamp", "processname"]);
const FLAT_ORDER = ["summary", "category", "tags", "details"];

function ordered(event: Record<string, unknown>, order: string[]): [string, unknown][] {
  const keys = [...order.filter((k) => k in event), ...Object.keys(event).filter((k) => !order.includes(k))];
  return keys.map((k) => [k, event[k]]);
}

/** The message text: mozdef_client's JSON line or mozdef_lib's `key: 'value' ` flattening. */
export function messageText(event: Record<string, unknown>, style: SyslogStyle): string {
  if (style === "json") return pythonJson(Object.fromEntries(ordered(event, MOZDEF_CLIENT_ORDER)));
  let out = "";
  for (const [k, v] of ordered(event, FLAT_ORDER)) {
    if (FLAT_SKIP.has(k) || (k === "source" && v === null)) continue;
    out += `${k}: '${pythonStr(v)}' `;
  }
  return out;
}

/** Syslog severity of the event's MozDef severity (INFO when it has none or an unknown one). */
export function levelOf(event: Record<string, unknown>): number {
  try {
    return SYSLOG_LEVEL[toSeverity(event.severity ?? "INFO")];
  } catch {
    return SYSLOG_LEVEL.INFO;
  }
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function rfc3164Time(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, " ")} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function rfc5424Time(d: Date): string {
  const off = -d.getTimezoneOffset();
  const p = (n: number, w = 2) => String(Math.abs(n)).padStart(w, "0");
  const zone = off === 0 ? "Z" : `${off > 0 ? "+" : "-"}${p(Math.trunc(off / 60))}:${p(off % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}${zone}`;
}

const nil = (s: string, max: number) => (s ? s.replace(/[^\x21-\x7e]/g, "_").slice(0, max) : "-");

export interface Frame {
  text: string;
  /** Bytes cut from the message to respect maxSize (0 when whole). */
  truncatedBytes: number;
}

/** The whole syslog line for one event: `<PRI>` header and message, within maxSize bytes. */
export function formatFrame(event: Record<string, unknown>, opts: FormatOptions, now = new Date()): Frame {
  const pri = opts.facility * 8 + levelOf(event);
  if (opts.bare) {
    // logger writes `Mmm dd hh:mm:ss ident: ` (or the RFC 5424 header) in front
    const frame = fit(`<${pri}>`, messageText(event, opts.style), opts.maxSize - (opts.format === "5424" ? 80 : 18) - opts.ident.length);
    return frame;
  }
  const header =
    opts.format === "5424"
      ? `<${pri}>1 ${rfc5424Time(now)} ${nil(opts.hostname, 255)} ${nil(opts.ident, 48)} ${process.pid} - - `
      : `<${pri}>${rfc3164Time(now)} ${opts.hostname} ${opts.ident}: `;
  return fit(header, messageText(event, opts.style), opts.maxSize);
}

/** Cuts the message on a UTF-8 character boundary and marks the cut, so it never goes unnoticed. */
function fit(header: string, message: string, maxSize: number): Frame {
  const headerBytes = Buffer.byteLength(header);
  const messageBytes = Buffer.from(message);
  if (headerBytes + messageBytes.length <= maxSize) return { text: header + message, truncatedBytes: 0 };
  const marker = (n: number) => ` [truncated ${n} bytes]`;
  let keep = Math.max(0, maxSize - headerBytes - Buffer.byteLength(marker(messageBytes.length)));
  while (keep > 0 && (messageBytes[keep] & 0xc0) === 0x80) keep--;
  const cut = messageBytes.length - keep;
  return { text: header + messageBytes.subarray(0, keep).toString() + marker(cut), truncatedBytes: cut };
}
