import { spawn, spawnSync, type SpawnSyncOptions } from "node:child_process";
import { BIN, FIXTURES } from "./paths.js";

/** Runs a shell line with bin/ on PATH; returns stdout, stderr and the exit status. */
export function sh(command: string, opts: SpawnSyncOptions & { input?: string | Buffer } = {}) {
  const r = spawnSync("bash", ["-o", "pipefail", "-c", command], {
    ...opts,
    env: { ...process.env, PATH: `${BIN}:${process.env.PATH}`, FIXTURES, ...(opts.env ?? {}) },
    maxBuffer: 256 * 1024 * 1024,
  });
  return { stdout: r.stdout.toString(), stderr: r.stderr.toString(), status: r.status };
}

/** Like sh(), but without blocking this process (a server in the test must keep answering). */
export function shAsync(command: string, opts: { input?: string | Buffer; env?: Record<string, string>; cwd?: string; onSpawn?: (pid: number) => void } = {}) {
  return new Promise<{ stdout: string; stderr: string; status: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const child = spawn("bash", ["-o", "pipefail", "-c", command], {
      cwd: opts.cwd,
      env: { ...process.env, PATH: `${BIN}:${process.env.PATH}`, FIXTURES, ...(opts.env ?? {}) },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
    if (child.pid) opts.onSpawn?.(child.pid);
    child.on("close", (status, signal) => resolve({ stdout, stderr, status, signal }));
  });
}
