import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES, ROOT } from "./helpers/paths.js";
import { shAsync } from "./helpers/run.js";
import { until } from "./helpers/until.js";
import { closedPort, startServer, type Fault, type Received, type TestServer } from "./helpers/http-server.js";
import { makePki, type TestPki } from "./helpers/tls.js";

const MIG = join(FIXTURES, "mig");
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function events(n: number): string {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ summary: `event ${i}`, details: { seq: i }, severity: "warning" })).join("\n") + "\n";
}

const seqOf = (r: Received) => (JSON.parse(r.body) as { details: { seq: number } }).details.seq;

function workdir() {
  const dir = mkdtempSync(join(tmpdir(), "mds-"));
  return { dir, dead: join(dir, "dead.ndjson") };
}

function deadLines(file: string): { dead_letter: { reason: string; record: number }; line: string }[] {
  return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l)) : [];
}

function statsOf(stderr: string) {
  const m = /read (\d+), sent (\d+), retried (\d+), dead-lettered (\d+)/.exec(stderr);
  if (!m) throw new Error(`no stats in: ${stderr}`);
  return { read: +m[1], sent: +m[2], retried: +m[3], dead: +m[4] };
}

/** Every record read is accepted once or dead-lettered, never both, never neither. */
function expectAccounted(n: number, accepted: Received[], dead: ReturnType<typeof deadLines>) {
  const got = accepted.map(seqOf);
  const buried = dead.map((d) => JSON.parse(d.line).details.seq as number);
  expect(new Set(got).size, "no duplicates among accepted").toBe(got.length);
  expect([...got, ...buried].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
}

describe("mozdef-send over HTTP against a real server", () => {
  it("delivers every event once, with mozdef_client's defaults filled", async () => {
    server = await startServer();
    const w = workdir();
    const r = await shAsync(`mozdef-send --url ${server.url}/events --stats --dead-letter ${w.dead}`, { input: events(50) });
    expect(r.status, r.stderr).toBe(0);
    expect(server.accepted.length).toBe(50);
    expectAccounted(50, server.accepted, []);
    expect(existsSync(w.dead)).toBe(false);
    const e = JSON.parse(server.accepted[0].body);
    expect(Object.keys(e)).toEqual(["timestamp", "category", "hostname", "processid", "processname", "severity", "source", "summary", "tags", "details"]);
    expect(e).toMatchObject({ category: "event", severity: "WARNING", tags: [], processname: "mozdef-send", source: null });
    expect(e.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/);
    expect(server.accepted[0].headers["content-type"]).toBe("application/json");
    expect(statsOf(r.stderr)).toEqual({ read: 50, sent: 50, retried: 0, dead: 0 });
  });

  const faults: [string, (req: Received, n: number) => Fault, string][] = [
    ["500 on first attempts", (req) => (seqOf(req) % 3 === 0 && !retriedOnce(req) ? "500" : "ok"), ""],
    ["429 with Retry-After", (_req, n) => (n === 1 ? "429" : "ok"), ""],
    ["a hang past the timeout", (req) => (seqOf(req) === 4 && !retriedOnce(req) ? "hang" : "ok"), "--timeout 0.5"],
    ["a connection closed mid-response", (req) => (seqOf(req) === 2 && !retriedOnce(req) ? "close-mid-response" : "ok"), ""],
    ["a reset connection", (req) => (seqOf(req) === 7 && !retriedOnce(req) ? "reset" : "ok"), ""],
  ];
  const seen = new Set<string>();
  function retriedOnce(req: Received): boolean {
    const first = !seen.has(req.body);
    seen.add(req.body);
    return !first;
  }

  for (const [name, fault, flags] of faults) {
    it(`retries ${name}: everything arrives, no duplicates`, async () => {
      seen.clear();
      server = await startServer(fault);
      const w = workdir();
      const started = Date.now();
      const r = await shAsync(`mozdef-send --url ${server.url}/events --concurrency 4 --stats --dead-letter ${w.dead} ${flags}`, { input: events(12) });
      expect(r.status, r.stderr).toBe(0);
      expectAccounted(12, server.accepted, deadLines(w.dead));
      expect(server.accepted.length).toBe(12);
      expect(statsOf(r.stderr).retried).toBeGreaterThan(0);
      if (name.startsWith("429")) expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    });
  }

  it("--concurrency 16 with every request retried once: no warning of Node's own on stderr", async () => {
    seen.clear();
    server = await startServer((req) => (retriedOnce(req) ? "ok" : "500"));
    const w = workdir();
    const r = await shAsync(`mozdef-send --url ${server.url}/events --concurrency 16 --stats --dead-letter ${w.dead}`, { input: events(40) });
    expect(r.status, r.stderr).toBe(0);
    expect(statsOf(r.stderr)).toEqual({ read: 40, sent: 40, retried: 40, dead: 0 });
    expect(r.stderr).not.toMatch(/Warning|\(node:\d+\)/);
  });

  it("connection refused: retries with backoff, then dead-letters everything; the file replays", async () => {
    const port = await closedPort();
    const w = workdir();
    const r = await shAsync(`mozdef-send --url http://127.0.0.1:${port}/events --retries 2 --stats --dead-letter ${w.dead}`, { input: events(6) });
    expect(r.status).toBe(1);
    const dead = deadLines(w.dead);
    expect(dead.length).toBe(6);
    expect(dead[0].dead_letter.reason).toMatch(/ECONNREFUSED.*\(after 3 attempts\)/);
    expect(dead.map((d) => d.dead_letter.record).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.stderr).toContain(`mozdef-send: 6 of 6 records not delivered; kept in ${w.dead}`);
    // the first failure is said as it happens, once; the final line counts the reasons
    const lines = r.stderr.trim().split("\n");
    expect(lines.filter((l) => l.includes("connection refused; retrying"))).toEqual([`mozdef-send: 127.0.0.1:${port}: connection refused; retrying (1 of 2)`]);
    expect(lines.at(-1)).toBe(`mozdef-send: 6 of 6 records not delivered; kept in ${w.dead}; reasons: 127.0.0.1:${port}: connection refused (6)`);
    // replay: the dead-letter file goes back in as it is
    server = await startServer();
    const again = await shAsync(`mozdef-send --url ${server.url}/events --dead-letter ${w.dead}.2 < ${w.dead}`);
    expect(again.status, again.stderr).toBe(0);
    expectAccounted(6, server.accepted, []);
  });

  it("4xx other than 429 is not retried: dead-lettered with the status", async () => {
    server = await startServer((req) => (seqOf(req) === 1 ? "400" : "ok"));
    const w = workdir();
    const r = await shAsync(`mozdef-send --url ${server.url}/events --stats --dead-letter ${w.dead}`, { input: events(3) });
    expect(r.status).toBe(1);
    expect(server.all.filter((q) => seqOf(q) === 1).length).toBe(1);
    expect(deadLines(w.dead).map((d) => d.dead_letter.reason)).toEqual(["HTTP 400 (after 1 attempt)"]);
    expectAccounted(3, server.accepted, deadLines(w.dead));
    const same = await shAsync(`mozdef-send --url ${server.url}/events --retry-on 400 --retries 1 --dead-letter ${w.dead}`, { input: events(2) });
    expect(same.status).toBe(1);
    expect(server.all.filter((q) => seqOf(q) === 1).length).toBe(3);
  });

  it("bad records are dead-lettered with their number and reason; the good ones around them go", async () => {
    server = await startServer();
    const w = workdir();
    const input = [
      JSON.stringify({ summary: "ok 1", details: { seq: 0 } }),
      "this is not json",
      "[1,2]",
      "42",
      JSON.stringify({ details: { x: 1 } }),
      JSON.stringify({ summary: "bad severity", severity: "LOUD" }),
      JSON.stringify({ target: "h", policy: { name: "p", url: "", level: "low" }, check: { description: "d", location: "l", name: "n", test: { type: "t", value: "v" } }, compliance: true, link: "", utctimestamp: "2020-01-01T00:00:00Z" }),
      JSON.stringify({ summary: "big", details: { blob: "x".repeat(5000) } }),
      JSON.stringify({ summary: "ok 2", details: { seq: 1 } }),
    ].join("\n");
    const r = await shAsync(`mozdef-send --url ${server.url}/events --max-size 4096 --dead-letter ${w.dead}`, { input });
    expect(r.status).toBe(1);
    expect(server.accepted.map(seqOf)).toEqual([0, 1]);
    const dead = deadLines(w.dead);
    expect(dead.map((d) => [d.dead_letter.record, d.dead_letter.reason.replace(/\(Unexpected.*\)/, "(…)")])).toEqual([
      [2, "invalid record: not JSON (…)"],
      [3, "invalid record: not a JSON object (an array)"],
      [4, "invalid record: not a JSON object (number)"],
      [5, "invalid record: summary is required"],
      [6, 'invalid record: severity must be one of DEBUG, INFO, NOTICE, WARNING, ERROR, CRITICAL, ALERT, EMERGENCY (got "LOUD")'],
      [7, "invalid record: compliance item: check.ref is required"],
      [8, expect.stringMatching(/^invalid record: event of \d+ bytes is over --max-size 4096$/)],
    ]);
    expect(dead[0].line).toBe("this is not json");
    expect(r.stderr.split("\n")[0]).toMatch(/^mozdef-send: stdin: line 2: invalid record: not JSON/);
  });

  it("--kind overrides telling by shape", async () => {
    server = await startServer();
    const w = workdir();
    const item = readFileSync(join(MIG, "compliance-items.file-compliance.expected.ndjson"), "utf8").split("\n")[0];
    // as a generic event its tags (null) and missing summary make it invalid
    const asEvent = await shAsync(`mozdef-send --url ${server.url}/events --kind event --dead-letter ${w.dead}`, { input: `${item}\n` });
    expect(asEvent.status).toBe(1);
    expect(deadLines(w.dead)[0].dead_letter.reason).toBe("invalid record: tags must be a list");
    const asCompliance = await shAsync(`mozdef-send --url ${server.url}/events --kind compliance`, { input: `${item}\n` });
    expect(asCompliance.status, asCompliance.stderr).toBe(0);
    expect(JSON.parse(server.accepted[0].body).category).toBe("complianceitems");
  });

  it("--batch posts arrays to /_bulk; elsewhere it is a usage error", async () => {
    server = await startServer();
    const w = workdir();
    const r = await shAsync(`mozdef-send --url ${server.url}/_bulk --batch 10 --dead-letter ${w.dead}`, { input: events(25) });
    expect(r.status, r.stderr).toBe(0);
    expect(server.all.length).toBe(3);
    expect(server.all.map((q) => JSON.parse(q.body).length).sort()).toEqual([10, 10, 5]);
    const bad = await shAsync(`mozdef-send --url ${server.url}/events --batch 10`, { input: events(1) });
    expect(bad.status).toBe(2);
    expect(bad.stderr.split("\n")[0]).toMatch(/only MozDef's \/_bulk endpoint accepts/);
  });

  it("--batch posts the very bytes it posts one event at a time, in one JSON array", async () => {
    server = await startServer();
    const captured = readFileSync(join(MIG, "runner-compliance.mozdef-posts.captured.ndjson"), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as Received).body);
    const odd = [{ timestamp: "2026-12-03T10:00:00Z", summary: "naïve <café> & 𝄞 \u2028", details: { n: -0, f: 1.5e300, s: "a\"b\\c\u0001" } }, { timestamp: "2026-12-03T10:00:00Z", summary: "x", "1": "index-like key", details: {} }].map((o) => JSON.stringify(o));
    const input = [...captured, ...odd].join("\n") + "\n";
    const one = await shAsync(`mozdef-send --url ${server.url}/_bulk --concurrency 1`, { input });
    expect(one.status, one.stderr).toBe(0);
    const singles = server.accepted.map((q) => q.body);
    expect(singles.slice(0, captured.length)).toEqual(captured); // a full event goes out as it came
    server.accepted.length = 0;
    const batched = await shAsync(`mozdef-send --url ${server.url}/_bulk --batch 4 --concurrency 1`, { input });
    expect(batched.status, batched.stderr).toBe(0);
    expect(server.accepted.length).toBe(Math.ceil(singles.length / 4));
    // the events without a processid get each run's own
    const samePid = (body: string) => body.replace(/"processid":\d+/g, '"processid":0');
    expect(samePid(server.accepted.map((q) => q.body.slice(1, -1)).join(","))).toBe(samePid(singles.join(",")));
    expect(server.accepted.every((q) => q.body.startsWith("[{") && q.body.endsWith("}]"))).toBe(true);
  });

  it("wraps a bare compliance item byte for byte as MIG's plugin posted it", async () => {
    server = await startServer();
    const captured = readFileSync(join(MIG, "runner-compliance.mozdef-posts.captured.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Received);
    const items = readFileSync(join(MIG, "compliance-items.file-compliance.expected.ndjson"), "utf8");
    const r = await shAsync(`mozdef-send --url ${server.url}/custom/complianceitems --concurrency 1`, { input: items });
    expect(r.status, r.stderr).toBe(0);
    const normal = (body: string) => body.replace(/"timestamp":"[^"]*","category":"complianceitems","hostname":"[^"]*","processid":\d+,"processname":"[^"]*"/, "ENVELOPE");
    expect(server.accepted.map((q) => normal(q.body))).toEqual(captured.map((c) => normal(c.body)));
    expect(server.accepted.every((q) => q.path === "/custom/complianceitems")).toBe(true);
  });

  it("turns RuleResult lines into compliance items (xccdf2rules | mozdef-send)", async () => {
    server = await startServer();
    const r = await shAsync(`xccdf2rules "$FIXTURES/xccdf/openscap-report__arf_simple_rule_fail.xml" | mozdef-send --url ${server.url}/events --link-base https://rules.example.net/`);
    expect(r.status, r.stderr).toBe(0);
    expect(server.accepted.length).toBeGreaterThan(0);
    const e = JSON.parse(server.accepted[0].body);
    expect(e.category).toBe("complianceitems");
    expect(e.summary).toMatch(/ (passes|fails) compliance with xccdf_/);
    expect(e.details.link).toMatch(/^https:\/\/rules\.example\.net\/xccdf_/);
    expect(e.details.check.test.type).toBe("openscap");
  });

  it("leaves out rules that do not apply (28 of the bundled Debian scan's 50) and never says one fails", async () => {
    server = await startServer();
    const r = await shAsync(`xccdf2rules examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz | mozdef-send --url ${server.url}/events --stats`, { cwd: ROOT });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/read 50, sent 22, retried 0, dead-lettered 0 \(invalid 0\), not applicable 28/);
    const sent = server.accepted.map((q) => JSON.parse(q.body));
    expect(sent.filter((e) => e.details.tags.status === "notapplicable")).toEqual([]);
    for (const e of sent) expect(e.summary.includes(" fails ")).toBe(e.details.tags.status === "fail");
    // no rule here has a CIS benchmark reference: no link rather than the generic CIS Controls page
    expect(sent.map((e) => e.details.link).filter((l) => /cisecurity\.org\/controls/.test(l))).toEqual([]);
  });

  it("SIGTERM: stops reading, dead-letters what is in flight and what was read, exits 143, loses nothing", async () => {
    server = await startServer(() => "hang");
    const w = workdir();
    let pid = 0;
    const input = join(w.dir, "in.ndjson");
    writeFileSync(input, events(20));
    const run = shAsync(`exec mozdef-send --url ${server.url}/events --concurrency 2 --timeout 3 --stats --dead-letter ${w.dead} ${input}`, { onSpawn: (p) => (pid = p) });
    await until(() => server!.all.length >= 2);
    process.kill(pid, "SIGTERM");
    const r = await run;
    expect(r.status).toBe(143);
    const s = statsOf(r.stderr);
    expect(s.sent + s.dead).toBe(s.read);
    // the 20 lines came in one read: those not sent are dead-lettered, none dropped
    expect(s.read).toBe(20);
    expect(deadLines(w.dead).length).toBe(s.dead);
    expect(r.stderr).toMatch(/interrupted by SIGTERM/);
  });
});

describe("mozdef-send over TLS", () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makePki();
  });

  it("verifies certificates by default: an unknown CA is refused and not retried", async () => {
    server = await startServer(() => "ok", { key: pki.serverKey, cert: pki.serverCert });
    const w = workdir();
    const r = await shAsync(`mozdef-send --url ${server.url}/events --dead-letter ${w.dead}`, { input: events(2) });
    expect(r.status).toBe(1);
    expect(server.accepted.length).toBe(0);
    expect(deadLines(w.dead)[0].dead_letter.reason).toMatch(/certificate.*\(after 1 attempt\)/i);
  });

  it("--ca trusts the given CA; --insecure works only with a warning", async () => {
    server = await startServer(() => "ok", { key: pki.serverKey, cert: pki.serverCert });
    const ok = await shAsync(`mozdef-send --url ${server.url}/events --ca ${pki.caFile}`, { input: events(3) });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toBe("");
    const insecure = await shAsync(`mozdef-send --url ${server.url}/events --insecure`, { input: events(2) });
    expect(insecure.status).toBe(0);
    expect(insecure.stderr).toBe("mozdef-send: warning: --insecure: the server's certificate is NOT verified\n");
    expect(server.accepted.length).toBe(5);
  });

  it("presents a client certificate with --cert/--key", async () => {
    server = await startServer(() => "ok", { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true });
    const w = workdir();
    const without = await shAsync(`mozdef-send --url ${server.url}/events --ca ${pki.caFile} --retries 0 --dead-letter ${w.dead}`, { input: events(1) });
    expect(without.status).toBe(1);
    const withCert = await shAsync(`mozdef-send --url ${server.url}/events --ca ${pki.caFile} --cert ${pki.clientCertFile} --key ${pki.clientKeyFile}`, { input: events(2) });
    expect(withCert.status, withCert.stderr).toBe(0);
    expect(server.accepted.length).toBe(2);
  });
});
