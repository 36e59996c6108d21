/**
 * Plugins: executables in plugins/, looked up when they are needed (so one
 * added after start is seen), run as the Go runner runs them — no
 * arguments, the runner's environment and working directory, the
 * RunnerResult on stdin then EOF — but supervised: a timeout (the plugin's
 * whole process group is stopped), stderr passed to the runner's log line
 * by line, the exit status returned for the caller to retry on.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";
import type { Clock } from "./clock.js";

/** Time a plugin gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 5_000;

export function findPlugin(pluginsDir: string, name: string): { path: string } | { problem: string } {
  const path = join(pluginsDir, name);
  let st;
  try {
    st = statSync(path);
  } catch {
    return { problem: `plugin ${name} not found in ${pluginsDir}` };
  }
  if (!st.isFile()) return { problem: `plugin ${path} is not a file` };
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return { problem: `plugin ${path} is not executable` };
  }
  return { path };
}

export interface PluginOutcome {
  ok: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** When it could not be started at all. */
  error?: string;
}

export function describeOutcome(o: PluginOutcome, timeoutMs: number): string {
  if (o.error) return `could not run: ${o.error}`;
  if (o.timedOut) return `timed out after ${Math.round(timeoutMs / 1000)} s and was stopped`;
  if (o.signal) return `killed by ${o.signal}`;
  return `exited with ${o.code}`;
}

export interface PluginRun {
  path: string;
  input: Buffer | string;
  timeoutMs: number;
  clock: Clock;
  onStderr(line: string): void;
  onStdout?(line: string): void;
  onStart?(pid: number): void;
  /** Stops the plugin early (the runner is shutting down). */
  signal?: AbortSignal;
}

function lines(stream: NodeJS.ReadableStream, each: (line: string) => void): () => void {
  let partial = "";
  stream.setEncoding("utf8");
  stream.on("data", (d: string) => {
    const parts = (partial + d).split("\n");
    partial = parts.pop() ?? "";
    for (const l of parts) each(l);
  });
  return () => {
    if (partial) each(partial);
    partial = "";
  };
}

export function runPlugin(r: PluginRun): Promise<PluginOutcome> {
  return new Promise((resolve) => {
    // its own process group, so that a shell plugin's pipeline is stopped whole
    const child = spawn(r.path, [], { detached: true, stdio: ["pipe", "pipe", "pipe"] });
    let timedOut = false;
    let settled = false;
    const stopTimers = new AbortController();
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        /* already gone */
      }
    };
    const stop = async () => {
      killGroup("SIGTERM");
      await r.clock.delay(KILL_GRACE_MS, stopTimers.signal);
      if (!settled) killGroup("SIGKILL");
    };
    const flushErr = lines(child.stderr, r.onStderr);
    const flushOut = lines(child.stdout, r.onStdout ?? (() => undefined));
    const finish = (o: Omit<PluginOutcome, "timedOut">) => {
      if (settled) return;
      settled = true;
      stopTimers.abort();
      r.signal?.removeEventListener("abort", onAbort);
      flushErr();
      flushOut();
      resolve({ ...o, timedOut });
    };
    const onAbort = () => void stop();
    child.on("error", (err) => finish({ ok: false, code: null, signal: null, error: err.message }));
    child.on("close", (code, signal) => finish({ ok: code === 0 && !timedOut, code, signal }));
    if (child.pid === undefined) return;
    r.onStart?.(child.pid);
    r.signal?.addEventListener("abort", onAbort, { once: true });
    void r.clock.delay(r.timeoutMs, stopTimers.signal).then(() => {
      if (settled) return;
      timedOut = true;
      return stop();
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(r.input);
  });
}
