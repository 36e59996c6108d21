import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { xccdfToNdjson } from "../src/readers/xccdf/document.js";
import type { RuleResult } from "../src/types.js";
import { ROOT } from "./helpers/paths.js";
import { inSlices } from "./helpers/chunks.js";
import { validator } from "./helpers/schema.js";

const validate = validator("rule-result.schema.json");
/** A real Ubuntu 22.04 CIS Level 2 Server scan made here (test/data/ubuntu2204-cis-level2-server.sh). */
const ARF = gunzipSync(readFileSync(join(ROOT, "test/data/ubuntu2204-cis-level2-server.arf.gz")));
const XML = ARF.toString("utf8");

async function lines(chunk: number): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of xccdfToNdjson(inSlices(ARF, chunk), { source: "cis" })) parts.push(Buffer.from(part));
  return Buffer.concat(parts).toString("utf8");
}

/** The result words of the TestResult's rule-results, read straight from the text (the oracle). */
function resultWords(): Map<string, string> {
  const test = XML.slice(XML.indexOf("<TestResult "), XML.indexOf("</TestResult>"));
  return new Map([...test.matchAll(/<rule-result idref="([^"]+)"[^>]*>\s*<result>(\w+)<\/result>/g)].map((m) => [m[1], m[2]]));
}

/** A Rule's first CIS Ubuntu benchmark reference, read straight from the text. */
function cisReference(ruleId: string): string | undefined {
  const start = XML.indexOf(`<xccdf-1.2:Rule selected="false" id="${ruleId}"`);
  expect(start, ruleId).toBeGreaterThan(0);
  const rule = XML.slice(start, XML.indexOf("</xccdf-1.2:Rule>", start));
  return /<xccdf-1\.2:reference href="https:\/\/www\.cisecurity\.org\/benchmark\/ubuntu_linux\/">([^<]+)</.exec(rule)?.[1];
}

describe("xccdf2rules on a real Ubuntu 22.04 CIS scan (lines ~10 KB)", () => {
  it("writes one valid line per rule of the profile, with oscap's result, its CIS section, and evidence for each failure", async () => {
    const text = await lines(65_536);
    const records = text.trimEnd().split("\n").map((line) => JSON.parse(line) as RuleResult);
    const words = resultWords();
    const inProfile = [...words].filter(([, word]) => word !== "notselected");
    // document order, except that failed rules come after the OVAL report that explains them
    const failed = (id: string) => words.get(id) === "fail";
    const order = (ids: string[]) => [...ids.filter((id) => !failed(id)), ...ids.filter(failed)];
    expect(records.map((r) => r.rule_ref)).toEqual(order(inProfile.map(([id]) => id)));
    expect(records).toHaveLength(273);
    const expectedStatus: Record<string, string> = { pass: "pass", fail: "fail", notapplicable: "notapplicable", notchecked: "skip" };
    for (const record of records) {
      expect(validate(record), record.rule_ref).toBeNull();
      expect(record.raw_status).toBe(words.get(record.rule_ref));
      expect(record.status).toBe(expectedStatus[record.raw_status!]);
      expect(record.section, record.rule_ref).toBe(cisReference(record.rule_ref));
      expect(record.profile).toEqual({ id: "xccdf_org.ssgproject.content_profile_cis_level2_server", title: "CIS Ubuntu 22.04 Level 2 Server Benchmark" });
      if (record.status === "fail") {
        expect(record.evidence?.definition_id, record.rule_ref).toMatch(/^oval:ssg-/);
        expect(record.finding, record.rule_ref).toBeTruthy();
      }
    }
    expect(records.filter((r) => r.status === "fail")).toHaveLength(31);
    // the shape the benchmarks are built on: each line carries its Rule's texts
    expect(Buffer.byteLength(text) / records.length).toBeGreaterThan(9_000);
  });

  it("writes the same bytes whatever the chunk boundaries (cut inside tags and UTF-8 characters)", async () => {
    const whole = await lines(ARF.length);
    expect(await lines(4_099)).toBe(whole);
    expect(await lines(65_537)).toBe(whole);
  });
});
