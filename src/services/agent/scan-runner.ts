import { createReadStream } from "node:fs";
import { hostname } from "node:os";
import { PipeError } from "../../errors.js";
import { runDockerBench, runOpenscap } from "../../scanners/run.js";
import { profileId } from "../../scanners/scap-content.js";
import { xccdfToRules } from "../../readers/xccdf/document.js";
import { dockerbenchToRules } from "../../readers/dockerbench/document.js";
import { ScanGroups } from "../../sinks/patchmon/scans.js";
import { selectedRuleCount } from "./profile-rules.js";
import type { RuleResult } from "../../types.js";

export type ScannerKind = "openscap" | "docker-bench";

export interface ScanRequest {
  scanner: ScannerKind;
  /** openscap: profile id or short name. */
  profile?: string;
  datastream?: string;
  tailoring?: string;
  remediate?: boolean;
  fetchRemoteResources?: boolean;
  /** docker-bench: a docker-bench-security.sh instead of the container. */
  script?: string;
  image?: string;
}

export interface ScanHooks {
  signal: AbortSignal;
  timeoutMs: number;
  contentDirs: string[];
  /** The scanner is running. */
  evaluating(): void;
  /** openscap: one more rule evaluated, of `total` the profile selects (null while not known). */
  rule(n: number, ruleId: string, total: number | null): void;
  /** The scanner finished; its output is being read. */
  parsing(): void;
  warn(message: string): void;
}

export interface ScanOutput {
  groups: ScanGroups;
  /** Rules oscap fixed with --remediate. */
  fixed: number;
  profile: string;
  datastream?: string;
}

/**
 * One scan through scan-run's runner (scanners/run.ts: a private temp
 * directory, the scanner's process group stopped by the signal or the
 * time-out with ScanStopped), its result read into scan groups in this
 * process by xccdf2rules's / dockerbench2rules's readers.
 */
export function runScan(req: ScanRequest, hooks: ScanHooks): Promise<ScanOutput> {
  return req.scanner === "openscap" ? openscap(req, hooks) : dockerBench(req, hooks);
}

async function openscap(req: ScanRequest, hooks: ScanHooks): Promise<ScanOutput> {
  const profile = req.profile;
  if (!profile) throw new PipeError("E_USAGE", "no OpenSCAP profile: set compliance.openscap.profile or give one");
  let datastream = "";
  let total: number | null = null;
  let n = 0;
  return runOpenscap(
    {
      profile,
      datastream: req.datastream,
      contentDirs: hooks.contentDirs,
      datastreamHint: "set compliance.openscap.datastream",
      tailoring: req.tailoring,
      rules: [],
      progress: true,
      remediate: req.remediate,
      fetchRemoteResources: req.fetchRemoteResources,
      signal: hooks.signal,
      timeoutMs: hooks.timeoutMs,
      starting: async (ds) => {
        datastream = ds;
        // read before oscap starts (~70 ms for Debian's 6 MB data stream), so every progress line can say "of m"
        total = await selectedRuleCount(ds, profileId(profile)).catch(() => null);
        hooks.evaluating();
      },
      onLine: (line) => {
        const m = /^(xccdf_\S+):(\w+)\s*$/.exec(line);
        if (m) hooks.rule(++n, m[1], total);
      },
    },
    async (results, signal) => {
      hooks.parsing();
      const groups = new ScanGroups();
      let fixed = 0;
      for await (const r of xccdfToRules(createReadStream(results), { source: "oscap results", onWarning: hooks.warn })) {
        signal.throwIfAborted();
        if (r.raw_status === "fixed") fixed++;
        groups.add(r);
      }
      return { groups, fixed, profile: profileId(profile), datastream };
    },
  );
}

function dockerBench(req: ScanRequest, hooks: ScanHooks): Promise<ScanOutput> {
  return runDockerBench(
    { script: req.script, image: req.image, scriptHint: "or set compliance.docker_bench.script", signal: hooks.signal, timeoutMs: hooks.timeoutMs, starting: hooks.evaluating },
    async (log, signal) => {
      hooks.parsing();
      const groups = new ScanGroups();
      for await (const r of dockerbenchToRules(createReadStream(log), { source: "docker-bench.json", target: hostname(), onWarning: hooks.warn }) as AsyncIterable<RuleResult>) {
        signal.throwIfAborted();
        groups.add(r);
      }
      return { groups, fixed: 0, profile: "docker-bench-security" };
    },
  );
}
