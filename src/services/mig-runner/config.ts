/**
 * runner.cfg and the MIG client configuration (~/.migrc), read with the
 * project's gcfg reader. Every problem found is collected as one line, so
 * that `mig-runner check` can list them all and the service can refuse to
 * start with all of them at once.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { parseIni, type IniConfig } from "../../cli/runner-config.js";
import { PipeError } from "../../errors.js";
import { parseGoDuration } from "./duration.js";
import type { LogLevel } from "./log.js";

export const DEFAULT_RUNNER_CONFIG = "/etc/mig/runner.cfg";

export interface LoggingConfig {
  mode: "stdout" | "file" | "syslog";
  level: LogLevel;
  file?: string;
  /** syslog: a remote server (host, port, protocol udp|tcp), else the local socket. */
  host?: string;
  port?: number;
  protocol?: string;
  /** file: rotate (one old file kept, `.1`) past this many bytes; 0 never. */
  maxFileSize: number;
}

export interface RunnerConfig {
  file: string;
  /** `[runner] directory`: jobs in runners/, plugins in plugins/. */
  directory: string;
  runnersDir: string;
  pluginsDir: string;
  checkDirectoryMs: number;
  /** How long after an action's expiry fetching its results is retried before it is given up (moved to failed/). */
  resultsRetentionMs: number;
  pluginTimeoutMs: number;
  /** Runs of a failing plugin after the first, before the action is given up. */
  pluginRetries: number;
  clientConfPath: string;
  passphrase?: string;
  delayResultsMs: number;
  logging: LoggingConfig;
}

export interface ClientConfig {
  file: string;
  /** With a trailing `/`, as the MIG client makes it. */
  apiUrl: string;
  gpgHome: string;
  /** The signer's full fingerprint, upper case. */
  keyId: string;
  /** `[gpg] useapikeyauth`: X-MIGAPIKEY instead of a signed token. */
  apiKey?: string;
}

export const LOG_LEVELS = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"] as const;

/** Keys runner.cfg may hold: the Go runner's (gcfg refuses others) and this runner's additions. */
const RUNNER_KEYS: Record<string, string[]> = {
  runner: ["directory", "checkdirectory", "resultsretention", "plugintimeout", "pluginretries"],
  client: ["clientconfpath", "passphrase", "delayresults"],
  logging: ["mode", "level", "file", "host", "port", "protocol", "facility", "maxfilesize"],
};

export interface Loaded<T> {
  config?: T;
  problems: string[];
}

function readIni(file: string, problems: string[]): IniConfig | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    problems.push(`${file}: cannot read: ${(err as Error).message}`);
    return undefined;
  }
  try {
    return parseIni(text, file);
  } catch (err) {
    problems.push(err instanceof PipeError && err.position ? `${err.position.source}: line ${err.position.line}: ${err.message}` : `${file}: ${(err as Error).message}`);
    return undefined;
  }
}

function durationSetting(ini: IniConfig, section: string, key: string, fallbackMs: number, file: string, problems: string[], positive = true): number {
  const text = ini[section]?.[key];
  if (text === undefined || text === "") return fallbackMs;
  const ms = parseGoDuration(text);
  if (ms === null || (positive && ms <= 0)) {
    problems.push(`${file}: [${section}] ${key} = "${text}": not a${positive ? " positive" : ""} Go duration (such as 30s, 10m, 24h)`);
    return fallbackMs;
  }
  return ms;
}

function integerSetting(ini: IniConfig, section: string, key: string, fallback: number, min: number, file: string, problems: string[]): number {
  const text = ini[section]?.[key];
  if (text === undefined || text === "") return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min) {
    problems.push(`${file}: [${section}] ${key} = "${text}": not a whole number${min ? ` of at least ${min}` : ""}`);
    return fallback;
  }
  return Number(text);
}

