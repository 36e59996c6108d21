import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { resolve } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { xccdfToNdjson } from "../src/readers/xccdf/document.js";
import { collapse } from "../src/readers/xccdf/fields.js";
import { XccdfReader } from "../src/readers/xccdf/reader.js";
import { inSlices } from "./helpers/chunks.js";
import { ROOT } from "./helpers/paths.js";

// A kept Rule in the usual shape is read straight from its text (src/readers/xccdf/plain-rule.ts);
// anything else goes to the element-by-element reading. The yardstick is every Rule read in place.

async function lines(data: Buffer, keepRules: boolean, maxField?: number): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of xccdfToNdjson(inSlices(data, 4099), { source: "doc", keepRules, maxField })) parts.push(Buffer.from(part));
  return Buffer.concat(parts).toString("utf8");
}

/** Counts the kept Rules read element by element (the plain reading declined them). */
function countInPlace(): { calls: number } {
  const count = { calls: 0 };
  const proto = XccdfReader.prototype as unknown as { readKeptInPlace: (...args: unknown[]) => unknown };
  const original = proto.readKeptInPlace;
  vi.spyOn(proto, "readKeptInPlace").mockImplementation(function (this: unknown, ...args: unknown[]) {
    count.calls++;
    return original.apply(this, args);
  });
  return count;
}

afterEach(() => {
  vi.restoreAllMocks();
});

const doc = (rules: string, results: string) =>
  `<?xml version="1.0"?>\n<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" xmlns:h="http://www.w3.org/1999/xhtml" id="b">\n` +
  `<Value id="v"><value>42</value></Value>\n${rules}\n<TestResult id="t">\n${results}\n</TestResult>\n</Benchmark>\n`;

describe("a kept Rule in the usual shape, read straight from its text", () => {
  it("is how every Rule the real SSG scans name is read, with the bytes of the reading in place", async () => {
    for (const path of ["examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz", "test/data/ubuntu2204-cis-level2-server.arf.gz"]) {
      const data = gunzipSync(readFileSync(resolve(ROOT, path)));
      const inPlace = await lines(data, false);
      const count = countInPlace();
      expect(await lines(data, true), path).toBe(inPlace);
      expect(count.calls, path).toBe(0);
      vi.restoreAllMocks();
    }
  });

  // [Rule content, read straight from its text?]
  const shapes: [string, boolean][] = [
    [`<title xml:lang="fr">Titre</title><title xml:lang="en-US">Title</title>`, true],
    [`<title>T</title><description><h:p>one</h:p><h:p>two <h:code>x</h:code></h:p>&amp;&lt;&#x41;&#66;<h:br/>end</description>`, true],
    [`<title>T</title><description>a <sub idref="v"/> b <sub idref="unknown"/></description><rationale> spaced\n  out </rationale>`, true],
    [`<title>T</title><fix system="urn:x">  echo <sub idref="v" use="legacy"/><h:br/>next\r\nline  </fix><fix>second</fix>`, true],
    [`<title>T</title><fixtext>text first</fixtext><fix>then a script</fix><fixtext>again</fixtext>`, true],
    [`<title>T</title><reference href="u">a\r\nb</reference><reference href="v"/><ident system="s"> CCE-1 </ident><ident system="s"></ident>`, false],
    [`<title>T</title><reference href="u">a\r\nb</reference><ident system="s"> CCE-1 </ident><ident system="s">  </ident>`, true],
    [`<title>T</title><check system="oval"><check-content-ref name="x" href="y"/><h:odd>&bogus;</h:odd></check><platform idref="p"/><warning>w <h:b>b</h:b></warning>`, true],
    [`text between & children <title>T</title> more text`, true],
    // references: the plain ones in one pattern each, the others as any child
    [`<title>T</title><reference href="u">a > b</reference><reference href="v">end tag </reference ><reference href="w" >x</reference>`, true],
    [`<title>T</title><unknown>child</unknown>`, false],
    [`<title>T</title><description xmlns:x="urn:x">declares</description>`, false],
    [`<title>T</title><description>a<description>nested</description>c</description>`, false],
    [`<title/>`, false],
    [`<title>T</title><reference href="a&amp;b">entity in a value</reference>`, false],
    [`<title\n  xml:lang="en">multi-line tag</title>`, false],
    [`<title>T</title><description>${"long ".repeat(30)}</description>`, false],
  ];

  it("agrees with the reading in place on every shape, and declines what it does not read exactly", async () => {
    for (const [content, plain] of shapes) {
      const data = Buffer.from(doc(`<Rule id="r" severity="medium">${content}</Rule>`, `<rule-result idref="r"><result>fail</result></rule-result>`));
      // a small --max-field for the last shape, whose description is over it
      const inPlace = await lines(data, false, 100);
      const count = countInPlace();
      expect(await lines(data, true, 100), content).toBe(inPlace);
      expect(count.calls === 0, content).toBe(plain);
      vi.restoreAllMocks();
    }
  });

  it("flattens markup as a capture does: a space at each XHTML block's start and end, a sub replaced by its Value", async () => {
    const content = `<title>T</title><description>a<h:p>b</h:p>c<h:code>d</h:code>e <sub idref="v"/></description><fix>x<h:br/>y</fix>`;
    const data = Buffer.from(doc(`<Rule id="r">${content}</Rule>`, `<rule-result idref="r"><result>fail</result></rule-result>`));
    const line = JSON.parse(await lines(data, true));
    expect(line.description).toBe("a b cde 42");
    // a fix is trimmed, not collapsed: the empty block gives two spaces, as in place
    expect(line.remediation).toBe("x  y");
  });
});

describe("collapse", () => {
  it("gives what collapsing every run of whitespace and trimming gives, copying only texts it changes", () => {
    const pieces = ["a", "b", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u2028", "\ufeff", "CCI-000366"];
    // a fixed pseudo-random walk, so that a failure is the same on every run
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) % pieces.length;
    for (let i = 0; i < 20_000; i++) {
      let text = "";
      for (let n = i % 7; n > 0; n--) text += pieces[next()];
      expect(collapse(text), JSON.stringify(text)).toBe(text.replace(/\s+/g, " ").trim());
    }
  });
});
