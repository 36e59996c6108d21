import { afterEach, describe, expect, it, vi } from "vitest";
import { PatchmonDelivery, type PatchmonItem } from "../src/sinks/patchmon/delivery.js";
import type { HttpSender, SendRequest } from "../src/delivery/http.js";

afterEach(() => vi.useRealTimers());

describe("patchmon-send pacing (--per-minute)", () => {
  it("sends no more than N requests in any 60 s", async () => {
    vi.useFakeTimers();
    const sentAt: number[] = [];
    // the pacing is awaited before the request's first attempt, as HttpSender does
    const wait = (ms: number) => new Promise<boolean>((resolve) => setTimeout(() => resolve(true), ms));
    const sender = { send: async (req: SendRequest) => (await req.beforeFirstAttempt?.(wait), sentAt.push(Date.now()), { ok: true, status: 200, attempts: 1, body: "" }) } as unknown as HttpSender;
    const d = new PatchmonDelivery({ sender, path: "/api/v1/compliance/scans", maxBody: 5e6, perMinute: 2, warn: () => undefined });
    const spec = (n: number): PatchmonItem => ({ kind: "spec", line: JSON.stringify({ profile: { name: `p${n}` }, summary: {}, results: [] }) });
    const start = Date.now();
    const done = d.deliver([spec(1), spec(2), spec(3), spec(4), spec(5)]);
    await vi.advanceTimersByTimeAsync(200_000);
    expect(await done).toEqual([null, null, null, null, null]);
    expect(sentAt.map((t) => Math.round((t - start) / 1000))).toEqual([0, 0, 60, 60, 120]);
  });
});
