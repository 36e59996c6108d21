import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sh, shAsync } from "./helpers/run.js";
import { startServer, type TestServer } from "./helpers/http-server.js";
import { realShapedRules } from "./helpers/real-scan.js";
import { slimResult, slimScan, slimToFit } from "../src/sinks/patchmon/slim.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const CREDS = { PATCHMON_API_ID: "patchmon_abc", PATCHMON_API_KEY: "s3cret" };
const LIMIT = 5_000_000;
const KEPT = ["rule_ref", "status", "severity", "title", "section"] as const;

/** What a dashboard needs of each result, which slimming never touches. */
const kept = (results: Record<string, unknown>[]) => results.map((r) => KEPT.map((k) => r[k] ?? null));

/** A server that takes bodies up to 5 MB, like PatchMon's JSON_BODY_LIMIT. */
const limited = () => startServer((req) => (Buffer.byteLength(req.body) > LIMIT ? { status: 413, body: '{"error":"too large"}' } : { status: 200, body: "{}" }));

describe("slimming a scan over the body limit", () => {
  it("goes raw_output, remediation (first line), descriptions, rationales, then the texts; never the dashboard's fields", () => {
    const r = { rule_ref: "r1", title: "t", status: "fail", severity: "high", section: "1.1", remediation: `line one\n${"x".repeat(900)}`, description: "d".repeat(900), rationale: "w".repeat(900) };
    const scan = { profile_name: "p", raw_output: "o".repeat(5000), results: [r] };
    expect(slimScan(scan, 1)).not.toHaveProperty("raw_output");
    expect(slimResult(r, 2)).toMatchObject({ remediation: "line one… [trimmed]", description: r.description, rationale: r.rationale });
    expect((slimResult(r, 3).description as string).length).toBeLessThan(250);
    expect(slimResult(r, 3).rationale).toBe(r.rationale);
    expect((slimResult(r, 4).rationale as string).length).toBeLessThan(250);
    expect(Object.keys(slimResult(r, 5)).sort()).toEqual([...KEPT].sort());
    // PatchMon's results carry the rationale inside the description: it outlasts the description's own text
    const merged = slimResult({ ...r, rationale: undefined, description: `${"d".repeat(900)}\n\nRationale: ${"w".repeat(300)}` }, 3).description as string;
    expect(merged).toMatch(/^d{200}… \[trimmed\]\n\nRationale: w{300}$/);
    expect(slimToFit(scan, (n) => n < 1000).level).toBe(4);
    expect(slimToFit(scan, () => false)).toMatchObject({ level: 5, fits: false });
  });

  it("a 2,000-rule real-shaped scan (over 7 MB) goes through patchmon-send under 5 MB, every result's dashboard fields intact", async () => {
    const rules = realShapedRules(2000);
    const dir = mkdtempSync(join(tmpdir(), "pm-slim-"));
    writeFileSync(join(dir, "rules.ndjson"), rules.map((r) => `${JSON.stringify(r)}\n`).join(""));
    // a single body of everything: rules2scan with no limit, as older versions wrote it
    const whole = sh(`rules2scan --format patchmon --max-body 0 < ${join(dir, "rules.ndjson")} > ${join(dir, "payload.ndjson")} && wc -c < ${join(dir, "payload.ndjson")}`);
    expect(whole.status, whole.stderr).toBe(0);
    expect(Number(whole.stdout)).toBeGreaterThan(7_000_000);
    server = await limited();
    const r = await shAsync(`patchmon-send --server ${server.url} --per-minute 0 ${join(dir, "payload.ndjson")}`, { env: CREDS });
    rmSync(dir, { recursive: true });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/is over the body limit alone: sending it without raw_output, remediation cut to its first line/);
    expect(server.accepted.length).toBe(1);
    const body = server.accepted[0].body;
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(LIMIT);
    const [scan] = JSON.parse(body).scans;
    expect(scan.results.length).toBe(2000);
    expect(kept(scan.results)).toEqual(kept(rules as unknown as Record<string, unknown>[]));
  });
});

describe("patchmon-send's memory", () => {
  it("stays flat (well under the 315 MB of 20 payloads held) on ~100 MB of payloads (one payload held at a time), every scan delivered", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pm-rss-"));
    const file = join(dir, "payloads.ndjson");
    const text = "Ensure the permissions are set. ".repeat(35);
    // 22 bodies of ~4.6 MB, two per host, each just under the 5 MB limit
    const lines = Array.from({ length: 22 }, (_, n) =>
      JSON.stringify({
        hostname: `host${n >> 1}`,
        machine_id: `m${n >> 1}`,
        agent_version: "compliance-pipes/0.1.0",
        os_info: { family: "debian", name: "debian", version: "12" },
        scans: [{ profile_name: `p${n}`, profile_type: "openscap", status: "completed", score: 50, total_rules: 2000, passed: 1000, failed: 1000, warnings: 0, skipped: 0, not_applicable: 0, started_at: "2024-05-01T10:00:00Z", completed_at: "2024-05-01T10:05:00Z", results: Array.from({ length: 2000 }, (_, i) => ({ rule_ref: `r${n}_${i}`, title: `rule ${i}`, status: i % 2 ? "pass" : "fail", severity: "medium", description: text, remediation: text })) }],
      }),
    );
    writeFileSync(file, lines.join("\n") + "\n");
    expect(lines.every((l) => Buffer.byteLength(l) < LIMIT)).toBe(true);
    const total = lines.reduce((n, l) => n + Buffer.byteLength(l), 0);
    expect(total).toBeGreaterThan(100_000_000);
    let received = 0;
    server = await startServer((req) => {
      received++;
      const ok = Buffer.byteLength(req.body) <= LIMIT && JSON.parse(req.body).scans.length === 1;
      req.body = ""; // keep the test's own memory down
      return { status: ok ? 200 : 413, body: "{}" };
    });
    const r = await shAsync(`/usr/bin/time -f "rss %M" patchmon-send --server ${server.url} --per-minute 0 --stats ${file}`, { env: CREDS });
    rmSync(dir, { recursive: true });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/read 22, sent 22, retried 0, dead-lettered 0/);
    expect(received).toBe(22);
    const kb = Number(/rss (\d+)/.exec(r.stderr)?.[1]);
    expect(kb).toBeGreaterThan(0);
    // 20 payloads held at once took 315 MB; one at a time measures 175-200 MB, most of it
    // reading the 4.7 MB lines (a single one alone: 140 MB, Node with nothing read: 70 MB)
    expect(kb / 1024).toBeLessThanOrEqual(250);
  }, 120_000);
});
