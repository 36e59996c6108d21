import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES } from "./helpers/paths.js";
import { sh } from "./helpers/run.js";
import { drain, inSlices } from "./helpers/chunks.js";
import { runnerToCompliance, newStats } from "../src/commands/runner2compliance.js";
import { goJson } from "../src/util/go-json.js";
import { testValue } from "../src/readers/mig/items.js";

const MIG = join(FIXTURES, "mig");
const API = "https://api.mig.example.net/api/v1";
const TS = /"utctimestamp":"[^"]*"/;

/** The original iterated labels from a Go map: compare per command, in label order. */
function normalise(ndjson: string): string[] {
  return ndjson
    .split("\n")
    .filter(Boolean)
    .map((l) => l.replace(TS, '"utctimestamp":"T"'))
    .map((l, i) => ({ l, i, link: JSON.parse(l).link as string, name: JSON.parse(l).check.name as string }))
    .sort((a, b) => (a.link === b.link ? a.name.localeCompare(b.name) : 0) || a.i - b.i)
    .map((x) => x.l);
}

function byCommandThenLabel(lines: string[]): string[] {
  const order = [...new Set(lines.map((l) => JSON.parse(l).link))];
  return [...lines].sort((a, b) => order.indexOf(JSON.parse(a).link) - order.indexOf(JSON.parse(b).link) || JSON.parse(a).check.name.localeCompare(JSON.parse(b).check.name));
}

describe("runner2compliance against the real plugin's output", () => {
  const cases = [
    ["runner-result.file-compliance.json", "compliance-items.file-compliance.expected.ndjson", `runner2compliance --mig-api ${API}`],
    ["runner-result.from-mig-doc-api.json", "compliance-items.from-mig-doc-api.expected.ndjson", `runner2compliance --mig-api ${API}`],
    [
      "runner-result.file-compliance.with-tags.json",
      "compliance-items.2016-plugin-with-vmintgr.expected.ndjson",
      `runner2compliance --key-order 2016 --with-addresses --mig-api ${API} | enrich-owner --bin test/helpers/grouptest`,
    ],
  ] as const;
  for (const [input, expectedFile, pipeline] of cases) {
    it(`${input} gives exactly ${expectedFile}`, () => {
      const r = sh(`< "${join(MIG, input)}" ${pipeline}`);
      expect(r.status, r.stderr).toBe(0);
      const expected = byCommandThenLabel(normalise(readFileSync(join(MIG, expectedFile), "utf8")));
      const actual = r.stdout.split("\n").filter(Boolean).map((l) => l.replace(TS, '"utctimestamp":"T"'));
      // our labels come out sorted within each command; the original's were random
      expect(actual).toEqual(expected);
    });
  }

  it("prints the 64-bit command id exactly, as Go's %.0f did", () => {
    const r = sh(`runner2compliance --mig-api ${API} < "${join(MIG, "runner-result.from-mig-doc-api.json")}"`);
    expect(r.stdout).toContain("commandid=1424700180901330688");
    expect(String(1424700180901330688)).toBe("1424700180901330700"); // what a JS number would have printed
  });

  it("shares one utctimestamp per command, in Go's RFC3339Nano form", () => {
    const r = sh(`runner2compliance --mig-api ${API} < "${join(MIG, "runner-result.file-compliance.json")}"`);
    const items = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const perCommand = new Map<string, Set<string>>();
    for (const i of items) perCommand.set(i.link, (perCommand.get(i.link) ?? new Set()).add(i.utctimestamp));
    for (const set of perCommand.values()) expect(set.size).toBe(1);
    for (const i of items) expect(i.utctimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/);
  });

  it("gives the same items whatever the chunk size, UTF-8 split or not", async () => {
    const data = Buffer.from(readFileSync(join(MIG, "runner-result.operator-tag.json"), "utf8").replace("app1", "äpp1"));
    const opts = { migApi: API, timestamp: "finish" as const };
    const whole = await drain(runnerToCompliance(inSlices(data, data.length), opts));
    expect(whole.items.length).toBe(3);
    for (const size of [1, 7, 13, 113]) {
      const sliced = await drain(runnerToCompliance(inSlices(data, size), opts));
      expect(sliced.items.map(goJson)).toEqual(whole.items.map(goJson));
    }
    expect(whole.items[0].target).toBe("äpp1.private.scl3.example.net");
  });

  it("reads several results, one per line or run together, and counts what produced nothing", async () => {
    const one = readFileSync(join(MIG, "runner-result.file-compliance.json"), "utf8");
    const stats = newStats();
    const { items, error } = await drain(runnerToCompliance(inSlices(Buffer.from(`${one}\n${one}${one}`), 4096), { migApi: API }, stats));
    expect(error).toBeUndefined();
    expect(items.length).toBe(27);
    expect(stats).toMatchObject({ documents: 3, commands: 12, items: 27, commandsWithoutResults: 3, commandsWithProblems: 0 });
  });

  it("keeps going past a malformed command, then fails", async () => {
    const bad = JSON.stringify({
      commands: [
        { id: 7, status: "failed", agent: { name: "h1" }, action: { operations: [{ module: "file" }] }, results: [{ elements: { b: [{ file: 5 }], a: [{ file: "", search: { paths: ["/x", "/y"], names: ["n"] } }] } }] },
        { id: 8, status: "success", agent: { name: "h2" }, action: { operations: [{ module: "file" }] }, results: [{ elements: { c: [{ file: "/f", search: { names: ["f"] } }] } }] },
      ],
    });
    const problems: string[] = [];
    const { items, error } = await drain(runnerToCompliance(inSlices(Buffer.from(bad), 10), { migApi: API, onProblem: (m) => problems.push(m) }));
    expect(items.map((i) => [i.target, i.check.name, i.check.location, i.compliance])).toEqual([
      ["h1", "a", "/x, /y", false],
      ["h2", "c", "/f", true],
    ]);
    expect(problems).toEqual(["command 7 (h1): command status is 'failed'", "command 7 (h1): result 0 label 'b' entry 0: malformed (needs file and search)"]);
    expect(error?.message).toMatch(/1 command\(s\) had errors/);
  });

  it("builds the test value in the original's fixed filter order, values raw", () => {
    expect(testValue({ md5: ["m"], contents: ["c'q"], names: ["n1", "n2"], sizes: ["<1m"], modes: ["-rw"], mtimes: ["<2d"], sha1: ["s1"], sha2: ["s2"], sha3: ["s3"] })).toBe(
      "name='n1' and name='n2' and size='<1m' and mode='-rw' and mtime='<2d' and content='c'q' and md5='m' and sha1='s1' and sha2='s2' and sha3='s3'",
    );
  });

  it("reads [mig] api from the config file; flags win; without one, links are relative and it says so once", () => {
    const conf = join(MIG, "runner-compliance.conf");
    const input = join(MIG, "runner-result.from-mig-doc-api.json");
    expect(sh(`runner2compliance --config ${conf} < ${input}`).stdout).toContain('"link":"https://api.mig.example.net/api/v1/command?commandid=');
    expect(sh(`runner2compliance --config ${conf} --mig-api https://other/api < ${input}`).stdout).toContain('"link":"https://other/api/command?');
    const missing = sh(`runner2compliance --config /nonexistent.conf < ${input}`);
    expect(missing.status).toBe(0);
    expect(missing.stderr).toBe("runner2compliance: no [mig] api value: give --mig-api or set [mig] api in the config file (/nonexistent.conf not found); links are relative (/command?commandid=…), as the plugin's with an empty api\n");
    expect(missing.stdout).toContain('"link":"/command?commandid=');
  });
});
