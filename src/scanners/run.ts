import { spawn, type ChildProcess } from "node:child_process";
import { createReadStream, existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Writable } from "node:stream";
import { PipeError } from "../errors.js";
import { CONTENT_DIRS, allNotApplicableMessage, findDatastreams, matchesHost, profileId, run, which } from "./scap-content.js";

/** Where a scan's document and warnings go (the commands pass their Io). */
export interface ScanIo {
  stdout: Writable;
  warn(message: string): void;
  stderrIsTTY: boolean;
}

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

export function oscapArgs(o: { profile: string; datastream: string; results: string; tailoring?: string; rules: string[]; progress: boolean }): string[] {
  const args = ["xccdf", "eval", "--profile", profileId(o.profile), "--results-arf", o.results];
  if (o.tailoring) args.push("--tailoring-file", o.tailoring);
  for (const r of o.rules) args.push("--rule", r);
  if (o.progress) args.push("--progress");
  args.push(o.datastream);
  return args;
}

/**
 * Runs a scanner writing into a private temp directory, passes SIGINT and
 * SIGTERM on to it, and always removes the directory.
 */
async function inTempDir<T>(prefix: string, work: (dir: string, track: (c: ChildProcess) => void) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  let child: ChildProcess | null = null;
  let signal: NodeJS.Signals | null = null;
  const onSignal = (s: NodeJS.Signals) => {
    signal = s;
    child?.kill(s);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const result = await work(dir, (c) => (child = c));
    if (signal) throw interrupted(signal);
    return result;
  } catch (err) {
    if (signal) throw interrupted(signal);
    throw err;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await rm(dir, { recursive: true, force: true });
  }
}

function interrupted(s: NodeJS.Signals): PipeError {
  return new PipeError("E_IO", `interrupted by ${s}; scan abandoned, temporary files removed`, { exitCode: s === "SIGINT" ? 130 : 143 });
}

/** Waits for a child; keeps the last of its stderr for the message. Lines of stdout go to onLine. */
function finished(child: ChildProcess, onLine?: (line: string) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    let stderr = "";
    let partial = "";
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      const lines = (partial + d).split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) onLine?.(l);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stderr }));
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

export async function runOpenscap(o: { profile: string; datastream?: string; tailoring?: string; rules: string[]; io: ScanIo }): Promise<void> {
  const oscap = which("oscap");
  if (!oscap) throw new PipeError("E_IO", "scanner not available: oscap not found on PATH (apt-get install openscap-scanner)", { exitCode: EXIT_NO_SCANNER });
  let datastream = o.datastream;
  if (!datastream) {
    const files = await findDatastreams(CONTENT_DIRS);
    datastream = files.find((f) => matchesHost(f));
    if (!datastream) throw new PipeError("E_USAGE", `no SCAP content matches this host in ${CONTENT_DIRS.join(", ")}: give --datastream FILE (scan-detect lists what there is)`);
  }
  if (!existsSync(datastream)) throw new PipeError("E_USAGE", `data stream not found: ${datastream}`);
  await inTempDir("scan-run-", async (dir, track) => {
    const results = join(dir, "results.arf.xml");
    const showProgress = o.io.stderrIsTTY;
    const child = spawn(oscap, oscapArgs({ profile: o.profile, datastream: datastream!, results, tailoring: o.tailoring, rules: o.rules, progress: showProgress }), { stdio: ["ignore", "pipe", "pipe"] });
    track(child);
    let n = 0;
    const words = new ResultWords();
    const { code, signal, stderr } = await finished(child, (line) => {
      words.see(line);
      if (!showProgress || !line.includes(":")) return;
      n++;
      process.stderr.write(`\rscan-run: rule ${n}: ${line.slice(0, 100)}\x1b[K`);
    });
    if (showProgress) process.stderr.write("\r\x1b[K");
    if (signal) return;
    if (words.total > 0 && words.notapplicable === words.total) o.io.warn(allNotApplicableMessage(words.total));
    // 2: some rule failed, which is what a scan is for
    if (code !== 0 && code !== 2) {
      const said = stderr.trim().split("\n").slice(-5).join(" | ");
      throw new PipeError("E_IO", `oscap exited with ${code}${said ? `: ${said}` : ""}`);
    }
    if (!existsSync(results)) throw new PipeError("E_IO", "oscap wrote no results file");
    await pipeline(createReadStream(results), o.io.stdout, { end: false });
  });
}

export async function runDockerBench(o: { script?: string; image: string; io: ScanIo }): Promise<void> {
  let command: string;
  let args: (dir: string) => string[];
  let cwd: string | undefined;
  if (o.script) {
    if (!existsSync(o.script)) throw new PipeError("E_IO", `scanner not available: ${o.script} not found`, { exitCode: EXIT_NO_SCANNER });
    command = "sh";
    args = (dir) => [o.script!, "-b", "-l", join(dir, "docker-bench")];
    cwd = dirname(o.script);
  } else {
    const docker = which("docker");
    if (!docker) throw new PipeError("E_IO", "scanner not available: docker not found on PATH (or give --script docker-bench-security.sh)", { exitCode: EXIT_NO_SCANNER });
    const server = await run(docker, ["version", "--format", "{{.Server.Version}}"], 15_000);
    if (server.code !== 0) {
      throw new PipeError("E_IO", `scanner not available: the Docker engine does not answer (${(server.stderr.trim().split("\n").pop() ?? "").slice(0, 160)})`, { exitCode: EXIT_NO_SCANNER });
    }
    command = docker;
    args = (dir) => dockerBenchArgs(dir, o.image);
  }
  await inTempDir("scan-run-db-", async (dir, track) => {
    const child = spawn(command, args(dir), { cwd, stdio: ["ignore", "pipe", "pipe"] });
    track(child);
    const { code, signal, stderr } = await finished(child);
    if (signal) return;
    const log = join(dir, "docker-bench.json");
    if (code !== 0) throw new PipeError("E_IO", `Docker Bench exited with ${code}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
    if (!existsSync(log)) throw new PipeError("E_IO", "Docker Bench wrote no JSON log");
    await pipeline(createReadStream(log), o.io.stdout, { end: false });
  });
}
