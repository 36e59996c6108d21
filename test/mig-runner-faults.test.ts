import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTestKey, type TestKey } from "./helpers/gnupg.js";
import { startMigApi, type MigApiStandIn } from "./helpers/mig-api.js";
import { FakeClock, MIG, commandsFor, makeRunnerDir, runnerCfg, type RunnerDir } from "./helpers/mig-runner.js";
import { loadClientConfig, loadRunnerConfig } from "../src/services/mig-runner/config.js";
import { memoryLogger } from "../src/services/mig-runner/log.js";
import { MigRunner } from "../src/services/mig-runner/runner.js";

let key: TestKey;
let api: MigApiStandIn | undefined;
beforeAll(() => {
  key = makeTestKey();
});
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const ACTION = join(MIG, "actions", "glibc_ubuntu_cve-2015-0235.json");
/** A plugin that keeps what it was given and counts its runs. */
const RECORDING_PLUGIN = '#!/bin/sh\nn=$(ls "$(dirname "$0")/../runs" 2>/dev/null | wc -l)\nmkdir -p "$(dirname "$0")/../runs"\ncat > "$(dirname "$0")/../runs/run$n.json"\n';

interface Setup {
  clock: FakeClock;
  dir: RunnerDir;
  runner: MigRunner;
  lines: string[];
  /** tick, then wait for what it started */
  step(at?: number): Promise<void>;
  runs(): string[];
  job: string;
}

/** 30 s past a minute, a job every minute with expiry 10s: launched at +30 s, due for results at +40 s. */
async function setUp(o: { runner?: string; plugin?: string; entity?: string; onPluginStart?: () => void } = {}): Promise<Setup> {
  const start = Math.floor(Date.now() / 60_000) * 60_000 + 30_000;
  const clock = new FakeClock(start);
  api = await startMigApi({ apiHome: key.apiHome, fingerprint: key.fingerprint, now: () => clock.now() });
  api.commands = (_id, action) => commandsFor(action, 4);
  const dir = makeRunnerDir({ apiUrl: api.url, key, runnerCfg: (root) => runnerCfg(root, { runner: o.runner }) });
  dir.addJob("j", { entity: o.entity ?? '[configuration]\nschedule = "* * * * *"\nplugin = "p"\nexpiry = "10s"\n', action: ACTION });
  if (o.plugin !== "") dir.addPlugin("p", o.plugin ?? RECORDING_PLUGIN);
  const log = memoryLogger();
  const runner = new MigRunner({ runner: loadRunnerConfig(dir.config).config!, client: loadClientConfig(join(dir.base, ".migrc")).config!, log, clock, zone: "utc", onPluginStart: o.onPluginStart });
  await runner.start();
  const step = async (at?: number) => {
    if (at !== undefined) clock.set(at);
    await runner.tick();
    await runner.idle();
  };
  await step();
  const runsDir = join(dir.root, "runs");
  return { clock, dir, runner, lines: log.lines, step, job: "j", runs: () => (existsSync(runsDir) ? readdirSync(runsDir).sort().map((f) => readFileSync(join(runsDir, f), "utf8")) : []) };
}

const inflightOf = (s: Setup) => {
  const d = join(s.dir.root, "runners/j/inflight");
  return existsSync(d) ? readdirSync(d) : [];
};
const resultsOf = (s: Setup) => {
  const d = join(s.dir.root, "runners/j/results");
  return existsSync(d) ? readdirSync(d).flatMap((day) => readdirSync(join(d, day)).map((f) => join(d, day, f))) : [];
};

