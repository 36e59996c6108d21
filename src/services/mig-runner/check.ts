/**
 * `mig-runner check`: everything the service needs, checked without
 * running it — runner.cfg, the client configuration, the key (found, opened,
 * of a kind MIG verifies, able to sign), the plugins directory and every
 * job (schedule with its next 3 runs, action.json, plugin present and
 * executable). Findings are lines; problems are counted.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { localTime } from "./clock.js";
import { loadClientConfig, loadRunnerConfig } from "./config.js";
import type { Zone } from "./cron.js";
import { formatDuration } from "./duration.js";
import { jobNames, loadJob } from "./jobs.js";
import { loadSigner, migCanVerify } from "./pgp.js";
import { findPlugin } from "./plugin.js";

export interface CheckReport {
  /** What was found in order, for stdout. */
  info: string[];
  /** One line a problem, for stderr. */
  problems: string[];
}

export async function check(configFile: string, o: { now?: number; zone?: Zone } = {}): Promise<CheckReport> {
  const info: string[] = [];
  const problems: string[] = [];
  const now = o.now ?? Date.now();
  const r = loadRunnerConfig(configFile);
  problems.push(...r.problems);
  if (!r.config) return { info, problems };
  const runner = r.config;
  info.push(`${configFile}: jobs in ${runner.runnersDir}, plugins in ${runner.pluginsDir}, rescanned every ${runner.checkDirectoryMs / 1000} s; logging ${runner.logging.mode} (${runner.logging.level})`);

  const c = loadClientConfig(runner.clientConfPath);
  problems.push(...c.problems);
  if (c.config) {
    info.push(`${c.config.file}: API ${c.config.apiUrl}${c.config.apiKey ? " (X-MIGAPIKEY)" : ""}, key ${c.config.keyId || "?"} in ${c.config.gpgHome}`);
    if (!c.problems.some((p) => p.includes("keyid") || p.includes("secring.gpg"))) {
      try {
        const signer = await loadSigner(c.config.gpgHome, c.config.keyId, runner.passphrase);
        if (!migCanVerify(signer)) problems.push(`key ${signer.fingerprint} is ${signer.algorithm}: MIG's API verifies RSA and DSA signatures only`);
        await signer.sign("mig-runner check\n");
        info.push(`key ${signer.fingerprint} (${signer.algorithm}) opens and signs`);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
  }

  if (!existsSync(runner.pluginsDir)) problems.push(`no plugins directory ${runner.pluginsDir}`);
  let names: string[] = [];
  try {
    names = jobNames(runner.runnersDir);
  } catch (err) {
    problems.push(`cannot read ${runner.runnersDir}: ${(err as Error).message}`);
  }
  if (!names.length && existsSync(runner.runnersDir)) info.push(`no jobs in ${runner.runnersDir}`);
  for (const name of names) {
    const { job, problems: jobProblems } = await loadJob(runner.runnersDir, name, o.zone);
    problems.push(...jobProblems.map((p) => `job ${name}: ${p}`));
    if (!job) continue;
    const cfg = job.config;
    const runs = cfg.cron.nextN(new Date(now), 3);
    if (!runs.length) problems.push(`job ${name}: schedule "${cfg.schedule}" never runs (as gorhill/cronexpr reads it)`);
    if (cfg.plugin) {
      const found = findPlugin(runner.pluginsDir, cfg.plugin);
      if ("problem" in found) problems.push(`job ${name}: ${found.problem}`);
    }
    const what = cfg.sendOnly ? "send only" : cfg.plugin ? `plugin ${cfg.plugin}` : "no plugin";
    info.push(`job ${name}: "${cfg.schedule}", expiry ${formatDuration(cfg.expiryMs)}, ${what}; next runs ${runs.map((t) => localTime(t.getTime())).join(", ") || "none"}`);
    const inflight = join(job.dir, "inflight");
    if (existsSync(inflight)) info.push(`job ${name}: has in-flight actions in ${inflight}`);
  }
  return { info, problems };
}
