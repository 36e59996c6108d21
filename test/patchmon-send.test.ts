import { afterEach, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shAsync } from "./helpers/run.js";
import { startServer, type Received, type TestServer } from "./helpers/http-server.js";
import { until } from "./helpers/until.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const CREDS = { PATCHMON_API_ID: "patchmon_abc", PATCHMON_API_KEY: "s3cret" };

/**
 * The real server's rules: both headers or 401, the right key or 401,
 * `limit` requests per `windowMs` per API id (429 with Retry-After), a body
 * limit (413, or 400 "Invalid JSON body" like servers before the fix).
 */
function patchmonServer(o: { limit: number; windowMs: number; maxBody: number; old?: boolean }) {
  const times: number[] = [];
  return (req: Received) => {
    const id = req.headers["x-api-id"];
    const key = req.headers["x-api-key"];
    if (!id || !key) return { status: 401, body: '{"error":"API credentials required"}' };
    if (key !== CREDS.PATCHMON_API_KEY) return { status: 401, body: '{"error":"Invalid API credentials"}' };
    const now = Date.now();
    while (times.length && now - times[0] > o.windowMs) times.shift();
    if (times.length >= o.limit) return { status: 429, headers: { "retry-after": "1" }, body: '{"error":"rate limited"}' };
    times.push(now);
    if (Buffer.byteLength(req.body) > o.maxBody) return o.old ? { status: 400, body: '{"error":"Invalid JSON body"}' } : { status: 413, body: '{"error":"body too large: COMPLIANCE_BODY_LIMIT"}' };
    const p = JSON.parse(req.body);
    return { status: 200, body: JSON.stringify({ message: "ok", scans_received: p.scans.length }) };
  };
}

function payload(host: string, scans: number, descLength = 100): string {
  return JSON.stringify({
    hostname: host,
    machine_id: `m-${host}`,
    agent_version: "compliance-pipes/0.1.0",
    os_info: { family: "debian", name: "debian", version: "12" },
    scans: Array.from({ length: scans }, (_, s) => ({
      profile_name: `${host}-profile-${s}`,
      profile_type: "openscap",
      status: "completed",
      score: 50,
      total_rules: 2,
      passed: 1,
      failed: 1,
      warnings: 0,
      skipped: 0,
      not_applicable: 0,
      started_at: "2024-05-01T10:00:00Z",
      completed_at: "2024-05-01T10:05:00Z",
      results: [
        { rule_ref: "r1", title: "one", status: "pass", severity: "low", description: "d".repeat(descLength) },
        { rule_ref: "r2", title: "two", status: "fail", severity: "high", description: "e".repeat(descLength) },
      ],
    })),
  });
}

/** (host, profile) of every scan the server accepted. */
function acceptedScans(s: TestServer): string[] {
  return s.accepted.flatMap((q) => {
    const p = JSON.parse(q.body);
    return p.scans.map((sc: { profile_name: string }) => `${p.hostname} ${sc.profile_name}`);
  });
}

const expectedScans = (hosts: string[], scans: number) => hosts.flatMap((h) => Array.from({ length: scans }, (_, s) => `${h} ${h}-profile-${s}`)).sort();

