import { afterAll, describe, expect, it } from "vitest";
import { StandInServer } from "./helpers/patchmon-server.js";
import { FAKE_PROFILE, agentHome, startAgent, started } from "./helpers/agent.js";

// its own file, so that the wait for the next minute runs beside the other tests
describe("a real one-minute cron schedule", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup) await c();
  });

  it("runs the scheduled scan at the next minute and uploads it as scheduled", async () => {
    const s = await new StandInServer().start();
    const home = agentHome(s, { yaml: (ds) => `compliance:\n  enabled: true\n  openscap:\n    profile: ${FAKE_PROFILE}\n    datastream: ${ds}\n    schedule: "* * * * *"\n  docker_bench:\n    enabled: false` });
    const a = startAgent(home, ["run"], { server: s });
    cleanup.push(async () => {
      a.child.kill("SIGKILL");
      await a.exited;
      await s.stop();
    });
    await started(a, s);
    const t0 = Date.now();
    await s.waitFor("the scheduled scan's upload", () => s.uploads.length === 1, 75_000);
    const at = new Date(s.uploads[0].payload.scans[0].started_at as string);
    expect(s.uploads[0].payload.scan_type).toBe("scheduled");
    // it started in the first seconds of a minute (the cron slot), after the agent did
    expect(at.getTime()).toBeGreaterThanOrEqual(t0 - 1000);
    expect(at.getUTCSeconds()).toBeLessThan(15);
    await s.waitFor("completed", () => s.progress.some((p) => p.phase === "completed"));
  });
});
