import { spawnSync, type SpawnSyncOptions } from "node:child_process";
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
