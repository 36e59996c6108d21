import { PipeError } from "../errors.js";
import type { AttemptListener } from "./outcome.js";

/**
 * What a sender does when its receiver is down: the outage settings every
 * sender shares (--wait-for-receiver, --max-backoff).
 */
export interface OutageSettings {
  /**
   * How long records wait for a receiver that is down before the rest are
   * failed at once: 0 fails them at once, Infinity waits for ever (what a
   * spool wants: set it to Infinity when --spool is given).
   */
  waitMs: number;
  /** Longest pause between two attempts, per record and between probes. */
  maxBackoffMs: number;
}

export const DEFAULT_MAX_BACKOFF_S = 30;
export const DEFAULT_OUTAGE: OutageSettings = { waitMs: 0, maxBackoffMs: DEFAULT_MAX_BACKOFF_S * 1000 };

/** First pause between probes of a receiver that is down. */
const FIRST_PROBE_MS = 250;

/**
 * First pause before a record is tried again after a connection-level
 * failure (refused, reset, unreachable, no answer); it doubles per retry.
 * Short, unlike the pause after an answer (5xx, 429): a refused connection
 * costs the receiver nothing, a quick restart is still caught, and a
 * receiver that stays down is found down after one such schedule (0.8 to
 * 1.6 s with 5 retries) instead of holding every record for it.
 */
export const FIRST_RECONNECT_MS = 50;

/** The longest a record's schedule of `retries` reconnects takes (before jitter): how long a receiver may be unreachable before it is found down. */
export const reconnectScheduleMs = (retries: number, maxMs: number): number =>
  Array.from({ length: retries }, (_, i) => Math.min(maxMs, FIRST_RECONNECT_MS * 2 ** i)).reduce((a, b) => a + b, 0);

/** What the gate says to a record about to be sent. */
export type Gate = { go: true; probe: boolean } | { go: false; refusal: Refusal };

const GO: Gate = Object.freeze({ go: true, probe: false });

/** Why a record is not sent: the kind of failure that showed the receiver down, and what became of the record. */
export interface Refusal {
  kind: string;
  /** `not sent: the receiver is down`, or `not sent: interrupted`. */
  note: string;
}

/**
 * One per receiver, shared by every record sent to it: retries are shared,
 * not per record. It opens when a record used up its whole retry schedule
 * on connection errors with no attempt succeeding meanwhile: the receiver
 * is down. While open, nothing is sent but one probe at a time, the pauses
 * between probes doubling up to maxBackoffMs; the records that come to the
 * gate meanwhile wait (for up to waitMs from the opening) or are failed at
 * once with the reason, so an outage costs one retry schedule, not one per
 * record. A probe that gets through closes it.
 */
export class Circuit {
  private openSince: number | null = null;
  private why = "";
  private probeAt = 0;
  private probeMs = FIRST_PROBE_MS;
  private probing = false;
  private lastSuccess = 0;
  private halted = false;
  private readonly waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;
  /** Times the receiver was found down. */
  opened = 0;

  constructor(private readonly settings: OutageSettings = DEFAULT_OUTAGE) {}

  /** Whether records wait for the receiver rather than fail at once. */
  get waits(): boolean {
    return this.settings.waitMs > 0;
  }

  get isOpen(): boolean {
    return this.openSince !== null;
  }

  /** Waits while the receiver is down (if waiting is on); says whether to send, and if so whether as the probe. */
  async enter(): Promise<Gate> {
    for (;;) {
      const gate = this.gate();
      if (gate) return gate;
      const t = performance.now();
      await this.nextChange(Math.min(this.probing ? Infinity : this.probeAt, this.openSince! + this.settings.waitMs) - t);
    }
  }

  /** What enter() says when it need not wait, at once (no promise: the common case, once per request); null when it must wait. */
  gate(): Gate | null {
    if (this.halted) return { go: false, refusal: { kind: this.why || "interrupted", note: "not sent: interrupted" } };
    if (this.openSince === null) return GO;
    const t = performance.now();
    if (!this.probing && t >= this.probeAt) {
      this.probing = true;
      return { go: true, probe: true };
    }
    if (t - this.openSince >= this.settings.waitMs) return { go: false, refusal: this.refusal() };
    return null;
  }

  /** The receiver answered (whatever it said). */
  succeeded(probe: boolean): void {
    this.lastSuccess = performance.now();
    if (probe) this.probing = false;
    if (this.openSince === null) return;
    this.openSince = null;
    this.probeMs = FIRST_PROBE_MS;
    this.wakeAll();
  }

  /** A connection-level failure; `exhausted` when it ended a schedule that began at `firstAttemptAt` (from now()). */
  failed(reason: string, opts: { probe: boolean; exhausted?: boolean; firstAttemptAt?: number }): void {
    const t = performance.now();
    if (opts.probe) {
      this.probing = false;
      this.probeAt = t + this.probeMs;
      this.probeMs = Math.min(this.settings.maxBackoffMs, this.probeMs * 2);
      this.why = reason;
      this.wakeAll();
      return;
    }
    if (this.openSince !== null || !opts.exhausted) return;
    if (this.lastSuccess > (opts.firstAttemptAt ?? 0)) return;
    this.openSince = t;
    this.opened++;
    this.why = reason;
    this.probeAt = t + this.probeMs;
    this.wakeAll();
  }

  /** SIGINT/SIGTERM: waiting records give up at once. */
  get stopped(): boolean {
    return this.halted;
  }

  stop(): void {
    this.halted = true;
    this.wakeAll();
  }

