import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer as createHttp } from "node:http";
import { createServer as createNet } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shAsync } from "./helpers/run.js";
import { closedPort } from "./helpers/http-server.js";
import { Circuit, parseDuration } from "../src/delivery/circuit.js";

/** A receiver that is down costs one retry schedule, not one per record (issue 13, section 4). */

const events = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ summary: `event ${i}`, details: { seq: i } })).join("\n") + "\n";

function workdir() {
  const dir = mkdtempSync(join(tmpdir(), "outage-"));
  return { dir, dead: join(dir, "dead.ndjson") };
}

const deadLines = (file: string): { dead_letter: { reason: string; record: number }; line: string }[] =>
  existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l)) : [];

function statsOf(stderr: string) {
  const m = /read (\d+), sent (\d+), retried (\d+), dead-lettered (\d+)/.exec(stderr);
  if (!m) throw new Error(`no stats in: ${stderr}`);
  return { read: +m[1], sent: +m[2], retried: +m[3], dead: +m[4] };
}

describe("the circuit", () => {
  it("stays closed while records still have retries, opens when one used its schedule up, refuses at once (no waiting)", async () => {
    const c = new Circuit({ waitMs: 0, maxBackoffMs: 1000 });
    const first = performance.now();
    c.failed("x: connection refused", { probe: false, exhausted: false, firstAttemptAt: first });
    expect(c.isOpen).toBe(false);
    c.failed("x: connection refused", { probe: false, exhausted: true, firstAttemptAt: first });
    expect(c.isOpen).toBe(true);
    expect(await c.enter()).toEqual({ go: false, refusal: { kind: "x: connection refused", note: "not sent: the receiver is down" } });
  });

  it("does not open when another record got an answer after this one's first attempt", () => {
    const c = new Circuit({ waitMs: 0, maxBackoffMs: 1000 });
    const first = performance.now() - 1;
    c.succeeded(false);
    c.failed("x: connection refused", { probe: false, exhausted: true, firstAttemptAt: first });
    expect(c.isOpen).toBe(false);
  });

  it("lets one probe through once the pause is over; its success closes the circuit for the waiting records", async () => {
    const c = new Circuit({ waitMs: Infinity, maxBackoffMs: 1000 });
    c.failed("x: connection refused", { probe: false, exhausted: true, firstAttemptAt: 0 });
    const gates = [c.enter(), c.enter(), c.enter()];
    const probe = await Promise.race(gates);
    expect(probe).toEqual({ go: true, probe: true });
    c.succeeded(true);
    expect(await Promise.all(gates)).toEqual([{ go: true, probe: true }, { go: true, probe: false }, { go: true, probe: false }]);
    expect(c.isOpen).toBe(false);
  });

  it("stop() sends waiting records away at once", async () => {
    const c = new Circuit({ waitMs: Infinity, maxBackoffMs: 60_000 });
    c.failed("x: down", { probe: false, exhausted: true, firstAttemptAt: 0 });
    const probe = await c.enter();
    expect(probe).toEqual({ go: true, probe: true });
    const waiting = c.enter();
    c.stop();
    expect(await waiting).toEqual({ go: false, refusal: { kind: "x: down", note: "not sent: interrupted" } });
  });

  it("reads durations", () => {
    expect([parseDuration("30s", "-"), parseDuration("5m", "-"), parseDuration("250ms", "-"), parseDuration("2", "-"), parseDuration("forever", "-")]).toEqual([30_000, 300_000, 250, 2000, Infinity]);
    expect(() => parseDuration("soon", "--wait-for-receiver")).toThrow(/--wait-for-receiver: not a duration: soon/);
  });
});

