import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, ROOT } from "./helpers/paths.js";

// Ceilings far above a linear reading (each case takes ~1-3 s and ~50-170 MB here) and far below
// the quadratic one they guard against (a 50 MB comment took > 11 s; a 4 MB title 1.78 GB).
const SECONDS = 8;
const MEGABYTES = 200;

/** Runs xccdf2rules on a generated document; its time and peak RSS as /usr/bin/time measures them. */
function run(kind: string, size: number, args = "") {
  const dir = mkdtempSync(join(tmpdir(), "xccdf-large-"));
  try {
    const gen = join(ROOT, "test/helpers/large-tokens.mjs");
    const r = spawnSync("bash", ["-c", `node ${gen} ${kind} ${size} | /usr/bin/time -f "%e %M" -o ${dir}/time ${BIN}/xccdf2rules ${args} > ${dir}/out 2> ${dir}/err`], { encoding: "utf8" });
    const [seconds, kb] = readFileSync(join(dir, "time"), "utf8").trim().split(/\s+/).slice(-2).map(Number);
    const out = readFileSync(join(dir, "out"));
    return { status: r.status, seconds, mb: kb / 1024, lines: out.toString("utf8").split("\n").filter(Boolean), stderr: readFileSync(join(dir, "err"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("xccdf2rules on one large token: linear time, bounded memory", () => {
  it("a 50 MB comment inside a TestResult", () => {
    const r = run("xccdf-comment", 50);
    expect(r.status).toBe(0);
    expect(r.lines.map((l) => JSON.parse(l).rule_ref)).toEqual(["r0", "r1"]);
    expect(r.seconds).toBeLessThan(SECONDS);
    expect(r.mb).toBeLessThan(MEGABYTES);
  });

  it("a 32 MB attribute value", () => {
    const r = run("xccdf-attribute", 32);
    expect(r.status).toBe(0);
    expect(r.lines.map((l) => JSON.parse(l).rule_ref)).toEqual(["r0"]);
    expect(r.seconds).toBeLessThan(SECONDS);
    expect(r.mb).toBeLessThan(MEGABYTES);
  });

  it("400,000 attributes on one element", () => {
    const r = run("xccdf-attributes", 400_000);
    expect(r.status).toBe(0);
    expect(r.lines).toHaveLength(1);
    expect(r.seconds).toBeLessThan(SECONDS);
    expect(r.mb).toBeLessThan(MEGABYTES);
  });
});

describe("xccdf2rules caps every field at --max-field", () => {
  const cases: [kind: string, field: (line: Record<string, any>) => string][] = [
    ["xccdf-title", (l) => l.benchmark.title],
    ["xccdf-message", (l) => l.finding],
    ["xccdf-cdata", (l) => l.finding],
    ["xccdf-target", (l) => l.target],
  ];
  for (const [kind, field] of cases) {
    it(`${kind}: 50 MB of text kept to 1 MiB, marked, one warning, memory bounded`, () => {
      const r = run(kind, 50);
      expect(r.status).toBe(0);
      expect(r.lines.length).toBeGreaterThanOrEqual(200);
      const value = field(JSON.parse(r.lines[0]));
      expect(value).toMatch(/ \[truncated 51380224 bytes\]$/);
      expect(Buffer.byteLength(value.replace(/ \[truncated \d+ bytes\]$/, ""))).toBe(1024 * 1024);
      expect(r.stderr.match(/--max-field/g)).toHaveLength(1);
      expect(r.seconds).toBeLessThan(SECONDS);
      expect(r.mb).toBeLessThan(MEGABYTES);
    });
  }

  it("--max-field sets the limit", () => {
    const r = run("xccdf-target", 1, "--max-field 10");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.lines[0]).target).toBe(`hhhhhhhhhh [truncated ${1024 * 1024 - 10} bytes]`);
  });
});