describe("faults", () => {
  it("API down at launch: the launch is logged as failed and made at the next scheduled time", async () => {
    const s = await setUp();
    const t0 = s.clock.now();
    api!.down = true;
    await s.step(t0 + 30_000);
    expect(api!.actions).toEqual([]);
    expect(s.lines.find((l) => l.includes("launch failed"))).toMatch(/\[error\] j: launch failed: POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/action\/create\/: .*; next try at \d{4}-\d\d-\d\d \d\d:\d\d:00 /);
    expect(inflightOf(s)).toEqual([]);
    api!.down = false;
    await s.step(t0 + 90_000);
    expect(api!.actions.length).toBe(1);
    expect(inflightOf(s)).toEqual([`${api!.actions[0].id}.json`]);
  });

  it("API down at fetch: retried with backoff until it answers; the results are all there, the plugin runs once", async () => {
    const s = await setUp();
    const t0 = s.clock.now();
    await s.step(t0 + 30_000);
    const id = String(api!.actions[0].id);
    api!.down = true;
    await s.step(t0 + 41_000);
    await s.step(t0 + 46_000);
    await s.step(t0 + 56_000);
    expect(s.lines.filter((l) => l.includes(`fetching results of ${id} failed`)).map((l) => / \(attempt (\d)\).*trying again in (\w+)$/.exec(l)!.slice(1))).toEqual([["1", "5s"], ["2", "10s"], ["3", "20s"]]);
    expect(inflightOf(s)).toEqual([`${id}.json`]);
    expect(resultsOf(s)).toEqual([]);
    api!.down = false;
    await s.step(t0 + 66_000); // not yet: 20 s after the third try
    expect(resultsOf(s)).toEqual([]);
    await s.step(t0 + 76_000);
    expect(resultsOf(s).length).toBe(1);
    expect(JSON.parse(readFileSync(resultsOf(s)[0], "utf8")).commands.length).toBe(4);
    expect(s.runs()).toEqual([readFileSync(resultsOf(s)[0], "utf8")]);
    expect(inflightOf(s)).toEqual([]);
  });

  it("gives up after resultsretention: the in-flight record moves to failed/ with the reason, and it is logged", async () => {
    const s = await setUp({ runner: "    resultsretention = 1m\n" });
    const t0 = s.clock.now();
    await s.step(t0 + 30_000);
    const id = String(api!.actions[0].id);
    // the job keeps launching every minute; only this action is looked at
    api!.down = true;
    for (let t = t0 + 41_000; t <= t0 + 101_000; t += 5_000) await s.step(t);
    expect(existsSync(join(s.dir.root, "runners/j/inflight", `${id}.json`))).toBe(false);
    expect(readFileSync(join(s.dir.root, "runners/j/failed", `${id}.json`), "utf8")).toMatch(/"commands":null,"name":"j","plugin":"p"\}$/);
    expect(readFileSync(join(s.dir.root, "runners/j/failed", `${id}.reason`), "utf8")).toMatch(/^its results could not be fetched within 1m of its expiry \(\d+ attempts; last: GET /);
    expect(s.lines.some((l) => l.includes(`[error] j: action ${id} given up: its results could not be fetched within 1m`))).toBe(true);
  });

  it("a launch the runner could not record (killed between the API's 202 and the in-flight write) is said and kept, not lost silently", async () => {
    const s = await setUp();
    const t0 = s.clock.now();
    await s.step(t0 + 30_000);
    // a launch that was recorded leaves no note behind
    expect(api!.actions.length).toBe(1);
    const jobDir = join(s.dir.root, "runners/j");
    const notes = () => readdirSync(jobDir).filter((f) => f.startsWith(".launching-"));
    expect(notes()).toEqual([]);
    // what a kill -9 between the two leaves: the note of a process that is gone
    writeFileSync(join(jobDir, ".launching-1700000000000-999999999.json"), JSON.stringify({ job: "j", name: "mig-runner: j", validfrom: "2023-11-14T22:13:20Z", expireafter: "2023-11-14T22:13:30Z", pid: 999_999_999 }));
    await s.step(t0 + 30_000 + 5 * 60_000);
    const line = s.lines.find((l) => l.includes("recording it in flight"));
    expect(line).toMatch(/\[error\] j: the runner stopped between sending action "mig-runner: j" valid from 2023-11-14T22:13:20Z, expiring 2023-11-14T22:13:30Z to the API and recording it in flight/);
    expect(notes()).toEqual([]);
    expect(readFileSync(join(s.dir.root, "runners/j/failed/launching-1700000000000-999999999.reason"), "utf8")).toMatch(/may be running in MIG with nobody fetching its results/);
    expect(existsSync(join(s.dir.root, "runners/j/failed/launching-1700000000000-999999999.json"))).toBe(true);
  });

  it("a plugin that hangs is stopped at plugintimeout, its stderr is logged with the job and action id, and it runs again later", async () => {
    let started: () => void = () => undefined;
    const s = await setUp({
      runner: "    plugintimeout = 2m\n",
      // the first run hangs (in a child, so that the whole process group must be stopped), the next succeeds
      plugin: '#!/bin/sh\nd="$(dirname "$0")/.."\ncat > /dev/null\nif [ ! -e "$d/hung" ]; then touch "$d/hung"; echo "thinking hard" >&2; sleep 1000; fi\necho ok > "$d/done"\n',
      entity: '[configuration]\nschedule = "0 0 1 1 * 2099"\nplugin = "p"\nexpiry = "10s"\n',
      onPluginStart: () => started(),
    });
    const t0 = s.clock.now();
    await s.runner.launch(s.runner.jobs.get("j")!);
    const id = String(api!.actions[0].id);
    const plugged = new Promise<void>((resolve) => (started = resolve));
    s.clock.set(t0 + 11_000);
    await s.runner.tick();
    await plugged;
    // the plugin hangs until the clock passes the timeout
    await new Promise<void>((resolve) => {
      const wait = () => (s.lines.some((l) => l.includes("thinking hard")) ? resolve() : setTimeout(wait, 10));
      wait();
    });
    s.clock.set(t0 + 11_000 + 120_000);
    await s.runner.idle();
    expect(s.lines).toContain(`- ${id} - [warning] j/${id}: plugin p: thinking hard`);
    expect(s.lines).toContain(`- ${id} - [error] j/${id}: plugin p timed out after 120 s and was stopped (run 1 of 4); the results file is kept, the plugin runs again in 1m`);
    expect(inflightOf(s)).toEqual([`${id}.json`]);
    expect(resultsOf(s).length).toBe(1);
    await s.step(t0 + 11_000 + 180_000);
    expect(existsSync(join(s.dir.root, "done"))).toBe(true);
    expect(inflightOf(s)).toEqual([]);
    expect(api!.log.filter((l) => l.method === "GET").length).toBe(2); // fetched once (a page and the 404)
  });

  it("a plugin exiting non-zero is run again up to pluginretries, then the action is given up with its results kept", async () => {
    const s = await setUp({ runner: "    pluginretries = 2\n", plugin: '#!/bin/sh\ncat >/dev/null\necho "cannot reach MozDef" >&2\nexit 3\n', entity: '[configuration]\nschedule = "0 0 1 1 * 2099"\nplugin = "p"\nexpiry = "10s"\n' });
    const t0 = s.clock.now();
    await s.runner.launch(s.runner.jobs.get("j")!);
    const id = String(api!.actions[0].id);
    await s.step(t0 + 11_000);
    await s.step(t0 + 11_000 + 60_000);
    await s.step(t0 + 11_000 + 180_000);
    expect(s.lines.filter((l) => l.includes("exited with 3")).map((l) => l.replace(/^.*\[\w+\] /, ""))).toEqual([
      `j/${id}: plugin p exited with 3 (run 1 of 3); the results file is kept, the plugin runs again in 1m`,
      `j/${id}: plugin p exited with 3 (run 2 of 3); the results file is kept, the plugin runs again in 2m`,
      `j: action ${id} given up: plugin p exited with 3 (3 runs); the results are kept in ${resultsOf(s)[0]}; its record is in ${join(s.dir.root, "runners/j/failed", `${id}.json`)}`,
    ]);
    expect(s.lines.filter((l) => l.endsWith("plugin p: cannot reach MozDef")).length).toBe(3);
    expect(inflightOf(s)).toEqual([]);
  });
});

