import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { XmlScanner } from "../src/xml/scanner.js";
import { XccdfReader } from "../src/readers/xccdf/reader.js";
import { PipeError } from "../src/errors.js";
import { FIXTURES } from "./helpers/paths.js";

/**
 * Runs the reader over `doc` cut into `size`-byte chunks (or at the offsets
 * given), with or without the quick path; returns its lines and its error.
 */
function read(doc: Buffer, size: number | number[], quick: boolean): { lines: string; error?: PipeError } {
  const reader = new XccdfReader();
  const scanner = new XmlScanner(reader, { quick: quick ? ["TestResult"] : [] });
  reader.attach(scanner);
  const out: Buffer[] = [];
  const cuts = Array.isArray(size) ? [0, ...size] : Array.from({ length: Math.ceil(doc.length / size) }, (_, k) => k * size);
  try {
    for (const [k, cut] of cuts.entries()) {
      scanner.write(doc.subarray(cut, cuts[k + 1] ?? doc.length));
      if (reader.out.count) out.push(reader.out.take());
    }
    scanner.end();
  } catch (error) {
    if (reader.out.count) out.push(reader.out.take());
    return { lines: Buffer.concat(out).toString(), error: error as PipeError };
  }
  if (reader.out.count) out.push(reader.out.take());
  return { lines: Buffer.concat(out).toString() };
}

const NS = "http://checklists.nist.gov/xccdf/1.2";
const testResult = (body: string) =>
  `<?xml version="1.0"?>\r\n<Benchmark xmlns="${NS}" id="b"><title>B</title><Rule id="r1" severity="low"><title>One &amp; only</title></Rule>\n` +
  `<TestResult id="t" start-time="2024-01-01T00:00:00Z" end-time="2024-01-01T00:00:01Z">\n<target>host</target>\n${body}\n</TestResult></Benchmark>\n`;

