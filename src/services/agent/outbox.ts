import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

/** What one outbox file holds: one finished scan, ready to upload as it is. */
export interface StoredScan {
  /** Stable for the life of the scan: its file name, kept over restarts and re-sends. */
  id: string;
  created_at: string;
  scan_type: "scheduled" | "on-demand";
  profile_name: string;
  profile_type: string;
  /** The upload body: the host's head and `scans: [this scan]`. */
  payload: Record<string, unknown> & { scans: Record<string, unknown>[] };
}

export interface OutboxEntry {
  id: string;
  file: string;
  bytes: number;
}

const SUFFIX = ".json";

/** Writes a file so that after a crash it is either whole under its name or absent. */
export function writeDurably(dir: string, name: string, text: string): void {
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, name));
  syncDir(dir);
}

function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The durable outbox: one file per finished scan, written (temp name,
 * fsync, rename, fsync of the directory) before any attempt to send it and
 * removed only after the server answered 200. Names sort in the order the
 * scans were stored, so they are sent oldest first.
 *
 * Its size limit never blocks scanning and never drops a scan: above the
 * limit every new scan is still kept, and each write says, loudly, how far
 * over the limit the outbox is and since when it has been unable to send.
 * Scans the server refuses for good (a 4xx other than 401/429, or a body
 * too large even slimmed down) are moved to `rejected/` beside it, kept for
 * a person to look at, not re-sent.
 */
export class Outbox {
  private seq = 0;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly warn: (message: string) => void,
  ) {}

  /** Creates the directory; removes temp files of writes a crash cut short (never renamed: never stored). */
  init(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(this.dir)) if (name.endsWith(".tmp")) unlinkSync(join(this.dir, name));
  }

  newId(now = Date.now()): string {
    return `${String(now).padStart(14, "0")}-${String(this.seq++ % 10000).padStart(4, "0")}-${randomBytes(4).toString("hex")}`;
  }

  add(scan: StoredScan): OutboxEntry {
    const text = JSON.stringify(scan);
    writeDurably(this.dir, `${scan.id}${SUFFIX}`, text);
    const entry = { id: scan.id, file: join(this.dir, `${scan.id}${SUFFIX}`), bytes: Buffer.byteLength(text) };
    const { count, bytes } = this.usage();
    if (bytes > this.maxBytes) {
      this.warn(
        `OUTBOX OVER ITS LIMIT: ${count} scan(s), ${mb(bytes)} in ${this.dir} (limit ${mb(this.maxBytes)}); nothing is dropped and scanning goes on, but the server has not taken these scans: check the connection to it, or raise compliance_agent.outbox_max_mb`,
      );
    }
    return entry;
  }

  /** The stored scans, oldest first. */
  list(): OutboxEntry[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const out: OutboxEntry[] = [];
    for (const name of names.filter((n) => n.endsWith(SUFFIX) && !n.startsWith(".")).sort()) {
      const file = join(this.dir, name);
      try {
        out.push({ id: name.slice(0, -SUFFIX.length), file, bytes: statSync(file).size });
      } catch {
        // removed meanwhile (sent by another process)
      }
    }
    return out;
  }

  usage(): { count: number; bytes: number } {
    const entries = this.list();
    return { count: entries.length, bytes: entries.reduce((n, e) => n + e.bytes, 0) };
  }

  read(entry: OutboxEntry): StoredScan {
    return JSON.parse(readFileSync(entry.file, "utf8")) as StoredScan;
  }

  /** After the server's 200: gone for good (the directory is synced so a crash cannot bring it back). */
  remove(entry: OutboxEntry): void {
    try {
      unlinkSync(entry.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    syncDir(this.dir);
  }

  /** Refused for good by the server: kept aside for a person, with the reason, never re-sent. */
  reject(entry: OutboxEntry, why: string): string {
    const dir = join(this.dir, "rejected");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const to = join(dir, `${entry.id}${SUFFIX}`);
    renameSync(entry.file, to);
    writeFileSync(join(dir, `${entry.id}.reason`), `${why}\n`);
    syncDir(this.dir);
    return to;
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * One process sends from an outbox at a time: the running agent, or a
 * one-off `scan` when no agent runs. A lock left by a killed process (its
 * pid no longer alive) is taken over.
 */
export class OutboxLock {
  private held = false;

  constructor(private readonly dir: string) {}

  get file(): string {
    return join(this.dir, ".lock");
  }

  /** Takes the lock; returns the pid holding it when another live process does. */
  acquire(): number | null {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        writeFileSync(this.file, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
        this.held = true;
        return null;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const holder = this.holder();
      if (holder !== null && holder !== process.pid) return holder;
      try {
        unlinkSync(this.file);
      } catch {
        // another process took it over first: try again
      }
    }
    return this.holder() ?? -1;
  }

  /** The live process holding the lock, or null. */
  holder(): number | null {
    let pid: number;
    try {
      pid = Number(readFileSync(this.file, "utf8").trim());
    } catch {
      return null;
    }
    if (!Number.isInteger(pid) || pid <= 0) return null;
    try {
      process.kill(pid, 0);
      return pid;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "EPERM" ? pid : null;
    }
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    try {
      if (this.holder() === process.pid) unlinkSync(this.file);
    } catch {
      // already gone
    }
  }
}
