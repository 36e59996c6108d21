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

  it("include what a Rule, Group, Value or Profile holds that no line does, whichever way Rules are read", async () => {
    const bad = "<h:b>not closed";
    const doc =
      `<?xml version="1.0"?><Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" xmlns:h="http://www.w3.org/1999/xhtml" id="b">` +
      `<Profile id="p"><title>P</title><select idref="r" selected="true">${bad}</select></Profile>` +
      `<Group id="g"><title>G ${bad}</title><description>${bad}</description>` +
      `<Value id="v"><title>${bad}</title><value>42</value><choices>${bad}</choices></Value>` +
      `<Rule id="r"><title>R</title><warning>${bad}</warning><fix system="ansible">first <sub idref="v"/></fix><fix system="bash">${bad}</fix><check system="s">${bad}</check></Rule>` +
      `<Rule id="t"><title>T</title><fixtext>text</fixtext><fix>${bad}</fix></Rule></Group>` +
      `<TestResult id="x"><profile idref="p"/><rule-result idref="r"><result>fail</result></rule-result><rule-result idref="t"><result>pass</result></rule-result></TestResult></Benchmark>`;
    for (const keepRules of [true, false]) {
      for (const size of [7, 1 << 16]) {
        const rules = [];
        for await (const r of xccdfToRules(inSlices(Buffer.from(doc), size), { keepRules })) rules.push(r);
        expect(rules.map((r) => [r.rule_ref, r.remediation, r.profile?.title])).toEqual([
          ["r", "first 42", "P"],
          ["t", "text", "P"],
        ]);
      }
    }
  });

  it("include a TestResult's target facts and addresses, and an ARF's relationships and assets", async () => {
    const bad = "<h:b>not closed";
    const doc =
      `<?xml version="1.0"?><arf:asset-report-collection xmlns:arf="http://scap.nist.gov/schema/asset-reporting-format/1.1" xmlns:core="http://scap.nist.gov/schema/reporting-core/1.1" xmlns:h="http://www.w3.org/1999/xhtml">` +
      `<core:relationships><core:relationship type="t" subject="s">${bad}</core:relationship></core:relationships>` +
      `<arf:reports><arf:report id="x"><arf:content><Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="b"><Rule id="r"><title>R</title></Rule>` +
      `<TestResult id="t"><target>host1</target><target-address>${bad}</target-address><target-facts><fact name="n">${bad}</fact></target-facts>` +
      `<rule-result idref="r"><result>fail</result></rule-result></TestResult></Benchmark></arf:content></arf:report></arf:reports>` +
      `<arf:assets><arf:asset id="a">${bad}</arf:asset></arf:assets></arf:asset-report-collection>`;
    for (const size of [7, 1 << 16]) {
      const rules = [];
      for await (const r of xccdfToRules(inSlices(Buffer.from(doc), size))) rules.push(r);
      expect(rules.map((r) => [r.rule_ref, r.title, r.status, r.target])).toEqual([["r", "R", "fail", "host1"]]);
    }
  });

  it("name the line and column where input ended inside one, whichever reader skipped it and however it was cut", async () => {
    const head = `<?xml version="1.0"?>\n<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="b">\n`;
    const cases: [string, string][] = [
      // skipped by the scanner (outside any quick element: an unknown root) and by the quick path (inside a Benchmark, a TestResult)
      [`<?xml version="1.0"?>\n<doc>\n<ocil>\n  <a>some text`, "ocil"],
      [`<?xml version="1.0"?>\n<doc><ocil>  <a>some text\n`, "ocil"],
      [`${head}<ocil>\n  <a>some text`, "ocil"],
      [`${head}<ocil>\n  <a>some text\n`, "ocil"],
      [`${head}<TestResult id="t">\n<target-facts>\n    <fact name="n">00:00:0`, "target-facts"],
      [`${head}<TestResult id="t"><target-facts><fact name="n">00:00:0`, "target-facts"],
    ];
    for (const [doc, inside] of cases) {
      const lines = doc.split("\n");
      for (const size of [3, 7, 64, 1 << 16]) {
        await expect(async () => {
          for await (const _ of xccdfToRules(inSlices(Buffer.from(doc), size)));
        }, `${inside} in ${size}-byte chunks`).rejects.toMatchObject({
          message: `unexpected end of input inside <${inside}>`,
          position: { line: lines.length, col: lines[lines.length - 1].length + 1 },
        });
      }
    }
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
