import { readFileSync, readdirSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { xccdfToNdjson, xccdfToRules } from "../src/readers/xccdf/document.js";
import { drain, inSlices } from "./helpers/chunks.js";
import { FIXTURES, ROOT } from "./helpers/paths.js";

// Rules are kept as text and read only when a line names them (KeptRule in src/readers/xccdf/reader.ts).
// The yardstick is the reading of every Rule in place (keepRules: false).

async function lines(data: Buffer, chunk: number, keepRules: boolean, maxField?: number): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of xccdfToNdjson(inSlices(data, chunk), { source: "doc", keepRules, maxField })) parts.push(Buffer.from(part));
  return Buffer.concat(parts).toString("utf8");
}

async function fault(data: Buffer, keepRules: boolean): Promise<{ message?: string; position?: unknown }> {
  const { error } = await drain(xccdfToRules(inSlices(data, 1 << 16), { source: "doc", keepRules }));
  return { message: error?.message, position: error?.position };
}

const REAL: [string, Buffer][] = [
  ...readdirSync(resolve(FIXTURES, "xccdf")).map((name): [string, Buffer] => [name, readFileSync(resolve(FIXTURES, "xccdf", name))]),
  ...["examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz", "test/data/ubuntu2204-cis-level2-server.arf.gz"].map((path): [string, Buffer] => [path, gunzipSync(readFileSync(resolve(ROOT, path)))]),
];

/** The compiled batch worker (npm test builds first). */
const WORKER = new URL(`file://${resolve(ROOT, "dist/readers/xccdf/batch-worker.js")}`);

const doc = (benchmark: string, results: string) =>
  `<?xml version="1.0"?>\n<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" xmlns:h="http://www.w3.org/1999/xhtml" id="b">\n${benchmark}\n` +
  `<TestResult id="t">\n${results}\n</TestResult>\n</Benchmark>\n`;
const result = (idref: string, word = "fail") => `<rule-result idref="${idref}"><result>${word}</result></rule-result>`;

describe("Rules kept as text until a line names them", () => {
  it("give the bytes of every Rule read in place, on every real report, whatever the chunk boundaries", async () => {
    let total = 0;
    for (const [name, data] of REAL) {
      const inPlace = await lines(data, 1 << 16, false);
      total += inPlace.length;
      for (const chunk of [1 << 16, 4099, 997]) expect(await lines(data, chunk, true), `${name}, chunks of ${chunk}`).toBe(inPlace);
    }
    expect(total).toBeGreaterThan(3_000_000);
  });

  it("give the same fault, at the same line and column, when a named Rule is not well-formed", async () => {
    const named = (content: string) => Buffer.from(doc(`<Rule id="r" severity="high"><title>T</title>\n${content}\n</Rule>`, result("r")));
    const faults = [
      named("<description>one <h:b>two</description>"), // an end tag that does not match
      named("<description>a &bogus; b</description>"), // an entity XML does not define
      Buffer.from(doc(`<Rule id="r">  <title>x &amp y</title></Rule>`, result("r"))), // on the start tag's line: the column counts
    ];
    for (const data of faults) {
      const inPlace = await fault(data, false);
      expect(inPlace.message).toBeTruthy();
      expect(await fault(data, true)).toEqual(inPlace);
    }
    expect(await fault(faults[2], true)).toEqual({ message: expect.stringMatching(/&/), position: { source: "doc", line: 3, col: 25 } });
  });

  it("are searched only for their end tag when no line names them (as the OVAL definitions are)", async () => {
    const data = Buffer.from(doc(`<Rule id="unused"><title>a <h:b>b</title></Rule>\n<Rule id="r"><title>R</title></Rule>`, result("r") + result("unused", "notselected")));
    expect((await fault(data, false)).message).toMatch(/unexpected close tag/);
    const rules = (await drain(xccdfToRules(inSlices(data, 7), { keepRules: true }))).items;
    expect(rules.map((r) => [r.rule_ref, r.title, r.status])).toEqual([["r", "R", "fail"]]);
  });

  it("see the Values seen before them, as in place, and are read in place when a comment could hide their end tag", async () => {
    const data = Buffer.from(
      doc(
        `<Value id="before"><value>42</value></Value>\n` +
          `<Rule id="r"><title>T</title><description>before=<sub idref="before"/> after=<sub idref="after"/></description></Rule>\n` +
          `<Rule id="c"><title>C</title><description><!-- </Rule> --> kept in place</description></Rule>\n` +
          `<Value id="after"><value>7</value></Value>`,
        result("r") + result("c", "pass"),
      ),
    );
    for (const chunk of [1 << 16, 5]) {
      const text = await lines(data, chunk, true);
      expect(text).toBe(await lines(data, chunk, false));
      const [r, c] = text.trim().split("\n").map((line) => JSON.parse(line));
      expect(r.description).toBe("before=42 after=after");
      expect(c.description).toBe("kept in place");
    }
  });

  it("read their references and idents as in place: plain ones in one step, the others element by element", async () => {
    const refs = [
      `<reference href="https://www.cisecurity.org/benchmark/ubuntu_linux/">1.4.1</reference>`,
      `<reference href="a">  spaced\n  out  </reference>`,
      `<reference href="b">R&amp;D</reference>`,
      `<reference href="c">carriage\r\nreturn</reference>`,
      `<reference href="d">with <h:b>markup</h:b></reference>`,
      `<reference href="${"h".repeat(40)}">long href</reference>`,
      `<reference href="e">${"long text ".repeat(10)}</reference>`,
      `<reference href="f"></reference>`,
      `<ident system="s"> CCE-1 </ident><ident system="s">   </ident><ident system="t">a&lt;b</ident>`,
    ].join("\n");
    const data = Buffer.from(doc(`<Rule id="r"><title>T</title>\n${refs}\n</Rule>`, result("r")));
    for (const maxField of [undefined, 64]) {
      const text = await lines(data, 1 << 16, true, maxField);
      expect(text).toBe(await lines(data, 1 << 16, false, maxField));
      const line = JSON.parse(text);
      expect(line.references).toHaveLength(8);
      expect(line.idents).toEqual([{ system: "s", value: "CCE-1" }, { system: "t", value: "a<b" }]);
      expect(line.section).toBe("1.4.1");
    }
  });

  it("cost time linear in the input when it comes in small pieces (a guard, with a generous ceiling)", async () => {
    // 12 Rules of ~200 KB (under MAX_KEPT) in 16-byte reads: each is waited for a few reads, then read in place
    const rules = Array.from({ length: 12 }, (_, i) => `<Rule id="r${i}"><title>T${i}</title><description>${"word ".repeat(40_000)}</description></Rule>`).join("\n");
    const data = Buffer.from(doc(rules, result("r7") + result("r11")));
    const timed = async (keepRules: boolean) => {
      const started = performance.now();
      const text = await lines(data, 16, keepRules);
      return { text, ms: performance.now() - started };
    };
    const inPlace = await timed(false);
    const kept = await timed(true);
    expect(kept.text).toBe(inPlace.text);
    expect(kept.text.trim().split("\n")).toHaveLength(2);
    // measured: ~0.3 s each; 12.9 s when each Rule was searched again on every read (MAX_KEPT_WAITS)
    expect(kept.ms).toBeLessThan(3 * inPlace.ms + 2_000);
  });

  it("read the last Rule of an id, as in place, and a Rule too long to wait for in place", async () => {
    const long = "x".repeat(300 * 1024);
    const data = Buffer.from(
      doc(`<Rule id="r"><title>first</title></Rule>\n<Rule id="r"><title>second</title></Rule>\n<Rule id="l"><title>L</title><description>${long}</description></Rule>`, result("r") + result("l")),
    );
    for (const chunk of [1 << 16, 4096]) {
      const text = await lines(data, chunk, true);
      expect(text).toBe(await lines(data, chunk, false));
      expect(text.trim().split("\n").map((line) => JSON.parse(line).title)).toEqual(["second", "L"]);
    }
  });
});

