import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { xccdfToNdjson, type XccdfToRulesOptions } from "../src/readers/xccdf/document.js";
import { XccdfReader, oneStepReading } from "../src/readers/xccdf/reader.js";
import { FIXTURES, ROOT } from "./helpers/paths.js";
import { drain, inSlices } from "./helpers/chunks.js";

// A rule-result in oscap's usual shape is read straight from the text (XccdfReader.readFromStart: one
// regular expression; XccdfReader.readWhole: after its start tag); whatever those paths accept must come
// out exactly as the element-by-element reading gives it.

/**
 * What a run gives: its text and its error message and position. `chunk`: a
 * size, or "body" for two chunks cut where the TestResult's content begins,
 * so that all of it reaches the quick path whole (the first chunk goes to
 * saxes up to its last '>').
 */
async function convert(doc: Buffer, chunk: number | "body", opts: XccdfToRulesOptions = {}) {
  const cut = doc.indexOf("</target>") + "</target>".length;
  const chunks = chunk === "body" ? (async function* () {
    yield doc.subarray(0, cut);
    yield doc.subarray(cut);
  })() : inSlices(doc, chunk);
  const { items, error } = await drain(xccdfToNdjson(chunks, opts));
  return { text: Buffer.concat(items).toString(), error: error && { message: error.message, position: (error as { position?: unknown }).position } };
}

/**
 * Switches the direct path on and off (off: every rule-result is read element
 * by element), and counts the rule-results it read and those it left.
 */
function directPath() {
  const path = { on: true, read: 0, declined: 0, fromStart: 0 };
  const readFromStart = XccdfReader.prototype.readFromStart;
  vi.spyOn(XccdfReader.prototype, "readFromStart").mockImplementation(function (this: XccdfReader, ...args: Parameters<XccdfReader["readFromStart"]>) {
    if (!path.on) return -1;
    const end = readFromStart.apply(this, args);
    if (end >= 0) path.fromStart++;
    return end;
  });
  const readWhole = XccdfReader.prototype.readWhole;
  vi.spyOn(XccdfReader.prototype, "readWhole").mockImplementation(function (this: XccdfReader, ...args: Parameters<XccdfReader["readWhole"]>) {
    if (!path.on) return -1;
    const end = readWhole.apply(this, args);
    if (args[0].local === "rule-result") path[end >= 0 ? "read" : "declined"]++;
    return end;
  });
  return path;
}

/** A run with the direct path, and the same run read element by element. */
async function bothWays(path: ReturnType<typeof directPath>, doc: Buffer, chunk: number | "body", opts: XccdfToRulesOptions = {}) {
  path.on = false;
  const reference = await convert(doc, chunk, opts);
  path.on = true;
  return { got: await convert(doc, chunk, opts), reference };
}

// every element offered to the one-step readings, however few of its kind the document holds
const defaultAfter = oneStepReading.after;
beforeEach(() => {
  oneStepReading.after = 0;
});

afterEach(() => {
  oneStepReading.after = defaultAfter;
  vi.restoreAllMocks();
});

const NS = "http://checklists.nist.gov/xccdf/1.2";
/** A results document whose TestResult holds `body`; `x` is bound to the XCCDF namespace too. */
const doc = (body: string) =>
  Buffer.from(
    `<?xml version="1.0"?>\n<Benchmark xmlns="${NS}" xmlns:x="${NS}" xmlns:o="urn:other" id="b"><title>B</title><Rule id="r1" severity="low"><title>One</title><ident system="cce">CCE-1</ident></Rule>\n` +
      `<TestResult id="t"><target>host</target>\n${body}\n</TestResult></Benchmark>\n`,
  );
