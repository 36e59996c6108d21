import { describe, expect, it } from "vitest";
import { Schedule, MAX_TICK_MS } from "../src/services/agent/schedule.js";
import type { Clock } from "../src/services/agent/clock.js";

/**
 * A clock for tests: time moves only when told. Timers run on a monotonic
 * clock, as Node's do: `suspend` moves the wall clock and pushes every
 * pending timer back by as much (a machine asleep runs no timers).
 */
class FakeClock implements Clock {
  private timers: { due: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): () => void {
    const id = ++this.ids;
    this.timers.push({ due: this.t + Math.max(0, ms), fn, id });
    return () => (this.timers = this.timers.filter((x) => x.id !== id));
  }
  /** Runs every timer that falls due within `ms`, in order, moving time with them. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.due - b.due);
      const next = this.timers[0];
      if (!next || next.due > end) break;
      this.timers.shift();
      this.t = next.due;
      next.fn();
    }
    this.t = end;
  }
  suspend(ms: number): void {
    this.t += ms;
    for (const x of this.timers) x.due += ms;
  }
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function scheduled(expr: string | { minutes: number; firstDelayMs: number }, start: Date) {
  const clock = new FakeClock(start.getTime());
  const runs: Date[] = [];
  const s = new Schedule("openscap", typeof expr === "string" ? { kind: "cron", expr } : { kind: "interval", ...expr }, clock, () => runs.push(new Date(clock.now())));
  s.start();
  return { clock, runs, s };
}

describe("schedules, on a fake clock", () => {
  it("runs the spec's weekly cron on Sundays at 03:00 local time, and no other time", () => {
    const { clock, runs } = scheduled("0 3 * * 0", new Date(2026, 0, 1, 12, 0)); // a Thursday
    clock.advance(21 * DAY);
    expect(runs).toHaveLength(3);
    for (const r of runs) expect([r.getDay(), r.getHours(), r.getMinutes(), r.getSeconds()]).toEqual([0, 3, 0, 0]);
    expect(runs[0].getDate()).toBe(4);
  });

  it("takes names and macros: weekdays at 02:30, @daily, @hourly", () => {
    const weekdays = scheduled("30 2 * * mon-fri", new Date(2026, 0, 1, 0, 0));
    weekdays.clock.advance(7 * DAY);
    expect(weekdays.runs.map((r) => r.getDay())).toEqual([4, 5, 1, 2, 3]);
    expect(weekdays.runs.every((r) => r.getHours() === 2 && r.getMinutes() === 30)).toBe(true);
    const daily = scheduled("@daily", new Date(2026, 0, 1, 0, 0, 1));
    daily.clock.advance(3 * DAY);
    expect(daily.runs.map((r) => [r.getDate(), r.getHours()])).toEqual([
      [2, 0],
      [3, 0],
      [4, 0],
    ]);
    const hourly = scheduled("@hourly", new Date(2026, 0, 1, 0, 10));
    hourly.clock.advance(5 * HOUR);
    expect(hourly.runs).toHaveLength(5);
  });

  it("runs a cron slot missed while the machine slept once on wake, not once per missed slot", () => {
    const { clock, runs, s } = scheduled("0 * * * *", new Date(2026, 0, 1, 0, 30));
    clock.advance(40 * MIN); // 01:00 ran
    expect(runs).toHaveLength(1);
    clock.suspend(5 * HOUR); // 02:00 … 06:00 missed
    clock.advance(MAX_TICK_MS); // awake: noticed within a minute
    expect(runs).toHaveLength(2);
    expect(runs[1].getTime() - new Date(2026, 0, 1, 6, 10).getTime()).toBeLessThanOrEqual(MAX_TICK_MS);
    expect(new Date(s.next!).getHours()).toBe(7);
    clock.advance(HOUR);
    expect(runs).toHaveLength(3);
    expect(runs[2].getHours()).toBe(7);
  });

  it("the interval form: first run 30 s after start, then every N minutes; a live change moves the next run", () => {
    const start = new Date(2026, 0, 1, 12, 0);
    const { clock, runs, s } = scheduled({ minutes: 60, firstDelayMs: 30_000 }, start);
    clock.advance(29_999);
    expect(runs).toHaveLength(0);
    clock.advance(1);
    expect(runs.map((r) => r.getTime() - start.getTime())).toEqual([30_000]);
    clock.advance(2 * HOUR);
    expect(runs.map((r) => r.getTime() - start.getTime())).toEqual([30_000, 30_000 + HOUR, 30_000 + 2 * HOUR]);
    // settings_update.compliance_scan_interval: 180
    s.setInterval(180);
    expect(s.next! - runs[2].getTime()).toBe(180 * MIN);
    clock.advance(3 * HOUR);
    expect(runs).toHaveLength(4);
    expect(runs[3].getTime() - runs[2].getTime()).toBe(180 * MIN);
  });

  it("the interval form after a sleep longer than several intervals: once on wake, then every N from then", () => {
    const { clock, runs } = scheduled({ minutes: 60, firstDelayMs: 0 }, new Date(2026, 0, 1, 0, 0));
    expect(runs).toHaveLength(0);
    clock.advance(0);
    expect(runs).toHaveLength(1);
    clock.suspend(10 * HOUR);
    clock.advance(MAX_TICK_MS);
    expect(runs).toHaveLength(2);
    const woke = runs[1].getTime();
    clock.advance(HOUR);
    expect(runs).toHaveLength(3);
    expect(runs[2].getTime() - woke).toBe(HOUR);
  });

  it("stop() ends it: no run after", () => {
    const { clock, runs, s } = scheduled("* * * * *", new Date(2026, 0, 1, 0, 0, 30));
    clock.advance(MIN);
    expect(runs).toHaveLength(1);
    s.stop();
    clock.advance(HOUR);
    expect(runs).toHaveLength(1);
    expect(s.next).toBeNull();
  });
});
