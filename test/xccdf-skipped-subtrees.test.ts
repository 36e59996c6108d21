import { describe, expect, it } from "vitest";
import { SKIPPED_SUBTREES, XccdfReader } from "../src/readers/xccdf/reader.js";
import { xccdfToRules } from "../src/readers/xccdf/document.js";
import { inSlices } from "./helpers/chunks.js";

describe("the subtrees xccdf2rules skips unread", () => {
  it("are the ones XccdfReader.open skips (its switch and SKIPPED_SUBTREES agree)", () => {
    for (const local of SKIPPED_SUBTREES) {
      const reader = new XccdfReader();
      expect(reader.open({ name: `x:${local}`, local, attributes: {}, selfClosing: false }), local).toBe(true);
    }
    expect(new XccdfReader().open({ name: "x:other", local: "other", attributes: {}, selfClosing: false })).toBe(false);
  });

  it("are skipped unread, in one chunk or many, while a fault before them is still found", async () => {
    const doc = (inside: string) =>
      `<?xml version="1.0"?><Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="b"><ocil xmlns="o">${inside}</ocil>` +
      `<TestResult id="t"><rule-result idref="r"><result>pass</result></rule-result></TestResult></Benchmark>`;
    // not even well-formed inside, as skipping goes: the end tag is all that is looked for
    for (const size of [7, 64, 1 << 16]) {
      const rules = [];
      for await (const r of xccdfToRules(inSlices(Buffer.from(doc("<a><b></a>")), size))) rules.push(r);
      expect(rules.map((r) => [r.rule_ref, r.status])).toEqual([["r", "pass"]]);
    }
    const bad = `<?xml version="1.0"?><Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="b"><x a="1" a="2"/><ocil/></Benchmark>`;
    await expect(async () => {
      for await (const _ of xccdfToRules(inSlices(Buffer.from(bad), 1 << 16)));
    }).rejects.toThrow(/duplicate attribute a on <x>/);
  });

  it("cost time linear in the input where saxes reads text full of their names (a guard, with a generous ceiling)", async () => {
    // 10 MB outside any quick element: comments naming a stop 8,000 times, each followed by 60 KB of text
    const parts = ['<?xml version="1.0"?><arf:asset-report-collection xmlns:arf="http://scap.nist.gov/schema/asset-reporting-format/1.1">'];
    for (let i = 0; i < 100; i++) parts.push(`<!--${"<ocil>".repeat(8000)}-->${"x".repeat(60_000)}`);
    parts.push('<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="b"><TestResult id="t"><rule-result idref="r"><result>pass</result></rule-result></TestResult></Benchmark></arf:asset-report-collection>');
    const started = performance.now();
    const rules = [];
    for await (const r of xccdfToRules(inSlices(Buffer.from(parts.join("")), 1 << 16))) rules.push(r);
    // measured: ~0.3 s; 6.8 s when each saxes write searched back for the chunk's last '>'
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(rules.map((r) => r.rule_ref)).toEqual(["r"]);
  });
});
