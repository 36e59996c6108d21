import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES, ROOT } from "./helpers/paths.js";
import { shAsync } from "./helpers/run.js";
import { closedPort, startServer, type TestServer } from "./helpers/http-server.js";

const PLUGIN = join(ROOT, "examples/runner-plugins/compliance");
const MIG = join(FIXTURES, "mig");
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function config(url: string, withBin = true) {
  const dir = mkdtempSync(join(tmpdir(), "plugin-"));
  const file = join(dir, "runner-compliance.conf");
  writeFileSync(file, `[mig]\napi = "https://api.mig.example.net/api/v1"\n\n[mozdef]\nurl = "${url}"\n${withBin ? `\n[vmintgr]\nbin = "${join(ROOT, "test/helpers/grouptest")}"\n` : ""}`);
  return { dir, file };
}

describe("examples/runner-plugins/compliance as mig-runner runs it", () => {
  it("delivers every item, in the 2016 plugin's envelope and tags, to the configured MozDef", async () => {
    server = await startServer();
    const c = config(`${server.url}/custom/complianceitems`);
    // mig-runner: no arguments, result on stdin, the runner's environment and cwd
    const r = await shAsync(`"${PLUGIN}"`, { input: readFileSync(join(MIG, "runner-result.file-compliance.with-tags.json")), env: { RUNNER_COMPLIANCE_CONF: c.file }, cwd: c.dir });
    expect(r.status, r.stderr).toBe(0);
    const events = server.accepted.map((q) => JSON.parse(q.body));
    expect(server.accepted.every((q) => q.path === "/custom/complianceitems")).toBe(true);
    const expected = readFileSync(join(MIG, "compliance-items.2016-plugin-with-vmintgr.expected.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const key = (i: { link: string; check: { name: string } }) => `${i.link} ${i.check.name}`;
    const strip = ({ utctimestamp: _t, ...rest }: Record<string, unknown>) => rest;
    expect(events.map((e) => strip(e.details)).sort((a, b) => key(a as never).localeCompare(key(b as never)))).toEqual(
      expected.map((i) => strip(i)).sort((a, b) => key(a as never).localeCompare(key(b as never))),
    );
    expect(events.map((e) => e.summary)).toContain("web1.private.scl3.example.net passes compliance with sysmediumlogs1");
    expect(events[0]).toMatchObject({ category: "complianceitems", source: "mig", severity: "INFO", tags: ["mig", "compliance"] });
    expect(existsSync(join(c.dir, "mozdef-send.dead.ndjson"))).toBe(false);
  });

  it("exits non-zero when MozDef is down, keeping every item in the dead-letter file", async () => {
    const port = await closedPort();
    const c = config(`http://127.0.0.1:${port}/custom/complianceitems`, false);
    const dead = join(c.dir, "dead.ndjson");
    const r = await shAsync(`"${PLUGIN}"`, {
      input: readFileSync(join(MIG, "runner-result.file-compliance.json")),
      env: { RUNNER_COMPLIANCE_CONF: c.file, COMPLIANCE_DEAD_LETTER: dead },
      cwd: c.dir,
    });
    expect(r.status).toBe(1);
    expect(readFileSync(dead, "utf8").trim().split("\n").length).toBe(9);
  });

  it("exits non-zero when the result is broken, after sending what came before", async () => {
    server = await startServer();
    const c = config(`${server.url}/custom/complianceitems`, false);
    const broken = readFileSync(join(MIG, "runner-result.file-compliance.json")).subarray(0, 9000);
    const r = await shAsync(`"${PLUGIN}"`, { input: broken, env: { RUNNER_COMPLIANCE_CONF: c.file }, cwd: c.dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/runner2compliance: stdin: byte \d+: unexpected end of input/);
    expect(server.accepted.length).toBeGreaterThan(0);
  });
});
