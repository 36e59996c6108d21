import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { Cron } from "croner";
import { PipeError } from "../../errors.js";
import { patchmonSettings, PATCHMON_CONFIG } from "../../sinks/patchmon/settings.js";
import { CONTENT_DIRS } from "../../scanners/scap-content.js";
import { DOCKER_BENCH_IMAGE } from "../../scanners/run.js";

// required, not imported, as ws is (ws-client.ts): yaml is CommonJS
const { parse, YAMLParseError } = createRequire(import.meta.url)("yaml") as typeof import("yaml");

/** `true` scans on a schedule and on demand; `"on-demand"` only when the server asks; `false` never. */
export type ComplianceMode = "on" | "on-demand" | "off";

export interface OpenscapPlan {
  enabled: boolean;
  /** Cron expression (the spec's form); null: the interval when mode is "on". */
  schedule: string | null;
  profile?: string;
  datastream?: string;
  tailoring?: string;
}

export interface DockerBenchPlan {
  enabled: boolean;
  schedule: string | null;
  script?: string;
  image: string;
}

export interface AgentConfig {
  configPath: string;
  server?: string;
  apiId?: string;
  apiKey?: string;
  credentialsFrom?: string;
  skipSslVerify: boolean;
  mode: ComplianceMode;
  /** Minutes between scheduled scans (the real agent's form), 60–10080. */
  intervalMinutes: number;
  /** Minutes between pings (`update_interval`). */
  pingMinutes: number;
  openscap: OpenscapPlan;
  dockerBench: DockerBenchPlan;
  stateDir: string;
  outboxDir: string;
  /** Above this the outbox says so loudly on every write; nothing is dropped. */
  outboxMaxBytes: number;
  scanTimeoutMs: number;
  /** The server allows 10 uploads a minute per API id. */
  uploadsPerWindow: number;
  uploadWindowMs: number;
  /** The server's body limit (JSON_BODY_LIMIT). */
  maxBodyBytes: number;
  /** The interval form's first scan comes this long after start (the real agent: 30 s). */
  firstScanDelayMs: number;
  /** Where scan-detect looks for SCAP content. */
  contentDirs: string[];
  /** Reconnect backoff ceiling; keep-alive ping period and read deadline. */
  reconnectMaxMs: number;
  wsPingMs: number;
  wsReadDeadlineMs: number;
}

export const DEFAULT_STATE_DIR = "/var/lib/compliance-agent";
export const INTERVAL_DEFAULT = 1440;
export const INTERVAL_MIN = 60;
export const INTERVAL_MAX = 10080;

export function clampInterval(minutes: number): number {
  return Math.min(INTERVAL_MAX, Math.max(INTERVAL_MIN, Math.round(minutes)));
}

/** A cron schedule: 5 fields (names allowed) or a macro such as @daily. Throws on anything else. */
export function parseCron(expr: string): Cron {
  return new Cron(expr, { paused: true, mode: "5-part" });
}

type Node = Record<string, unknown>;

/** Reads one key path of the YAML with a type check; every failure names the key. */
class Keys {
  constructor(
    private readonly root: Node,
    private readonly path: string,
  ) {}

  bad(key: string, what: string): PipeError {
    return new PipeError("E_USAGE", `${key}: ${what}`, { position: { source: this.path } });
  }

  get(key: string): unknown {
    let node: unknown = this.root;
    for (const part of key.split(".")) {
      if (node === null || typeof node !== "object" || Array.isArray(node)) return undefined;
      node = (node as Node)[part];
    }
    return node ?? undefined;
  }

  map(key: string): Node | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) throw this.bad(key, `must be a mapping, not ${JSON.stringify(v)}`);
    return v as Node;
  }

  bool(key: string): boolean | undefined {
    const v = this.get(key);
    if (v === undefined || typeof v === "boolean") return v;
    throw this.bad(key, `must be true or false, not ${JSON.stringify(v)}`);
  }

  string(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== "string" || !v.trim()) throw this.bad(key, `must be a non-empty string, not ${JSON.stringify(v)}`);
    return v.trim();
  }

  number(key: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) throw this.bad(key, `must be a number from ${min} to ${max}, not ${JSON.stringify(v)}`);
    return v;
  }

  strings(key: string): string[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) throw this.bad(key, "must be a list of strings");
    return v as string[];
  }

  cron(key: string): string | null {
    const expr = this.string(key);
    if (expr === undefined) return null;
    try {
      parseCron(expr).stop();
    } catch (err) {
      throw this.bad(key, `'${expr}' is not a cron schedule (5 fields, or @daily/@weekly/…): ${(err as Error).message.replace(/^CronPattern: /, "")}`);
    }
    return expr;
  }
}

