import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttp } from "node:http";
import { createServer as createNet } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sh, shAsync } from "./helpers/run.js";
import { ROOT } from "./helpers/paths.js";
import { closedPort } from "./helpers/http-server.js";
import { Circuit, parseDuration } from "../src/delivery/circuit.js";
import { DeadLetterFile } from "../src/delivery/dead-letter.js";
import { encodeFrame, RelpClient, RelpParser } from "../src/sinks/syslog/relp.js";
import { RSYSLOG_OPEN_OK } from "./helpers/relp-peer.js";

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
    // which one was the probe is the scheduler's business (on a loaded machine the timer may wake them apart)
    const all = await Promise.all(gates);
    expect(all.filter((g) => g.go && g.probe)).toHaveLength(1);
    expect(all.filter((g) => g.go && !g.probe)).toHaveLength(2);
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

/**
 * The issue asks for seconds: on a 2-core machine these take 1.5 to 3 s
 * (one record's reconnect schedule, ~1 to 1.5 s, then the rest at once);
 * the ceiling leaves room for a loaded CI machine running other test files
 * beside these (4.5 s was seen once). The ≤ 3 s target itself is a row of
 * bench/outage.sh. Before the circuit found a receiver down after ~1 s, a
 * closed port cost 7 to 9 s (relp 13 s, patchmon-send hours).
 */
const CEILING_S = 7;

/** Runs a sender with `input` against a closed port: its result, how long it took, and its dead letters. */
async function againstClosedPort(command: (port: number, dead: string) => string, input: string, env?: Record<string, string>) {
  const port = await closedPort();
  const w = workdir();
  const started = performance.now();
  const r = await shAsync(command(port, w.dead), { input, env });
  return { port, r, seconds: (performance.now() - started) / 1000, dead: deadLines(w.dead), file: w.dead };
}

