import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTestKey, type TestKey } from "./helpers/gnupg.js";
import { startMigApi, type MigApiStandIn } from "./helpers/mig-api.js";
import { startServer, type TestServer } from "./helpers/http-server.js";
import { FakeClock, MIG, commandsFor, makeRunnerDir, runnerCfg } from "./helpers/mig-runner.js";
import { ROOT } from "./helpers/paths.js";
import { sh } from "./helpers/run.js";
import { loadClientConfig, loadRunnerConfig } from "../src/services/mig-runner/config.js";
import { memoryLogger } from "../src/services/mig-runner/log.js";
import { MigRunner } from "../src/services/mig-runner/runner.js";

let key: TestKey;
let api: MigApiStandIn | undefined;
let receiver: TestServer | undefined;
const savedEnv = { ...process.env };
beforeAll(() => {
  key = makeTestKey();
});
afterEach(async () => {
  await api?.close();
  await receiver?.close();
  api = receiver = undefined;
  process.env = { ...savedEnv };
});

describe("end to end: a 1-minute job, the stand-in API, the compliance plugin and a loopback MozDef", () => {
  it("launches at the minute, fetches after expiry, writes results/<UTC day>/<id>.json and the plugin posts the compliance items", async () => {
    // 30 s past a minute: the job's next run is the next minute
    const start = Math.floor(Date.now() / 60_000) * 60_000 + 30_000;
    const clock = new FakeClock(start);
    api = await startMigApi({ apiHome: key.apiHome, fingerprint: key.fingerprint, now: () => clock.now() });
    api.commands = (_id, action) => commandsFor(action, 40); // two pages of 37, then the 404
    receiver = await startServer();
    const dir = makeRunnerDir({ apiUrl: api.url, key, runnerCfg: (root) => runnerCfg(root) });
    dir.addJob("sysmediumlogs1", { entity: '[configuration]\nschedule = "* * * * *"\nplugin = "compliance"\nexpiry = "10s"\n', action: join(MIG, "actions", "glibc_ubuntu_cve-2015-0235.json") });
    symlinkSync(join(ROOT, "examples/runner-plugins/compliance"), join(dir.root, "plugins", "compliance"));
    const conf = join(dir.base, "runner-compliance.conf");
    writeFileSync(conf, `[mig]\napi = "https://api.mig.example.net/api/v1"\n[mozdef]\nurl = "${receiver.url}/custom/complianceitems"\n[vmintgr]\nbin = "${join(ROOT, "test/helpers/grouptest")}"\n`);
    // the plugin gets the runner's environment
    process.env.RUNNER_COMPLIANCE_CONF = conf;
    process.env.COMPLIANCE_DEAD_LETTER = join(dir.base, "dead.ndjson");

    const log = memoryLogger();
    const runner = new MigRunner({ runner: loadRunnerConfig(dir.config).config!, client: loadClientConfig(join(dir.base, ".migrc")).config!, log, clock, zone: "utc" });
    await runner.start();
    await runner.tick();
    await runner.idle();
    expect(api.actions).toEqual([]);
    expect(runner.nextWake()).toBe(start + 30_000);

    clock.set(start + 30_000);
    await runner.tick();
    await runner.idle();
    expect(api.actions.length).toBe(1);
    const id = String(api.actions[0].id);
    const inflight = join(dir.root, "runners/sysmediumlogs1/inflight", `${id}.json`);
    expect(existsSync(inflight)).toBe(true);
    // expireafter = validfrom + 10 s + 60 s = launch + 10 s; nothing is fetched before
    clock.set(start + 40_000);
    await runner.tick();
    await runner.idle();
    expect(api.log.filter((l) => l.method === "GET")).toEqual([]);

    clock.set(start + 41_000);
    await runner.tick();
    await runner.idle();
    const gets = api.log.filter((l) => l.method === "GET");
    expect(gets.map((l) => [l.path, l.status])).toEqual([0, 37, 74].map((offset, i) => [`/api/v1/search?type=command&limit=37&offset=${offset}&actionid=${id}`, [200, 200, 404][i]]));
    expect(gets[0].headers["user-agent"]).toBe("MIG Client mig-runner-results");

    const day = new Date(start + 41_000).toISOString().slice(0, 10).replace(/-/g, "");
    const file = join(dir.root, "runners/sysmediumlogs1/results", day, `${id}.json`);
    const text = readFileSync(file, "utf8");
    expect(statSync(join(dir.root, "runners/sysmediumlogs1/results", day)).mode & 0o777).toBe(0o700);
    expect(text.startsWith(`{"action":{"id":${id},"name":"mig-runner: sysmediumlogs1",`)).toBe(true);
    expect(text.endsWith(`],"name":"sysmediumlogs1","plugin":"compliance"}`)).toBe(true);
    const result = JSON.parse(text);
    const served = commandsFor(api.actions[0], 40);
    expect(result.commands.length).toBe(40);
    expect(result.commands.map((c: { id: number; agent: unknown; results: unknown; status: string }) => [c.id, c.agent, c.results, c.status])).toEqual(served.map((c) => [c.id, c.agent, c.results, c.status]));

    // the plugin ran on it and MozDef got what runner2compliance makes of the file
    const expected = sh(`runner2compliance --config "${conf}" < "${file}"`);
    expect(expected.status).toBe(0);
    const strip = ({ utctimestamp: _t, ...rest }: Record<string, unknown>) => JSON.stringify(rest);
    const items = expected.stdout.trim().split("\n").map((l) => strip(JSON.parse(l))).sort();
    expect(items.length).toBe(90);
    expect(receiver.accepted.map((r) => strip(JSON.parse(r.body).details)).sort()).toEqual(items);
    expect(existsSync(inflight)).toBe(false);
    expect(existsSync(join(dir.base, "dead.ndjson"))).toBe(false);
    expect(log.lines).toContain(`- ${id} - [info] sysmediumlogs1/${id}: plugin compliance succeeded`);
    // and the job runs again at the next minute
    expect(runner.jobs.get("sysmediumlogs1")!.nextRun).toBe(start + 90_000);
    expect(readdirSync(join(dir.root, "runners/sysmediumlogs1"))).toEqual(["action.json", "entity.cfg", "inflight", "results"]);
  });
});
