import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PipeError } from "../errors.js";
import { findDatastreams, matchesHost, profileId, run, which } from "./scap-content.js";

/** Exit code when the scanner itself is not there (distinct from a failed scan). */
export const EXIT_NO_SCANNER = 3;

/** Docker Bench in a container, with the host mounts its README lists (PatchMon uses this image). */
export const DOCKER_BENCH_IMAGE = "jauderho/docker-bench-security:latest";
export function dockerBenchArgs(outDir: string, image = DOCKER_BENCH_IMAGE): string[] {
  return [
    "run", "--rm", "--net", "host", "--pid", "host", "--userns", "host", "--cap-add", "audit_control",
    "-e", "DOCKER_CONTENT_TRUST",
    "-v", "/etc:/etc:ro", "-v", "/lib/systemd/system:/lib/systemd/system:ro", "-v", "/usr/bin/containerd:/usr/bin/containerd:ro",
    "-v", "/usr/bin/runc:/usr/bin/runc:ro", "-v", "/usr/lib/systemd:/usr/lib/systemd:ro", "-v", "/var/lib:/var/lib:ro",
    "-v", "/var/run/docker.sock:/var/run/docker.sock:ro", "-v", `${outDir}:/out`,
    "--label", "docker_bench_security", image, "-b", "-l", "/out/docker-bench",
  ];
}

export interface OscapOptions {
  profile: string;
  datastream: string;
  results: string;
  tailoring?: string;
  rules: string[];
  /** One `rule-id:result` line per rule on stdout instead of oscap's text lines. */
  progress: boolean;
  remediate?: boolean;
  fetchRemoteResources?: boolean;
}

export function oscapArgs(o: OscapOptions): string[] {
  const args = ["xccdf", "eval", "--profile", profileId(o.profile), "--results-arf", o.results];
  if (o.tailoring) args.push("--tailoring-file", o.tailoring);
  for (const r of o.rules) args.push("--rule", r);
  if (o.progress) args.push("--progress");
  if (o.remediate) args.push("--remediate");
  if (o.fetchRemoteResources) args.push("--fetch-remote-resources");
  args.push(o.datastream);
  return args;
}

/** The scan was stopped: by its caller's signal (cancel, shutdown; the reason is the signal's) or by its time-out. */
export class ScanStopped extends Error {
  constructor(
    readonly reason: string,
    readonly timedOut: boolean,
  ) {
    super(reason);
  }
}

/** How a caller follows and stops a scan. */
export interface ScanControl {
  /** Aborting it stops the scan: the scanner's process group gets SIGTERM, then SIGKILL; the run ends with ScanStopped. */
  signal?: AbortSignal;
  /** The whole run, the reading of its output included, stops as timed out after this long. */
  timeoutMs?: number;
  /** Each line the scanner writes on stdout (oscap: one per rule evaluated). */
  onLine?(line: string): void;
}

/**
 * Reads the scanner's output file before its temp directory goes. `signal`
 * aborts with a ScanStopped when the scan is stopped meanwhile: a long read
 * checks it (signal.throwIfAborted()).
 */
export type ReadOutput<T> = (file: string, signal: AbortSignal) => Promise<T>;

export interface OpenscapRun extends ScanControl {
  profile: string;
  /** Default: the SSG content in `contentDirs` matching this host. */
  datastream?: string;
  contentDirs: string[];
  /** What to say when no content matches this host: where to name a data stream. */
  datastreamHint: string;
  tailoring?: string;
  rules: string[];
  progress: boolean;
  remediate?: boolean;
  fetchRemoteResources?: boolean;
  /** The data stream is chosen and oscap about to start. */
  starting?(datastream: string): void | Promise<void>;
}

/**
 * Runs `oscap xccdf eval` writing its ARF into a private temp directory,
 * hands the ARF to `read`, and always removes the directory. oscap exit 2
 * (some rule failed) is success.
 */
