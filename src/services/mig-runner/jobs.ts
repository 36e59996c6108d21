/**
 * Jobs: `runners/<job>/entity.cfg` (`[configuration] schedule, plugin,
 * expiry, sendonly`) and `runners/<job>/action.json`. A job is known by a
 * stamp of both files' modification times, so that editing either reloads
 * it (the Go runner saw entity.cfg only).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseIni } from "../../cli/runner-config.js";
import { PipeError } from "../../errors.js";
import { actionProblems, readAction } from "./action.js";
import { CronError, parseCron, type CronSchedule, type Zone } from "./cron.js";
import { parseGoDuration } from "./duration.js";

export const DEFAULT_EXPIRY = "5m";
const ENTITY_KEYS = ["schedule", "plugin", "expiry", "sendonly"];

export interface JobConfig {
  schedule: string;
  cron: CronSchedule;
  /** A file name in plugins/, or "" for none. */
  plugin: string;
  expiryMs: number;
  sendOnly: boolean;
}

export interface Job {
  name: string;
  dir: string;
  /** entity.cfg and action.json modification times; changes when either file does. */
  stamp: string;
  config: JobConfig;
}

/** gcfg's booleans: a bare key, true/yes/on/1, false/no/off/0. */
function readBool(text: string | undefined): boolean | null {
  if (text === undefined) return false;
  const t = text.toLowerCase();
  if (["", "true", "yes", "on", "1"].includes(t)) return true;
  if (["false", "no", "off", "0"].includes(t)) return false;
  return null;
}

/** The directories under runners/, in name order. */
export function jobNames(runnersDir: string): string[] {
  return readdirSync(runnersDir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** null when there is no entity.cfg. */
export function jobStamp(dir: string): string | null {
  const mtime = (f: string) => {
    try {
      return String(statSync(join(dir, f)).mtimeMs);
    } catch {
      return null;
    }
  };
  const entity = mtime("entity.cfg");
  return entity === null ? null : `${entity}:${mtime("action.json") ?? "-"}`;
}

/** entity.cfg's settings; problems as lines (each naming the file). */
export function readEntity(file: string, zone: Zone = "local"): { config?: JobConfig; problems: string[] } {
  const problems: string[] = [];
  let ini;
  try {
    ini = parseIni(readFileSync(file, "utf8"), file);
  } catch (err) {
    const e = err as PipeError;
    return { problems: [e.position?.line ? `${file}: line ${e.position.line}: ${e.message}` : `${file}: ${e.message}`] };
  }
  for (const [section, keys] of Object.entries(ini)) {
    if (section !== "configuration") problems.push(`${file}: unknown section [${section}]`);
    else for (const key of Object.keys(keys)) if (!ENTITY_KEYS.includes(key)) problems.push(`${file}: unknown key '${key}' in [configuration]`);
  }
  const c = ini.configuration ?? {};
  let cron: CronSchedule | undefined;
  if (!c.schedule) problems.push(`${file}: missing schedule`);
  else {
    try {
      cron = parseCron(c.schedule, zone);
    } catch (err) {
      if (!(err instanceof CronError)) throw err;
      problems.push(`${file}: bad cron expression "${c.schedule}": ${err.message}`);
    }
  }
  const expiry = c.expiry || DEFAULT_EXPIRY;
  const expiryMs = parseGoDuration(expiry);
  if (expiryMs === null || expiryMs <= 0) problems.push(`${file}: expiry = "${expiry}": not a positive Go duration (such as 10m)`);
  const sendOnly = readBool(c.sendonly);
  if (sendOnly === null) problems.push(`${file}: sendonly = "${c.sendonly}": true or false`);
  if (c.plugin?.includes("/")) problems.push(`${file}: plugin = "${c.plugin}": a file name in plugins/, not a path`);
  if (problems.length || !cron) return { problems };
  return { config: { schedule: c.schedule, cron, plugin: c.plugin ?? "", expiryMs: expiryMs!, sendOnly: sendOnly! }, problems };
}

/** Reads a job; every problem (entity.cfg, action.json) as a line. */
export async function loadJob(runnersDir: string, name: string, zone: Zone = "local"): Promise<{ job?: Job; problems: string[] }> {
  const dir = join(runnersDir, name);
  const stamp = jobStamp(dir);
  if (stamp === null) return { problems: [`${join(dir, "entity.cfg")}: missing`] };
  const { config, problems } = readEntity(join(dir, "entity.cfg"), zone);
  const actionFile = join(dir, "action.json");
  try {
    const action = await readAction(actionFile);
    problems.push(...actionProblems(action).map((p) => `${actionFile}: ${p}`));
  } catch (err) {
    const e = err as PipeError;
    problems.push(`${actionFile}: ${e.message}`);
  }
  if (problems.length || !config) return { problems };
  return { job: { name, dir, stamp, config }, problems };
}
