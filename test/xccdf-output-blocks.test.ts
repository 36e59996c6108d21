import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { xccdfToNdjson, type XccdfToRulesOptions } from "../src/readers/xccdf/document.js";
import { OutputBlocks } from "../src/streams/byte-lines.js";
import { ROOT } from "./helpers/paths.js";
import { inSlices } from "./helpers/chunks.js";

const gz = (path: string) => gunzipSync(readFileSync(join(ROOT, path)));
/** Real scans: the Ubuntu 22.04 CIS one (~10 KB lines, 592 Rules) and the bundled Debian 11 one. */
const CIS = gz("test/data/ubuntu2204-cis-level2-server.arf.gz");
const BUNDLED = gz("examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz");

/**
 * The lines, read as a writer would: each part copied, and released three
 * parts later, when it is checked again. A block reused too early (written
 * over while a part from it waited, in the reader's queue or here) shows as
 * an overwritten part or a different text.
 */
async function written(doc: Buffer, opts: XccdfToRulesOptions, chunk: number): Promise<{ text: string; overwritten: number }> {
  const copies: Buffer[] = [];
  const waiting: { part: Buffer; copy: Buffer }[] = [];
  let overwritten = 0;
  const release = () => {
    const { part, copy } = waiting.shift()!;
    if (!part.equals(copy)) overwritten++;
    opts.blocks?.release(part);
  };
  for await (const part of xccdfToNdjson(inSlices(doc, chunk), opts)) {
    const copy = Buffer.from(part);
    copies.push(copy);
    waiting.push({ part, copy });
    if (waiting.length > 3) release();
  }
  while (waiting.length) release();
  return { text: Buffer.concat(copies).toString("utf8"), overwritten };
}

describe("xccdf2rules's output blocks, reused once written (OutputBlocks)", () => {
  for (const [name, doc] of [
    ["the Ubuntu CIS scan", CIS],
    ["the bundled Debian scan", BUNDLED],
  ] as const) {
    for (const evidence of ["fail", "all", "none"] as const) {
      it(`gives the same lines as fresh blocks: ${name}, --evidence ${evidence}, odd chunk sizes`, async () => {
        for (const chunk of [65_536, 7_919]) {
          const fresh = await written(doc, { evidence }, chunk);
          // lines held for evidence are written late, many at once: the case where parts wait longest
          const reused = await written(doc, { evidence, blocks: new OutputBlocks(), heldBytes: 10_000 }, chunk);
          expect(fresh.text.split("\n").length).toBeGreaterThan(50);
          expect(reused.overwritten).toBe(0);
          expect(reused.text).toBe(fresh.text);
        }
      });
    }
  }

  it("the command writes the same bytes to a pipe as the library yields (blocks released after each write)", async () => {
    const expected = (await written(CIS, {}, 65_536)).text;
    const run = spawnSync(join(ROOT, "bin/xccdf2rules"), ["-"], { input: CIS, maxBuffer: 1 << 30 });
    expect(run.status).toBe(0);
    expect(run.stdout.toString("utf8")).toBe(expected);
  });
});
