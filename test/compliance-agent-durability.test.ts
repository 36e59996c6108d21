import { describe, expect, it } from "vitest";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StandInServer, scanKey, type UploadStage } from "./helpers/patchmon-server.js";
import { FAKE_PROFILE, agentHome, scanOnce, startAgent, started, stoppedAfterEach, type RunningAgent } from "./helpers/agent.js";
import { seeded } from "./helpers/seeded.js";

const { servers, agents } = stoppedAfterEach();

function agent(...args: Parameters<typeof startAgent>): RunningAgent {
  const a = startAgent(...args);
  agents.push(a);
  return a;
}


const outboxFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")) : []);

describe("the outbox: nothing finished is lost", () => {
  it("kill -9 at seeded points of a send, restart: every scan reaches the server, a second time (the very same scan) only when the server had stored the send the kill cut short", async () => {
    const seed = Number(process.env.AGENT_KILL_SEED ?? 1616);
    const random = seeded(seed);
    // every kill point several times, in a seeded order
    const stages: UploadStage[] = (["head", "body", "answered"] as const).flatMap((s) => [s, s, s, s]);
    for (let i = stages.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [stages[i], stages[j]] = [stages[j], stages[i]];
    }
    let current: RunningAgent | null = null;
    let killAt: { upload: number; stage: UploadStage } | null = null;
    let killedUpload = 0;
    // 12 rounds, some sending twice, in well under a minute: a limit above that, on both sides
    const s = await new StandInServer({
      uploadsPerWindow: 100,
      async onUpload(n, stage) {
        if (!killAt || killAt.stage !== stage || !current) return;
        killAt = null;
        killedUpload = n;
        current.child.kill("SIGKILL");
        await current.exited;
      },
    }).start();
    servers.push(s);
    const home = agentHome(s, { agentYaml: "uploads_per_minute: 100" });
    const rounds: { stage: UploadStage; key: string; copies: number; storedCut: boolean; ms: number }[] = [];

    for (const stage of stages) {
      const before = s.uploads.length;
      const t0 = Date.now();
      current = agent(home, ["run"], { server: s });
      await s.waitFor("the agent's WebSocket", () => s.connected);
      killAt = { upload: before + 1, stage };
      s.send({ type: "compliance_scan", profile_type: "openscap" });
      const killed = current;
      expect(await killed.exited).toMatchObject({ signal: "SIGKILL" });
      // restarted, it sends what the outbox holds
      current = agent(home, ["run"], { server: s });
      await started(current, s);
      await s.waitFor("the outbox emptied", () => s.uploads.length > before && outboxFiles(home.outboxDir).length === 0, 30_000).catch((err) => {
        throw new Error(`${err.message} (round ${rounds.length}, ${stage}); agent said:\n${killed.log()}\n--- restarted:\n${current!.log()}`);
      });
      current.child.kill("SIGTERM");
      expect(await current.exited).toEqual({ code: 0, signal: null });
      await s.waitFor("the WebSocket closed", () => !s.connected);
      const mine = s.uploads.slice(before);
      const keys = new Set(mine.map((u) => scanKey(u)));
      expect(keys.size, `round ${rounds.length}: one scan`).toBe(1);
      // a copy sent again is the very same scan: same body, same timestamps
      expect(new Set(mine.map((u) => u.body)).size).toBe(1);
      // did the server store the upload the kill cut short? (a small body may be all in its socket already)
      const storedCut = s.uploads.some((u) => u.n === killedUpload);
      rounds.push({ stage, key: [...keys][0], copies: mine.length, storedCut, ms: Date.now() - t0 });
    }

    expect(rounds.length).toBeGreaterThanOrEqual(10);
    expect(new Set(rounds.map((r) => r.key)).size).toBe(rounds.length);
    // killed before the agent heard 200: sent again after the restart; a second copy exactly when the
    // server had stored the first (always once the hook ran after the body; before it, when the small
    // body was already in the server's socket)
    for (const r of rounds.filter((r) => r.stage !== "answered")) expect(r.copies).toBe(r.storedCut ? 2 : 1);
    for (const r of rounds.filter((r) => r.stage === "body")) expect(r.storedCut).toBe(true);
    // killed after the 200 was written: a second copy only if the kill beat the agent's removal of the file
    for (const r of rounds.filter((r) => r.stage === "answered")) expect([1, 2]).toContain(r.copies);
    const stored = new Map(s.uploads.map((u) => [scanKey(u), u.body]));
    expect(stored.size).toBe(rounds.length);
    const resent = rounds.filter((r) => r.copies > 1).length;
    console.log(`kill -9 rounds (seed ${seed}): ${rounds.length} scans, all delivered; ${resent} sent twice (${rounds.map((r) => `${r.stage}:${r.copies}:${r.ms}ms`).join(" ")})`);
  });

  it("with the server down, scans pile up in the outbox (over its limit, loudly, none dropped) and all arrive in order, paced, when it returns", async () => {
    const s = await new StandInServer({ uploadsPerWindow: 3, windowMs: 2_000 }).start();
    servers.push(s);
    const home = agentHome(s, { agentYaml: "uploads_per_minute: 3\nupload_window_seconds: 2\noutbox_max_mb: 0.002\nreconnect_max_seconds: 0.5" });
    await s.stop();
    const a = agent(home, ["run"], { server: s });
    await started(a, s);
    // six one-shot scans while the agent runs: each is stored and left to the agent
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await scanOnce(home));
    for (const r of results) {
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/an agent \(pid \d+\) sends from .*: the scan is left to it/);
      expect(r.stderr).toMatch(/is kept in the outbox .*: not sent yet/);
    }
    expect(results.slice(1).every((r) => /OUTBOX OVER ITS LIMIT: \d+ scan\(s\).*nothing is dropped/.test(r.stderr))).toBe(true);
    const waiting = outboxFiles(home.outboxDir);
    expect(waiting).toHaveLength(6);
    const order = waiting.map((f) => JSON.parse(readFileSync(join(home.outboxDir, f), "utf8")).payload.scans[0].started_at);

    await s.restart();
    await s.waitFor("all six", () => s.uploads.length === 6, 40_000);
    await s.waitFor("the outbox emptied", () => outboxFiles(home.outboxDir).length === 0);
    expect(s.uploads.map((u) => u.payload.scans[0].started_at)).toEqual(order);
    expect(s.answers.filter((c) => c !== 200)).toEqual([]);
    // 3 per 2 s: the last three cannot come before the first three's window is over
    expect(s.uploads[3].at - s.uploads[0].at).toBeGreaterThanOrEqual(2_000);
    a.child.kill("SIGTERM");
    expect((await a.exited).code).toBe(0);
  });

  it("credentials refused: the scan waits in the outbox, and goes once they are fixed", async () => {
    const s = await new StandInServer().start();
    servers.push(s);
    const home = agentHome(s);
    const creds = readFileSync(home.config, "utf8").match(/credentials_file: (.*)/)![1];
    writeFileSync(creds, "api_id: agent-1\napi_key: wrong\n");
    const r = await scanOnce(home);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/refused the API credentials \(HTTP 401/);
    expect(outboxFiles(home.outboxDir)).toHaveLength(1);
    writeFileSync(creds, "api_id: agent-1\napi_key: secret-1\n");
    const again = await scanOnce(home);
    expect(again.status, again.stderr).toBe(0);
    expect(s.uploads).toHaveLength(2);
    expect(outboxFiles(home.outboxDir)).toHaveLength(0);
  });

  it("a scan over the server's body limit even slimmed down is set aside in rejected/ with the reason, not re-sent", async () => {
    const s = await new StandInServer({ bodyLimit: 500 }).start();
    servers.push(s);
    const home = agentHome(s);
    const r = await scanOnce(home);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/refused scan .* for good \(HTTP 413.*kept in .*rejected/);
    expect(s.answers).toEqual([413, 413]);
    expect(outboxFiles(home.outboxDir)).toHaveLength(0);
    const rejected = readdirSync(join(home.outboxDir, "rejected"));
    expect(rejected.filter((f) => f.endsWith(".json"))).toHaveLength(1);
    expect(readFileSync(join(home.outboxDir, "rejected", rejected.find((f) => f.endsWith(".reason"))!), "utf8")).toMatch(/HTTP 413/);
  });

  it("the hash gate: when the ping asks for compliance data and the outbox is empty, the last scan is sent again, not re-run", async () => {
    const s = await new StandInServer().start();
    servers.push(s);
    const home = agentHome(s);
    const log = join(home.dir, "oscap.log");
    const first = await scanOnce(home, { FAKE_OSCAP_LOG: log });
    expect(first.status, first.stderr).toBe(0);
    // same hash as the server stored: nothing asked, nothing sent
    let a = agent(home, ["run"], { server: s });
    await s.waitFor("a ping", () => s.pings.length === 1);
    expect(s.pings[0]).toEqual({ hash: s.storedHash, requestFull: [] });
    a.child.kill("SIGTERM");
    await a.exited;
    // the server lost it (or never stored it): it asks, the agent sends the same scan again
    s.storedHash = "";
    a = agent(home, ["run"], { server: s });
    await s.waitFor("the re-send", () => s.uploads.length === 2);
    expect(s.pings.at(-1)!.requestFull).toEqual(["compliance"]);
    expect(s.uploads[1].body).toBe(s.uploads[0].body);
    expect(readFileSync(log, "utf8").trim().split("\n")).toHaveLength(1);
    expect(a.log()).toMatch(/sending the last scan .* again, not re-running it/);
    expect(s.uploads[0].payload.scans[0].profile_name).toBe(FAKE_PROFILE);
  });
});