describe("mozdef-send to a receiver that is down", () => {
  it("20,000 events to a closed port finish within seconds, every one dead-lettered with the reason; retries counted", async () => {
    const port = await closedPort();
    const w = workdir();
    const started = performance.now();
    const r = await shAsync(`mozdef-send --url http://127.0.0.1:${port}/events --stats --dead-letter ${w.dead}`, { input: events(20_000) });
    const seconds = (performance.now() - started) / 1000;
    expect(r.status).toBe(1);
    expect(seconds).toBeLessThan(20);
    const dead = deadLines(w.dead);
    expect(dead.length).toBe(20_000);
    expect(new Set(dead.map((d) => d.dead_letter.record)).size).toBe(20_000);
    expect(dead.filter((d) => /not sent: the receiver is down/.test(d.dead_letter.reason)).length).toBeGreaterThan(19_000);
    const s = statsOf(r.stderr);
    // the schedule of the records in flight (--concurrency 4, --retries 5), not one per record
    expect(s).toMatchObject({ read: 20_000, sent: 0, dead: 20_000 });
    expect(s.retried).toBeGreaterThanOrEqual(5);
    expect(s.retried).toBeLessThanOrEqual(4 * 5 + 20);
    expect(r.stderr.trim().split("\n").at(-1)).toBe(`mozdef-send: 20000 of 20000 records not delivered; kept in ${w.dead}; reasons: 127.0.0.1:${port}: connection refused (20000)`);
  }, 60_000);

  it("--wait-for-receiver: waits for the receiver and delivers everything once it is up", async () => {
    const port = await closedPort();
    const w = workdir();
    const got: number[] = [];
    const server = createHttp((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        got.push(JSON.parse(body).details.seq);
        res.writeHead(200).end();
      });
    });
    const later = setTimeout(() => server.listen(port, "127.0.0.1"), 1500);
    try {
      const r = await shAsync(`mozdef-send --url http://127.0.0.1:${port}/events --retries 1 --wait-for-receiver 60s --max-backoff 0.5 --stats --dead-letter ${w.dead}`, { input: events(200) });
      expect(r.status, r.stderr).toBe(0);
      expect(deadLines(w.dead)).toEqual([]);
      expect([...new Set(got)].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(statsOf(r.stderr)).toMatchObject({ read: 200, sent: 200, dead: 0 });
    } finally {
      clearTimeout(later);
      server.close();
    }
  }, 60_000);

  it("rejects a --wait-for-receiver that is not a duration", async () => {
    const r = await shAsync(`mozdef-send --url http://127.0.0.1:9/events --wait-for-receiver soon`, { input: events(1) });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--wait-for-receiver: not a duration: soon");
  });
});

describe("syslog-send over tcp to a collector that is down", () => {
  it("20,000 lines to a closed port finish within seconds, every one dead-lettered; --stats counts the retries", async () => {
    const port = await closedPort();
    const w = workdir();
    const started = performance.now();
    const r = await shAsync(`syslog-send --server tcp://127.0.0.1:${port} --retries 3 --stats --dead-letter ${w.dead}`, { input: events(20_000) });
    const seconds = (performance.now() - started) / 1000;
    expect(r.status).toBe(1);
    expect(seconds).toBeLessThan(20);
    const dead = deadLines(w.dead);
    expect(dead.length).toBe(20_000);
    expect(dead[0].dead_letter.reason).toMatch(/ECONNREFUSED/);
    expect(dead[1].dead_letter.reason).toBe(`tcp 127.0.0.1:${port}: connection refused; not sent: the receiver is down`);
    // one line's schedule (3 retries) and the probes, not 3 retries a line
    const s = statsOf(r.stderr);
    expect(s).toMatchObject({ read: 20_000, sent: 0, dead: 20_000 });
    expect(s.retried).toBeGreaterThanOrEqual(3);
    expect(s.retried).toBeLessThan(40);
    expect(r.stderr).toMatch(/dead-lettered 20000 \(invalid 0\), reconnects 0, unconfirmed 0\n/);
  }, 60_000);
});

describe("syslog-send --wait-for-receiver over tcp", () => {
  it("lines wait for the collector instead of being dead-lettered, and all arrive once it listens", async () => {
    const port = await closedPort();
    const w = workdir();
    let got = "";
    const server = createNet((socket) => {
      socket.setEncoding("utf8").on("data", (d: string) => (got += d));
      socket.on("error", () => undefined);
    });
    const later = setTimeout(() => server.listen(port, "127.0.0.1"), 1500);
    try {
      const r = await shAsync(`syslog-send --server tcp://127.0.0.1:${port} --retries 0 --wait-for-receiver 60s --max-backoff 0.5 --stats --dead-letter ${w.dead}`, { input: events(50) });
      expect(r.status, r.stderr).toBe(0);
      expect(deadLines(w.dead)).toEqual([]);
      const seqs = [...got.matchAll(/"seq": ?(\d+)/g)].map((m) => Number(m[1]));
      expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(statsOf(r.stderr)).toMatchObject({ read: 50, sent: 50, dead: 0 });
    } finally {
      clearTimeout(later);
      server.close();
    }
  }, 60_000);
});
