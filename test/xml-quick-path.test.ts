import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { XmlScanner } from "../src/xml/scanner.js";
import { XccdfReader } from "../src/readers/xccdf/reader.js";
import { PipeError } from "../src/errors.js";
import { FIXTURES, ROOT } from "./helpers/paths.js";

/**
 * Runs the reader over `doc` cut into `size`-byte chunks (or at the offsets
 * given), with or without the quick path; returns its lines and its error.
 */
function read(doc: Buffer, size: number | number[], quick: boolean | string[], includeNotselected = false): { lines: string; error?: PipeError } {
  const reader = new XccdfReader({ includeNotselected });
  const scanner = new XmlScanner(reader, { quick: quick === true ? ["TestResult"] : quick || [] });
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

/** saxes's whole-document reading of `doc`: its lines parsed, after checking it read without a fault. */
function referenceOf(doc: Buffer) {
  const reference = read(doc, doc.length, false);
  expect(reference.error).toBeUndefined();
  return { reference, lines: reference.lines.trim().split("\n").map((l) => JSON.parse(l)) };
}

/** The same reading, in chunks of every size from 1 to 97 bytes and a few larger ones (UTF-8 split too). */
function expectSameInEveryChunking(doc: Buffer, reference: ReturnType<typeof read>, quick: boolean | string[]) {
  for (let size = 1; size <= 97; size++) expect(read(doc, size, quick), `chunks of ${size}`).toEqual(reference);
  for (const size of [256, 4093, 65_536]) expect(read(doc, size, quick), `chunks of ${size}`).toEqual(reference);
}

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
    const { reference, lines } = referenceOf(doc);
    expect(lines.map((l) => [l.rule_ref, l.status])).toEqual([
      ["r1", "fail"],
      ["r2", "pass"],
      ["r3", "skip"],
      ["r4", "pass"],
    ]);
    expect(lines[0]).toMatchObject({ title: "One & only", severity: "high", finding: 'a <b> & "c" é中 <raw> & end', idents: [{ system: "a&b\tc line", value: "CCE-1" }] });
    expect(lines[1].finding).toBe("crlf line");
    expectSameInEveryChunking(doc, reference, true);
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

describe("quick path for Benchmark content (Groups, Rules, Values, a TestResult inside)", () => {
  const QUICK = ["Benchmark", "TestResult"];
  const benchmark = (rules: string, results = `<rule-result idref="r1"><result>fail</result></rule-result>`) =>
    `<?xml version="1.0"?>\n<!-- before -->\n<Benchmark xmlns="${NS}" xmlns:h="http://www.w3.org/1999/xhtml" id="b"><status>draft</status><title>B &amp; co</title><version>1.0</version>\n` +
    `<platform idref="cpe:/o:debian:debian_linux:11"/><Profile id="p"><title xml:lang="en">P</title><select idref="r1" selected="true"/></Profile>\n` +
    `<Value id="v1" type="number"><title>V</title><value selector="a">1</value><value>022</value></Value>\n${rules}\n` +
    `<TestResult id="t" start-time="2024-01-01T00:00:00Z"><benchmark href="#b" id="b"/><profile idref="p"/><target>host</target>\n${results}\n</TestResult></Benchmark>\n`;
  const tricky = benchmark(
    [
      `<Group id="g1"><title>G</title><description>group <h:p>text</h:p></description><Group id="g2">`,
      `<Rule id="r1" severity = 'high'\n  selected="true"><title xml:lang="fr">Un</title><title xml:lang="en-US">One &amp; &#x4E2D;</title>`,
      `<description>Set <h:code>umask</h:code> to <sub idref="v1"/>;<h:br/>then <h:pre>a &lt; b\r\n  c</h:pre><![CDATA[<raw> & ]]><!-- <p> --><?pi x?> done</description>`,
      `<rationale xmlns:x="urn:x"><x:p>Because</x:p> hôte 名前 😀</rationale><ident system="https://cce">CCE-1</ident>`,
      `<reference href="https://www.cisecurity.org/benchmark/debian_linux/">1.2.3</reference><reference href="h">a\tb</reference>`,
      `<fixtext>do it</fixtext><fix system="urn:bash">echo 'a &gt; b'</fix><fix system="urn:ansible">- name: x</fix>`,
      `<check system="oval"><check-content-ref name="oval:x:def:1" href="o.xml"/></check></Rule></Group>`,
      `<Rule id="r2" severity="low"><title>Two</title><description><h:ul><h:li>one</h:li><h:li>two</h:li></h:ul></description></Rule></Group>`,
    ].join("\n"),
    [`<rule-result idref="r1"><result>fail</result><message>m</message></rule-result>`, `<rule-result idref="r2"><result>pass</result></rule-result>`].join("\n"),
  );

  it("gives saxes's lines, whatever the chunk size", () => {
    const doc = Buffer.from(tricky);
    const { reference, lines } = referenceOf(doc);
    expect(lines.map((l) => [l.rule_ref, l.status])).toEqual([
      ["r1", "fail"],
      ["r2", "pass"],
    ]);
    expect(lines[0]).toMatchObject({ title: "One & 中", description: "Set umask to 022; then a < b c <raw> & done", remediation: expect.stringContaining("do it") });
    expect(lines[1].description).toBe("one two");
    expectSameInEveryChunking(doc, reference, QUICK);
  });

  it("gives saxes's lines on the real fixtures and the bundled real scan", () => {
    const files = ["foreman_openscap__arf_report_firefox.xml", "heimdall2__xccdf-results-scc-rhel8.xml", "openscap__multiple-testresults.xml", "compliance-operator__xccdf-result-testresult-root.xml", "openscap__xccdf11-results.xml", "openscap__rds_index_simple_arf.xml"];
    const docs = files.map((file) => [file, readFileSync(join(FIXTURES, "xccdf", file))] as const);
    docs.push(["bundled Debian 11 scan", gunzipSync(readFileSync(join(ROOT, "examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz")))]);
    for (const [file, doc] of docs) {
      const reference = read(doc, doc.length, false);
      expect(reference.error, file).toBeUndefined();
      for (const size of [997, 4096, 65_536]) expect(read(doc, size, QUICK), `${file} in chunks of ${size}`).toEqual(reference);
    }
  });

  it("words faults inside a Rule as saxes does, at the same place, wherever the chunks fall", () => {
    const faults = [
      `<title>&nbsp;</title>`,
      `<title>a & b</title>`,
      `<title>x</description>`,
      `<title bad=x>t</title>`,
      `<title a="1" a="2">t</title>`,
      `<1x/>`,
      `<title>&#0;</title>`,
      `<!DOCTYPE x>`,
    ];
    for (const fault of faults) {
      const doc = Buffer.from(benchmark(`<Group id="g"><Rule id="r1"><description>long ${"text ".repeat(40)}</description>\n${fault}</Rule></Group>`));
      const saxes = read(doc, doc.length, false);
      expect(saxes.error, fault).toBeInstanceOf(PipeError);
      // cut inside the Rule (the quick path takes over there) and elsewhere
      const inRule = doc.indexOf("</description>") + 14;
      for (const cuts of [[inRule], [doc.indexOf("<Rule") + 5], [inRule - 30], 61]) {
        const quick = read(doc, cuts, QUICK);
        expect(quick.error?.message, `${fault}, cut at ${cuts}`).toBe(saxes.error!.message);
        expect(quick.error?.position, `${fault}, cut at ${cuts}`).toEqual(saxes.error!.position);
      }
    }
  });
});

describe("notselected rule-results passed over whole", () => {
  const notselected = [
    `<rule-result idref="n1" role="full" time="2024-01-01T00:00:00+00:00" severity="medium" weight="1.000000">\n  <result>notselected</result>\n</rule-result>`,
    `<rule-result idref="n2"><result>notselected</result></rule-result >`,
    `<x:rule-result xmlns:x="${NS}" idref="n3"><x:result>notselected</x:result></x:rule-result>`,
    `<rule-result severity="low" idref="n4"><result>notselected</result></rule-result>`,
    `<rule-result idref="n5"><result>notselected</result><message>why</message></rule-result>`,
    `<rule-result idref="n6" role="a&amp;b"><result>notselected</result></rule-result>`,
    `<rule-result idref="n7"><result>notselected</result></rule-result><rule-result idref="r1"><result>pass</result></rule-result>`,
  ].join("\n");

  it("give saxes's lines (none, or with --include-notselected each one), whatever the chunk size", () => {
    const doc = Buffer.from(testResult(notselected));
    for (const includeNotselected of [false, true]) {
      const reference = read(doc, doc.length, false, includeNotselected);
      expect(reference.error).toBeUndefined();
      expect(reference.lines.trim().split("\n").length).toBe(includeNotselected ? 8 : 1);
      for (let size = 1; size <= 97; size += 3) expect(read(doc, size, true, includeNotselected), `chunks of ${size}`).toEqual(reference);
      expect(read(doc, 65_536, true, includeNotselected)).toEqual(reference);
    }
  });

  it("are read as usual when a value is over --max-field: the same truncation is told of", () => {
    const doc = Buffer.from(testResult(`${notselected}\n<rule-result idref="a-rule-id-longer-than-that"><result>notselected</result></rule-result>`));
    const told = (quick: string[]) => {
      const truncated: string[] = [];
      const reader = new XccdfReader({ maxField: 12, onTruncated: (what) => truncated.push(what) });
      const scanner = new XmlScanner(reader, { quick });
      reader.attach(scanner);
      const cut = doc.indexOf("<target>");
      scanner.write(doc.subarray(0, cut));
      scanner.write(doc.subarray(cut));
      scanner.end();
      return truncated;
    };
    expect(told([])).toContain("@idref");
    expect(told(["TestResult"])).toEqual(told([]));
  });

  it("are read as usual when they hold a fault: the same fault, at the same place", () => {
    const faults = [
      `<rule-result idref="a" idref="b"><result>notselected</result></rule-result>`,
      `<rule-result idref="a"><result>notselected</result></rule-resul>`,
      `<rule-result idref="a&bogus;"><result>notselected</result></rule-result>`,
      `<rule-result idref="a"><result>notselected</resul></rule-result>`,
      `<rule-result idref="a" role=full><result>notselected</result></rule-result>`,
    ];
    const good = `<rule-result idref="r1"><result>pass</result></rule-result>\n`;
    for (const fault of faults) {
      const doc = Buffer.from(testResult(good + fault));
      const saxes = read(doc, doc.length, false).error;
      const quick = read(doc, [doc.indexOf("</rule-result>") + 14], true).error;
      expect(saxes, fault).toBeInstanceOf(PipeError);
      expect(quick?.message, fault).toBe(saxes!.message);
      expect(quick?.position, fault).toEqual(saxes!.position);
    }
  });
});

describe("positions after the quick path or a skip hand the input back to saxes", () => {
  it("a fault on the same line as the end tag is placed as saxes alone places it, wherever the chunks fell", () => {
    const docs = [
      `<?xml version="1.0"?>\n<c><Benchmark xmlns="${NS}" id="b"><Group id="g"><Rule id="r1"><title>T</title></Rule></Group></Benchmark><x a=1/></c>\n`,
      `<?xml version="1.0"?>\n<c><TestResult xmlns="${NS}" id="t"><rule-result idref="r"><result>pass</result></rule-result></TestResult><x a=1/></c>\n`,
      `<?xml version="1.0"?>\n<c xmlns:o="urn:o"><TestResult xmlns="${NS}" id="t"><target>h</target></TestResult><o:oval_definitions> <o:x>y</o:x>\n <o:x>z</o:x> </o:oval_definitions><x a=1/></c>\n`,
    ];
    for (const text of docs) {
      const doc = Buffer.from(text);
      const col = text.indexOf("a=1") + 2 - text.lastIndexOf("\n", text.indexOf("a=1"));
      const line = text.slice(0, text.indexOf("a=1")).split("\n").length;
      for (let cut = 30; cut < text.indexOf("<x a"); cut += 7) {
        for (const quick of [[], ["Benchmark", "TestResult"]]) {
          const { error } = read(doc, [cut], quick);
          expect(error?.message, `${text}, cut at ${cut}`).toBe("attribute a of <x> is not quoted");
          expect(error?.position, `${text}, cut at ${cut}, quick ${quick}`).toMatchObject({ line, col });
        }
      }
    }
  });
});