function readYaml(path: string, required: boolean): Node {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT" && !required) return {};
    throw new PipeError("E_USAGE", `cannot read: ${(cause as Error).message}`, { position: { source: path }, cause });
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (cause) {
    if (cause instanceof YAMLParseError) {
      const at = cause.linePos?.[0];
      const what = cause.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
      throw new PipeError("E_USAGE", `not valid YAML: ${what}`, { position: { source: path, line: at?.line, col: at?.col }, cause });
    }
    throw cause;
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new PipeError("E_USAGE", "must be a YAML mapping of keys", { position: { source: path } });
  return doc as Node;
}

/** `integrations.compliance` as the real agent writes it: a bool, "on-demand", or its normalised mapping. */
function realMode(k: Keys): { mode?: ComplianceMode; openscap?: boolean; dockerBench?: boolean; interval?: number } {
  const v = k.get("integrations.compliance");
  const word = (x: unknown, key: string): ComplianceMode => {
    if (x === true) return "on";
    if (x === false) return "off";
    if (x === "on-demand") return "on-demand";
    throw k.bad(key, `must be true, false or "on-demand", not ${JSON.stringify(x)}`);
  };
  const out: ReturnType<typeof realMode> = {
    openscap: k.bool("integrations.compliance_openscap_enabled"),
    dockerBench: k.bool("integrations.compliance_docker_bench_enabled"),
    interval: k.number("integrations.compliance_scan_interval", 0) ?? k.number("compliance_scan_interval", 0),
  };
  if (v === undefined) return out;
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const m = v as Node;
    if (m.enabled !== undefined) out.mode = word(m.enabled, "integrations.compliance.enabled");
    out.openscap = k.bool("integrations.compliance.openscap_enabled") ?? out.openscap;
    out.dockerBench = k.bool("integrations.compliance.docker_bench_enabled") ?? out.dockerBench;
    out.interval = k.number("integrations.compliance.scan_interval", 0) ?? out.interval;
    return out;
  }
  out.mode = word(v, "integrations.compliance");
  return out;
}

export interface ConfigOptions {
  /** config.yml (default /etc/patchmon/config.yml); given explicitly, it must exist. */
  config?: string;
  credentials?: string;
  server?: string;
  /** Credentials are needed to run and scan, not to show status. */
  needCredentials: boolean;
}

/**
 * The agent's settings from PatchMon's config.yml, in either form of the
 * compliance section: the spec's (`compliance.{enabled, openscap.{enabled,
 * profile, schedule}, docker_bench.{enabled, schedule}}`, cron) and the real
 * agent's (`integrations.compliance: true | "on-demand" | false`, a
 * scan_interval in minutes). Where both say whether compliance is on, the
 * spec's `compliance.enabled` wins. A scanner with a cron `schedule` runs on
 * it; one without runs on the interval when the mode is `true`. Settings of
 * this agent alone are under `compliance_agent:`. Credentials come as
 * patchmon-send reads them (environment, credentials.yml), never from argv.
 */
