import { spawn, type ChildProcess } from "node:child_process";
import { createReadStream, existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PipeError } from "../../errors.js";
import { EXIT_NO_SCANNER, dockerBenchArgs, oscapArgs } from "../../scanners/run.js";
import { xccdfToRules } from "../../readers/xccdf/document.js";
import { dockerbenchToRules } from "../../readers/dockerbench/document.js";
import { findDatastreams, matchesHost, profileId, run, which } from "../../scanners/scap-content.js";
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

/** Thrown when the scan was stopped (cancel, time-out, shutdown): the reason is the signal's. */
export class ScanStopped extends Error {}

/** The data stream to use: the one given, else the SSG content matching this host. */
export async function chooseDatastream(given: string | undefined, contentDirs: string[]): Promise<string> {
  if (given) {
    if (!existsSync(given)) throw new PipeError("E_USAGE", `data stream not found: ${given}`);
    return given;
  }
  const files = await findDatastreams(contentDirs);
  const mine = files.find((f) => matchesHost(f));
  if (!mine) throw new PipeError("E_USAGE", `no SCAP content matches this host in ${contentDirs.join(", ")}: set compliance.openscap.datastream`);
  return mine;
}

/**
 * Runs one scan in a private temp directory and reads its result into scan
 * groups: oscap with --progress (one line per rule evaluated) or Docker
 * Bench, then xccdf2rules's / dockerbench2rules's readers in this process.
 * Stopping (the signal) kills the scanner's whole process group and
 * removes the directory. oscap exit 2 (some rule failed) is success.
 */
export async function runScan(req: ScanRequest, hooks: ScanHooks): Promise<ScanOutput> {
  const dir = await mkdtemp(join(tmpdir(), "compliance-agent-"));
  try {
    return req.scanner === "openscap" ? await openscap(req, hooks, dir) : await dockerBench(req, hooks, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function openscap(req: ScanRequest, hooks: ScanHooks, dir: string): Promise<ScanOutput> {
  const oscap = which("oscap");
  if (!oscap) throw new PipeError("E_IO", "scanner not available: oscap not found on PATH (apt-get install openscap-scanner)", { exitCode: EXIT_NO_SCANNER });
  if (!req.profile) throw new PipeError("E_USAGE", "no OpenSCAP profile: set compliance.openscap.profile or give one");
  const datastream = await chooseDatastream(req.datastream, hooks.contentDirs);
  const results = join(dir, "results.arf.xml");
  const args = oscapArgs({ profile: req.profile, datastream, results, tailoring: req.tailoring, rules: [], progress: true });
  // options go before the data stream, which oscapArgs puts last
  const extra = [...(req.remediate ? ["--remediate"] : []), ...(req.fetchRemoteResources ? ["--fetch-remote-resources"] : [])];
  args.splice(args.length - 1, 0, ...extra);
  let n = 0;
  // read before oscap starts (~70 ms for Debian's 6 MB data stream), so every progress line can say "of m"
  const total = await selectedRuleCount(datastream, profileId(req.profile)).catch(() => null);
  hooks.evaluating();
  const { code, stderr } = await supervise(spawn(oscap, args, { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"] }), hooks.signal, (line) => {
    const m = /^(xccdf_\S+):(\w+)\s*$/.exec(line);
    if (m) hooks.rule(++n, m[1], total);
  });
  if (code !== 0 && code !== 2) {
    const said = stderr.trim().split("\n").slice(-5).join(" | ");
    throw new PipeError("E_IO", `oscap exited with ${code}${said ? `: ${said}` : ""}`);
  }
  if (!existsSync(results)) throw new PipeError("E_IO", "oscap wrote no results file");
  hooks.parsing();
  const groups = new ScanGroups();
  let fixed = 0;
  for await (const r of xccdfToRules(createReadStream(results), { source: "oscap results", onWarning: hooks.warn })) {
    if (hooks.signal.aborted) throw new ScanStopped(String(hooks.signal.reason));
    if (r.raw_status === "fixed") fixed++;
    groups.add(r);
  }
  return { groups, fixed, profile: profileId(req.profile), datastream };
}

async function dockerBench(req: ScanRequest, hooks: ScanHooks, dir: string): Promise<ScanOutput> {
  let command: string;
  let args: string[];
  let cwd = dir;
  if (req.script) {
    if (!existsSync(req.script)) throw new PipeError("E_IO", `scanner not available: ${req.script} not found`, { exitCode: EXIT_NO_SCANNER });
    command = "sh";
    args = [req.script, "-b", "-l", join(dir, "docker-bench")];
    cwd = dirname(req.script);
  } else {
    const docker = which("docker");
    if (!docker) throw new PipeError("E_IO", "scanner not available: docker not found on PATH (or set compliance.docker_bench.script)", { exitCode: EXIT_NO_SCANNER });
    const server = await run(docker, ["version", "--format", "{{.Server.Version}}"], 15_000);
    if (server.code !== 0) throw new PipeError("E_IO", "scanner not available: the Docker engine does not answer", { exitCode: EXIT_NO_SCANNER });
    command = docker;
    args = req.image ? dockerBenchArgs(dir, req.image) : dockerBenchArgs(dir);
  }
  hooks.evaluating();
  const { code, stderr } = await supervise(spawn(command, args, { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] }), hooks.signal);
  const log = join(dir, "docker-bench.json");
  if (code !== 0) throw new PipeError("E_IO", `Docker Bench exited with ${code}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
  if (!existsSync(log)) throw new PipeError("E_IO", "Docker Bench wrote no JSON log");
  hooks.parsing();
  const groups = new ScanGroups();
  for await (const r of dockerbenchToRules(createReadStream(log), { source: "docker-bench.json", target: hostname(), onWarning: hooks.warn }) as AsyncIterable<RuleResult>) {
    if (hooks.signal.aborted) throw new ScanStopped(String(hooks.signal.reason));
    groups.add(r);
  }
  return { groups, fixed: 0, profile: "docker-bench-security" };
}

/** Grace between SIGTERM and SIGKILL for a stopped scanner's process group. */
const KILL_GRACE_MS = 1_000;

/**
 * Waits for a scanner started in its own process group. When the signal
 * aborts, the whole group (oscap and anything it started) gets SIGTERM,
 * then SIGKILL; the wait ends with ScanStopped once the scanner is gone.
 */
function supervise(child: ChildProcess, signal: AbortSignal, onLine?: (line: string) => void): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    let stderr = "";
    let partial = "";
    let killTimer: NodeJS.Timeout | null = null;
    const kill = (s: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, s);
      } catch {
        // already gone
      }
    };
    const onAbort = () => {
      kill("SIGTERM");
      killTimer = setTimeout(() => kill("SIGKILL"), KILL_GRACE_MS);
    };
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      const lines = (partial + d).split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) onLine?.(l);
    });
    child.on("error", (err) => {
      signal.removeEventListener("abort", onAbort);
      reject(err);
    });
    child.on("close", (code) => {
      signal.removeEventListener("abort", onAbort);
      if (killTimer) clearTimeout(killTimer);
      if (signal.aborted) {
        // anything the scanner left running in its group goes too
        kill("SIGKILL");
        reject(new ScanStopped(String(signal.reason ?? "stopped")));
      } else resolve({ code, stderr });
    });
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}
