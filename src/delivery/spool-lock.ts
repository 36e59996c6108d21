import { openSync, writeSync, closeSync, readFileSync, unlinkSync, renameSync, linkSync, statSync } from "node:fs";
import { join } from "node:path";
import { PipeError } from "../errors.js";
import { processAlive } from "../util/process-alive.js";

export const LOCK_FILE = "lock";


function holder(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes DIR/lock for this process: the file is created with O_EXCL and holds
 * the pid. A lock whose pid is no longer running is stale (its holder was
 * killed) and is taken over; a lock a live process holds is a usage error.
 * Returns the release function.
 *
 * Takeover renames the stale file aside and reads it again: if what was
 * moved is not the lock judged stale (another process took the lock over in
 * between), it is linked back, and the next attempt finds its live holder.
 */
export function lockSpoolDir(dir: string, onStale: (pid: number | undefined) => void): () => void {
  const path = join(dir, LOCK_FILE);
  const aside = `${path}.stale.${process.pid}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      return () => {
        if (holder(path) === process.pid) unlinkSync(path);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new PipeError("E_IO", `cannot lock spool directory: ${(err as Error).message}`, { position: { source: dir }, cause: err });
      }
    }
    const pid = holder(path);
    if (attempt >= 3 || (pid === undefined ? !leftLongAgo(path) : pid === process.pid || processAlive(pid))) {
      throw new PipeError("E_USAGE", `spool directory is in use${pid ? ` by process ${pid}` : ""} (remove ${path} if no sender is using it)`, { position: { source: dir } });
    }
    try {
      renameSync(path, aside);
    } catch {
      continue; // someone else moved it first
    }
    if (holder(aside) === pid) {
      onStale(pid);
    } else {
      try {
        linkSync(aside, path);
      } catch {
        // a third process holds it now: the next attempt sees that one
      }
    }
    unlinkSync(aside);
  }
}

/** A lock file without a pid is being written this instant, or was left by a crash between create and write. */
function leftLongAgo(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > 10_000;
  } catch {
    return true;
  }
}
