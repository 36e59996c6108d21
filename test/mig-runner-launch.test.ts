import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { makeTestKey, gpgVerify, type TestKey } from "./helpers/gnupg.js";
import { startMigApi, migActionString, type MigApiStandIn } from "./helpers/mig-api.js";
import { ACTIONS, FakeClock, MIG, makeRunnerDir, runnerCfg } from "./helpers/mig-runner.js";
import { loadClientConfig, loadRunnerConfig } from "../src/services/mig-runner/config.js";
import { memoryLogger } from "../src/services/mig-runner/log.js";
import { MigRunner } from "../src/services/mig-runner/runner.js";
import { loadJob } from "../src/services/mig-runner/jobs.js";
import { deArmor, loadSigner, reArmor } from "../src/services/mig-runner/pgp.js";
import { goQueryEscape, signedText } from "../src/services/mig-runner/action.js";

let key: TestKey;
let api: MigApiStandIn | undefined;
beforeAll(() => {
  key = makeTestKey();
});
afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** A runner (in this process) on a fake clock, against the stand-in API. */
async function setUp(clock: FakeClock, extra: Parameters<typeof runnerCfg>[1] = {}, apiSkewMs = 0) {
  api = await startMigApi({ apiHome: key.apiHome, fingerprint: key.fingerprint, now: () => clock.now() + apiSkewMs });
  const dir = makeRunnerDir({ apiUrl: api.url, key, runnerCfg: (root) => runnerCfg(root, extra) });
  const runner = loadRunnerConfig(dir.config).config!;
  const client = loadClientConfig(join(dir.base, ".migrc")).config!;
  const log = memoryLogger();
  const migRunner = new MigRunner({ runner, client, log, clock, zone: "utc" });
  await migRunner.start();
  return { dir, runner, log, migRunner };
}

