import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { xccdfToNdjson, type XccdfToRulesOptions } from "../src/readers/xccdf/document.js";
import { ROOT } from "./helpers/paths.js";
import { drain, inSlices } from "./helpers/chunks.js";

const WORKER = new URL(`file://${join(ROOT, "dist/readers/xccdf/batch-worker.js")}`);
const NS = "http://checklists.nist.gov/xccdf/1.2";
const rr = (id: string, result: string) => `<rule-result idref="${id}"><result>${result}</result></rule-result>`;
const doc = (results: string[]) => Buffer.from(`<?xml version="1.0"?>\n<TestResult xmlns="${NS}" id="t"><target>h</target>\n${results.join("\n")}\n</TestResult>\n`);

async function run(input: Buffer, chunk: number, opts: XccdfToRulesOptions = {}) {
  const warnings: string[] = [];
  const { items, error } = await drain(xccdfToNdjson(inSlices(input, chunk), { ...opts, onWarning: (w) => warnings.push(w) }));
  return { text: Buffer.concat(items).toString(), warnings, error };
}

describe("a scan whose every selected rule is notapplicable", () => {
  const many = (n: number, last = "notapplicable") => Array.from({ length: n }, (_, k) => rr(`r${k}`, k === n - 1 ? last : "notapplicable"));
  const warning = (n: number) => `stdin: all ${n} rules are notapplicable: the content probably does not match this host (CPE platform)`;

  it("is warned about once, whatever the chunks and threads, and its lines are unchanged", async () => {
    const input = doc(many(189));
    const plain = await run(input, 65_536);
    expect(plain.warnings).toEqual([warning(189)]);
    expect(plain.text.split("\n").filter(Boolean)).toHaveLength(189);
    for (const [chunk, jobs] of [[97, 1], [500, 2], [4096, 2]]) {
      expect(await run(input, chunk, { jobs, batchChars: 300, workerUrl: WORKER })).toEqual(plain);
    }
  });

  it("counts the selected rules only, with --include-notselected", async () => {
    const { warnings } = await run(doc([...many(3), rr("x", "notselected")]), 50, { includeNotselected: true });
    expect(warnings).toEqual([warning(3)]);
  });

  it("is not warned about when one rule applies, however late, or when the document fails", async () => {
    expect((await run(doc(many(189, "pass")), 1000, { jobs: 2, batchChars: 300, workerUrl: WORKER })).warnings).toEqual([]);
    expect((await run(doc(many(5, "error")), 64)).warnings).toEqual([]);
    const broken = await run(doc(many(5)).subarray(0, 200), 64);
    expect(broken.error).toBeDefined();
    expect(broken.warnings).toEqual([]);
  });
});
