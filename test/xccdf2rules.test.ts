import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { xccdfToRules } from "../src/readers/xccdf/document.js";
import { PipeError } from "../src/errors.js";
import { FIXTURES } from "./helpers/paths.js";
import { drain, inSlices } from "./helpers/chunks.js";

const fixture = (name: string) => readFileSync(join(FIXTURES, "xccdf", name));

describe("xccdfToRules chunk boundaries", () => {
  const files = ["foreman_openscap__arf_report_firefox.xml", "heimdall2__xccdf-results-scc-rhel8.xml", "openscap__multiple-testresults.xml", "openscap-report__arf_rule_and_cpe_check.xml"];
  for (const file of files) {
    it(`${file}: same lines whatever the chunk size`, async () => {
      const data = fixture(file);
      const whole = await drain(xccdfToRules(inSlices(data, data.length)));
      expect(whole.error).toBeUndefined();
      expect(whole.items.length).toBeGreaterThan(0);
      for (const size of [7, 113, 4093, 65_537]) {
        const sliced = await drain(xccdfToRules(inSlices(data, size)));
        expect(sliced.error).toBeUndefined();
        expect(sliced.items).toEqual(whole.items);
      }
    });
  }

  it("keeps multi-byte UTF-8 characters whole when fed one byte at a time", async () => {
    const doc = Buffer.from(
      `<TestResult xmlns="http://checklists.nist.gov/xccdf/1.2" id="t" start-time="2024-01-01T00:00:00Z" end-time="2024-01-01T00:00:00Z"><target>hôte-名前-😀</target>` +
        `<rule-result idref="r"><result>fail</result><message severity="info">Überprüfung fehlgeschlagen — 失败</message></rule-result></TestResult>`,
    );
    const { items, error } = await drain(xccdfToRules(inSlices(doc, 1)));
    expect(error).toBeUndefined();
    expect(items).toHaveLength(1);
    expect(items[0].target).toBe("hôte-名前-😀");
    expect(items[0].finding).toBe("Überprüfung fehlgeschlagen — 失败");
  });
});

describe("xccdfToRules skipped regions", () => {
  const head = `<?xml version="1.0"?>\n<arf:asset-report-collection xmlns:arf="http://scap.nist.gov/schema/asset-reporting-format/1.1">\n<arf:reports>\n<arf:report id="xccdf1"><arf:content>\n<TestResult xmlns="http://checklists.nist.gov/xccdf/1.2" id="t" start-time="2024-01-01T00:00:00Z" end-time="2024-01-01T00:00:00Z"><target>h</target>\n<rule-result idref="r1"><result>pass</result></rule-result>\n</TestResult>\n</arf:content></arf:report>\n`;
  const oval = (body: string) => `<arf:report id="oval0"><arf:content><oval_results xmlns="http://oval.mitre.org/XMLSchema/oval-results-5">\n${body}\n</oval_results></arf:content></arf:report>\n`;
  const tail = `</arf:reports>\n</arf:asset-report-collection>\n`;

  it("passes over an OVAL region holding a 40 MB text node and malformed markup it never parses", async () => {
    const big = "x".repeat(40 * 1024 * 1024);
    const doc = Buffer.from(head + oval(`<system_data><item>${big}</item> <not-closed> & </oval_resultsX> </system_data>`) + head.replace(/^[\s\S]*?<arf:report id="xccdf1">/, '<arf:report id="xccdf2">').replace('id="t"', 'id="t2"') + tail);
    for (const size of [65_536, 1_000_003]) {
      const { items, error } = await drain(xccdfToRules(inSlices(doc, size)));
      expect(error).toBeUndefined();
      expect(items.map((r) => r.test_result_id)).toEqual(["t", "t2"]);
    }
  });

  it("finds the end tag when a chunk boundary cuts it anywhere", async () => {
    const doc = Buffer.from(head + oval("<definitions><definition id='d'/></definitions>") + tail);
    const endTag = doc.indexOf("</oval_results>");
    for (let cut = endTag - 2; cut <= endTag + 16; cut++) {
      const { items, error } = await drain(xccdfToRules((async function* () {
        yield doc.subarray(0, cut);
        yield doc.subarray(cut);
      })()));
      expect(error, `cut at ${cut}`).toBeUndefined();
      expect(items).toHaveLength(1);
    }
  });

  it("counts the skipped lines in error positions", async () => {
    const lines = Array.from({ length: 500 }, (_, i) => `<v n="${i}"/>`).join("\n");
    const before = head + oval(lines) + "<extra>\n";
    const doc = `${before}  </wrong>\n${tail}`;
    const { items, error } = await drain(xccdfToRules(inSlices(Buffer.from(doc), 4096)));
    expect(items).toHaveLength(1);
    expect(error).toBeInstanceOf(PipeError);
    expect((error as PipeError).message).toBe("unexpected close tag </wrong> (open element is <extra>)");
    expect((error as PipeError).position).toMatchObject({ line: before.split("\n").length, col: 3 });
  });

  it("reports truncation inside a skipped region", async () => {
    const doc = head + oval("<a>\n<b>\n<c/></b></a>");
    const { items, error } = await drain(xccdfToRules(inSlices(Buffer.from(doc).subarray(0, doc.indexOf("<c/>") + 2), 64)));
    expect(items).toHaveLength(1);
    expect(error?.message).toMatch(/unexpected end of input inside <oval_results>/);
  });
});