describe("launching the four real MIG actions", () => {
  for (const name of ACTIONS) {
    it(`${name}: loads, is signed, verifies with gpg and is dispatched`, async () => {
      const now = Date.now();
      const clock = new FakeClock(now);
      const { dir, runner, migRunner } = await setUp(clock);
      dir.addJob(name, { entity: '[configuration]\nschedule = "@hourly"\nplugin = "compliance"\nexpiry = "10m"\n', action: join(MIG, "actions", `${name}.json`) });
      const { job } = await loadJob(runner.runnersDir, name, "utc");
      await migRunner.launch(job!);

      // the stand-in checked the token and the action's signature with gpg --verify; it answered 202
      expect(api!.log.map((l) => [l.method, l.path, l.status])).toEqual([["POST", "/api/v1/action/create/", 202]]);
      const sent = api!.actions[0];
      const original = JSON.parse(readFileSync(join(MIG, "actions", `${name}.json`), "utf8"));
      expect(sent.name).toBe(`mig-runner: ${name}`);
      expect(sent.target).toBe(original.target);
      expect(Date.parse(String(sent.validfrom))).toBe(now - 60_000);
      expect(Date.parse(String(sent.expireafter))).toBe(now - 60_000 + 10 * 60_000 + 60_000);
      expect(sent.syntaxversion).toBe(2);
      expect(sent.operations).toEqual(original.operations);
      // the one-line (de-armored) signature: no newline, the =CRC glued on
      const [sig] = sent.pgpsignatures as string[];
      expect(sig).toMatch(/^[A-Za-z0-9+/]+=*=[A-Za-z0-9+/]{4}$/);
      expect(gpgVerify(key.apiHome, migActionString(sent), sig)).toBe(key.fingerprint);
      // the body: the action as Go marshals it (struct order), escaped as Go's url.Values
      const body = api!.createBodies[0];
      expect(body.startsWith("action=")).toBe(true);
      expect(body).not.toMatch(/[ '()*!]/);
      const json = new URLSearchParams(body).get("action")!;
      expect(body).toBe(`action=${goQueryEscape(json)}`);
      expect(Object.keys(JSON.parse(json))).toEqual(["id", "name", "target", "description", "threat", "validfrom", "expireafter", "operations", "pgpsignatures", "starttime", "finishtime", "lastupdatetime", "counters", "syntaxversion"]);
      expect(json).not.toMatch(/[<>&]/);
      // the authentication header
      const auth = String(api!.log[0].headers["x-pgpauthorization"]);
      const [v, time, nonce, tokenSig] = auth.split(";");
      expect([v, time, nonce]).toEqual(["1", new Date(Math.floor(now / 1000) * 1000).toISOString().replace(".000Z", "Z"), nonce]);
      expect(Number(nonce)).toBeGreaterThan(2 ** 16 * ((now / 1000 - 1367258400) - 1));
      expect(gpgVerify(key.apiHome, `1;${time};${nonce}\n`, tokenSig)).toBe(key.fingerprint);
      expect(api!.log[0].headers["user-agent"]).toBe("MIG Client mig-runner");
      // in flight, in the Go runner's format: the API's action, commands null
      const id = String(sent.id);
      const inflight = readFileSync(join(runner.runnersDir, name, "inflight", `${id}.json`), "utf8");
      expect(inflight).toMatch(new RegExp(`^\\{"action":\\{"id":${id},"name":"mig-runner: ${name}",.*"status":"pending",.*\\},"commands":null,"name":"${name}","plugin":"compliance"\\}$`));
      expect(migRunner.inFlight).toEqual([`${name}/${id}`]);
    });
  }

  it("compresses operations that ask for it (base64 of gzip of the parameters' JSON) before signing", async () => {
    const clock = new FakeClock(Date.now());
    const { dir, runner, migRunner } = await setUp(clock);
    const action = JSON.parse(readFileSync(join(MIG, "actions", "example_v2.json"), "utf8"));
    action.operations[0].want_compressed = true;
    const jobDir = dir.addJob("compressed", { entity: '[configuration]\nschedule = "@daily"\nsendonly = true\n' });
    writeFileSync(join(jobDir, "action.json"), JSON.stringify(action));
    const { job } = await loadJob(runner.runnersDir, "compressed", "utc");
    expect(await migRunner.launch(job!)).toBeNull(); // sendonly: nothing followed
    const op = (api!.actions[0].operations as Record<string, unknown>[])[0];
    expect(op).toMatchObject({ module: "file", is_compressed: true, want_compressed: true });
    const params = JSON.parse(gunzipSync(Buffer.from(String(op.parameters), "base64")).toString());
    expect(params).toEqual(action.operations[0].parameters);
    expect(api!.log.map((l) => l.status)).toEqual([202]);
  });

  it("tries once more with a fresh token on a 401, then reports the failure", async () => {
    const clock = new FakeClock(Date.now());
    // the API's clock is an hour ahead: every token is too old for it
    const { dir, runner, migRunner } = await setUp(clock, {}, 3_600_000);
    dir.addJob("j", { entity: '[configuration]\nschedule = "@daily"\n', action: join(MIG, "actions", "sshd_backdoor.json") });
    const { job } = await loadJob(runner.runnersDir, "j", "utc");
    await expect(migRunner.launch(job!)).rejects.toThrow("action creation failed: HTTP 401: authorization verification failed");
    expect(api!.log.map((l) => l.status)).toEqual([401, 401]);
    expect(api!.log[0].headers["x-pgpauthorization"]).not.toBe(api!.log[1].headers["x-pgpauthorization"]);
  });
});

describe("signatures", () => {
  it("de-armor and re-armor as MIG's pgp package does, and gpg verifies the text MIG signs", async () => {
    const signer = await loadSigner(key.home, key.fingerprint);
    const text = signedText({ name: "mig-runner: x", target: "agents.queueloc like 'linux.%'", validfrom: "2016-01-05T13:59:00Z", expireafter: "2016-01-05T14:10:00Z", operations: [{ module: "file", parameters: { b: "<", a: 1 }, is_compressed: false, want_compressed: false }], pgpsignatures: null, id: 0, syntaxversion: 2 });
    expect(text).toBe(`name=mig-runner: x;target=agents.queueloc like 'linux.%';validfrom=1452002340;expireafter=%!s(int64=1452003000);operations=[{"module":"file","parameters":{"a":1,"b":"\\u003c"}}];`);
    const sig = await signer.sign(text);
    expect(sig).not.toContain("\n");
    expect(deArmor(reArmor(sig))).toBe(sig);
    expect(gpgVerify(key.apiHome, text, sig)).toBe(key.fingerprint);
    expect(gpgVerify(key.apiHome, `${text} `, sig)).toBeNull();
  });
});
