import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { xccdfToRules } from "../src/readers/xccdf/document.js";
import type { RuleResult } from "../src/types.js";
import { FIXTURES, ROOT } from "./helpers/paths.js";
import { drain, inSlices } from "./helpers/chunks.js";

const BENCHMARK_REFERENCE = /cisecurity\.org\/benchmark\//;
const CIS_RULE_ID = /^xccdf_org\.cisecurity\.benchmarks_rule_(\d+(?:\.\d+)*)_/;

/** The real results documents: the bundled Debian 11 scan and every XCCDF results fixture. */
function realScans(): [string, Buffer][] {
  const bundled = join(ROOT, "examples/data");
  return [
    ...readdirSync(bundled)
      .filter((f) => f.endsWith(".arf.gz"))
      .map((f): [string, Buffer] => [f, gunzipSync(readFileSync(join(bundled, f)))]),
    ...readdirSync(join(FIXTURES, "xccdf")).map((f): [string, Buffer] => [f, readFileSync(join(FIXTURES, "xccdf", f))]),
  ];
}

describe("section", () => {
  it("is a CIS benchmark reference's value, else a CIS rule id's number, never a CIS Controls number, on every real scan", async () => {
    let lines = 0;
    let controlsOnly = 0;
    for (const [file, doc] of realScans()) {
      const { items, error } = await drain(xccdfToRules(inSlices(doc, 65_536)));
      expect(error, file).toBeUndefined();
      for (const rule of items as RuleResult[]) {
        const benchmark = (rule.references ?? []).filter((r) => BENCHMARK_REFERENCE.test(r.href)).map((r) => r.value);
        if (benchmark.length === 1) expect(rule.section, `${file} ${rule.rule_ref}`).toBe(benchmark[0]);
        else if (benchmark.length > 1) expect(benchmark, `${file} ${rule.rule_ref}`).toContain(rule.section);
        else expect(rule.section, `${file} ${rule.rule_ref}`).toBe(CIS_RULE_ID.exec(rule.rule_ref)?.[1]);
        if (!benchmark.length && rule.references?.some((r) => r.href.includes("cisecurity.org/controls"))) controlsOnly++;
        lines++;
      }
    }
    expect(lines).toBeGreaterThan(100);
    // the bundled scan's rules carry CIS Controls references (the case that went wrong)
    expect(controlsOnly).toBeGreaterThan(30);
  });
});
