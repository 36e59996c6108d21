import { describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { classify } from "../src/rules/change.js";
import { diffRules } from "../src/rules/diff.js";
import { PipeError } from "../src/errors.js";
import { StateDir, stateFileName, type PreviousScans, type StateEntry } from "../src/rules/state.js";
import type { NamedInput } from "../src/streams/input.js";
import { sh } from "./helpers/run.js";
import { validator } from "./helpers/schema.js";
import { FIXTURES } from "./helpers/paths.js";

const validRuleResult = validator("rule-result.schema.json");
/** The real multiple-testresults scan (one target, three profiles, rule_1 pass and rule_2 fail in each). */
const scan = sh(`xccdf2rules "${FIXTURES}/xccdf/openscap__multiple-testresults.xml" 2>/dev/null`).stdout;

async function* inputOf(text: string, name = "stdin"): AsyncGenerator<NamedInput> {
  yield { name, chunks: (async function* () { yield Buffer.from(text); })() } as NamedInput;
}

async function collect(gen: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of gen) out.push(line);
  return out;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "rules-diff-"));
}

describe("classify", () => {
  it.each([
    [undefined, "fail", "new-rule"],
    ["pass", "pass", "unchanged"],
    ["fail", "fail", "still-failing"],
    ["error", "error", "still-failing"],
    ["pass", "fail", "new-failure"],
    ["notapplicable", "warn", "new-failure"],
    ["pass", "error", "new-failure"],
    ["fail", "pass", "fixed"],
    ["fail", "notapplicable", "fixed"],
    ["warn", "fail", "regressed"],
    ["fail", "warn", "still-failing"],
    ["pass", "skip", "regressed"],
    ["skip", "pass", "unchanged"],
  ] as const)("%s → %s is %s", (before, now, change) => expect(classify(before, now)).toBe(change));
});

describe("the state dir", () => {
  it("names a file per target whatever its name, and reads back what it recorded", async () => {
    const dir = tempDir();
    try {
      const names = ["", "..", ".hidden", "a/b", "web-01.example.net", "%"];
      expect(new Set(names.map(stateFileName)).size).toBe(names.length);
      const store = await StateDir.open(dir);
      const entry: StateEntry = { scanner: "openscap", profile: "p", rule_ref: "r", status: "fail", severity: "high", title: 'a "title"' };
      for (const t of names) await store.record(t, [entry]);
      expect(readdirSync(dir).every((f) => f.endsWith(".tmp"))).toBe(true);
      await store.commit();
      const again = await StateDir.open(dir);
      for (const t of names) expect([...(await again.previous(t)).values()]).toEqual([entry]);
      expect(readdirSync(dir).some((f) => f.endsWith(".tmp"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps the old state and leaves no temporary file when the run fails", async () => {
    const dir = tempDir();
    try {
      expect(sh(`rules-diff --state ${dir}`, { input: scan }).status).toBe(0);
      const before = readFileSync(join(dir, "localhost.localdomain.state.ndjson"), "utf8");
      const r = sh(`rules-diff --state ${dir}`, { input: `${scan.replaceAll('"status":"pass"', '"status":"fail"')}not json\n` });
      expect(r.status).toBe(1);
      expect(r.stdout.split("\n").filter(Boolean)).toHaveLength(3);
      expect(readdirSync(dir)).toEqual(["localhost.localdomain.state.ndjson"]);
      expect(readFileSync(join(dir, "localhost.localdomain.state.ndjson"), "utf8")).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a state dir that is a file, with one line and exit 1", () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, "f"), "");
      const r = sh(`rules-diff --state ${dir}/f`, { input: scan });
      expect(r).toEqual({ stdout: "", stderr: `rules-diff: --state ${dir}/f: not a directory\n`, status: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("diffRules", () => {
  it("holds one target's state at a time: each target is read, then recorded, before the next", async () => {
    const calls: string[] = [];
    const store: PreviousScans = {
      previous: async (t) => (calls.push(`previous ${t}`), new Map()),
      record: async (t) => void calls.push(`record ${t}`),
      commit: async () => undefined,
      abort: async () => undefined,
    };
    const other = scan.replaceAll('"target":"localhost.localdomain"', '"target":"other"');
    const out = await collect(diffRules(inputOf(scan + other), store));
    expect(out).toHaveLength(12);
    expect(calls).toEqual(["previous localhost.localdomain", "record localhost.localdomain", "previous other", "record other"]);
    for (const line of out) expect(validRuleResult(JSON.parse(line))).toBeNull();
  });

  it("refuses a target whose lines come again after another target's", async () => {
    const other = scan.replaceAll('"target":"localhost.localdomain"', '"target":"other"');
    const dir = tempDir();
    try {
      const store = await StateDir.open(dir);
      const run = collect(diffRules(inputOf(scan + other + scan), store));
      await expect(run).rejects.toThrow(PipeError);
      await expect(run).rejects.toThrow(/target "localhost.localdomain" comes again/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("replaces only the scanners a run has lines for: another scanner's state on the target is kept, not removed", async () => {
    const dir = tempDir();
    try {
      const bench = '{"rule_ref":"5.10","title":"Memory","severity":"high","status":"fail","scanner":"docker-bench","target":"localhost.localdomain"}\n';
      let store = await StateDir.open(dir);
      await collect(diffRules(inputOf(scan + bench), store));
      await store.commit();
      store = await StateDir.open(dir);
      const out = await collect(diffRules(inputOf(scan), store));
      expect(out).toEqual([]);
      await store.commit();
      const kept = await (await StateDir.open(dir)).previous("localhost.localdomain");
      expect([...kept.values()].filter((e) => e.scanner === "docker-bench").map((e) => e.rule_ref)).toEqual(["5.10"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("compares a rule seen twice in one run with its own earlier line", async () => {
    const line = scan.split("\n")[1];
    const fixed = line.replace('"status":"fail"', '"status":"pass"');
    const store: PreviousScans = { previous: async () => new Map(), record: async () => undefined, commit: async () => undefined, abort: async () => undefined };
    const out = (await collect(diffRules(inputOf(`${line}\n${fixed}\n`), store))).map((l) => JSON.parse(l));
    expect(out.map((r) => [r.change, r.previous_status])).toEqual([["new-rule", undefined], ["fixed", "fail"]]);
  });

  it("keeps each input line's bytes and adds the fields at its end", async () => {
    const store: PreviousScans = { previous: async () => new Map(), record: async () => undefined, commit: async () => undefined, abort: async () => undefined };
    const lines = scan.split("\n").filter(Boolean);
    const out = await collect(diffRules(inputOf(scan), store));
    expect(out).toEqual(lines.map((l) => `${l.slice(0, -1)},"change":"new-rule"}`));
  });
});

describe("a line that went through rules-diff before", () => {
  it("gets its change and previous_status replaced, a stale previous_status dropped", async () => {
    const { withFields } = await import("../src/rules/line.js");
    const text = '{"rule_ref":"r","status":"fail","change":"fixed","previous_status":"pass","x":"<"}';
    expect(withFields(text, JSON.parse(text), { change: "new-rule", previous_status: undefined })).toBe('{"rule_ref":"r","status":"fail","change":"new-rule","x":"\\u003c"}');
  });
});

describe("a run that was killed", () => {
  it("leaves temporary files that the next run removes, the state as it was", async () => {
    const dir = tempDir();
    try {
      const dead = spawnSync("true").pid!;
      writeFileSync(join(dir, `.vm.state.ndjson.${dead}.0.tmp`), "half");
      await StateDir.open(dir);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