describe("a Rule's texts dropped once its part of a line is serialised (settleRule)", () => {
  it("still give every later line of the Rule its texts: a second TestResult, another severity (lines held for evidence: the golden ARFs)", async () => {
    const rule =
      `<Rule id="r" severity="low"><title>T</title><description>D "quoted"</description><rationale>R</rationale>` +
      `<ident system="s">CCE-1</ident><reference href="h">1.2.3</reference><fixtext>F</fixtext></Rule>`;
    const second = `<TestResult id="t2">\n<rule-result idref="r" severity="high"><result>pass</result></rule-result>\n${result("r")}\n</TestResult>`;
    const data = Buffer.from(doc(rule, result("r")).replace("</Benchmark>", `${second}\n</Benchmark>`));
    const [first, ...later] = (await drain(xccdfToRules(inSlices(data, 11), {}))).items;
    expect(first).toMatchObject({ title: "T", description: 'D "quoted"', rationale: "R", severity: "low", remediation: "F", idents: [{ system: "s", value: "CCE-1" }], references: [{ href: "h", value: "1.2.3" }] });
    expect(later.map((line) => line.severity)).toEqual(["high", "low"]);
    const ruleFields = ({ title, description, rationale, remediation, idents, references }: (typeof later)[0]) => ({ title, description, rationale, remediation, idents, references });
    for (const line of later) expect(ruleFields(line)).toEqual(ruleFields(first));
    // the same lines as with batches, whose readers keep the texts
    const batched = (await drain(xccdfToRules(inSlices(data, 11), { jobs: 2, batchChars: 16, workerUrl: WORKER }))).items;
    expect(batched).toEqual([first, ...later]);
  });
});

describe("the namespaces in scope of kept Rules (asked once while no declaration comes or goes)", () => {
  it("follow declarations made and ended between Rules", async () => {
    const x = "http://checklists.nist.gov/xccdf/1.2";
    // a declaration in a child sends each kept Rule to the reader of kept Rules (not readPlainRule), which
    // opens it in the namespaces it was kept in
    const rule = (prefix: string, id: string) => `<${prefix}:Rule id="${id}"><${prefix}:title>T ${id}</${prefix}:title><${prefix}:description xmlns:q="urn:q">D ${id}</${prefix}:description></${prefix}:Rule>`;
    const results = ["a", "b", "c"].map((id) => `<x:rule-result idref="${id}"><x:result>fail</x:result></x:rule-result>`).join("");
    const data = Buffer.from(
      `<x:Benchmark xmlns:x="${x}" id="b">${rule("x", "a")}` +
        `<x:Group id="g" xmlns:y="${x}">${rule("y", "b")}</x:Group>` +
        `<x:Group id="h" xmlns:z="${x}">${rule("z", "c")}</x:Group>` +
        `<x:TestResult id="t">${results}</x:TestResult></x:Benchmark>`,
    );
    for (const chunk of [1 << 16, 13]) {
      const text = await lines(data, chunk, true);
      expect(text).toBe(await lines(data, chunk, false));
      expect(text.trim().split("\n").map((line) => JSON.parse(line).description)).toEqual(["D a", "D b", "D c"]);
    }
  });
});