describe("xccdfToRules leading and trailing text", () => {
  it("skips oscap's rule lines before the XML and counts the bytes", async () => {
    const preface = "--- Starting Evaluation ---\n\nTitle\tA <weird> title\nRule\tr1\nResult\tpass\n\n";
    const doc = `<TestResult xmlns="http://checklists.nist.gov/xccdf/1.2" id="t" start-time="2024-01-01T00:00:00Z" end-time="2024-01-01T00:00:00Z"><target>h</target><rule-result idref="r1"><result>pass</result></rule-result></TestResult>\n`;
    const warnings: string[] = [];
    const { items, error } = await drain(xccdfToRules(inSlices(Buffer.from(preface + doc + "Result\tpass\n\n"), 5), { onWarning: (w) => warnings.push(w) }));
    expect(error).toBeUndefined();
    expect(items).toHaveLength(1);
    expect(warnings).toEqual([`stdin: skipped ${Buffer.byteLength(preface)} bytes of non-XML text before the document`, "stdin: ignored non-XML text after the end of the document"]);
  });
});

describe("xccdfToRules references", () => {
  const NS = "http://checklists.nist.gov/xccdf/1.2";
  const doc = (rule: string) =>
    Buffer.from(`<?xml version="1.0"?>\n<Benchmark xmlns="${NS}" id="b">\n${rule}\n<TestResult id="t"><target>h</target>\n<rule-result idref="r"><result>pass</result></rule-result>\n</TestResult></Benchmark>\n`);
  const bare: [string, string, number, number][] = [
    ["with no ';' after it", `<Rule id="r"><title>cats & dogs</title><description>x</description></Rule>`, 3, 26],
    ["with a ';' later in the text", `<Rule id="r"><title>cats & dogs; and</title></Rule>`, 3, 26],
    ["before a good reference", `<Rule id="r"><title>x & y &amp; z</title></Rule>`, 3, 23],
    ["in an attribute value", `<Rule id="a&b"><title>t</title></Rule>`, 3, 12],
    ["on a later line of a text", `<Rule id="r"><title>x &amp; y</title><description>one\nline & two\nthree</description></Rule>`, 4, 6],
  ];
  for (const [what, rule, line, col] of bare) {
    // saxes would read on from it to the next ';' or the end of the input, and fail there
    it(`reports a bare '&' ${what} at the '&', whatever the chunk size`, async () => {
      for (const size of [1, 7, 64, 65_536]) {
        const { error } = await drain(xccdfToRules(inSlices(doc(rule), size)));
        expect(error?.message, `chunks of ${size}`).toBe("'&' that does not start a reference (write &amp;)");
        expect(error?.position, `chunks of ${size}`).toMatchObject({ line, col });
      }
    });
  }

  it("takes '&' in comments and CDATA as it is", async () => {
    const { items, error } = await drain(xccdfToRules(inSlices(doc(`<Rule id="r"><!-- a & b --><title><![CDATA[x & y]]> &amp; ok</title></Rule>`), 7)));
    expect(error).toBeUndefined();
    expect(items.map((r) => r.title)).toEqual(["x & y & ok"]);
  });
});