describe("the dead-letter file, buffered (a receiver found down sends thousands of records there at once)", () => {
  const records = (file: string) => deadLines(file).map((d) => d.dead_letter.record);

  it("gathered lines are in the file by the end of the event loop's turn, in order, without waiting for close()", async () => {
    const w = workdir();
    const dead = new DeadLetterFile(w.dead, "test", { buffered: true });
    for (let i = 1; i <= 3; i++) dead.write(`line ${i}`, { record: i, source: "stdin" }, "why");
    expect(existsSync(w.dead) ? readFileSync(w.dead, "utf8") : "").toBe("");
    await new Promise((resolve) => setImmediate(resolve));
    expect(records(w.dead)).toEqual([1, 2, 3]);
    // more than the buffer holds goes out at once
    for (let i = 4; i <= 2000; i++) dead.write("x".repeat(100), { record: i, source: "stdin" }, "why");
    expect(records(w.dead).length).toBeGreaterThan(3);
    dead.close();
    expect(records(w.dead)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
  });

  it("a process.exit() before the turn ends still writes them", () => {
    const w = workdir();
    const script = `import { DeadLetterFile } from ${JSON.stringify(join(ROOT, "dist/delivery/dead-letter.js"))};
      const dead = new DeadLetterFile(${JSON.stringify(w.dead)}, "test", { buffered: true });
      dead.write("a", { record: 1, source: "stdin" }, "why");
      dead.write("b", { record: 2, source: "stdin" }, "why");
      process.exit(3);`;
    const r = sh(`node --input-type=module -e '${script}'`);
    expect(r.status).toBe(3);
    expect(records(w.dead)).toEqual([1, 2]);
  });

  it("keepRest() comes after the gathered lines", () => {
    const w = workdir();
    const rest = join(w.dir, "rest.ndjson");
    writeFileSync(rest, `skipped\n${JSON.stringify({ dead_letter: { reason: "r", record: 9 }, line: "l" })}\n`);
    const dead = new DeadLetterFile(w.dead, "test", { buffered: true });
    dead.write("a", { record: 1, source: "stdin" }, "why");
    dead.keepRest(rest, "skipped\n".length);
    dead.close();
    expect(records(w.dead)).toEqual([1, 9]);
  });
});

describe("mozdef-send to a receiver that is down", () => {
  for (const [form, flags, path] of [
    ["single posts", "", "events"],
    ["--batch 100", "--batch 100", "_bulk"],
  ] as const) {
    it(`${form}: 20,000 events to a closed port finish within seconds, every one dead-lettered with the reason; retries counted`, async () => {
      const { port, r, seconds, dead, file } = await againstClosedPort((port, dead) => `mozdef-send --url http://127.0.0.1:${port}/${path} ${flags} --stats --dead-letter ${dead}`, events(20_000));
      expect(r.status, r.stderr).toBe(1);
      expect(seconds).toBeLessThan(CEILING_S);
      expect(dead.length).toBe(20_000);
      expect(new Set(dead.map((d) => d.dead_letter.record)).size).toBe(20_000);
      expect(dead.filter((d) => /not sent: the receiver is down/.test(d.dead_letter.reason)).length).toBeGreaterThan(19_000);
      expect(dead.every((d) => d.dead_letter.reason.includes("ECONNREFUSED") || d.dead_letter.reason.includes(`127.0.0.1:${port}: connection refused`))).toBe(true);
      const s = statsOf(r.stderr);
      // the schedule of the units in flight (--concurrency 4, --retries 5), not one per record
      expect(s).toMatchObject({ read: 20_000, sent: 0, dead: 20_000 });
      expect(s.retried).toBeGreaterThanOrEqual(5);
      expect(s.retried).toBeLessThanOrEqual(4 * 5 + 20);
      const lines = r.stderr.trim().split("\n");
      // said once as it happened, then counted: no line per record
      expect(lines).toHaveLength(3);
      expect(lines[0]).toBe(`mozdef-send: 127.0.0.1:${port}: connection refused; retrying (1 of 5)`);
      expect(lines.at(-1)).toBe(`mozdef-send: 20000 of 20000 records not delivered; kept in ${file}; reasons: 127.0.0.1:${port}: connection refused (20000)`);
    }, 60_000);
  }

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
    const { port, r, seconds, dead } = await againstClosedPort((port, dead) => `syslog-send --server tcp://127.0.0.1:${port} --stats --dead-letter ${dead}`, events(20_000));
    expect(r.status, r.stderr).toBe(1);
    expect(seconds).toBeLessThan(CEILING_S);
    expect(dead.length).toBe(20_000);
    expect(dead[0].dead_letter.reason).toMatch(/ECONNREFUSED/);
    expect(dead[1].dead_letter.reason).toBe(`tcp 127.0.0.1:${port}: connection refused; not sent: the receiver is down`);
    expect(new Set(dead.map((d) => d.dead_letter.record)).size).toBe(20_000);
    // one line's schedule (--retries 5), not 5 retries a line; lines go one at a time, so exactly that
    const s = statsOf(r.stderr);
    expect(s).toMatchObject({ read: 20_000, sent: 0, retried: 5, dead: 20_000 });
    expect(r.stderr).toMatch(/dead-lettered 20000 \(invalid 0\), reconnects 0, unconfirmed 0\n/);
  }, 60_000);

  it("--retries 3: three retries counted, the rest refused at once", async () => {
    const { r, dead } = await againstClosedPort((port, dead) => `syslog-send --server tcp://127.0.0.1:${port} --retries 3 --stats --dead-letter ${dead}`, events(500));
    expect(r.status, r.stderr).toBe(1);
    expect(dead.length).toBe(500);
    expect(statsOf(r.stderr)).toMatchObject({ read: 500, sent: 0, retried: 3, dead: 500 });
  }, 60_000);
});

