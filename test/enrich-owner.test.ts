import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./helpers/paths.js";
import { sh } from "./helpers/run.js";
import { parseIni } from "../src/cli/runner-config.js";

const GROUPTEST = join(ROOT, "test/helpers/grouptest");

function items(hosts: number, perHost: number, extra: Record<string, unknown> = {}): string {
  const lines: string[] = [];
  for (let i = 0; i < hosts * perHost; i++) {
    const h = i % hosts;
    lines.push(JSON.stringify({ target: `host${h}.example.net`, compliance: true, tags: { operator: "IT" }, check: { ref: `r${i}` }, agent_addresses: [`10.0.0.${h}/24`], ...extra }));
  }
  return `${lines.join("\n")}\n`;
}

function calls(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : [];
}

describe("enrich-owner with a real grouptest program", () => {
  it("runs grouptest once per host and address, not once per item, and keeps the order", () => {
    const dir = mkdtempSync(join(tmpdir(), "eo-"));
    const log = join(dir, "calls");
    const r = sh(`enrich-owner --bin ${GROUPTEST} --concurrency 8 --stats`, { input: items(30, 100), env: { GROUPTEST_CALLS: log } });
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(out.length).toBe(3000);
    expect(out.map((o) => o.check.ref)).toEqual(Array.from({ length: 3000 }, (_, i) => `r${i}`));
    // every host answers "default", so its address is asked next; vmintgr answers ip: with exit 1 -> team ""
    expect(calls(log).length).toBe(60);
    expect(new Set(calls(log)).size).toBe(60);
    expect(out[0].tags).toEqual({ operator: "IT", team: "" });
    expect(out[0]).not.toHaveProperty("agent_addresses");
    expect(r.stderr).toBe("enrich-owner: grouptest runs 60, failed lookups 30\n");
  });

  it("stops at the first team that is not default", () => {
    const dir = mkdtempSync(join(tmpdir(), "eo-"));
    const log = join(dir, "calls");
    const input = `${JSON.stringify({ target: "web1.example.net", tags: {}, agent_addresses: ["10.1.1.1/24"] })}\n`;
    const r = sh(`enrich-owner --bin ${GROUPTEST}`, { input, env: { GROUPTEST_CALLS: log } });
    expect(JSON.parse(r.stdout).tags).toEqual({ operator: "", team: "webops" });
    expect(calls(log)).toEqual(["host:web1.example.net"]);
  });

  it("--keep-addresses keeps the carried addresses; --address-field reads others and leaves them", () => {
    const dir = mkdtempSync(join(tmpdir(), "eo-"));
    const log = join(dir, "calls");
    const carried = `${JSON.stringify({ target: "h1.x", tags: {}, agent_addresses: ["10.9.9.9/24"] })}\n`;
    expect(JSON.parse(sh(`enrich-owner --keep-addresses --bin ${GROUPTEST}`, { input: carried }).stdout).agent_addresses).toEqual(["10.9.9.9/24"]);
    const own = `${JSON.stringify({ target: "h2.x", tags: {}, details: { ipv4: ["10.1.2.3"] } })}\n`;
    const r = sh(`enrich-owner --address-field details.ipv4 --bin ${GROUPTEST}`, { input: own, env: { GROUPTEST_CALLS: log } });
    expect(calls(log)).toEqual(["host:h2.x", "ip:10.1.2.3"]);
    expect(JSON.parse(r.stdout).details.ipv4).toEqual(["10.1.2.3"]);
  });

  it("leaves items whose tags are null alone, unless --all", () => {
    const input = `${JSON.stringify({ target: "db1.example.net", tags: null })}\n`;
    expect(JSON.parse(sh(`enrich-owner --bin ${GROUPTEST}`, { input }).stdout).tags).toBeNull();
    expect(JSON.parse(sh(`enrich-owner --all --bin ${GROUPTEST}`, { input }).stdout).tags).toEqual({ operator: "", team: "dbeng" });
    const generic = `${JSON.stringify({ hostname: "web1.x", summary: "s" })}\n`;
    expect(JSON.parse(sh(`enrich-owner --bin ${GROUPTEST}`, { input: generic }).stdout)).toEqual({ hostname: "web1.x", summary: "s", tags: { operator: "", team: "webops" } });
    const nested = `${JSON.stringify({ details: { target: "web1.y" } })}\n`;
    expect(JSON.parse(sh(`enrich-owner --field details.target --bin ${GROUPTEST}`, { input: nested }).stdout).tags.team).toBe("webops");
  });

  it("a hanging grouptest is killed at the timeout: team empty, a warning, the stream goes on", () => {
    const started = Date.now();
    const r = sh(`enrich-owner --bin ${GROUPTEST} --timeout 0.5`, { input: items(2, 3), env: { GROUPTEST_MODE: "hang" } });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.status).toBe(0);
    const out = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(out.length).toBe(6);
    for (const o of out) expect(o.tags).toEqual({ operator: "IT", team: "" });
    expect(r.stderr.trim().split("\n")).toEqual([
      "enrich-owner: grouptest host:host0.example.net: no answer within 500 ms (killed); team left empty",
      "enrich-owner: grouptest host:host1.example.net: no answer within 500 ms (killed); team left empty",
    ]);
  });

  it("warnings come in input order, whichever lookup answers first", () => {
    const r = sh(`enrich-owner --bin ${GROUPTEST} --concurrency 4`, { input: items(3, 2), env: { GROUPTEST_MODE: "slow-first" } });
    expect(r.status).toBe(0);
    expect(r.stderr.trim().split("\n")).toEqual([0, 1, 2].map((h) => `enrich-owner: grouptest host:host${h}.example.net: answer is not JSON: "not json\\n"; team left empty`));
  });

  it("garbage output and a failing program leave the team empty with a warning", () => {
    const g = sh(`enrich-owner --bin ${GROUPTEST}`, { input: items(1, 2), env: { GROUPTEST_MODE: "garbage" } });
    expect(g.status).toBe(0);
    expect(g.stdout.trim().split("\n").map((l) => JSON.parse(l).tags.team)).toEqual(["", ""]);
    expect(g.stderr).toBe('enrich-owner: grouptest host:host0.example.net: answer is not JSON: "Traceback (most recent call last):\\n"; team left empty\n');
    const f = sh(`enrich-owner --bin ${GROUPTEST}`, { input: items(1, 1), env: { GROUPTEST_MODE: "fail" } });
    expect(f.stderr).toBe("enrich-owner: grouptest host:host0.example.net: exit 1 (unable to proceed if serviceapi is disabled); team left empty\n");
  });

  it("a program that is not there or not executable is a usage error before any input is read", () => {
    const dir = mkdtempSync(join(tmpdir(), "eo-"));
    const plain = join(dir, "grouptest");
    writeFileSync(plain, "#!/bin/sh\n");
    const cases: [string, string][] = [
      ["/nonexistent/grouptest", "--bin /nonexistent/grouptest: no such file"],
      [plain, `--bin ${plain}: not executable`],
      [dir, `--bin ${dir}: not a file`],
      ["no-such-grouptest-program", "--bin no-such-grouptest-program: not found on PATH"],
    ];
    for (const [bin, message] of cases) {
      // stdin is a FIFO held open and empty: a command that read it would wait, until timeout kills it (exit 124)
      const r = sh(`mkfifo ${dir}/in; exec 3<>${dir}/in; timeout 10 enrich-owner --bin ${bin} < ${dir}/in 3>&-; s=$?; rm ${dir}/in; exit $s`);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toBe(`enrich-owner: ${message}\n`);
      expect(r.stdout).toBe("");
    }
    const conf = join(dir, "runner-compliance.conf");
    writeFileSync(conf, `[vmintgr]\nbin = /nonexistent/grouptest\n`);
    const fromConfig = sh(`enrich-owner --config ${conf}`, { input: items(1, 1) });
    expect(fromConfig.status).toBe(2);
    expect(fromConfig.stderr).toBe(`enrich-owner: [vmintgr] bin of ${conf} (/nonexistent/grouptest): no such file\n`);
  });

  it("takes the program from [vmintgr] bin of the config; a bad line in it is named", () => {
    const dir = mkdtempSync(join(tmpdir(), "eo-"));
    const conf = join(dir, "runner-compliance.conf");
    writeFileSync(conf, `[mig]\napi = "https://x"\n[vmintgr]\n  bin = "${GROUPTEST}" ; the wrapper\n`);
    const input = `${JSON.stringify({ target: "web1.z", tags: {} })}\n`;
    expect(JSON.parse(sh(`enrich-owner --config ${conf}`, { input }).stdout).tags.team).toBe("webops");
    writeFileSync(conf, `[mig]\napi = "https://x"\nthis is not ini\n`);
    const bad = sh(`enrich-owner --config ${conf}`, { input });
    expect(bad.status).toBe(2);
    expect(bad.stderr.split("\n")[0]).toBe(`enrich-owner: ${conf}: line 3: invalid config line: "this is not ini"`);
  });

  it("passes a line that is not a JSON object through unchanged, says so, and exits 1", () => {
    const r = sh(`enrich-owner --bin ${GROUPTEST}`, { input: `${JSON.stringify({ target: "a", tags: null })}\n[1]\nnot json\n{"target":"web1.b"}\n` });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('{"target":"a","tags":null}\n[1]\nnot json\n{"target":"web1.b","tags":{"operator":"","team":"webops"}}\n');
    expect(r.stderr.split("\n")).toEqual([
      "enrich-owner: stdin: line 2: not a JSON object (an array); passed through unchanged",
      expect.stringMatching(/^enrich-owner: stdin: line 3: not JSON \(.*\); passed through unchanged$/),
      "enrich-owner: stdin: 2 line(s) were not JSON objects: passed through without an owner",
      "",
    ]);
  });
});

describe("gcfg config parsing", () => {
  it("reads sections, quoted values, escapes and comments, names case-insensitively", () => {
    const ini = parseIni(`; comment\n# another\n[MIG]\nAPI = "https://a/b" ; trailing\n[mozdef]\nurl = http://h:8080/custom/complianceitems # c\n[sub "Name"]\nk = "a\\"b\\\\c;d"\nflag\n`, "f");
    expect(ini).toEqual({ mig: { api: "https://a/b" }, mozdef: { url: "http://h:8080/custom/complianceitems" }, 'sub.Name': { k: 'a"b\\c;d', flag: "true" } });
  });
  it("names the line of a malformed entry", () => {
    expect(() => parseIni(`[mig]\napi = "unterminated\n`, "c.conf")).toThrow(/unterminated quoted value/);
    try {
      parseIni(`[mig]\n\nkey: value\n`, "c.conf");
    } catch (e) {
      expect((e as { position: unknown }).position).toEqual({ source: "c.conf", line: 3 });
    }
    expect(() => parseIni(`api = x\n`, "c.conf")).toThrow(/outside of a \[section\]/);
  });
});
