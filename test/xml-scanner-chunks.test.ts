import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { resolve } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { xccdfToNdjson } from "../src/readers/xccdf/document.js";
import { QuickPath } from "../src/xml/quick-path.js";
import { safeTextEnd } from "../src/xml/syntax.js";
import { inSlices } from "./helpers/chunks.js";
import { ROOT } from "./helpers/paths.js";

// XmlScanner decodes each chunk up to its last `>` and carries the bytes after it (and what the quick
// path waits on, a Rule cut by the chunk's end) to the front of the next chunk (XmlScanner.decode).
// Whatever the chunks, the lines are those of the document read in one piece.

async function lines(data: Buffer, chunk: number): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of xccdfToNdjson(inSlices(data, chunk), { source: "doc" })) parts.push(Buffer.from(part));
  return Buffer.concat(parts).toString("utf8");
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("chunks decoded up to their last '>'", () => {
  it("give the lines of the whole document, with characters of 2 to 4 bytes cut anywhere, and text with no '>' for longer than a tail", async () => {
    const words = "é 日本 😀 plain ";
    const rules = Array.from({ length: 40 }, (_, i) => `<Rule id="r${i}"><title>Règle ${i} ${words}</title><description>${words.repeat(200 + i * 10)}<h:b>${words}</h:b></description></Rule>`).join("\n");
    // 40 KB of text holding no '>' (more than the 16 KB carried): decoded at once, a character possibly cut
    const long = `<Value id="v"><value>${words.repeat(3000)}</value></Value>`;
    const results = Array.from({ length: 40 }, (_, i) => `<rule-result idref="r${i}"><result>fail</result><message>${words}&lt;${i}&gt;</message></rule-result>`).join("\n");
    const data = Buffer.from(
      `<?xml version="1.0"?>\n<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" xmlns:h="http://www.w3.org/1999/xhtml" id="b">\n${long}\n${rules}\n<TestResult id="t">\n${results}\n</TestResult>\n</Benchmark>\n`,
    );
    const whole = await lines(data, data.length);
    expect(whole.trim().split("\n")).toHaveLength(40);
    for (const chunk of [1, 2, 3, 5, 997, 4099, 16_385, 65_536]) expect(await lines(data, chunk), `chunks of ${chunk}`).toBe(whole);
  });

  it("hand what the quick path waits on back as bytes: on a real ARF, the Rules cut by a chunk's end", async () => {
    const data = gunzipSync(readFileSync(resolve(ROOT, "test/data/ubuntu2204-cis-level2-server.arf.gz")));
    const taken = vi.spyOn(QuickPath.prototype, "takeCarried");
    const text = await lines(data, 1 << 16);
    expect(taken.mock.calls.length).toBeGreaterThan(50);
    vi.restoreAllMocks();
    expect(text).toBe(await lines(data, data.length));
  });
});

describe("safeTextEnd (where buffered text may be cut)", () => {
  it("cuts before a trailing reference that may be incomplete, and only one after `from`", () => {
    expect(safeTextEnd("<a>x &amp; y &l", 3)).toBe(13);
    expect(safeTextEnd("<a>x &amp; y &lt;", 3)).toBe(17);
    expect(safeTextEnd("<a>x &amp; y", 3)).toBe(12);
    // an `&` before `from` is not the text's
    expect(safeTextEnd("<a b='&'>text", 9)).toBe(13);
    expect(safeTextEnd("&&&", 1)).toBe(2);
    expect(safeTextEnd("text\r", 0)).toBe(4);
    expect(safeTextEnd("text &amp\r", 0)).toBe(5);
  });
});
