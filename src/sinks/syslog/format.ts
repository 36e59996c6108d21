export const FACILITIES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};

export type SyslogFormat = "3164" | "5424";

export interface FrameOptions {
  format: SyslogFormat;
  facility: number;
  ident: string;
  hostname: string;
  /** Largest frame in bytes; longer messages are cut and marked. */
  maxSize: number;
  /** Only `<PRI>` before the message: the local logger adds syslog(3)'s header itself. */
  bare?: boolean;
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

/** The whole syslog line for a message at a level (RFC 5424 severity number): `<PRI>` header and message, within maxSize bytes. */
export function formatFrame(level: number, message: string, opts: FrameOptions, now = new Date()): Frame {
  const pri = opts.facility * 8 + level;
  // logger writes `Mmm dd hh:mm:ss ident: ` (or the RFC 5424 header) in front
  if (opts.bare) return fit(`<${pri}>`, message, opts.maxSize - (opts.format === "5424" ? 80 : 18) - opts.ident.length);
  const header =
    opts.format === "5424"
      ? `<${pri}>1 ${rfc5424Time(now)} ${nil(opts.hostname, 255)} ${nil(opts.ident, 48)} ${process.pid} - - `
      : `<${pri}>${rfc3164Time(now)} ${opts.hostname} ${opts.ident}: `;
  return fit(header, message, opts.maxSize);
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
