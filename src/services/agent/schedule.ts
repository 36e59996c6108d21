import type { Cron } from "croner";
import { parseCron } from "./config.js";
import type { Clock } from "./clock.js";

export type Trigger = { kind: "cron"; expr: string } | { kind: "interval"; minutes: number; firstDelayMs: number };

/**
 * Timers never wait longer than this: Node's timers run on the monotonic
 * clock, which stops while the machine sleeps, so a long timer would fire
 * hours late after a suspend. Looking at the wall clock every minute
 * notices the wake-up within a minute (and costs nothing measurable).
 */
export const MAX_TICK_MS = 60_000;

/**
 * One scanner's schedule: a cron expression (the spec's form) or a fixed
 * interval (the real agent's form: first run `firstDelayMs` after start,
 * then every `minutes`). Runs that fell due while the machine slept, or
 * while the clock jumped, are run once on wake, not once per missed slot.
 */
export class Schedule {
  /** When the next run is due (ms since the epoch), null when stopped. */
  next: number | null = null;
  private cron: Cron | null = null;
  private cancel: (() => void) | null = null;
  private startedAt = 0;
  private lastRun: number | null = null;

  constructor(
    readonly name: string,
    private trigger: Trigger,
    private readonly clock: Clock,
    private readonly onDue: (name: string) => void,
  ) {}

  start(): void {
    this.startedAt = this.clock.now();
    if (this.trigger.kind === "cron") this.cron = parseCron(this.trigger.expr);
    this.next = this.firstDue();
    this.arm();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = null;
    this.cron?.stop();
    this.next = null;
  }

  /** A new interval (settings_update.compliance_scan_interval): the next run moves, counted from the last. */
  setInterval(minutes: number): void {
    if (this.trigger.kind !== "interval" || this.trigger.minutes === minutes) return;
    this.trigger = { ...this.trigger, minutes };
    if (this.next === null) return;
    this.next = this.lastRun === null ? this.firstDue() : Math.max(this.clock.now(), this.lastRun + minutes * 60_000);
    this.arm();
  }

  get minutes(): number | null {
    return this.trigger.kind === "interval" ? this.trigger.minutes : null;
  }

  private firstDue(): number {
    if (this.trigger.kind === "interval") return this.startedAt + this.trigger.firstDelayMs;
    return this.cronAfter(this.clock.now());
  }

  private cronAfter(t: number): number {
    const d = this.cron!.nextRun(new Date(t));
    if (!d) throw new Error(`${this.name}: the schedule '${(this.trigger as { expr: string }).expr}' never runs again`);
    return d.getTime();
  }

  private arm(): void {
    this.cancel?.();
    if (this.next === null) return;
    const wait = Math.min(MAX_TICK_MS, Math.max(0, this.next - this.clock.now()));
    this.cancel = this.clock.setTimer(wait, () => this.tick());
  }

  private tick(): void {
    this.cancel = null;
    if (this.next === null) return;
    const now = this.clock.now();
    if (now < this.next) return this.arm();
    this.lastRun = now;
    if (this.trigger.kind === "cron") this.next = this.cronAfter(now);
    else {
      const every = this.trigger.minutes * 60_000;
      // the next slot on the cadence, unless it is already past: then a full interval from now
      this.next = this.next + every > now ? this.next + every : now + every;
    }
    this.arm();
    this.onDue(this.name);
  }
}