const plain = (id: string, result: string) => `<rule-result idref="${id}" time="2024-01-01T00:00:00" severity="medium"><result>${result}</result><ident system="cce">CCE-2</ident><check system="s"><check-content-ref name="n" href="#o"/></check></rule-result>`;
/** As oscap writes one: a result, and a check with or without exports, or none. */
const oscapShaped = (id: string, result: string, k: number) =>
  `<rule-result idref="${id}" role="full" time="2026-12-03T15:02:15+00:00" severity="medium" weight="1.000000">\n    <result>${result}</result>\n` +
  (k % 3 ? `    <check system="http://oval.mitre.org/XMLSchema/oval-definitions-5">\n      ${k % 3 === 2 ? `<check-export export-name="oval:x:var:${k}" value-id="v${k}"/>\n      ` : ""}<check-content-ref name="oval:x:def:${k}" href="#oval0"/>\n    </check>\n` : "") +
  `  </rule-result>`;
const many = (n: number) =>
  Array.from({ length: n }, (_, k) => (k % 3 ? plain : oscapShaped)(k % 2 ? `r${k}` : "r1", ["pass", "fail", "notchecked", "notselected"][k % 4], k)).join("\n  ");

describe("rule-results read straight from the text", () => {
  it("gives the element-by-element lines on every real report, and reads most rule-results directly", async () => {
    const path = directPath();
    const files = readdirSync(join(FIXTURES, "xccdf")).map((name) => readFileSync(join(FIXTURES, "xccdf", name)));
    files.push(gunzipSync(readFileSync(join(ROOT, "examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz"))));
    for (const [i, input] of files.entries()) {
      for (const includeNotselected of [false, true]) {
        for (const chunk of [997, 65_536]) {
          const { got, reference } = await bothWays(path, input, chunk, { includeNotselected });
          expect(reference.text.length + Number(!includeNotselected)).toBeGreaterThan(0);
          expect(got, `file ${i}, chunks of ${chunk}, notselected ${includeNotselected}`).toEqual(reference);
        }
      }
    }
    expect(path.read + path.fromStart).toBeGreaterThan(1000);
    expect(path.fromStart).toBeGreaterThan(500);
    expect(path.read + path.fromStart).toBeGreaterThan(path.declined);
  });

  // each holds one rule-result the direct path must leave to the element-by-element reading, or read as it would
  const awkward: [string, string][] = [
    ["a message with references", `<rule-result idref="r1"><result>fail</result><message severity="info">a &lt;b&gt; &#233;</message></rule-result>`],
    ["a message with markup and CDATA", `<rule-result idref="r1"><result>fail</result><message>a <b>bold</b> <![CDATA[</rule-result>]]></message></rule-result>`],
    ["messages with blanks to collapse", `<rule-result idref="r1"><result>fail</result><message>  two\n   lines  </message><message>   </message><message>second</message></rule-result>`],
    ["CRs in the result and an ident", `<rule-result idref="r1"><result>\r\nfail\r\n</result><ident system="s">two\r\nlines</ident></rule-result>`],
    ["blanks around the result and an ident", `<rule-result idref="r1"><result>\n    pass\n  </result><ident system="s">  CCE-4 </ident></rule-result>`],
    ["a fix", `<rule-result idref="r1"><result>pass</result><fix system="urn:sh">echo fixed</fix></rule-result>`],
    ["two fixes, the first empty (as DISA SCC writes them)", `<rule-result idref="nowhere"><result>fail</result><fix id="F-1"></fix><fix xmlns:xhtml="http://www.w3.org/1999/xhtml">\n  echo first\n  echo  again\n</fix><fix>echo second</fix></rule-result>`],
    ["a fix with markup", `<rule-result idref="nowhere"><result>fail</result><fix>echo <sub idref="v"/> done</fix></rule-result>`],
    ["self-closing ident, message and fix", `<rule-result idref="r1"><result>fail</result><ident system="s"/><message/><fix/></rule-result>`],
    ["a message with an xml:lang", `<rule-result idref="r1"><result>pass</result><message xml:lang="en">noted</message></rule-result>`],
    ["CDATA, a comment and a PI in a rule-result", `<rule-result idref="r1"><!-- c --><?pi x?><result><![CDATA[pass]]></result></rule-result>`],
    ["blanks inside end tags", `<rule-result idref="r1"><result>pass</result ></rule-result >`],
    ["a prefixed rule-result with prefixed children", `<x:rule-result idref="r1"><x:result>fail</x:result><x:ident system="cce">CCE-9</x:ident><x:check system="s"/></x:rule-result>`],
    ["a prefixed rule-result with unprefixed children", `<x:rule-result idref="r1"><result>fail</result><ident system="cce">CCE-9</ident></x:rule-result>`],
    ["children of another namespace", `<rule-result idref="r1"><o:result>pass</o:result><result>fail</result><o:ident system="o">O-1</o:ident></rule-result>`],
    ["a namespace declared on the rule-result", `<rule-result xmlns:y="${NS}" idref="r1"><y:result>fail</y:result></rule-result>`],
    ["a rule-result of another namespace", `<rule-result xmlns="urn:other" idref="r1"><result>fail</result></rule-result>`],
    ["a rule-result whose prefix is bound to another namespace", `<o:rule-result idref="r1"><o:result>fail</o:result></o:rule-result>`],
    ["a rule-result nested in a rule-result", `<rule-result idref="r1"><result>fail</result><rule-result idref="r3"><result>pass</result></rule-result><ident system="s">after</ident></rule-result>`],
    ["a rule-result nested in another element", `<o:wrap><rule-result idref="r1"><result>fail</result></rule-result></o:wrap>`],
    ["a namespace declared on a child", `<rule-result idref="r1"><result xmlns="urn:other">fail</result><result>pass</result></rule-result>`],
    ["override, instance and fix children", `<rule-result idref="r1"><result>pass</result><override time="t" authority="a"><old-result>fail</old-result><new-result>pass</new-result><remark>ok</remark></override><instance>/etc</instance><fix system="urn:sh">echo fixed</fix></rule-result>`],
    ["a self-closing check and an empty ident", `<rule-result idref="r1"><result>fail</result><ident system="cce">  </ident><check system="s"/></rule-result>`],
    ["a check whose content holds another end tag", `<rule-result idref="r1"><result>fail</result><check system="s"><check-import import-name="stdout"><![CDATA[</rule-result> </check-import]]></check-import></check></rule-result>`],
    ["an empty and a self-closing result", `<rule-result idref="r1"><result></result></rule-result>\n<rule-result idref="r1"><result/></rule-result>`],
    ["two results, an unknown word", `<rule-result idref="r1"><result>pass</result><result>weird</result></rule-result>`],
    ["no idref, a severity of its own and a rule not in the Benchmark", `<rule-result severity="HIGH"><result>fail</result></rule-result>\n<rule-result idref="nowhere" severity="bogus"><result>fail</result></rule-result>`],
    ["an ident whose system needs decoding", `<rule-result idref="r1"><result>fail</result><ident system="a&amp;b">CCE-3</ident></rule-result>`],
    ["multi-byte text", `<rule-result idref="r1"><result>fail</result><message>hôte 名前 😀</message><ident system="s">名前</ident></rule-result>`],
    ["attributes in another order, and one oscap does not write", `<rule-result severity="high" idref="r1"><result>fail</result></rule-result>\n<rule-result idref="r1" foo="1"><result>pass</result></rule-result>`],
    ["a check-content-ref with href first, without a name, with an empty one, and two of them", `<rule-result idref="r1"><result>fail</result><check system="s"><check-content-ref href="#o" name="n"/></check></rule-result>\n<rule-result idref="r1"><result>fail</result><check system="s"><check-content-ref href="#o"/></check></rule-result>\n<rule-result idref="r1"><result>fail</result><check system="s"><check-content-ref name="" href="#o"/></check></rule-result>\n<rule-result idref="r1"><result>fail</result><check system="s"><check-content-ref name="a" href="#o"/><check-content-ref name="b" href="#o"/></check></rule-result>`],
    ["a result in capitals, and a tab in an idref", `<rule-result idref="r1"><result>PASS</result></rule-result>\n<rule-result idref="r\t1"><result>pass</result></rule-result>`],
    ["values that look like other attributes or tag ends", `<rule-result idref="r1" role=" severity=" time=" idref=" severity="low"><result>fail</result><check system="s"><check-export export-name="e" value-id="a/>b"/><check-content-ref name="n" href="#o/>x"/></check></rule-result>`],
    ["a prefixed rule-result in oscap's shape", `<x:rule-result idref="r1" severity="high"><x:result>fail</x:result><x:check system="s"><x:check-export export-name="e" value-id="v"/><x:check-content-ref name="n" href="#o"/></x:check></x:rule-result>`],
    ["a notselected and a failed rule-result of another namespace", `<o:rule-result idref="r1"><o:result>notselected</o:result></o:rule-result>\n<o:rule-result idref="r1"><o:result>fail</o:result><o:check system="s"><o:check-content-ref name="n" href="#o"/></o:check></o:rule-result>`],
  ];
  for (const [what, odd] of awkward) {
    it(`gives the element-by-element lines with ${what}`, async () => {
      const input = doc(`${many(8)}\n  ${odd}\n  ${many(8)}`);
      const path = directPath();
      for (const includeNotselected of [false, true]) {
        for (const chunk of ["body", 61, 333, 4096] as const) {
          const { got, reference } = await bothWays(path, input, chunk, { includeNotselected });
          expect(reference.error).toBeUndefined();
          expect(got, `chunks of ${chunk}`).toEqual(reference);
        }
      }
      expect(path.read).toBeGreaterThan(0);
      expect(path.fromStart).toBeGreaterThan(0);
    });
  }

  // faults are left to the element-by-element reading, which says where they are
  const faults: [string, string][] = [
    ["a mismatched end tag in a child", `<rule-result idref="r1"><result>fail</ident></rule-result>`],
    ["a mismatched end tag for the rule-result", `<rule-result idref="r1"><result>fail</result></rule-resulx>`],
    ["a mismatched end tag of the same length in a child", `<rule-result idref="r1"><result>fail</resulx></rule-result>`],
    ["an end tag after a self-closing child", `<rule-result idref="r1"><result/></result></rule-result>`],
    ["a duplicate attribute on a child", `<rule-result idref="r1"><result>fail</result><ident system="a" system="b">C</ident></rule-result>`],
    ["an undefined entity in a message", `<rule-result idref="r1"><result>fail</result><message>&nbsp;</message></rule-result>`],
    ["a '<' in an attribute value", `<rule-result idref="r<1"><result>fail</result></rule-result>`],
  ];
  for (const [what, bad] of faults) {
    it(`reports ${what} as the element-by-element reading does, after the same lines`, async () => {
      const input = doc(`${many(12)}\n  ${bad}\n  ${many(4)}`);
      const path = directPath();
      for (const chunk of ["body", 61, 333] as const) {
        const { got, reference } = await bothWays(path, input, chunk);
        expect(reference.error?.message).toBeTruthy();
        expect(reference.text.split("\n").length).toBeGreaterThan(5);
        expect(got, `chunks of ${chunk}`).toEqual(reference);
      }
      expect(path.read).toBeGreaterThan(0);
    });
  }

  it("reports a rule-result cut by the end of input as the element-by-element reading does", async () => {
    const path = directPath();
    const whole = doc(many(40));
    for (let cut = 600; cut < 3000; cut += 97) {
      const { got, reference } = await bothWays(path, whole.subarray(0, cut), 450);
      expect(reference.error?.message, `cut at ${cut}`).toMatch(/end of input/);
      expect(got, `cut at ${cut}`).toEqual(reference);
    }
    expect(path.read).toBeGreaterThan(0);
  });

  it("takes the one-step pattern only after the first oneStepReading.after rule-results, with the same lines", async () => {
    oneStepReading.after = defaultAfter;
    const path = directPath();
    const few = doc(many(defaultAfter));
    const { got, reference } = await bothWays(path, few, 65_536);
    expect(got).toEqual(reference);
    expect(path.fromStart).toBe(0);
    const more = await bothWays(path, doc(many(defaultAfter + 20)), 65_536);
    expect(more.got).toEqual(more.reference);
    expect(path.fromStart).toBeGreaterThan(0);
  });
});
