import { facilityNumber, FORMATS, parseServer } from "../sinks/syslog/options.js";
import type { SyslogFormat } from "../sinks/syslog/format.js";
import { STYLES, type SyslogStyle } from "../sinks/mozdef/syslog-line.js";
import type { SyslogSenderOptions } from "../sinks/mozdef/syslog-sender.js";
import type { SenderSettings } from "./sender.js";
import type { TransportStats } from "../sinks/syslog/transport.js";

/** Where syslog lines can go, for --server and --syslog-server. */
export const SERVERS =
  "unix:///dev/log (or a path), udp://host:514, tcp://host:514, tls://host:6514 (tcp and tls cannot confirm lines: those written just before a collector restart can be lost), relp://host:2514 or relp+tls://host:2514 (rsyslog's imrelp: every line acknowledged; TLS with --ca, --cert, --key)";

/** The syslog options mozdef-send (as --syslog-*) and syslog-send (as they are) both declare. */
export const syslogOption = {
  server: (describe: string) => ({ type: "string", default: "unix:///dev/log", describe }) as const,
  style: { type: "string", choices: STYLES, default: "json" as SyslogStyle, describe: "json (mozdef_client) or flat (mozdef_lib)" } as const,
  format: { type: "string", choices: FORMATS, default: "3164" as SyslogFormat, describe: "syslog header: RFC 3164 or RFC 5424" } as const,
  facility: (describe: string) => ({ type: "string", default: "user", describe }) as const,
};

export interface SyslogChoices {
  server: string;
  style: SyslogStyle;
  format: SyslogFormat;
  facility: string;
  ident: string;
  /** Largest line in bytes. */
  maxSize: number;
  /** This host's name, for headers that carry it. */
  hostname: string;
}

/** The syslog sender's options from the command's choices; the local socket gets `<PRI>message` lines (logger adds the header). */
export function syslogSenderOptions(c: SyslogChoices, s: SenderSettings): SyslogSenderOptions {
  const server = parseServer(c.server);
  return {
    transport: { ...server, timeoutMs: s.timeoutMs, retries: s.retries, maxSize: c.maxSize, tls: s.tls, onFailedAttempt: s.onFailedAttempt, outage: s.outage },
    line: { style: c.style, format: c.format, facility: facilityNumber(c.facility), ident: c.ident, hostname: c.hostname, maxSize: c.maxSize, local: server.kind === "unix" },
  };
}

/**
 * What --stats adds for a syslog connection: tcp/tls reconnects and the
 * lines written on connections that then broke (unconfirmed: they may be
 * lost); relp reconnects and the lines written again (possible duplicates).
 */
export function syslogStatsNote(server: string, s: TransportStats | undefined): string {
  if (!s) return "";
  const kind = parseServer(server).kind;
  if (kind === "tcp" || kind === "tls") return `reconnects ${s.reconnects}, unconfirmed ${s.unconfirmed}`;
  if (kind === "relp" || kind === "relp+tls") return `reconnects ${s.reconnects}, possible duplicates ${s.resent}`;
  return "";
}