describe("syslog-send over relp to a collector that is down", () => {
  it("20,000 lines to a closed port finish within seconds, every one dead-lettered with the reason", async () => {
    const { port, r, seconds, dead } = await againstClosedPort((port, dead) => `syslog-send --server relp://127.0.0.1:${port} --stats --dead-letter ${dead}`, events(20_000));
    expect(r.status, r.stderr).toBe(1);
    // RELP gives up once nothing was acknowledged for the whole schedule (1.55 s), not its jittered share: 2 to 4 s here
    expect(seconds).toBeLessThan(CEILING_S + 3);
    expect(dead.length).toBe(20_000);
    expect(new Set(dead.map((d) => d.dead_letter.record)).size).toBe(20_000);
    expect(dead.filter((d) => d.dead_letter.reason === `relp 127.0.0.1:${port}: connection refused; not sent: the receiver is down`).length).toBeGreaterThan(19_000);
    expect(statsOf(r.stderr)).toMatchObject({ read: 20_000, sent: 0, dead: 20_000 });
  }, 60_000);

  it("the client, once it gave the server up, tries a later line once (a probe), and delivers again once the server is back", async () => {
    const port = await closedPort();
    const client = new RelpClient({ host: "127.0.0.1", port, initialBackoffMs: 5, maxBackoffMs: 20, giveUpAfterMs: 100 });
    const first = await client.send("one").catch((e: Error) => e.message);
    expect(first).toMatch(/nothing acknowledged for \d+ s; last problem: .*ECONNREFUSED/);
    const probe = await client.send("two").catch((e: Error) => e.message);
    expect(probe).toMatch(/nothing acknowledged \(still unreachable\); last problem: .*ECONNREFUSED/);
    const got: string[] = [];
    const server = createNet((socket) => {
      const parser = new RelpParser();
      socket.on("error", () => undefined);
      socket.on("data", (chunk: Buffer) => {
        for (const f of parser.push(chunk)) {
          if (f.command === "syslog") got.push(f.data.toString());
          socket.write(encodeFrame(f.txnr, "rsp", Buffer.from(f.command === "open" ? RSYSLOG_OPEN_OK : "200 OK")));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    try {
      await client.send("three");
      await client.close();
      expect(got).toEqual(["three"]);
      expect(client.stats()).toMatchObject({ acked: 1, failed: 2 });
    } finally {
      server.close();
    }
  });
});

describe("patchmon-send to a server that is down", () => {
  const payload = (i: number) =>
    JSON.stringify({
      hostname: `host-${i}`,
      machine_id: `m-${i}`,
      os_info: { family: "debian", name: "debian", version: "12" },
      scans: [{ profile_name: "p", profile_type: "openscap", status: "completed", score: 50, total_rules: 1, passed: 1, failed: 0, results: [{ rule_ref: "r1", title: "one", status: "pass", severity: "low" }] }],
    });

  it("20,000 payloads at the default --per-minute: requests not sent take no place in the minute, every one dead-lettered at once", async () => {
    const input = Array.from({ length: 20_000 }, (_, i) => payload(i)).join("\n") + "\n";
    const env = { PATCHMON_API_ID: "patchmon_abc", PATCHMON_API_KEY: "s3cret" };
    const { port, r, seconds, dead, file } = await againstClosedPort((port, dead) => `patchmon-send --server http://127.0.0.1:${port} --stats --dead-letter ${dead}`, input, env);
    expect(r.status, r.stderr).toBe(1);
    expect(seconds).toBeLessThan(CEILING_S);
    expect(dead.length).toBe(20_000);
    expect(new Set(dead.map((d) => d.dead_letter.record)).size).toBe(20_000);
    expect(dead[0].dead_letter.reason).toBe(`ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port} (after 6 attempts)`);
    // the rest at once; a probe now and then (one attempt) fails the same way
    expect(dead.slice(1).every((d) => /ECONNREFUSED|connection refused/.test(d.dead_letter.reason) && d.dead_letter.reason.includes("not sent: the receiver is down"))).toBe(true);
    // one payload at a time: its schedule (--retries 5) is all the retrying there is
    expect(statsOf(r.stderr)).toMatchObject({ read: 20_000, sent: 0, retried: 5, dead: 20_000 });
    expect(r.stderr.trim().split("\n").at(-1)).toBe(`patchmon-send: 20000 of 20000 records not delivered; kept in ${file}; reasons: 127.0.0.1:${port}: connection refused (20000)`);
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