  private refusal(): Refusal {
    const waited = this.settings.waitMs > 0 ? ` after waiting ${formatDuration(this.settings.waitMs)} (--wait-for-receiver)` : "";
    return { kind: this.why, note: `not sent: the receiver is down${waited}` };
  }

  private nextChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.waiters.delete(wake);
        resolve();
      };
      this.waiters.add(wake);
      if (Number.isFinite(ms)) this.armTimer(Math.max(1, ms));
    });
  }

  private armTimer(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.wakeAll();
    }, ms);
  }

  private wakeAll(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const wake of [...this.waiters]) wake();
  }
}

/** One attempt to send a record, as the retry schedule sees it. */
export interface Try<R> {
  result: R;
  ok: boolean;
  /** "answered": the receiver is up (whatever it said); "unreachable": no connection or no answer; else unknown. */
  contact: "answered" | "unreachable" | "unknown";
  /** Whether another attempt may help. */
  retryable: boolean;
  /** When the receiver asked to be tried again (Retry-After). */
  retryAfterMs?: number;
  kind: string;
}

export interface Schedule {
  circuit: Circuit;
  /** Attempts after the first, paid for by the record itself. */
  retries: number;
  /** First pause after an attempt the receiver answered (5xx, 429 without Retry-After); see FIRST_RECONNECT_MS for the others. */
  firstBackoffMs: number;
  maxBackoffMs: number;
  onFailedAttempt?: AttemptListener;
  /** Pauses between attempts; resolves false when interrupted. */
  wait(ms: number): Promise<boolean>;
  /** Each attempt after a record's first (--stats: retried). */
  onRetry(): void;
}

/**
 * Sends one record: attempts with exponential backoff while its own retries
 * last; while the receiver is down, the circuit paces the attempts (probes)
 * and says when to stop. `giveUp` makes the result of a record that is not
 * sent (again): the last attempt's failure, if there was one, and why.
 */
export async function sendWithRetries<R>(s: Schedule, attempt: (n: number) => Promise<Try<R>>, giveUp: (last: Try<R> | null, note: Refusal) => R): Promise<R> {
  const firstAttemptAt = performance.now();
  let last: Try<R> | null = null;
  // attempt counts this record's tries; `scheduled` only those its own retry schedule paid for
  for (let n = 1, scheduled = 1; ; n++) {
    const gate = s.circuit.gate() ?? (await s.circuit.enter());
    if (!gate.go) return giveUp(last, gate.refusal);
    if (n > 1) s.onRetry();
    const t = await attempt(n);
    last = t;
    const exhausted = scheduled > s.retries;
    if (t.contact === "unreachable") s.circuit.failed(t.kind, { probe: gate.probe, exhausted, firstAttemptAt });
    else if (t.contact === "answered") s.circuit.succeeded(gate.probe);
    else if (gate.probe) s.circuit.failed(t.kind, { probe: true });
    if (t.ok) return t.result;
    // a record that used up its own retries ends here, unless records wait for the receiver
    const shared = t.contact === "unreachable" && s.circuit.isOpen && (!exhausted || s.circuit.waits);
    const retrying = t.retryable && (!exhausted || shared) && !s.circuit.stopped;
    s.onFailedAttempt?.({ kind: t.kind, attempt: n, retries: s.retries, retrying });
    if (!retrying) return s.circuit.stopped && t.retryable ? giveUp(t, { kind: t.kind, note: "not retried: interrupted" }) : t.result;
    if (shared) continue;
    const delayMs = t.retryAfterMs ?? backoffMs(scheduled, t.contact === "unreachable" ? FIRST_RECONNECT_MS : s.firstBackoffMs, s.maxBackoffMs);
    scheduled++;
    if (!(await s.wait(delayMs))) return giveUp(t, { kind: t.kind, note: "not retried: interrupted" });
  }
}

/** Exponential backoff with jitter: step `attempt` (from 1) of first × 2ⁿ, capped, jittered over its upper half. */
export function backoffMs(attempt: number, firstMs: number, maxMs: number): number {
  const step = Math.min(maxMs, firstMs * 2 ** (attempt - 1));
  return Math.round(step / 2 + Math.random() * (step / 2));
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30s`, `5m`, `1h`, `250ms`, a bare number of seconds, or `forever`. */
export function parseDuration(text: string, option: string): number {
  const t = String(text).trim();
  if (t === "forever") return Infinity;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(t);
  if (!m) throw new PipeError("E_USAGE", `${option}: not a duration: ${text} (e.g. 30s, 5m, 1h, forever)`);
  return Number(m[1]) * UNITS[m[2] ?? "s"];
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "forever";
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** The outage options every sender declares (yargs). */
export const outageOptions = {
  "wait-for-receiver": {
    type: "string",
    default: "0",
    describe:
      "when the receiver is down (a record's retries all failed on connection errors), wait this long for it (e.g. 30s, 5m, forever), probing with one record at a time, before failing the rest; by default the rest are dead-lettered at once with the reason",
  },
  "max-backoff": { type: "number", default: DEFAULT_MAX_BACKOFF_S, describe: "longest pause in seconds between retries of a record, and between probes of a receiver that is down" },
} as const;

/** The outage settings from --wait-for-receiver and --max-backoff, checked. */
export function outageSettings(a: { "wait-for-receiver"?: string; "max-backoff"?: number }): OutageSettings {
  const waitMs = parseDuration(a["wait-for-receiver"] ?? "0", "--wait-for-receiver");
  const maxBackoff = a["max-backoff"] ?? DEFAULT_MAX_BACKOFF_S;
  if (!(maxBackoff > 0)) throw new PipeError("E_USAGE", "--max-backoff must be > 0 seconds");
  return { waitMs, maxBackoffMs: maxBackoff * 1000 };
}