/** Reads runner.cfg (`-c`). Relative paths are taken from the working directory, as the Go runner does. */
export function loadRunnerConfig(file: string): Loaded<RunnerConfig> {
  const problems: string[] = [];
  const ini = readIni(file, problems);
  if (!ini) return { problems };
  for (const [section, keys] of Object.entries(ini)) {
    if (!RUNNER_KEYS[section]) problems.push(`${file}: unknown section [${section}]`);
    else for (const key of Object.keys(keys)) if (!RUNNER_KEYS[section].includes(key)) problems.push(`${file}: unknown key '${key}' in [${section}]`);
  }
  const directory = ini.runner?.directory;
  if (!directory) problems.push(`${file}: no [runner] directory`);
  else if (!existsSync(join(directory, "runners"))) problems.push(`${file}: [runner] directory ${directory}: no runners/ directory in it`);

  const mode = ini.logging?.mode || "stdout";
  if (!["stdout", "file", "syslog"].includes(mode)) problems.push(`${file}: [logging] mode = "${mode}": stdout, file or syslog`);
  const level = ini.logging?.level || "info";
  if (!(LOG_LEVELS as readonly string[]).includes(level)) problems.push(`${file}: [logging] level = "${level}": one of ${LOG_LEVELS.join(", ")}`);
  if (mode === "file" && !ini.logging?.file) problems.push(`${file}: [logging] mode = "file" needs [logging] file`);
  const protocol = ini.logging?.protocol;
  if (protocol && !["udp", "tcp"].includes(protocol)) problems.push(`${file}: [logging] protocol = "${protocol}": udp or tcp`);

  const confPath = ini.client?.clientconfpath || "default";
  const config: RunnerConfig = {
    file,
    directory: directory ?? "",
    runnersDir: join(directory ?? "", "runners"),
    pluginsDir: join(directory ?? "", "plugins"),
    checkDirectoryMs: integerSetting(ini, "runner", "checkdirectory", 30, 1, file, problems) * 1000,
    resultsRetentionMs: durationSetting(ini, "runner", "resultsretention", 24 * 3_600_000, file, problems),
    pluginTimeoutMs: durationSetting(ini, "runner", "plugintimeout", 10 * 60_000, file, problems),
    pluginRetries: integerSetting(ini, "runner", "pluginretries", 3, 0, file, problems),
    clientConfPath: confPath === "default" ? join(process.env.HOME || homedir(), ".migrc") : confPath,
    passphrase: ini.client?.passphrase || undefined,
    delayResultsMs: durationSetting(ini, "client", "delayresults", 0, file, problems, false),
    logging: {
      mode: mode as LoggingConfig["mode"],
      level: level as LogLevel,
      file: ini.logging?.file || undefined,
      host: ini.logging?.host || undefined,
      port: ini.logging?.port ? integerSetting(ini, "logging", "port", 514, 1, file, problems) : undefined,
      protocol,
      maxFileSize: integerSetting(ini, "logging", "maxfilesize", 0, 0, file, problems),
    },
  };
  return { config, problems };
}

/** Reads the MIG client configuration: `[api] url`, `[gpg] home, keyid` (or `useapikeyauth`). */
export function loadClientConfig(file: string): Loaded<ClientConfig> {
  const problems: string[] = [];
  const ini = readIni(file, problems);
  if (!ini) return { problems };
  let apiUrl = ini.api?.url ?? "";
  if (apiUrl.length <= 1) problems.push(`${file}: no [api] url`);
  else if (!/^https?:\/\//.test(apiUrl)) problems.push(`${file}: [api] url = "${apiUrl}": not an http(s) URL`);
  if (!apiUrl.endsWith("/")) apiUrl += "/";
  const apiKey = ini.gpg?.useapikeyauth || undefined;
  const home = ini.gpg?.home || process.env.GNUPGHOME || join(process.env.HOME || homedir(), ".gnupg");
  const gpgHome = isAbsolute(home) ? home : resolve(home);
  const keyId = (ini.gpg?.keyid ?? "").replace(/\s+/g, "").toUpperCase();
  // actions are signed with the key even when the API is reached with an API key
  if (!/^[0-9A-F]{40}$/.test(keyId)) problems.push(`${file}: [gpg] keyid = "${ini.gpg?.keyid ?? ""}": the signer's full fingerprint (40 hex digits) is needed`);
  if (!existsSync(join(gpgHome, "secring.gpg"))) problems.push(`${file}: no secring.gpg in [gpg] home ${gpgHome} (make it with: gpg --export-secret-keys ${keyId || "FINGERPRINT"} > ${join(gpgHome, "secring.gpg")})`);
  return { config: { file, apiUrl, gpgHome, keyId, apiKey }, problems };
}

/** Both files, for the service: any problem is a configuration error (exit 2) listing them all. */
export function loadConfigs(file: string): { runner: RunnerConfig; client: ClientConfig } {
  const r = loadRunnerConfig(file);
  const c = r.config ? loadClientConfig(r.config.clientConfPath) : { problems: [] };
  const problems = [...r.problems, ...c.problems];
  if (problems.length || !r.config || !c.config) throw new PipeError("E_USAGE", `configuration: ${problems.join("; ")}`);
  return { runner: r.config, client: c.config };
}
