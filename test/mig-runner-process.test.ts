import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTestKey, type TestKey } from "./helpers/gnupg.js";
import { startMigApi, type MigApiStandIn } from "./helpers/mig-api.js";
import { FakeClock, MIG, commandsFor, makeRunnerDir, runnerCfg, type RunnerDir } from "./helpers/mig-runner.js";
import { BIN, FIXTURES } from "./helpers/paths.js";
import { shAsync } from "./helpers/run.js";
import { haveRsyslog, startRsyslog } from "./helpers/rsyslog.js";
import { loadClientConfig, loadRunnerConfig } from "../src/services/mig-runner/config.js";
import { createLogger, fileLogger, memoryLogger } from "../src/services/mig-runner/log.js";
import { MigRunner } from "../src/services/mig-runner/runner.js";

let key: TestKey;
let api: MigApiStandIn | undefined;
const children: ChildProcess[] = [];
beforeAll(() => {
  key = makeTestKey();
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await api?.close();
  api = undefined;
});

const ACTION = join(MIG, "actions", "glibc_ubuntu_cve-2015-0235.json");
const RECORDING_PLUGIN = '#!/bin/sh\nd="$(dirname "$0")/../runs"\nmkdir -p "$d"\ncat > "$d/run.$$.json"\n';

/** Polls a condition (no timing assumption: only a generous ceiling for a broken run). */
async function until<T>(what: string, probe: () => T | undefined | false, ceilingMs = 60_000): Promise<T> {
  const end = Date.now() + ceilingMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function startRunner(dir: RunnerDir): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(join(BIN, "mig-runner"), ["-c", dir.config], { cwd: dir.base, env: { ...process.env, HOME: dir.base, FIXTURES } });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, out: () => out, exited };
}

const ls = (d: string) => (existsSync(d) ? readdirSync(d).sort() : []);

describe("the mig-runner process", () => {
  it("kill -9 between launch and fetch: the restarted runner fetches and runs the plugin once per action", async () => {
    api = await startMigApi({ apiHome: key.apiHome, fingerprint: key.fingerprint });
    api.commands = (_id, action) => commandsFor(action, 4);
    api.holdSearches = true; // the first runner never gets its results
    const dir = makeRunnerDir({ apiUrl: api.url, key, runnerCfg: (root) => runnerCfg(root) });
    const job = dir.addJob("j", { entity: '[configuration]\nschedule = "* * * * * * *"\nplugin = "p"\nexpiry = "1s"\n', action: ACTION });
    dir.addPlugin("p", RECORDING_PLUGIN);
    const first = startRunner(dir);
    await until("a fetch by the first runner", () => api!.log.some((l) => l.method === "GET"));
    first.child.kill("SIGKILL");
    await first.exited;
    const ids = ls(join(job, "inflight"));
    expect(ids.length).toBeGreaterThan(0);
    expect(ls(join(job, "results"))).toEqual([]);
    // no more launches; the API answers again
    rmSync(join(job, "entity.cfg"));
    api.holdSearches = false;
    api.release();

    const second = startRunner(dir);
    await until("every in-flight action done", () => ls(join(job, "inflight")).length === 0);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    const days = ls(join(job, "results"));
    const results = days.flatMap((d) => ls(join(job, "results", d)));
    expect(results).toEqual(ids);
    const runs = ls(join(dir.root, "runs")).map((f) => readFileSync(join(dir.root, "runs", f), "utf8"));
    expect(runs.length).toBe(ids.length);
    const files = days.flatMap((d) => ls(join(job, "results", d)).map((f) => readFileSync(join(job, "results", d, f), "utf8")));
    expect(runs.sort()).toEqual(files.sort());
    for (const id of ids) expect(second.out()).toContain(`j: taking up action ${id.replace(".json", "")} left in flight`);
  });

  it("run-once <job> launches now, waits for the results, runs the plugin and prints the results file", async () => {
    api = await startMigApi({ apiHome: key.apiHome, fingerprint: key.fingerprint });
    api.commands = (_id, action) => commandsFor(action, 4);
    const dir = makeRunnerDir({ apiUrl: api.url, key, runnerCfg: (root) => runnerCfg(root) });
    const job = dir.addJob("j", { entity: '[configuration]\nschedule = "0 0 1 1 * 2099"\nplugin = "p"\nexpiry = "1s"\n', action: ACTION });
    dir.addPlugin("p", RECORDING_PLUGIN);
    const r = await shAsync(`mig-runner run-once j -c "${dir.config}"`, { cwd: dir.base, env: { HOME: dir.base } });
    expect(r.status, r.stderr).toBe(0);
    const id = String(api.actions[0].id);
    const day = ls(join(job, "results"))[0];
    expect(r.stdout).toBe(`${join(job, "results", day, `${id}.json`)}\n`);
    expect(r.stderr).toContain(`[info] j: launched action ${id}`);
    expect(ls(join(dir.root, "runs")).length).toBe(1);
    expect(ls(join(job, "inflight"))).toEqual([]);
  });

  it("run-once of a job that is not there is a usage error", async () => {
    api = await startMigApi({ apiHome: key.apiHome, fingerprint: key.fingerprint });
    const dir = makeRunnerDir({ apiUrl: api.url, key, runnerCfg: (root) => runnerCfg(root) });
    const r = await shAsync(`mig-runner run-once nosuchjob -c "${dir.config}"`, { cwd: dir.base, env: { HOME: dir.base } });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`mig-runner: job nosuchjob: ${join(dir.root, "runners/nosuchjob/entity.cfg")}: missing\n`);
  });
});

