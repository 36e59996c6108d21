import { readFileSync, readdirSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { xccdfToNdjson } from "../src/readers/xccdf/document.js";
import { XmlScanner, plainStart } from "../src/xml/scanner.js";
import { drain, inSlices } from "./helpers/chunks.js";
import { FIXTURES, ROOT } from "./helpers/paths.js";
import { seeded } from "./helpers/seeded.js";

// A report that begins as oscap writes one is read without saxes (XmlScanner.startWithoutSaxes): its
// root's start tag opened by the scanner, its end tag closed by it. Whatever the input, the lines,
// warnings, fault and its position must be those of the reading that starts with saxes.

async function run(doc: Buffer, chunk: number, withoutSaxes: boolean) {
  plainStart.enabled = withoutSaxes;
  const warnings: string[] = [];
  const { items, error } = await drain(xccdfToNdjson(inSlices(doc, chunk), { source: "doc", onWarning: (w) => warnings.push(w) }));
  return { text: Buffer.concat(items).toString(), warnings, error: error && { message: error.message, position: error.position } };
}

afterEach(() => {
  plainStart.enabled = true;
  vi.restoreAllMocks();
});

describe("a report that begins as oscap writes one, read without saxes", () => {
  const reports = readdirSync(join(FIXTURES, "xccdf")).map((name) => readFileSync(join(FIXTURES, "xccdf", name)));
  reports.push(gunzipSync(readFileSync(join(ROOT, "test/data/ubuntu2204-cis-level2-server.arf.gz"))));

  it("is how most real reports begin, and saxes then reads none of them", async () => {
    // the document's scanner: the first to be written to (a kept Rule read in place has a scanner of its own)
    let scanner: XmlScanner | undefined;
    const write = XmlScanner.prototype.write;
    vi.spyOn(XmlScanner.prototype, "write").mockImplementation(function (this: XmlScanner, chunk) {
      scanner ??= this;
      write.call(this, chunk);
    });
    let plain = 0;
    for (const doc of reports) {
      scanner = undefined;
      const { error } = await run(doc, 65_536, true);
      expect(error).toBeUndefined();
      if (!scanner!.readBySaxes) plain++;
    }
    expect(plain).toBeGreaterThanOrEqual(reports.length - 3);
  });

  it("gives the lines, warnings and faults of the reading that starts with saxes: cut, flipped, with text around", async () => {
    const random = seeded(14);
    const variants: Buffer[] = [];
    // the reports of up to 300 KB (the larger ones, read whole above, only make this slower)
    for (const doc of reports.filter((report) => report.length <= 300_000)) {
      variants.push(doc, Buffer.concat([Buffer.from("\n \n"), doc]), Buffer.concat([Buffer.from("oscap's text\n"), doc]));
      for (const after of ["<!-- c -->\n", "text", "<?pi x?>", "<!-- open", "\n<!-- a -->\n<?b?>\n"]) variants.push(Buffer.concat([doc, Buffer.from(after)]));
      const head = doc.indexOf(">", doc.indexOf("?>") + 2) + 1;
      // the root's start tag and what comes just before and after it
      for (const at of [head, head - 1, head - 5, head + 1, 40]) {
        for (const byte of ["\r", "\t", "&", "<", "\u00e9", "\u0001"]) variants.push(Buffer.concat([doc.subarray(0, at), Buffer.from(byte), doc.subarray(at)]));
      }
      for (let k = 0; k < 4; k++) {
        variants.push(doc.subarray(0, Math.floor(random() * doc.length)));
        const flipped = Buffer.from(doc);
        flipped[Math.floor(random() * doc.length)] = "<>&\"' x\n"[Math.floor(random() * 8)].charCodeAt(0);
        variants.push(flipped);
      }
    }
    for (const [i, doc] of variants.entries()) {
      for (const chunk of [7, 997, 65_536]) {
        const withSaxes = await run(doc, chunk, false);
        expect(await run(doc, chunk, true), `variant ${i}, chunks of ${chunk}`).toEqual(withSaxes);
      }
    }
  });
});