export async function runOpenscap<T>(o: OpenscapRun, read: ReadOutput<T>): Promise<T> {
  return stoppable(o, async (signal) => {
    const oscap = which("oscap");
    if (!oscap) throw new PipeError("E_IO", "scanner not available: oscap not found on PATH (apt-get install openscap-scanner)", { exitCode: EXIT_NO_SCANNER });
    const datastream = await chooseDatastream(o.datastream, o.contentDirs, o.datastreamHint);
    await o.starting?.(datastream);
    signal.throwIfAborted();
    return inTempDir("scan-run-", async (dir) => {
      const results = join(dir, "results.arf.xml");
      const args = oscapArgs({ ...o, datastream: resolve(datastream), tailoring: o.tailoring && resolve(o.tailoring), results });
      const { code, stderr } = await supervise(spawn(oscap, args, { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"] }), signal, o.onLine);
      if (code !== 0 && code !== 2) {
        const said = stderr.trim().split("\n").slice(-5).join(" | ");
        throw new PipeError("E_IO", `oscap exited with ${code}${said ? `: ${said}` : ""}`);
      }
      if (!existsSync(results)) throw new PipeError("E_IO", "oscap wrote no results file");
      return read(results, signal);
    });
  });
}

/** The data stream to use: the one given, else the SSG content matching this host. */
export async function chooseDatastream(given: string | undefined, contentDirs: string[], hint: string): Promise<string> {
  if (given) {
    if (!existsSync(given)) throw new PipeError("E_USAGE", `data stream not found: ${given}`);
    return given;
  }
  const files = await findDatastreams(contentDirs);
  const mine = files.find((f) => matchesHost(f));
  if (!mine) throw new PipeError("E_USAGE", `no SCAP content matches this host in ${contentDirs.join(", ")}: ${hint}`);
  return mine;
}

export interface DockerBenchRun extends ScanControl {
  /** A docker-bench-security.sh to run instead of the container. */
  script?: string;
  image?: string;
  /** What to say when there is no docker: where to name a script. */
  scriptHint: string;
  /** Docker Bench is about to start. */
  starting?(): void;
}

/** Runs Docker Bench (its container, or the script) into a private temp directory and hands its JSON log to `read`. */
export async function runDockerBench<T>(o: DockerBenchRun, read: ReadOutput<T>): Promise<T> {
  return stoppable(o, async (signal) => {
    let command: string;
    let args: (dir: string) => string[];
    let cwd: string | undefined;
    if (o.script) {
      if (!existsSync(o.script)) throw new PipeError("E_IO", `scanner not available: ${o.script} not found`, { exitCode: EXIT_NO_SCANNER });
      command = "sh";
      args = (dir) => [resolve(o.script!), "-b", "-l", join(dir, "docker-bench")];
      cwd = dirname(o.script);
    } else {
      const docker = which("docker");
      if (!docker) throw new PipeError("E_IO", `scanner not available: docker not found on PATH (${o.scriptHint})`, { exitCode: EXIT_NO_SCANNER });
      const server = await run(docker, ["version", "--format", "{{.Server.Version}}"], 15_000);
      if (server.code !== 0) {
        throw new PipeError("E_IO", `scanner not available: the Docker engine does not answer (${(server.stderr.trim().split("\n").pop() ?? "").slice(0, 160)})`, { exitCode: EXIT_NO_SCANNER });
      }
      command = docker;
      args = (dir) => dockerBenchArgs(dir, o.image);
    }
    o.starting?.();
    signal.throwIfAborted();
    return inTempDir("scan-run-db-", async (dir) => {
      const { code, stderr } = await supervise(spawn(command, args(dir), { cwd: cwd ?? dir, detached: true, stdio: ["ignore", "pipe", "pipe"] }), signal, o.onLine);
      const log = join(dir, "docker-bench.json");
      if (code !== 0) throw new PipeError("E_IO", `Docker Bench exited with ${code}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
      if (!existsSync(log)) throw new PipeError("E_IO", "Docker Bench wrote no JSON log");
      return read(log, signal);
    });
  });
}

/**
 * Runs `work` with one signal for both ways a scan stops (the caller's
 * signal, the time-out), whose reason is the ScanStopped that ends the run.
 */
async function stoppable<T>(c: ScanControl, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctrl = new AbortController();
  const onAbort = () => ctrl.abort(new ScanStopped(String(c.signal?.reason ?? "stopped"), false));
  if (c.signal?.aborted) onAbort();
  else c.signal?.addEventListener("abort", onAbort, { once: true });
  const timer = c.timeoutMs === undefined ? null : setTimeout(() => ctrl.abort(new ScanStopped(`timed out after ${Number((c.timeoutMs! / 60_000).toFixed(2))} minutes`, true)), c.timeoutMs);
  try {
    const result = await work(ctrl.signal);
    ctrl.signal.throwIfAborted();
    return result;
  } catch (err) {
    // whatever failed once the scan was stopped failed because it was
    ctrl.signal.throwIfAborted();
    throw err;
  } finally {
    if (timer) clearTimeout(timer);
    c.signal?.removeEventListener("abort", onAbort);
  }
}

async function inTempDir<T>(prefix: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Grace between SIGTERM and SIGKILL for a stopped scanner's process group. */
const KILL_GRACE_MS = 1_000;

/**
 * Waits for a scanner started in its own process group, keeping the last of
 * its stderr for the message and passing its stdout on line by line. When
 * the signal aborts, the whole group (the scanner and anything it started)
 * gets SIGTERM, then SIGKILL; the wait ends with the signal's reason once
 * the scanner is gone.
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
        reject(signal.reason);
      } else resolve({ code, stderr });
    });
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Counts the result words of oscap's own per-rule lines on its stdout:
 * `Result<TAB>word` (preceded by a CR in oscap's output), or `rule-id:word`
 * with --progress. Cheaper than reading the ARF back.
 */
export class ResultWords {
  total = 0;
  notapplicable = 0;

  see(line: string): void {
    const word = /^Result\r?\t(\w+)\s*$/.exec(line)?.[1] ?? /^xccdf_\S+:(\w+)\s*$/.exec(line)?.[1];
    if (!word) return;
    this.total++;
    if (word === "notapplicable") this.notapplicable++;
  }
}
