import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { createReadStream, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StandInServer } from "./helpers/patchmon-server.js";
import { FAKE_PROFILE, agentHome, startAgent, started, stoppedAfterEach, type RunningAgent } from "./helpers/agent.js";
import { complianceHash } from "../src/services/agent/hash.js";
import { sh, shAsync } from "./helpers/run.js";
import { BIN, FIXTURES, ROOT } from "./helpers/paths.js";
import { dockerbenchToRules } from "../src/commands/dockerbench2rules.js";

const { servers, agents } = stoppedAfterEach();

async function server(opts: ConstructorParameters<typeof StandInServer>[0] = {}): Promise<StandInServer> {
  const s = await new StandInServer(opts).start();
  servers.push(s);
  return s;
}

function agent(...args: Parameters<typeof startAgent>): RunningAgent {
  const a = startAgent(...args);
  agents.push(a);
  return a;
}

const phases = (s: StandInServer) => s.progress.map((p) => p.phase);

describe("compliance-agent run: on-demand scans over the WebSocket", () => {
  it("runs the scan the server asks for and uploads it, with progress in order and the hash the server stores", async () => {
    const s = await server();
    const home = agentHome(s);
    const a = agent(home, ["run"], { server: s });
    await s.waitFor("the agent's WebSocket", () => s.connected);
    s.send({ type: "compliance_scan", profile_type: "openscap", profile_id: FAKE_PROFILE, enable_remediation: false, fetch_remote_resources: false });
    await s.waitFor("the upload", () => s.uploads.length === 1);
    await s.waitFor("completed", () => s.progress.some((p) => p.phase === "completed"));

    const { payload } = s.uploads[0];
    expect(payload).toMatchObject({ hostname: "agent-test-host", scan_type: "on-demand" });
    expect(payload.scans).toHaveLength(1);
    expect(payload.scans[0]).toMatchObject({ profile_name: FAKE_PROFILE, profile_type: "openscap", status: "completed", total_rules: 5, passed: 2, failed: 1, warnings: 1, skipped: 0, not_applicable: 1, score: 50, remediation_applied: false, remediation_count: 0 });

    const seen = phases(s).filter((p, i, all) => p !== all[i - 1]);
    expect(seen).toEqual(["started", "evaluating", "parsing", "sending", "completed"]);
    const evaluating = s.progress.filter((p) => p.phase === "evaluating");
    expect(evaluating[0].progress).toBe(15);
    expect(evaluating.at(-1)).toMatchObject({ rules_done: 5, rules_total: 5, progress: 80 });
    expect(s.progress.map((p) => p.progress)).toEqual([...s.progress.map((p) => p.progress)].sort((x, y) => Number(x) - Number(y)));
    expect(s.progress.at(-1)).toMatchObject({ phase: "completed", progress: 100, message: "Scan completed! Score: 50.0%", profile_name: FAKE_PROFILE });
    for (const p of s.progress) expect(p.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    expect(readdirSync(home.outboxDir).filter((f) => f.endsWith(".json"))).toEqual([]);
    expect(readdirSync(home.tmp)).toEqual([]);
    const status = sh(`compliance-agent status --json --config ${home.config}`);
    expect(status.status).toBe(0);
    const st = JSON.parse(status.stdout);
    expect(st).toMatchObject({ running: true, connected: true, current: null, last: { phase: "completed", scanner: "openscap" }, outbox: { count: 0 } });
    expect(st.compliance_hash).toBe(complianceHash(payload.scans));
    expect(st.compliance_hash).toBe(s.storedHash);
    expect(sh(`compliance-agent status --config ${home.config}`).stdout).toMatch(/^agent: running \(pid \d+.*\nserver: .*websocket connected/);

    a.child.kill("SIGTERM");
    expect(await a.exited).toEqual({ code: 0, signal: null });
    expect(a.log()).toMatch(/SIGTERM: stopping[\s\S]*stopped/);
    expect(sh(`compliance-agent status --config ${home.config}`).stdout).toMatch(/^agent: not running/);
  });

  it("takes the spec's compliance_trigger by profile title and echoes its request_id", async () => {
    const s = await server();
    // scan-detect looks in the home directory, where the fake data stream is
    const home = agentHome(s, { contentDirs: ["$HOME"] });
    agent(home, ["run"], { server: s });
    await s.waitFor("the agent's WebSocket", () => s.connected);
    s.send({ type: "compliance_trigger", profile: "Fake profile", request_id: "req-42" });
    await s.waitFor("completed", () => s.progress.some((p) => p.phase === "completed"));
    expect(s.uploads).toHaveLength(1);
    expect(s.progress.every((p) => p.request_id === "req-42")).toBe(true);
    s.send({ type: "compliance_trigger", profile: "No such profile, surely", request_id: "req-43" });
    await s.waitFor("refusal", () => s.progress.find((p) => p.request_id === "req-43"));
    expect(s.progress.find((p) => p.request_id === "req-43")).toMatchObject({ phase: "failed", error: expect.stringMatching(/unknown profile/) });
  });

  it("profile_type all runs OpenSCAP, then Docker Bench, one upload each", async () => {
    const s = await server();
    const script = join(ROOT, "test/helpers/fake-docker-bench.sh");
    const yaml = (ds: string) => `compliance:\n  openscap:\n    profile: ${FAKE_PROFILE}\n    datastream: ${ds}\n  docker_bench:\n    enabled: true\n    script: ${script}`;
    const home = agentHome(s, { yaml });
    const log = join(FIXTURES, "dockerbench/v1.3.6-remediation__giuslock.json");
    agent(home, ["run"], { server: s, env: { FAKE_DOCKER_BENCH_LOG: log } });
    await s.waitFor("the agent's WebSocket", () => s.connected);
    s.send({ type: "compliance_scan", profile_type: "all", openscap_enabled: true, docker_bench_enabled: true });
    await s.waitFor("two uploads, two completions", () => s.uploads.length === 2 && s.progress.filter((p) => p.phase === "completed").length === 2);
    expect(s.uploads.map((u) => u.payload.scans[0].profile_type)).toEqual(["openscap", "docker-bench"]);
    const counts: Record<string, number> = { pass: 0, fail: 0, warn: 0, skip: 0, notapplicable: 0, error: 0 };
    let total = 0;
    for await (const r of dockerbenchToRules(createReadStream(log), { target: "x" })) {
      counts[r.status]++;
      total++;
    }
    expect(s.uploads[1].payload.scans[0]).toMatchObject({ profile_name: "docker-bench-security", total_rules: total, passed: counts.pass, failed: counts.fail + counts.error, warnings: counts.warn, skipped: counts.skip });
    expect(s.progress.filter((p) => p.phase === "started").map((p) => p.profile_name)).toEqual([FAKE_PROFILE, "docker-bench-security"]);
  });

  it("refuses a profile_id the server would refuse, and an unknown profile_type", async () => {
    const s = await server();
    const home = agentHome(s);
    agent(home, ["run"], { server: s });
    await s.waitFor("the agent's WebSocket", () => s.connected);
    s.send({ type: "compliance_scan", profile_type: "openscap", profile_id: "x; rm -rf /" });
    s.send({ type: "compliance_scan", profile_type: "openscap", profile_id: "a".repeat(257) });
    s.send({ type: "compliance_scan", profile_type: "nessus" });
    await s.waitFor("three refusals", () => s.progress.length === 3);
    expect(s.progress.map((p) => [p.phase, p.error])).toEqual([
      ["failed", expect.stringMatching(/invalid profile_id/)],
      ["failed", expect.stringMatching(/invalid profile_id/)],
      ["failed", expect.stringMatching(/unknown profile_type/)],
    ]);
    expect(s.uploads).toHaveLength(0);
  });

  it("settings_update changes the scan interval live (clamped to 60-10080), as the status shows", async () => {
    const s = await server();
    const yaml = (ds: string) => `integrations:\n  compliance: true\n  compliance_scan_interval: 720\ncompliance:\n  openscap:\n    profile: ${FAKE_PROFILE}\n    datastream: ${ds}`;
    const home = agentHome(s, { yaml, agentYaml: "first_scan_delay_seconds: 3600" });
    agent(home, ["run"], { server: s });
    await s.waitFor("the agent's WebSocket", () => s.connected);
    const schedule = () => JSON.parse(sh(`compliance-agent status --json --config ${home.config}`).stdout).schedules.openscap;
    expect(schedule().trigger).toBe("every 720 min");
    s.send({ type: "settings_update", update_interval: 60, compliance_scan_interval: 5 });
    await s.waitFor("the new interval", () => schedule().trigger === "every 60 min");
    s.send({ type: "settings_update", compliance_scan_interval: 240 });
    await s.waitFor("the new interval", () => schedule().trigger === "every 240 min");
    // not run yet: the first scan is still an hour after start
    expect(Date.parse(schedule().next) - Date.now()).toBeGreaterThan(30 * 60_000);
  });

  it("keep-alive: a silent server is dropped at the agent's read deadline; the agent reconnects, and pings keep it", async () => {
    const s = await server({ pingMs: 200, readDeadlineMs: 5_000 });
    // the agent pings every 0.3 s and gives up after 1 s of silence
    const home = agentHome(s, { agentYaml: "ws_ping_seconds: 0.3\nws_read_deadline_seconds: 1\nreconnect_max_seconds: 1" });
    const a = agent(home, ["run"], { server: s });
    await s.waitFor("the agent's WebSocket", () => s.connected);
    s.freeze();
    await s.waitFor("a new connection", () => s.wsConnections.length === 2 && s.connected, 10_000);
    expect(a.log()).toMatch(/nothing from the server for 1 s; dropping the connection/);
    expect(a.log()).toMatch(/reconnecting in 1 s/);
    // pings both ways: the connection stays, well past the agent's deadline
    await new Promise((r) => setTimeout(r, 2_500));
    expect(s.wsConnections).toHaveLength(2);
    expect(s.connected).toBe(true);
  });

  it("keep-alive: a silent agent is dropped at the server's read deadline, and reconnects", async () => {
    const s = await server({ pingMs: 60_000, readDeadlineMs: 1_000 });
    const home = agentHome(s, { agentYaml: "ws_ping_seconds: 60\nreconnect_max_seconds: 1" });
    const a = agent(home, ["run"], { server: s });
    await s.waitFor("the agent's WebSocket", () => s.connected);
    // no pings either way: the server's 1 s deadline drops it; the agent dials again
    await s.waitFor("a new connection", () => s.wsConnections.length >= 2, 10_000);
    expect(a.log()).toMatch(/websocket: lost/);
  });

  it("a wrong API key: the server refuses the WebSocket with 401, the agent says so and keeps trying", async () => {
    const s = await server();
    const home = agentHome(s, { apiKey: "not-the-key" });
    const a = agent(home, ["run"], { server: s });
    await s.waitFor("two refusals", () => (a.log().match(/HTTP 401 \(credentials refused\)/g) ?? []).length >= 2, 10_000);
    expect(s.wsConnections).toHaveLength(0);
  });

  it("status --follow follows a scan from start to end", async () => {
    const s = await server();
    const home = agentHome(s);
    // the scan waits at its last rule until the follower has shown it running: no race with the follower's start
    const gate = join(home.dir, "gate");
    agent(home, ["run"], { server: s, env: { FAKE_OSCAP_GATE: gate } });
    await s.waitFor("the agent's WebSocket", () => s.connected);
    s.send({ type: "compliance_scan", profile_type: "openscap" });
    await s.waitFor("evaluating", () => s.progress.some((p) => p.phase === "evaluating"));
    let out = "";
    const follow = spawn("sh", ["-c", `compliance-agent status --follow --config ${home.config}`], { env: { ...process.env, PATH: `${BIN}:${process.env.PATH}` } });
    follow.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (/evaluating/.test(out)) writeFileSync(gate, "");
    });
    const status = await new Promise<number | null>((resolve) => follow.on("close", resolve));
    expect(status).toBe(0);
    const lines = out.trim().split("\n");
    expect(lines[0]).toMatch(/^openscap xccdf_org\.ssgproject\.content_profile_fake \(on-demand\): started/);
    expect(lines.some((l) => /evaluating \d+% Evaluating rule \d of 5/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/completed 100% Scan completed! Score: 50\.0%/);
  });

  it("cancel kills the scanner and its children, removes the temp files and reports cancelled", async () => {
    const s = await server();
    const home = agentHome(s);
    const log = join(home.dir, "oscap.log");
    agent(home, ["run"], { server: s, env: { FAKE_OSCAP_DELAY: "30", FAKE_OSCAP_LOG: log } });
    await s.waitFor("the agent's WebSocket", () => s.connected);
    s.send({ type: "compliance_scan", profile_type: "openscap" });
    await s.waitFor("evaluating", () => s.progress.some((p) => p.phase === "evaluating") && existsSync(log));
    expect(readdirSync(home.tmp)).toHaveLength(1);
    s.send({ type: "compliance_scan_cancel" });
    await s.waitFor("cancelled", () => s.progress.some((p) => p.phase === "cancelled"));
    const pid = Number(readFileSync(log, "utf8").split(" ")[0]);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(readdirSync(home.tmp)).toEqual([]);
    expect(s.progress.at(-1)).toMatchObject({ phase: "cancelled", progress: 0 });
    expect(s.uploads).toHaveLength(0);
  });

  it("an on-demand scan stops a running scheduled one; a scan past its time-out fails", async () => {
    const s = await server();
    const yaml = (ds: string) => `integrations:\n  compliance: true\ncompliance:\n  openscap:\n    profile: ${FAKE_PROFILE}\n    datastream: ${ds}`;
    const home = agentHome(s, { yaml, agentYaml: "first_scan_delay_seconds: 0\nscan_timeout_minutes: 0.05" });
    agent(home, ["run"], { server: s, env: { FAKE_OSCAP_DELAY: "1" } });
    await s.waitFor("the scheduled scan evaluating", () => s.progress.some((p) => p.phase === "evaluating"));
    s.send({ type: "compliance_scan", profile_type: "openscap" });
    await s.waitFor("cancelled, then a new scan", () => s.progress.some((p) => p.phase === "cancelled") && s.progress.filter((p) => p.phase === "started").length === 2);
    expect(s.progress.find((p) => p.phase === "cancelled")!.message).toMatch(/superseded by an on-demand scan/);
    // 5 rules at 1 s each is past the 3 s time-out
    await s.waitFor("the time-out", () => s.progress.some((p) => p.phase === "failed"), 20_000);
    expect(s.progress.find((p) => p.phase === "failed")).toMatchObject({ error: "timed out after 0.05 minutes", progress: 0 });
    expect(s.uploads).toHaveLength(0);
  });
});
