import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, ROOT } from "./helpers/paths.js";

// Ceilings far above a linear reading (each case takes ~1-2.5 s and ~65-160 MB here) and far
// below what they guard against (16 MB of blank lines took 31 s and 218 MB, 40,000 keys 6.8 s).
const SECONDS = 8;
const MEGABYTES = 200;

/** Runs dockerbench2rules on a generated log; its time and peak RSS as /usr/bin/time measures them. */
function run(kind: string, size: number) {
  const dir = mkdtempSync(join(tmpdir(), "dockerbench-large-"));
  try {
    const gen = join(ROOT, "test/helpers/large-tokens.mjs");
    const r = spawnSync("bash", ["-c", `node ${gen} ${kind} ${size} | /usr/bin/time -f "%e %M" -o ${dir}/time ${BIN}/dockerbench2rules --target h > ${dir}/out 2> ${dir}/err`], { encoding: "utf8" });
    const [seconds, kb] = readFileSync(join(dir, "time"), "utf8").trim().split(/\s+/).slice(-2).map(Number);
    const lines = readFileSync(join(dir, "out"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    return { status: r.status, seconds, mb: kb / 1024, lines, stderr: readFileSync(join(dir, "err"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("dockerbench2rules on large inputs: linear time, bounded memory", () => {
  it("50 MB of blank lines inside the JSON", () => {
    const r = run("docker-whitespace", 50);
    expect(r.status, r.stderr).toBe(0);
    expect(r.lines.map((l) => [l.rule_ref, l.status])).toEqual([["1.1", "pass"], ["1.2", "fail"]]);
    expect(r.seconds).toBeLessThan(SECONDS);
    expect(r.mb).toBeLessThan(MEGABYTES);
  });

  it("16 MB of spaces on one line inside the JSON", () => {
    const r = run("docker-spaces", 16);
    expect(r.status, r.stderr).toBe(0);
    expect(r.lines).toHaveLength(2);
    expect(r.seconds).toBeLessThan(SECONDS);
    expect(r.mb).toBeLessThan(MEGABYTES);
  });

  it("200,000 repeated flat keys merge into one check", () => {
    const r = run("docker-keys", 200_000);
    expect(r.status, r.stderr).toBe(0);
    expect(r.lines.map((l) => l.rule_ref)).toEqual(["4.6", "5.1"]);
    const finding: string = r.lines[0].finding;
    expect(finding.split("\n")).toHaveLength(200_000);
    expect(finding.split("\n")[199_999]).toBe("[image-199999:latest]");
    expect(r.seconds).toBeLessThan(SECONDS);
    expect(r.mb).toBeLessThan(MEGABYTES);
  });

  it("nesting 10^6 deep", () => {
    const r = run("docker-nesting", 1_000_000);
    expect(r.status, r.stderr).toBe(0);
    expect(r.lines.map((l) => l.rule_ref)).toEqual(["1.1"]);
    expect(r.seconds).toBeLessThan(SECONDS);
    expect(r.mb).toBeLessThan(MEGABYTES);
  });
});