describe("quick path for TestResult content", () => {
  // everything XML allows inside a TestResult that the string-search tokeniser must get right
  const tricky = testResult(
    [
      `<rule-result idref="r1" severity = 'high'\n   time="2024-01-01T00:00:00"><result>fail</result>`,
      `<message severity="info">a &lt;b&gt; &amp; &quot;c&quot; &#233;&#x4E2D; <![CDATA[<raw> & ]]> end</message>`,
      `<!-- a comment with <tags> & ampersands --><?pi data?>`,
      `<ident system="a&amp;b&#x9;c\tline">CCE-1</ident><check system="x"><check-content-ref name="n" href="#h"/><check-content>]]&gt;<x:y xmlns:x="u"/></check-content></check></rule-result>`,
      `<x:rule-result xmlns:x="${NS}" idref="r2"><x:result>pass</x:result><x:message>crlf\r\nline</x:message></x:rule-result>`,
      `<rule-result idref="r3"><result>notchecked</result><complex-check operator="AND"><complex-check operator="OR"><check system="s"/></complex-check><check system="s"/></complex-check></rule-result>`,
      `<rule-result idref="not-xccdf" xmlns="urn:other"><result>fail</result></rule-result>`,
      `<rule-result idref="r4"><result>pass</result><message>multi-byte: hôte 名前 😀</message></rule-result>`,
    ].join("\n"),
  );

  it("gives saxes's lines for every construct, whatever the chunk size", () => {
    const doc = Buffer.from(tricky);
    const reference = read(doc, doc.length, false);
    expect(reference.error).toBeUndefined();
    const lines = reference.lines.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.rule_ref, l.status])).toEqual([
      ["r1", "fail"],
      ["r2", "pass"],
      ["r3", "skip"],
      ["r4", "pass"],
    ]);
    expect(lines[0]).toMatchObject({ title: "One & only", severity: "high", finding: 'a <b> & "c" é中 <raw> & end', idents: [{ system: "a&b\tc line", value: "CCE-1" }] });
    expect(lines[1].finding).toBe("crlf line");
    for (let size = 1; size <= 97; size++) expect(read(doc, size, true), `chunks of ${size}`).toEqual(reference);
    for (const size of [256, 4093, 65_536]) expect(read(doc, size, true), `chunks of ${size}`).toEqual(reference);
  });

  it("gives the same lines as saxes on the real fixtures", () => {
    for (const file of ["foreman_openscap__arf_report_firefox.xml", "heimdall2__xccdf-results-scc-rhel8.xml", "openscap__multiple-testresults.xml", "compliance-operator__xccdf-result-testresult-root.xml", "openscap__xccdf11-results.xml"]) {
      const doc = readFileSync(join(FIXTURES, "xccdf", file));
      const reference = read(doc, doc.length, false);
      for (const size of [1000, 4096, 65_536]) expect(read(doc, size, true), `${file} in chunks of ${size}`).toEqual(reference);
    }
  });

  describe("faults found by the quick path", () => {
    const good = `<rule-result idref="r1"><result>pass</result></rule-result>\n`;
    const cases: [string, string, RegExp, number, number][] = [
      ["a mismatched end tag", `${good}<rule-result idref="r1"><result>fail</rule-result>`, /unexpected close tag <\/rule-result> \(open element is <result>\)/, 6, 37],
      ["an undefined entity", `${good}<rule-result idref="r1"><result>&nbsp;</result></rule-result>`, /undefined entity &nbsp; \(DTD entities are not expanded\)/, 6, 33],
      ["a bare ampersand", `${good}<rule-result idref="r1"><message>a & b</message></rule-result>`, /'&' that does not start a reference/, 6, 36],
      ["an unquoted attribute", `${good}<rule-result idref=r1><result>pass</result></rule-result>`, /attribute idref of <rule-result> is not quoted/, 6, 20],
      ["a '<' in an attribute value", `${good}<rule-result idref="a<b"><result>pass</result></rule-result>`, /'<' in the value of attribute idref of <rule-result>/, 6, 22],
      ["a duplicate attribute", `${good}<rule-result idref="a" idref="b"><result>pass</result></rule-result>`, /duplicate attribute idref on <rule-result>/, 6, 24],
      ["a DOCTYPE inside an element", `${good}<!DOCTYPE x>`, /unexpected markup declaration inside an element/, 6, 1],
      ["an element name that starts with a digit", `${good}<rule-result idref="r1"><result>pass</result><1x/></rule-result>`, /invalid start tag: a name cannot start with '1'/, 6, 47],
      ["a character no name may hold", `${good}<rule-result idref="r1"><result>pass</result><a!b/></rule-result>`, /invalid start tag <a: unexpected '!'/, 6, 48],
      ["an attribute name that starts with a digit", `${good}<rule-result idref="r1" 1a="x"><result>pass</result></rule-result>`, /an attribute name cannot start with '1'/, 6, 25],
      ["a character no attribute name may hold", `${good}<rule-result idref="r1" a$b="x"><result>pass</result></rule-result>`, /unexpected '\$' after attribute name a/, 6, 26],
    ];
    for (const [what, body, message, line, col] of cases) {
      it(`reports ${what} with its line and column, after the lines before it`, () => {
        const doc = Buffer.from(testResult(body));
        // cut after the first rule-result, so that saxes hands the TestResult over before the fault
        const { lines, error } = read(doc, [doc.indexOf("</rule-result>") + 14], true);
        expect(lines.trim().split("\n")).toHaveLength(1);
        expect(error).toBeInstanceOf(PipeError);
        expect(error!.message).toMatch(message);
        expect(error!.position).toMatchObject({ line, col });
      });
    }

    it("words faults alike, at the same place, whether saxes or the quick path finds them", () => {
      const same: [string, RegExp][] = [
        [`<rule-result idref="r1"><result>&nbsp;</result></rule-result>`, /^undefined entity &nbsp; \(DTD entities are not expanded\)$/],
        [`<rule-result idref="r1&bogus;"><result>pass</result></rule-result>`, /^undefined entity &bogus; \(DTD entities are not expanded\)$/],
        [`<rule-result idref="r1"><message>a & b</message></rule-result>`, /^'&' that does not start a reference \(write &amp;\)$/],
        [`<rule-result idref="r1"><result>fail</rule-result>`, /^unexpected close tag <\/rule-result> \(open element is <result>\)$/],
        [`<rule-result idref=r1><result>pass</result></rule-result>`, /^attribute idref of <rule-result> is not quoted$/],
        [`<rule-result idref="a<b"><result>pass</result></rule-result>`, /^'<' in the value of attribute idref of <rule-result>$/],
        [`<rule-result idref="a" b="x" idref="b"><result>pass</result></rule-result>`, /^duplicate attribute idref on <rule-result>$/],
        [`<rule-result idref="a"\n   idref="b"\n   b="x"><result>pass</result></rule-result>`, /^duplicate attribute idref on <rule-result>$/],
        [`<rule-result idref="r1"><result>pass</result><1x/></rule-result>`, /^invalid start tag: a name cannot start with '1'$/],
        [`<rule-result idref="r1"><result>pass</result><a!b/></rule-result>`, /^invalid start tag <a: unexpected '!'$/],
        [`<rule-result idref="r1" 1a="x"><result>pass</result></rule-result>`, /^malformed start tag <rule-result>: an attribute name cannot start with '1'$/],
        [`<rule-result idref="r1" a$b="x"><result>pass</result></rule-result>`, /^malformed start tag <rule-result>: unexpected '\$' after attribute name a$/],
        [`<rule-result idref="r1"x="1"><result>pass</result></rule-result>`, /^malformed start tag <rule-result>: no space after attribute idref$/],
        [`<rule-result idref="r1"><result>&#0;</result></rule-result>`, /^invalid character reference &#0;$/],
        [`<!DOCTYPE x>`, /^unexpected markup declaration inside an element$/],
      ];
      for (const [body, message] of same) {
        const doc = Buffer.from(testResult(good + body));
        const quick = read(doc, [doc.indexOf("</rule-result>") + 14], true).error;
        const saxes = read(doc, doc.length, false).error;
        expect(quick!.message, body).toMatch(message);
        expect(saxes!.message, body).toBe(quick!.message);
        expect(saxes!.position, body).toEqual(quick!.position);
      }
    });

    it("reports the end of input inside a rule-result", () => {
      const doc = testResult(good + `<rule-result idref="r2"><result>pass</result>`);
      const { lines, error } = read(Buffer.from(doc.slice(0, doc.indexOf("\n</TestResult>"))), [doc.indexOf("</rule-result>") + 14], true);
      expect(lines.trim().split("\n")).toHaveLength(1);
      expect(error!.message).toMatch(/unexpected end of input \(unclosed <rule-result>\)/);
      expect(error!.position).toMatchObject({ line: 6 });
    });
  });
});