describe("patchmon-send against a server with PatchMon's rules", () => {
  it("waits out 429s (Retry-After) and gets every scan there exactly once", async () => {
    server = await startServer(patchmonServer({ limit: 4, windowMs: 1500, maxBody: 5_000_000 }));
    const hosts = Array.from({ length: 10 }, (_, i) => `host${i}`);
    const r = await shAsync(`patchmon-send --server ${server.url} --per-minute 0 --stats --dead-letter /dev/null`, { input: hosts.map((h) => payload(h, 2)).join("\n"), env: CREDS });
    expect(r.status, r.stderr).toBe(0);
    expect(acceptedScans(server).sort()).toEqual(expectedScans(hosts, 2));
    expect(server.all.some((q) => q.path !== "/api/v1/compliance/scans")).toBe(false);
    expect(Number(/retried (\d+)/.exec(r.stderr)?.[1])).toBeGreaterThan(0);
    expect(server.accepted[0].headers["x-api-id"]).toBe("patchmon_abc");
  });

  it("sends each payload's scans in one request when they fit, one payload at a time", async () => {
    server = await startServer(patchmonServer({ limit: 100, windowMs: 1000, maxBody: 5_000_000 }));
    const r = await shAsync(`patchmon-send --server ${server.url}`, { input: [payload("a", 2), payload("a", 3), payload("b", 1)].join("\n"), env: CREDS });
    expect(r.status, r.stderr).toBe(0);
    expect(server.all.length).toBe(3);
    expect(acceptedScans(server)).toEqual(["a a-profile-0", "a a-profile-1", "a a-profile-0", "a a-profile-1", "a a-profile-2", "b b-profile-0"]);
  });

  for (const old of [false, true]) {
    it(`splits on ${old ? '400 "Invalid JSON body" (older servers)' : "413"}, slims a scan too big alone, and says so`, async () => {
      server = await startServer(patchmonServer({ limit: 100, windowMs: 1000, maxBody: 20_000, old }));
      const input = [payload("big", 6, 3000), payload("huge", 1, 30_000)].join("\n");
      const r = await shAsync(`patchmon-send --server ${server.url} --stats`, { input, env: CREDS });
      expect(r.status, r.stderr).toBe(0);
      expect(acceptedScans(server).sort()).toEqual([...expectedScans(["big"], 6), "huge huge-profile-0"].sort());
      expect(r.stderr).toMatch(/huge: scan 'huge-profile-0' \(\d+ bytes\) is over the body limit alone: sending it without raw_output, remediation cut to its first line, descriptions trimmed \(\d+ bytes\)/);
      const huge = server.accepted.map((q) => JSON.parse(q.body)).find((p) => p.hostname === "huge");
      expect(huge.scans[0].results[0].description).toMatch(/… \[trimmed\]$/);
    });
  }

  it("--max-body splits before sending, so no 413 is needed", async () => {
    server = await startServer(patchmonServer({ limit: 100, windowMs: 1000, maxBody: 5_000_000 }));
    const r = await shAsync(`patchmon-send --server ${server.url} --max-body 12000`, { input: payload("big", 6, 3000), env: CREDS });
    expect(r.status, r.stderr).toBe(0);
    expect(server.all.every((q) => Buffer.byteLength(q.body) <= 12000)).toBe(true);
    expect(server.all.length).toBeGreaterThan(1);
    expect(acceptedScans(server).sort()).toEqual(expectedScans(["big"], 6));
  });

  it("--dry-run prints the bodies it would send and needs no credentials", async () => {
    const r = await shAsync(`patchmon-send --dry-run --config /nonexistent.yml --stats`, { input: [payload("a", 1), payload("b", 2)].join("\n"), env: { PATCHMON_API_ID: "", PATCHMON_API_KEY: "" } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n").map((l) => JSON.parse(l).scans.length)).toEqual([1, 2]);
    expect(r.stderr).toBe("patchmon-send: read 2, printed 2, retried 0, dead-lettered 0 (invalid 0)\n");
  });

  it("401 is a configuration error: not retried, nothing more sent, everything kept", async () => {
    server = await startServer(patchmonServer({ limit: 100, windowMs: 1000, maxBody: 5_000_000 }));
    const dir = mkdtempSync(join(tmpdir(), "pm-"));
    const dead = join(dir, "dead.ndjson");
    const r = await shAsync(`patchmon-send --server ${server.url} --dead-letter ${dead}`, { input: [payload("a", 1), payload("b", 1), payload("c", 1)].join("\n"), env: { ...CREDS, PATCHMON_API_KEY: "wrong" } });
    expect(r.status).toBe(1);
    expect(server.all.length).toBe(1);
    expect(r.stderr).toMatch(/refused the API credentials from PATCHMON_API_ID\/PATCHMON_API_KEY \(credentials refused \(HTTP 401/);
    expect(readFileSync(dead, "utf8").trim().split("\n").length).toBe(3);
  });

  it("SIGTERM cuts a pacing wait short: no minute-long wait, the payloads not sent kept (dead-lettered), exit 143", async () => {
    server = await startServer(patchmonServer({ limit: 100, windowMs: 1000, maxBody: 5_000_000 }));
    const dir = mkdtempSync(join(tmpdir(), "pm-"));
    const dead = join(dir, "dead.ndjson");
    let pid = 0;
    const started = performance.now();
    const run = shAsync(`exec patchmon-send --server ${server.url} --per-minute 2 --stats --dead-letter ${dead}`, { input: ["a", "b", "c", "d"].map((h) => payload(h, 1)).join("\n"), env: CREDS, onSpawn: (p) => (pid = p) });
    // two sent, the third waits for its turn (a minute)
    await until(() => server!.accepted.length >= 2);
    process.kill(pid, "SIGTERM");
    const r = await run;
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(r.status).toBe(143);
    expect(server.accepted.length).toBe(2);
    const kept = readFileSync(dead, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(kept.map((k) => JSON.parse(k.line).hostname)).toEqual(["c", "d"]);
    expect(kept[0].dead_letter.reason).toMatch(/not sent: interrupted/);
  });

  it("takes credentials from the agent's files, never argv; missing ones are named", async () => {
    server = await startServer(patchmonServer({ limit: 100, windowMs: 1000, maxBody: 5_000_000 }));
    const dir = mkdtempSync(join(tmpdir(), "pm-"));
    writeFileSync(join(dir, "credentials.yml"), `api_id: "${CREDS.PATCHMON_API_ID}"\napi_key: '${CREDS.PATCHMON_API_KEY}'\n`);
    writeFileSync(join(dir, "config.yml"), `patchmon_server: ${server.url}\ncredentials_file: ${join(dir, "credentials.yml")}\n`);
    const r = await shAsync(`patchmon-send --config ${join(dir, "config.yml")}`, { input: payload("a", 1), env: { PATCHMON_API_ID: "", PATCHMON_API_KEY: "" } });
    expect(r.status, r.stderr).toBe(0);
    expect(acceptedScans(server)).toEqual(["a a-profile-0"]);
    const none = await shAsync(`patchmon-send --server ${server.url} --config /nonexistent.yml --credentials /nonexistent-creds.yml`, { input: payload("a", 1), env: { PATCHMON_API_ID: "", PATCHMON_API_KEY: "" } });
    expect(none.status).toBe(2);
    expect(none.stderr.split("\n")[0]).toBe("patchmon-send: credentials file not found: /nonexistent-creds.yml");
    const noKey = await shAsync(`patchmon-send --server ${server.url} --config /nonexistent.yml`, { input: payload("a", 1), env: { PATCHMON_API_ID: "id-only", PATCHMON_API_KEY: "" } });
    expect(noKey.stderr.split("\n")[0]).toBe("patchmon-send: no api key (PATCHMON_API_KEY / api_key) in PATCHMON_API_ID/PATCHMON_API_KEY: set PATCHMON_API_ID and PATCHMON_API_KEY, or give --credentials FILE");
    expect(existsSync("patchmon-send.dead.ndjson")).toBe(false);
  });

  it("sends spec-format payloads one per request (rules2scan | patchmon-send)", async () => {
    server = await startServer((req) => (req.headers["x-api-key"] ? { status: 200, body: "{}" } : { status: 401 }));
    const r = await shAsync(`xccdf2rules "$FIXTURES/xccdf/openscap__multiple-testresults.xml" 2>/dev/null | rules2scan | patchmon-send --server ${server.url}`, { env: CREDS });
    expect(r.status, r.stderr).toBe(0);
    expect(server.accepted.map((q) => JSON.parse(q.body).profile.name)).toEqual(["xccdf_moc.elpmaxe.www_profile_common", "xccdf_moc.elpmaxe.www_profile_uncommon", "xccdf_moc.elpmaxe.www_profile_standard"]);
  });
});
