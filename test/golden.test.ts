import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, FIXTURES, ROOT } from "./helpers/paths.js";
import { validator } from "./helpers/schema.js";

/**
 * Each folder under test/golden is one case: `cmd` (bash, run in the folder
 * with bin/ on PATH and $FIXTURES pointing at ../shared/fixtures), optional
 * `input` on stdin, and the expected.* files to compare. UPDATE_GOLDEN=1
 * rewrites the expected files from the current output.
 */
const GOLDEN = join(ROOT, "test/golden");
const update = process.env.UPDATE_GOLDEN === "1";
const validRuleResult = validator("rule-result.schema.json");
const validScanPayload = validator("scan-payload.schema.json");
const cases = readdirSync(GOLDEN, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

describe("golden cases", () => {
  it("has cases", () => expect(cases.length).toBeGreaterThan(10));

  for (const name of cases) {
    it(name, () => {
      const dir = join(GOLDEN, name);
      const actual = run(dir);
      if (update) {
        writeFileSync(join(dir, "expected.stdout"), actual.stdout);
        writeFileSync(join(dir, "expected.exitCode"), actual.exitCode);
        if (existsSync(join(dir, "expected.stderr")) || actual.stderr) writeFileSync(join(dir, "expected.stderr"), actual.stderr);
      }
      const expected = (file: string) => readFileSync(join(dir, file), "utf8");
      expectAsGolden(dir, actual);
      // output of the last stage is checked against its schema
      const last = expected("cmd").split("|").pop()!.trim();
      const schema = /--help/.test(last) ? null : /^(\w+2rules|rules-diff|rules-waive)\b/.test(last) ? validRuleResult : /^rules2scan\b/.test(last) && !/patchmon/.test(last) ? validScanPayload : null;
      if (schema) {
        for (const line of actual.stdout.split("\n").filter(Boolean)) expect(schema(JSON.parse(line)), line.slice(0, 200)).toBeNull();
      }
    });
  }

  // bin/xccdf2rules runs a plain command line from its bundle (scripts/build-bundle.mjs): the same
  // cases through dist's modules must give the same bytes
  for (const name of cases.filter((c) => c.startsWith("xccdf2rules--"))) {
    it(`${name}, through dist's modules`, () => {
      const dir = join(GOLDEN, name);
      expectAsGolden(dir, run(dir, { COMPLIANCE_PIPES_NO_BUNDLE: "1" }));
    });
  }
});

/** The case's exit code and stdout, and its stderr when the case has one. */
function expectAsGolden(dir: string, actual: { stdout: string; stderr: string; exitCode: string }): void {
  const expected = (file: string) => readFileSync(join(dir, file), "utf8");
  expect(actual.exitCode, `exit code; stderr: ${actual.stderr}`).toBe(expected("expected.exitCode"));
  expect(actual.stdout).toBe(expected("expected.stdout"));
  if (existsSync(join(dir, "expected.stderr"))) expect(actual.stderr).toBe(expected("expected.stderr"));
}

function run(dir: string, env: Record<string, string> = {}) {
  const inputFile = join(dir, "input");
  const result = spawnSync("bash", ["cmd"], {
    cwd: dir,
    input: existsSync(inputFile) ? readFileSync(inputFile) : "",
    env: { ...process.env, PATH: `${BIN}:${process.env.PATH}`, FIXTURES, TZ: "UTC", LC_ALL: "C", ...env },
    maxBuffer: 256 * 1024 * 1024,
  });
  return { stdout: result.stdout.toString(), stderr: result.stderr.toString(), exitCode: `${result.status}\n` };
}
