import { sleep, type Clock } from "./clock.js";
import type { Outbox, OutboxEntry, StoredScan } from "./outbox.js";
import type { Uploader } from "./upload.js";

export interface CourierEvents {
  /** The server answered 200 (the file is still there). */
  accepted(scan: StoredScan, entry: OutboxEntry): void;
  /** …and the file is gone. */
  removed(scan: StoredScan): void;
  /** A send that did not go through (the scan stays in the outbox unless `refused`). */
  failed(scan: StoredScan | null, why: string, kind: "later" | "auth" | "refused"): void;
  log(message: string): void;
}

const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 5 * 60_000;
const AUTH_BACKOFF_MS = 10 * 60_000;

/**
 * Sends the outbox, oldest scan first, one request per scan, and removes a
 * scan only after the server's 200. A scan the server cannot take now keeps
 * its place at the head (so scans arrive in order) and the courier waits,
 * 1 s doubling to 5 min (a 429's Retry-After; 10 min after a 401), or
 * until kicked: a new scan, a reconnect. Only one pass runs at a time, so
 * a scan is never in two requests at once.
 */
export class Courier {
  private running: Promise<void> | null = null;
  private wake: AbortController | null = null;
  private readonly stopping = new AbortController();
  private backoffMs = FIRST_BACKOFF_MS;
  /** Why the last attempt failed, for the status; null after a success. */
  lastError: string | null = null;
  lastErrorAt: string | null = null;
  sending: string | null = null;

  constructor(
    private readonly outbox: Outbox,
    private readonly uploader: Uploader,
    private readonly clock: Clock,
    private readonly on: CourierEvents,
    /** The service keeps trying; a one-shot `scan` gives up after the first failed send. */
    private readonly persistent = true,
  ) {}

  /** Starts sending now (or cuts a wait short). */
  kick(): void {
    if (this.stopping.signal.aborted) return;
    this.wake?.abort();
    this.running ??= this.loop().finally(() => (this.running = null));
  }

  /** Sends now and resolves when the courier rests: the outbox empty, or (one-shot) a send failed. */
  async drain(): Promise<void> {
    this.kick();
    await this.running;
  }

  /** Stops after the current request, or parks it (aborted; the scan stays) after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.stopAfterCurrent = true;
    this.wake?.abort();
    const timer = setTimeout(() => this.stopping.abort(), graceMs);
    await this.running;
    clearTimeout(timer);
    this.stopping.abort();
  }

  private stopAfterCurrent = false;

  private async loop(): Promise<void> {
    while (!this.stopAfterCurrent && !this.stopping.signal.aborted) {
      const r = await this.pass();
      if (r.done || this.stopAfterCurrent || !this.persistent) return;
      this.wake = new AbortController();
      const wait = r.afterMs ?? this.backoffMs;
      this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
      this.on.log(`outbox: next attempt in ${Math.round(wait / 1000)} s`);
      await sleep(this.clock, wait, AbortSignal.any([this.wake.signal, this.stopping.signal]));
    }
  }

  /** Sends until the outbox is empty (done) or a send must wait. */
  private async pass(): Promise<{ done: boolean; afterMs?: number }> {
    for (;;) {
      if (this.stopAfterCurrent) return { done: true };
      const [entry] = this.outbox.list();
      if (!entry) return { done: true };
      let scan: StoredScan;
      try {
        scan = this.outbox.read(entry);
      } catch (err) {
        const why = `unreadable outbox file (${(err as Error).message})`;
        const to = this.outbox.reject(entry, why);
        this.on.failed(null, `${entry.file}: ${why}; moved to ${to}`, "refused");
        continue;
      }
      this.sending = scan.id;
      const outcome = await this.uploader.uploadScans(scan.payload, this.stopping.signal);
      this.sending = null;
      switch (outcome.kind) {
        case "accepted":
          // the agent notes the scan as its last (the hash gate's) before the file goes: a crash in
          // between leaves the file, sent again on restart, never an older "last scan"
          this.on.accepted(scan, entry);
          this.outbox.remove(entry);
          this.lastError = null;
          this.backoffMs = FIRST_BACKOFF_MS;
          this.on.removed(scan);
          continue;
        case "parked":
          this.on.log(`outbox: upload of scan ${scan.id} parked (stopping); it stays in the outbox`);
          return { done: true };
        case "refused": {
          const to = this.outbox.reject(entry, outcome.why);
          this.note(outcome.why);
          this.on.failed(scan, `the server refused scan ${scan.id} for good (${outcome.why}); kept in ${to}, not re-sent`, "refused");
          continue;
        }
        case "auth":
          this.note(outcome.why);
          this.on.failed(scan, `the server refused the API credentials (${outcome.why}); scans stay in the outbox until they are fixed`, "auth");
          return { done: false, afterMs: AUTH_BACKOFF_MS };
        case "later":
          this.note(outcome.why);
          this.on.failed(scan, `upload of scan ${scan.id} did not go through (${outcome.why}); it stays in the outbox`, "later");
          return { done: false, afterMs: outcome.afterMs };
      }
    }
  }

  private note(why: string): void {
    this.lastError = why;
    this.lastErrorAt = new Date(this.clock.now()).toISOString();
  }
}
