import { PipeError } from "../../errors.js";
import { FACILITIES, type SyslogFormat } from "./format.js";
import type { TransportKind } from "./transport.js";

/** `unix:///dev/log` (or a bare path), `udp://host:514`, `tcp://host:514`, `tls://host:6514`, `relp://host:2514`, `relp+tls://host:2514`. */
export function parseServer(spec: string): { kind: TransportKind; host?: string; port?: number; path?: string } {
  if (spec.startsWith("/")) return { kind: "unix", path: spec };
  const m = /^(unix|udp|tcp|tls|relp|relp\+tls):\/\/(.*)$/.exec(spec);
  if (!m) throw new PipeError("E_USAGE", `syslog server must look like unix:///dev/log, udp://host:514, tcp://host:514, tls://host:6514, relp://host:2514 or relp+tls://host:2514 (got ${spec})`);
  const kind = m[1] as TransportKind;
  if (kind === "unix") return { kind, path: m[2] || "/dev/log" };
  const hp = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(m[2]);
  if (!hp) throw new PipeError("E_USAGE", `syslog server: bad host:port in ${spec}`);
  const port = hp[2] ? Number(hp[2]) : DEFAULT_PORTS[kind];
  return { kind, host: hp[1].replace(/^\[|\]$/g, ""), port };
}

const DEFAULT_PORTS: Record<TransportKind, number> = { unix: 0, udp: 514, tcp: 514, tls: 6514, relp: 2514, "relp+tls": 2514 };

export function facilityNumber(name: string): number {
  const n = FACILITIES[name.toLowerCase()];
  if (n === undefined) throw new PipeError("E_USAGE", `unknown facility ${name} (one of ${Object.keys(FACILITIES).join(", ")})`);
  return n;
}

export const FORMATS: readonly SyslogFormat[] = ["3164", "5424"];
