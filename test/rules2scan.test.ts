import { describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sh } from "./helpers/run.js";
import { validator } from "./helpers/schema.js";
import { ScanGroups, specHead, patchmonHead } from "../src/sinks/patchmon/scans.js";
import type { RuleResult, RuleStatus } from "../src/types.js";
import { realShapedRules } from "./helpers/real-scan.js";

const validPayload = validator("scan-payload.schema.json");

function rr(i: number, status: RuleStatus, extra: Partial<RuleResult> = {}): RuleResult {
  return { rule_ref: `r${i}`, title: `rule ${i}`, severity: "medium", status, scanner: "openscap", target: "web-01", profile: { id: "p1" }, test_result_id: "tr1", started_at: "2024-05-01T10:00:00Z", ...extra };
}

describe("rules2scan", () => {
  it("scores the spec's example: 198 of 245 passed gives 80.82", () => {
    const g = new ScanGroups();
    for (let i = 0; i < 245; i++) g.add(rr(i, i < 198 ? "pass" : i < 230 ? "fail" : i < 235 ? "notapplicable" : i < 240 ? "skip" : i < 243 ? "warn" : "error"));
    const [group] = g.groups;
    const head = specHead(group, "2024-05-01T11:00:00Z");
    expect(head.summary).toEqual({ total_rules: 245, passed: 198, failed: 32, warnings: 3, skipped: 10, errors: 2, score: 80.82 });
    // PatchMon's agent: errors are failures, and the score leaves out skipped and not applicable
    expect(patchmonHead(group, "x")).toMatchObject({ failed: 34, skipped: 5, not_applicable: 5, score: Math.round((198 / 235) * 10000) / 100 });
  });

  it("marks a scan whose every rule is notapplicable as failed with the reason, so its score is not taken as real", () => {
    const reason = "all 3 rules are notapplicable: the content probably does not match this host (CPE platform)";
    const g = new ScanGroups();
    for (let i = 0; i < 3; i++) g.add(rr(i, "notapplicable"));
    g.add(rr(9, "notapplicable", { target: "web-02" }));
    g.add(rr(10, "pass", { target: "web-02" }));
    const [none, some] = g.groups;
    const spec = specHead(none, "x");
    expect(spec).toMatchObject({ status: "failed", error: reason });
    expect(validPayload({ ...spec, results: [] })).toBeNull();
    expect(patchmonHead(none, "x")).toMatchObject({ status: "failed", error: reason, not_applicable: 3, score: 0 });
    expect(specHead(some, "x").status).toBe("completed");
    expect(specHead(some, "x")).not.toHaveProperty("error");
    expect(patchmonHead(some, "x")).not.toHaveProperty("error");
  });

  it("writes one payload per (target, scanner, profile, TestResult), valid against the schema", () => {
    const r = sh(`xccdf2rules "$FIXTURES/xccdf/openscap__multiple-testresults.xml" "$FIXTURES/xccdf/openscap-report__arf_simple_rule_fail.xml" 2>/dev/null | rules2scan`);
    expect(r.status, r.stderr).toBe(0);
    const payloads = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(payloads.length).toBe(4);
    for (const p of payloads) expect(validPayload(p)).toBeNull();
  });

  it("--format patchmon: one body per host with all its scans, the real server's field names", () => {
    const r = sh(`xccdf2rules "$FIXTURES/xccdf/openscap__multiple-testresults.xml" 2>/dev/null | rules2scan --format patchmon`);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.length).toBe(1);
    expect(Object.keys(lines[0])).toEqual(["hostname", "machine_id", "agent_version", "os_info", "scans"]);
    expect(lines[0].scans.length).toBe(3);
    expect(Object.keys(lines[0].scans[0])).toEqual(["profile_name", "profile_type", "status", "score", "total_rules", "passed", "failed", "warnings", "skipped", "not_applicable", "started_at", "completed_at", "results"]);
    expect(lines[0]).not.toHaveProperty("compliance_hash");
  });

  it("--capabilities: scanner_info from scan-detect's output", () => {
    const dir = mkdtempSync(join(tmpdir(), "r2s-"));
    const caps = join(dir, "caps.json");
    writeFileSync(caps, JSON.stringify({ openscap: { installed: true, version: "1.3.7", available_profiles: [{ id: "p1" }, { id: "p2" }, { id: "p1" }] }, docker_bench: { docker_installed: false } }));
    const r = sh(`xccdf2rules "$FIXTURES/xccdf/openscap__multiple-testresults.xml" 2>/dev/null | rules2scan --format patchmon --capabilities ${caps}`);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).scanner_info).toEqual({ openscap_available: true, openscap_version: "1.3.7", docker_bench_available: false, oscap_docker_available: false, available_profiles: ["p1", "p2"] });
    const bad = sh(`echo '{}' | rules2scan --capabilities /nonexistent.json`);
    expect(bad.status).toBe(2);
    expect(bad.stderr.split("\n")[0]).toMatch(/^rules2scan: \/nonexistent.json: cannot read --capabilities: ENOENT/);
  });

  it("--capabilities: scanner_info is the detection's, field for field (an engine that does not run is no Docker Bench)", () => {
    const dir = mkdtempSync(join(tmpdir(), "r2s-"));
    const caps = join(dir, "caps.json");
    const input = `"$FIXTURES/xccdf/openscap-report__arf_simple_rule_fail.xml"`;
    const info = (c: object) => {
      writeFileSync(caps, JSON.stringify(c));
      const r = sh(`xccdf2rules ${input} 2>/dev/null | rules2scan --format patchmon --capabilities ${caps}`);
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout).scanner_info;
    };
    const openscap = { installed: false, version: null, oscap_path: null, oscap_docker_path: null, available_profiles: [] };
    const engine = { docker_installed: true, docker_running: false, docker_version: "24.0.7", script_path: null };
    expect(info({ openscap, docker_bench: { ...engine, docker_bench_method: "none" } })).toEqual({ openscap_available: false, openscap_version: "", docker_bench_available: false, oscap_docker_available: false, available_profiles: [] });
    expect(info({ openscap, docker_bench: { ...engine, docker_bench_method: "script", script_path: "/opt/docker-bench-security/docker-bench-security.sh" } }).docker_bench_available).toBe(true);
    const withOscapDocker = { ...openscap, installed: true, oscap_docker_path: "/usr/bin/oscap-docker" };
    expect(info({ openscap: withOscapDocker, docker_bench: { ...engine, docker_running: true, docker_bench_method: "container" } })).toMatchObject({ docker_bench_available: true, oscap_docker_available: true });
    expect(info({ openscap: withOscapDocker, docker_bench: { ...engine, docker_bench_method: "none" } }).oscap_docker_available).toBe(false);

    // and this host's own detection, whatever it finds
    const detected = sh(`scan-detect > ${caps} && xccdf2rules ${input} 2>/dev/null | rules2scan --format patchmon --capabilities ${caps}`);
    expect(detected.status, detected.stderr).toBe(0);
    const c = JSON.parse(readFileSync(caps, "utf8"));
    expect(JSON.parse(detected.stdout).scanner_info).toEqual({
      openscap_available: c.openscap.installed,
      openscap_version: c.openscap.version ?? "",
      docker_bench_available: c.docker_bench.docker_bench_method !== "none",
      oscap_docker_available: Boolean(c.openscap.oscap_docker_path) && c.docker_bench.docker_running,
      available_profiles: [...new Set(c.openscap.available_profiles.map((p: { id: string }) => p.id))],
    });
  });

  it("holds a big input once: 200 000 lines in two groups within a modest heap", () => {
    const script = `let s="";for(let i=0;i<200000;i++){process.stdout.write(JSON.stringify({rule_ref:"xccdf_org.ssgproject.content_rule_"+i,title:"Ensure something "+i,severity:"medium",status:i%3?"pass":"fail",scanner:"openscap",target:"h"+(i%2),description:"d".repeat(200)})+"\\n")}`;
    const r = sh(`node -e '${script}' | /usr/bin/time -f "%M" rules2scan 2>&1 >/dev/null | tail -1`);
    const kb = Number(r.stdout.trim());
    expect(kb).toBeGreaterThan(0);
    // the input is ~70 MB of text; held once as compact results, plus Node itself
    expect(kb / 1024).toBeLessThan(400);
  });

  it("streams: 500,000 RuleResult lines (1.1 GB) in at most 200 MB, the results waiting in a temporary file that is gone at the end", () => {
    // 500,000 lines of ~2.2 KB (two 1,000-character texts each), two hosts, three profiles
    const gen = (n: number) => `const N=${n};const pad="Ensure the permissions are set. ".repeat(32).slice(0,1000);let i=0;function more(){while(i<N){let b=[];for(let k=0;k<200&&i<N;k++,i++)b.push(JSON.stringify({rule_ref:"xccdf_org.ssgproject.content_rule_"+i,title:"Ensure something "+i,severity:"medium",status:i%3?"pass":"fail",scanner:"openscap",target:"h"+(i%2),profile:{id:"p"+(i%3)},test_result_id:"tr",description:pad,remediation:pad}));if(!process.stdout.write(b.join("\\n")+"\\n"))return process.stdout.once("drain",more)}}more()`;
    const tmp = mkdtempSync(join(tmpdir(), "r2s-tmp-"));
    const r = sh(`node -e '${gen(500_000)}' | TMPDIR=${tmp} /usr/bin/time -f "%M" rules2scan 2>&1 >/dev/null | tail -1`);
    const kb = Number(r.stdout.trim());
    expect(kb, r.stdout + r.stderr).toBeGreaterThan(0);
    expect(kb / 1024).toBeLessThanOrEqual(200);
    expect(readdirSync(tmp)).toEqual([]);
    const small = sh(`node -e '${gen(30)}' | rules2scan | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(s.trim().split("\\n").map(l=>JSON.parse(l).results.length).join(",")))'`);
    expect(small.stdout.trim()).toBe("5,5,5,5,5,5");
  }, 180_000);

  it("--format patchmon cuts a host's scans into bodies under --max-body, whole scans in order", () => {
    const lines = ["p0", "p1", "p2", "p3"].flatMap((p) => Array.from({ length: 20 }, (_, i) => JSON.stringify(rr(i, i % 2 ? "pass" : "fail", { profile: { id: p }, description: "d".repeat(1000) }))));
    const input = lines.join("\n") + "\n";
    const cut = sh("rules2scan --format patchmon --max-body 50000", { input });
    const whole = sh("rules2scan --format patchmon --max-body 0", { input });
    expect(cut.status, cut.stderr).toBe(0);
    const bodies = cut.stdout.trim().split("\n");
    expect(bodies.length).toBe(2);
    for (const b of bodies) expect(Buffer.byteLength(b)).toBeLessThanOrEqual(50_000);
    const [one] = whole.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const parts = bodies.map((l) => JSON.parse(l));
    expect(parts.flatMap((p) => p.scans)).toEqual(one.scans);
    for (const p of parts) expect({ ...p, scans: [] }).toEqual({ ...one, scans: [] });
  });

  it("--format patchmon slims a scan too big alone (a 2,000-rule real-shaped scan comes out under 5 MB), and says so", () => {
    const rules = realShapedRules(2000);
    const r = sh("rules2scan --format patchmon", { input: rules.map((x) => JSON.stringify(x)).join("\n") });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^rules2scan: \S+: scan '.+' is \d+ bytes alone, over --max-body 5000000: written remediation cut to its first line \(\d+ bytes\)\n$/);
    const out = r.stdout.trim().split("\n");
    expect(out.length).toBe(1);
    expect(Buffer.byteLength(out[0])).toBeLessThanOrEqual(5_000_000);
    const results = JSON.parse(out[0]).scans[0].results;
    expect(results.map((x: RuleResult) => [x.rule_ref, x.status, x.severity, x.title, x.section ?? null])).toEqual(rules.map((x) => [x.rule_ref, x.status, x.severity, x.title, x.section ?? null]));
  });
});
