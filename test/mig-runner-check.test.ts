import { beforeAll, describe, expect, it } from "vitest";
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sh } from "./helpers/run.js";
import { makeTestKey, type TestKey } from "./helpers/gnupg.js";
import { ACTIONS, MIG, makeRunnerDir, runnerCfg } from "./helpers/mig-runner.js";
import { loadRunnerConfig } from "../src/services/mig-runner/config.js";

let key: TestKey;
beforeAll(() => {
  // the sample runner.cfg (MIG's conf/runner.cfg.inc) says passphrase = "passphrase": an encrypted key
  key = makeTestKey({ passphrase: "passphrase" });
});

const API = "http://127.0.0.1:9/api/v1";

describe("mig-runner check", () => {
  it("passes MIG's sample runner.cfg with the four real actions as jobs and the sample entity.cfg, listing each job's next 3 runs", () => {
    const dir = makeRunnerDir({ apiUrl: API, key });
    for (const a of ACTIONS) dir.addJob(a, { entity: readFileSync(join(MIG, "entity.cfg"), "utf8"), action: join(MIG, "actions", `${a}.json`) });
    dir.addPlugin("runner-compliance", "#!/bin/sh\ncat >/dev/null\n");
    const r = sh("mig-runner check -c runner.cfg", { cwd: dir.base, env: { HOME: dir.base } });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("runner.cfg: jobs in runner/runners, plugins in runner/plugins, rescanned every 30 s; logging stdout (debug)");
    expect(r.stdout).toContain(`API ${API}/, key ${key.fingerprint}`);
    expect(r.stdout).toContain(`key ${key.fingerprint} (rsaEncryptSign) opens and signs`);
    for (const a of ACTIONS) {
      const line = lines.find((l) => l.startsWith(`job ${a}:`))!;
      expect(line).toMatch(/"0 \*\/4 \* \* \*", expiry 10m, plugin runner-compliance; next runs (\d{4}-\d\d-\d\d (00|04|08|12|16|20):00:00 [+-]\d\d:\d\d(, )?){3}$/);
    }
    expect(lines.at(-1)).toBe("no problems found");
  });

  it("reports every problem on its own line and exits 1", () => {
    const dir = makeRunnerDir({ apiUrl: API, key, runnerCfg: (root) => runnerCfg(root, { runner: "    plugintimout = 10m\n", client: '    passphrase = "wrong"\n' }) });
    const action = join(MIG, "actions", "example_v2.json");
    dir.addJob("badcron", { entity: '[configuration]\nschedule = "61 * * * *"\n', action });
    dir.addJob("noplugin", { entity: '[configuration]\nschedule = "@daily"\nplugin = "absent"\n', action });
    dir.addJob("notexec", { entity: '[configuration]\nschedule = "@daily"\nplugin = "notexec"\n', action });
    chmodSync(dir.addPlugin("notexec", "#!/bin/sh\n"), 0o644);
    const broken = dir.addJob("badaction", { entity: '[configuration]\nschedule = "0 0 * * * 2050"\nexpiry = "ten minutes"\n' });
    writeFileSync(join(broken, "action.json"), '{"name": "x", "operations": "not a list"');
    dir.addJob("never", { entity: '[configuration]\nschedule = "0 0 * * 5-7"\n', action });
    const r = sh("mig-runner check -c runner.cfg", { cwd: dir.base, env: { HOME: dir.base } });
    expect(r.status).toBe(1);
    const problems = r.stderr.trim().split("\n");
    expect(problems).toEqual([
      `mig-runner: runner.cfg: unknown key 'plugintimout' in [runner]`,
      `mig-runner: key ${key.fingerprint}: cannot open it with [client] passphrase: ${problems[1].split("passphrase: ")[1]}`,
      `mig-runner: job badaction: ${broken}/entity.cfg: expiry = "ten minutes": not a positive Go duration (such as 10m)`,
      `mig-runner: job badaction: ${broken}/action.json: not JSON: ${problems[3].split("not JSON: ")[1]}`,
      `mig-runner: job badcron: ${dir.root}/runners/badcron/entity.cfg: bad cron expression "61 * * * *": syntax error in minute field: '61'`,
      `mig-runner: job never: schedule "0 0 * * 5-7" never runs (as gorhill/cronexpr reads it)`,
      `mig-runner: job noplugin: plugin absent not found in ${dir.root}/plugins`,
      `mig-runner: job notexec: plugin ${dir.root}/plugins/notexec is not executable`,
      "mig-runner: 8 problems found",
    ]);
    expect(r.stdout).not.toContain("no problems found");
  });

  it("names the missing pieces: no runners/ directory, no .migrc, a key that is not in secring.gpg", () => {
    const dir = makeRunnerDir({ apiUrl: API, key });
    rmSync(join(dir.root, "runners"), { recursive: true });
    let r = sh("mig-runner check -c runner.cfg", { cwd: dir.base, env: { HOME: dir.base } });
    expect(r.stderr).toContain(`[runner] directory ./runner: no runners/ directory in it`);
    writeFileSync(join(dir.base, ".migrc"), `[api]\nurl = "${API}"\n[gpg]\nhome = "${key.home}"\nkeyid = "${"A".repeat(40)}"\n`);
    r = sh("mig-runner check -c runner.cfg", { cwd: dir.base, env: { HOME: dir.base } });
    expect(r.stderr).toContain(`mig-runner: key ${"A".repeat(40)} is not in ${key.home}/secring.gpg (it holds ${key.fingerprint})`);
    rmSync(join(dir.base, ".migrc"));
    r = sh("mig-runner check -c runner.cfg", { cwd: dir.base, env: { HOME: dir.base } });
    expect(r.stderr).toContain(`${dir.base}/.migrc: cannot read: ENOENT`);
    expect(r.status).toBe(1);
  });

  it("reads MIG's sample runner.cfg as the Go runner does", () => {
    const { config, problems } = loadRunnerConfig(join(MIG, "runner.cfg.inc"));
    expect(problems).toEqual([`${join(MIG, "runner.cfg.inc")}: [runner] directory ./runner: no runners/ directory in it`]);
    expect(config).toMatchObject({ directory: "./runner", checkDirectoryMs: 30_000, passphrase: "passphrase", delayResultsMs: 30_000, logging: { mode: "stdout", level: "debug" } });
    expect(config!.clientConfPath).toMatch(/\/\.migrc$/);
  });
});