export function loadConfig(opts: ConfigOptions, env = process.env): AgentConfig {
  const path = opts.config ?? PATCHMON_CONFIG;
  const k = new Keys(readYaml(path, opts.config !== undefined), path);
  k.map("compliance");
  k.map("integrations");
  k.map("compliance_agent");
  k.map("compliance.openscap");
  k.map("compliance.docker_bench");

  const real = realMode(k);
  const specEnabled = k.bool("compliance.enabled");
  const mode: ComplianceMode = specEnabled === false ? "off" : specEnabled === true ? "on" : (real.mode ?? "on-demand");
  const hasSpec = k.get("compliance") !== undefined;

  const openscap: OpenscapPlan = {
    enabled: k.bool("compliance.openscap.enabled") ?? real.openscap ?? true,
    schedule: k.cron("compliance.openscap.schedule"),
    profile: k.string("compliance.openscap.profile"),
    datastream: k.string("compliance.openscap.datastream"),
    tailoring: k.string("compliance.openscap.tailoring_file"),
  };
  const dockerBench: DockerBenchPlan = {
    enabled: k.bool("compliance.docker_bench.enabled") ?? real.dockerBench ?? (hasSpec ? false : true),
    schedule: k.cron("compliance.docker_bench.schedule"),
    script: k.string("compliance.docker_bench.script"),
    image: k.string("compliance.docker_bench.image") ?? DOCKER_BENCH_IMAGE,
  };

  const stateDir = k.string("compliance_agent.state_dir") ?? DEFAULT_STATE_DIR;
  let settings;
  try {
    settings = patchmonSettings({ server: opts.server, credentials: opts.credentials, config: path }, env);
  } catch (err) {
    if (err instanceof PipeError) throw new PipeError("E_USAGE", err.message, { cause: err });
    throw err;
  }
  const cfg: AgentConfig = {
    configPath: path,
    server: settings.server,
    apiId: settings.apiId,
    apiKey: settings.apiKey,
    credentialsFrom: settings.credentialsFrom,
    skipSslVerify: k.bool("skip_ssl_verify") ?? env.PATCHMON_SKIP_SSL_VERIFY === "true",
    mode,
    intervalMinutes: clampInterval(real.interval ?? INTERVAL_DEFAULT),
    pingMinutes: k.number("update_interval", 1, 10080) ?? 60,
    openscap,
    dockerBench,
    stateDir,
    outboxDir: k.string("compliance_agent.outbox_dir") ?? join(stateDir, "outbox"),
    outboxMaxBytes: Math.round((k.number("compliance_agent.outbox_max_mb", 0.001) ?? 512) * 1024 * 1024),
    scanTimeoutMs: Math.round((k.number("compliance_agent.scan_timeout_minutes", 0.01) ?? 25) * 60_000),
    uploadsPerWindow: k.number("compliance_agent.uploads_per_minute", 1) ?? 10,
    uploadWindowMs: Math.round((k.number("compliance_agent.upload_window_seconds", 0.1) ?? 60) * 1000),
    maxBodyBytes: Math.round((k.number("compliance_agent.max_body_mb", 0.001) ?? 5) * 1000 * 1000),
    firstScanDelayMs: Math.round((k.number("compliance_agent.first_scan_delay_seconds", 0) ?? 30) * 1000),
    contentDirs: k.strings("compliance_agent.content_dirs") ?? CONTENT_DIRS,
    reconnectMaxMs: Math.round((k.number("compliance_agent.reconnect_max_seconds", 0.1) ?? 32) * 1000),
    wsPingMs: Math.round((k.number("compliance_agent.ws_ping_seconds", 0.1) ?? 30) * 1000),
    wsReadDeadlineMs: Math.round((k.number("compliance_agent.ws_read_deadline_seconds", 0.1) ?? 90) * 1000),
  };
  if (opts.needCredentials) requireServer(cfg);
  return cfg;
}

function requireServer(cfg: AgentConfig): void {
  if (!cfg.server) throw new PipeError("E_USAGE", `patchmon_server: no PatchMon server (set patchmon_server in ${cfg.configPath}, PATCHMON_SERVER, or --server)`);
  try {
    const u = new URL(cfg.server);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http(s)");
  } catch {
    throw new PipeError("E_USAGE", `patchmon_server: '${cfg.server}' is not an http(s) URL`, { position: { source: cfg.configPath } });
  }
  if (!cfg.apiId || !cfg.apiKey) {
    const missing = !cfg.apiId ? "api_id" : "api_key";
    throw new PipeError("E_USAGE", `${missing}: missing${cfg.credentialsFrom ? ` in ${cfg.credentialsFrom}` : ""} (credentials.yml, or PATCHMON_API_ID and PATCHMON_API_KEY)`);
  }
}