describe("fault messages quote a few dozen characters, on one line", () => {
  const good = `<rule-result idref="r1"><result>pass</result></rule-result>\n`;
  const filler = Array.from({ length: 444 }, (_, k) => `<rule-result idref="r${k}"><result>pass</result></rule-result>`).join("\n");
  const cases: [string, string, RegExp][] = [
    ["a character reference with no ';', a ';' far after it", `<rule-result idref="r1"><result>pass</result><message>&#65 and</message></rule-result>\n${filler}\n<rule-result idref="r1"><message>a;b</message></rule-result>`, /^'&' that does not start a reference \(write &amp;\)$/],
    ["a character reference cut by a tag", `<rule-result idref="r1"><result>pass</result><message>&#65</message></rule-result>\n${filler}\n<rule-result idref="r1"><message>a;b</message></rule-result>`, /^'&' that does not start a reference \(write &amp;\)$/],
    ["a long mismatched end tag", `<rule-result idref="r1"><result>fail</${"y".repeat(300)}>`, /^unexpected close tag <\/y{40}…> \(open element is <result>\)$/],
    ["a long undefined entity", `<rule-result idref="r1"><result>&${"n".repeat(300)};</result></rule-result>`, /^undefined entity &n{39}… \(DTD entities are not expanded\)$/],
    ["a long bad character reference", `<rule-result idref="r1"><result>&#${"1".repeat(300)};</result></rule-result>`, /^invalid character reference &#1{38}…$/],
  ];
  for (const [what, body, message] of cases) {
    it(`${what}: quick path and saxes alike`, () => {
      const doc = Buffer.from(testResult(good + body));
      const quick = read(doc, [doc.indexOf("</rule-result>") + 14], true).error;
      const saxes = read(doc, doc.length, false).error;
      expect(quick!.message).toMatch(message);
      expect(saxes!.message).toBe(quick!.message);
      expect(saxes!.position).toEqual(quick!.position);
      expect(quick!.position).toMatchObject({ line: 6 });
    });
  }

  it("an end tag holding lines", () => {
    const doc = Buffer.from(testResult(`${good}<rule-result idref="r1"><result>fail</rule-result\n${"x ".repeat(300)}\n>`));
    const { error } = read(doc, [doc.indexOf("</rule-result>") + 14], true);
    expect(error!.message).toBe("unexpected close tag </rule-result…> (open element is <result>)");
  });

  it("outside the quick path too (a Rule's title)", () => {
    const doc = Buffer.from(testResult(good).replace("<title>One &amp; only</title>", `<title>One &#65 only</title>\n${filler}\n<title>a;b</title>`));
    for (const quick of [true, false]) {
      const { error } = read(doc, doc.length, quick);
      expect(error!.message).toMatch(/^'&' that does not start a reference \(write &amp;\)$/);
      expect(error!.position).toMatchObject({ line: 2 });
    }
  });
});
