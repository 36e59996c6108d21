import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN } from "./helpers/paths.js";
import { validator } from "./helpers/schema.js";
import { ANSSI_HIGH, SSG_DEBIAN11, asDebian11, haveOscap, oscapTextResults } from "./helpers/oscap.js";

// .ci/run installs openscap-scanner and ssg-debian; without them this must fail, not pass quietly
const skip = process.env.SKIP_OSCAP === "1";

describe.skipIf(skip)("real OpenSCAP piped through xccdf2rules", () => {
  it("oscap is installed", () => expect(haveOscap()).toBe(true));

  it("gives one rule line per oscap Rule/Result line, same status word, same order (failed ones last, with evidence)", () => {
    const dir = mkdtempSync(join(tmpdir(), "cp-e2e-"));
    const raw = join(dir, "oscap.stdout");
    const rules = join(dir, "rules.ndjson");
    const oscap = `oscap xccdf eval --profile ${ANSSI_HIGH} --results-arf /dev/stdout ${SSG_DEBIAN11}`;
    const run = spawnSync("bash", ["-o", "pipefail", "-c", `${asDebian11(oscap)} | tee ${raw} | ${BIN}/xccdf2rules > ${rules}; echo "\${PIPESTATUS[0]} \${PIPESTATUS[2]}"`], { encoding: "utf8" });
    const [oscapStatus, ourStatus] = run.stdout.trim().split(" ").map(Number);
    expect(oscapStatus, run.stderr).toBe(2); // 2: some rule failed
    expect(ourStatus, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/xccdf2rules: stdin: skipped \d+ bytes of non-XML text before the document/);

    const expected = oscapTextResults(readFileSync(raw, "utf8"));
    const lines = readFileSync(rules, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(expected.length).toBeGreaterThan(20);
    // lines that wait for their OVAL evidence (fail, error) come after the others, each group in oscap's order
    const explained = (result: string) => result === "fail" || result === "error";
    const order = [...expected.filter(([, r]) => !explained(r)), ...expected.filter(([, r]) => explained(r))];
    expect(lines.map((l) => [l.rule_ref, l.raw_status])).toEqual(order);
    for (const line of lines) expect(Boolean(line.evidence), line.rule_ref).toBe(explained(line.raw_status));
    const statuses = new Set(lines.map((l) => l.status));
    expect(statuses.has("pass") && statuses.has("fail")).toBe(true);

    const valid = validator("rule-result.schema.json");
    for (const line of lines) {
      expect(valid(line)).toBeNull();
      expect(line.target.length).toBeGreaterThan(0);
      expect(line.profile.id).toBe(ANSSI_HIGH);
      expect(line.benchmark.title).toBe("Guide to the Secure Configuration of Debian 11");
    }
    expect(lines.every((l) => l.title.length > 0)).toBe(true);
  });
});