describe("directory changes", () => {
  it("sees a job added, an entity.cfg or action.json edited, a job removed, and a plugin added after start", async () => {
    const s = await setUp({ plugin: "", entity: '[configuration]\nschedule = "0 0 1 1 * 2099"\nplugin = "p"\nexpiry = "10s"\n' });
    const t0 = s.clock.now();
    const rescan = (n: number) => t0 + n * 30_000;
    expect([...s.runner.jobs.keys()]).toEqual(["j"]);

    // a new job, seen at the next rescan (checkdirectory = 30)
    const k = s.dir.addJob("k", { entity: '[configuration]\nschedule = "0 0 1 1 * 2098"\n', action: ACTION });
    await s.step(rescan(1) - 1);
    expect([...s.runner.jobs.keys()]).toEqual(["j"]);
    await s.step(rescan(1));
    expect([...s.runner.jobs.keys()]).toEqual(["j", "k"]);
    expect(s.runner.jobs.get("k")!.nextRun).toBe(Date.UTC(2098, 0, 1));

    // entity.cfg edited: the new schedule
    writeFileSync(join(k, "entity.cfg"), '[configuration]\nschedule = "0 0 1 1 * 2097"\n');
    utimesSync(join(k, "entity.cfg"), new Date(1e12), new Date(1e12));
    await s.step(rescan(2));
    expect(s.runner.jobs.get("k")!.nextRun).toBe(Date.UTC(2097, 0, 1));
    // action.json edited: reloaded (the Go runner would not see it), and a broken one is reported
    writeFileSync(join(k, "action.json"), "{broken");
    utimesSync(join(k, "action.json"), new Date(1e12), new Date(1e12));
    await s.step(rescan(3));
    expect([...s.runner.jobs.keys()]).toEqual(["j"]);
    expect(s.lines.filter((l) => l.includes("k: not scheduled:") && l.includes("action.json: not JSON")).length).toBe(1);
    writeFileSync(join(k, "action.json"), readFileSync(ACTION));
    utimesSync(join(k, "action.json"), new Date(2e12), new Date(2e12));
    await s.step(rescan(4));
    expect([...s.runner.jobs.keys()]).toEqual(["j", "k"]);

    // a removed job stops
    rmSync(k, { recursive: true });
    await s.step(rescan(5));
    expect([...s.runner.jobs.keys()]).toEqual(["j"]);
    expect(s.lines.some((l) => l.endsWith("removed job k"))).toBe(true);

    // a plugin that did not exist when the runner started is used once it is there
    await s.runner.launch(s.runner.jobs.get("j")!);
    const id = String(api!.actions[0].id);
    await s.step(s.clock.now() + 11_000);
    expect(s.lines.some((l) => l.includes(`j/${id}: plugin p not found in ${s.dir.root}/plugins (run 1 of 4)`))).toBe(true);
    s.dir.addPlugin("p", RECORDING_PLUGIN);
    await s.step(s.clock.now() + 60_000);
    expect(s.runs().length).toBe(1);
    expect(inflightOf(s)).toEqual([]);
  });
});