describe("taking up a Go runner's in-flight record", () => {
  it("fetches and runs the plugin for an inflight/<id>.json the Go runner wrote", async () => {
    const clock = new FakeClock(Date.now());
    api = await startMigApi({ apiHome: key.apiHome, fingerprint: key.fingerprint, now: () => clock.now() });
    const goResult = readFileSync(join(MIG, "runner-result.file-compliance.json"), "utf8");
    const action = JSON.parse(goResult).action;
    api.actions.push(action);
    api.commands = (_id, a) => commandsFor(a, 4);
    const dir = makeRunnerDir({ apiUrl: api.url, key, runnerCfg: (root) => runnerCfg(root) });
    const job = dir.addJob("sysmediumlogs1", { entity: '[configuration]\nschedule = "0 0 1 1 * 2099"\nplugin = "p"\n', action: ACTION });
    dir.addPlugin("p", RECORDING_PLUGIN);
    // what mig-runner/results.go actionInFlight writes: the RunnerResult with "commands":null
    mkdirSync(join(job, "inflight"));
    const actionBytes = goResult.slice('{"action":'.length, goResult.indexOf(',"commands":['));
    writeFileSync(join(job, "inflight", "5553641062400.json"), `{"action":${actionBytes},"commands":null,"name":"sysmediumlogs1","plugin":"p"}`);
    const log = memoryLogger();
    const runner = new MigRunner({ runner: loadRunnerConfig(dir.config).config!, client: loadClientConfig(join(dir.base, ".migrc")).config!, log, clock, zone: "utc" });
    await runner.start();
    await runner.tick();
    await runner.idle();
    const day = new Date(clock.now()).toISOString().slice(0, 10).replace(/-/g, "");
    const written = readFileSync(join(job, "results", day, "5553641062400.json"), "utf8");
    // the action part is byte for byte what the Go runner kept
    expect(written.startsWith(`{"action":${actionBytes},"commands":[`)).toBe(true);
    expect(ls(join(dir.root, "runs")).length).toBe(1);
    expect(ls(join(job, "inflight"))).toEqual([]);
  });
});

describe("logging modes", () => {
  it("file: lines as the Go runner writes them, filtered by level", () => {
    const file = join(makeRunnerDir({ apiUrl: "http://127.0.0.1:9/", key }).base, "runner.log");
    const log = fileLogger(file, "info");
    log.log("info", "j: launched action 5553641062400", "5553641062400");
    log.log("debug", "not written");
    log.log("err", "results error");
    expect(readFileSync(file, "utf8")).toMatch(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d - 5553641062400 - \[info\] j: launched action 5553641062400\n\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d - - - \[error\] results error\n$/);
  });

  it.skipIf(!haveRsyslog())("syslog: through logger to a real rsyslogd (facility daemon, tag mig-runner)", async () => {
    const rs = await startRsyslog();
    try {
      const log = createLogger({ mode: "syslog", level: "info", host: "127.0.0.1", port: rs.udpPort, protocol: "udp", maxFileSize: 0 });
      log.log("info", "j: launched action 5553641062400", "5553641062400");
      log.log("debug", "not sent");
      log.log("warning", "j/5553641062400: plugin p: thinking hard", "5553641062400");
      await log.close();
      const lines = await rs.waitFor(2);
      expect(lines.map((l) => l.split("|").slice(0, 4).join("|"))).toEqual(["30|daemon|info|mig-runner", "28|daemon|warning|mig-runner"]);
      expect(lines[0]).toContain("- 5553641062400 - [info] j: launched action 5553641062400");
      expect(lines[1]).toContain("- 5553641062400 - [warning] j/5553641062400: plugin p: thinking hard");
    } finally {
      await rs.stop();
    }
  });
});
