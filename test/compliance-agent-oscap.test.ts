import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { StandInServer } from "./helpers/patchmon-server.js";
import { agentHome, startAgent, started, type RunningAgent } from "./helpers/agent.js";
import { ANSSI_HIGH, SSG_DEBIAN11, asDebian11, haveOscap } from "./helpers/oscap.js";
import { selectedRuleCount } from "../src/services/agent/profile-rules.js";

const skip = process.env.SKIP_OSCAP === "1";

describe.skipIf(skip)("compliance-agent with real OpenSCAP (Debian 11 ANSSI high, in a namespace where this host reads as Debian 11)", () => {
  let s: StandInServer;
  let a: RunningAgent;
  let home: ReturnType<typeof agentHome>;
  afterAll(async () => {
    a?.child.kill("SIGKILL");
    await a?.exited;
    await s?.stop();
  });
  const oscapRunning = () => spawnSync("pgrep", ["-f", `results-arf ${home.tmp}`]).status === 0;

  it("a triggered scan reaches the server with the right counts and the progress phases in order", async () => {
    expect(haveOscap()).toBe(true);
    s = await new StandInServer().start();
    home = agentHome(s, { realOscap: true, datastream: SSG_DEBIAN11, yaml: (ds) => `compliance:\n  openscap:\n    profile: ${ANSSI_HIGH}\n    datastream: ${ds}` });
    a = startAgent(home, ["run"], { server: s, wrap: asDebian11 });
    await started(a, s);
    await s.waitFor("the agent's WebSocket", () => s.connected);
    s.send({ type: "compliance_scan", profile_type: "openscap", profile_id: ANSSI_HIGH, enable_remediation: false, fetch_remote_resources: false });
    await s.waitFor("the upload", () => s.uploads.length === 1, 90_000);
    await s.waitFor("completed", () => s.progress.some((p) => p.phase === "completed"));

    const scan = s.uploads[0].payload.scans[0] as Record<string, number | string> & { results: { status: string }[] };
    const selected = await selectedRuleCount(SSG_DEBIAN11, ANSSI_HIGH);
    expect(selected).toBe(50);
    expect(scan).toMatchObject({ profile_name: ANSSI_HIGH, profile_type: "openscap", total_rules: selected });
    const count = (st: string) => scan.results.filter((r) => r.status === st).length;
    expect([scan.passed, scan.failed, scan.warnings, scan.skipped, scan.not_applicable]).toEqual([count("pass"), count("fail") + count("error"), count("warn"), count("skip"), count("notapplicable")]);
    expect(Number(scan.passed) > 0 && Number(scan.failed) > 0).toBe(true);
    const scored = Number(scan.total_rules) - Number(scan.skipped) - Number(scan.not_applicable);
    expect(scan.score).toBe(Math.round((Number(scan.passed) / scored) * 10000) / 100);

    const phases = s.progress.map((p) => p.phase).filter((p, i, all) => p !== all[i - 1]);
    expect(phases).toEqual(["started", "evaluating", "parsing", "sending", "completed"]);
    const rules = s.progress.filter((p) => p.rules_done !== undefined);
    expect(rules.at(-1)).toMatchObject({ rules_done: selected, rules_total: selected, progress: 80 });
    expect(rules.length).toBeGreaterThan(10);
    expect(s.progress.at(-1)!.message).toBe(`Scan completed! Score: ${Number(scan.score).toFixed(1)}%`);
    expect(readdirSync(home.tmp)).toEqual([]);
  });

  it("a cancel mid-scan ends oscap within 2 s and reports cancelled", async () => {
    const before = s.progress.length;
    s.send({ type: "compliance_scan", profile_type: "openscap", profile_id: ANSSI_HIGH });
    await s.waitFor("oscap evaluating", () => s.progress.slice(before).some((p) => Number(p.rules_done) >= 2) && oscapRunning(), 60_000);
    const t = Date.now();
    s.send({ type: "compliance_scan_cancel" });
    await s.waitFor("cancelled", () => s.progress.slice(before).some((p) => p.phase === "cancelled"), 10_000);
    expect(oscapRunning()).toBe(false);
    expect(Date.now() - t).toBeLessThan(2_000);
    expect(readdirSync(home.tmp)).toEqual([]);
    expect(s.uploads).toHaveLength(1);
  });
});
