import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PipeError } from "../src/errors.js";
import { globToRegExp } from "../src/rules/glob.js";
import { WaiverBook, parseDays, parseWaivers, waiverField } from "../src/rules/waivers.js";
import { scoreWithWaivers } from "../src/rules/marks.js";
import { sh } from "./helpers/run.js";
import { FIXTURES } from "./helpers/paths.js";

const yaml = `
- rule: "xccdf_*_rule_2"
  hosts: ["web-??", "LOCALHOST.*"]
  reason: checked elsewhere
  expires: 2026-12-03
  ticket: 42
- rule: xccdf_moc.elpmaxe.www_rule_1
  reason: later entries lose to earlier ones
  expires: never
`;

describe("waivers file", () => {
  it("reads YAML and JSON into the same waivers", () => {
    const fromYaml = parseWaivers(yaml, "w.yaml").map(({ matchesRule, matchesHost, source, ...rest }) => rest);
    const json = JSON.stringify({ waivers: [{ rule: "xccdf_*_rule_2", hosts: ["web-??", "LOCALHOST.*"], reason: "checked elsewhere", expires: "2026-12-03", ticket: 42 }, { rule: "xccdf_moc.elpmaxe.www_rule_1", reason: "later entries lose to earlier ones", expires: "never" }] });
    expect(parseWaivers(json, "w.json").map(({ matchesRule, matchesHost, source, ...rest }) => rest)).toEqual(fromYaml);
    expect(fromYaml[0]).toMatchObject({ number: 1, ticket: "42", hosts: ["web-??", "LOCALHOST.*"] });
    expect(fromYaml[1].hosts).toEqual(["*"]);
  });

  it.each([
    ["- rule: r\n  expires: never\n", /entry 1 \(rule r\): reason is required/],
    ["- rule: r\n  reason: x\n", /entry 1 \(rule r\): expires is required .*"never"/],
    ["- rule: r\n  reason: x\n  expires: soon\n", /expires must be a date/],
    ["- rule: r\n  reason: x\n  expires: never\n- reason: y\n  expires: never\n", /entry 2: rule is required/],
    ["- rule: r\n  reason: x\n  expires: never\n  host: a\n", /unknown field host/],
    ["- rule: r\n  reason: x\n  expires: never\n  hosts: []\n", /hosts must be/],
    ["rule: r\n", /must be a list of waivers/],
  ])("names the fault and the entry: %j", (text, message) => {
    expect(() => parseWaivers(text, "w.yaml")).toThrow(PipeError);
    expect(() => parseWaivers(text, "w.yaml")).toThrow(message);
  });
});

describe("matching", () => {
  const waivers = parseWaivers(yaml, "w.yaml");

  it("holds through its expiry day and not after", () => {
    expect(new WaiverBook(waivers, "2026-12-03").match("xccdf_moc.elpmaxe.www_rule_2", "localhost.localdomain")?.number).toBe(1);
    const later = new WaiverBook(waivers, "2026-12-04");
    expect(later.match("xccdf_moc.elpmaxe.www_rule_2", "localhost.localdomain")).toBeUndefined();
    expect(later.expired.map((w) => w.number)).toEqual([1]);
  });

  it("says which end within the warning window", () => {
    expect(new WaiverBook(waivers, "2026-11-19").expiringWithin(14).map((w) => w.number)).toEqual([1]);
    expect(new WaiverBook(waivers, "2026-11-18").expiringWithin(14)).toEqual([]);
  });

  it("matches hosts without regard to case, rules with it, and the first matching entry wins", () => {
    const book = new WaiverBook(waivers, "2026-01-01");
    expect(book.match("xccdf_moc.elpmaxe.www_rule_2", "web-01")?.number).toBe(1);
    expect(book.match("xccdf_moc.elpmaxe.www_rule_2", "web-001")).toBeUndefined();
    expect(book.match("XCCDF_moc.elpmaxe.www_rule_2", "web-01")).toBeUndefined();
    expect(book.match("xccdf_moc.elpmaxe.www_rule_1", "anything")?.number).toBe(2);
    expect(waiverField(waivers[1])).toEqual({ reason: "later entries lose to earlier ones", source: "w.yaml#2" });
  });

  it("globs only * and ?: every other character is itself", () => {
    expect(globToRegExp("a.b[1]+(c)").test("a.b[1]+(c)")).toBe(true);
    expect(globToRegExp("a.b").test("axb")).toBe(false);
    expect(globToRegExp("5.*").test("5.10")).toBe(true);
  });

  it("reads 14d, 2w and plain days", () => {
    expect([parseDays("14d"), parseDays("2w"), parseDays("3"), parseDays("1m")]).toEqual([14, 14, 3, null]);
  });
});

describe("rules-waive", () => {
  it("waives only failures, keeps their status, passes bad lines through and exits 1 for them", () => {
    const dir = mkdtempSync(join(tmpdir(), "rules-waive-"));
    const file = join(dir, "waivers.yaml");
    writeFileSync(file, yaml);
    const r = sh(`{ xccdf2rules "${FIXTURES}/xccdf/openscap__multiple-testresults.xml" 2>/dev/null; echo 'not json'; } | rules-waive --waivers ${file} --today 2026-06-01`);
    rmSync(dir, { recursive: true, force: true });
    const lines = r.stdout.split("\n").filter(Boolean);
    expect(r.status).toBe(1);
    expect(lines.at(-1)).toBe("not json");
    const records = lines.slice(0, -1).map((l) => JSON.parse(l));
    expect(records.map((x) => [x.status, x.waiver?.reason ?? null])).toEqual([
      ["pass", null], ["fail", "checked elsewhere"],
      ["pass", null], ["fail", "checked elsewhere"],
      ["pass", null], ["fail", "checked elsewhere"],
    ]);
    expect(r.stderr).toMatch(/line 7: not JSON .*passed through unchanged\nrules-waive: 1 line\(s\) were not RuleResults/);
  });

  it("scores a scan without waivers as before", () => {
    for (const [passed, total] of [[198, 245], [1, 3], [2, 7], [0, 5]]) expect(scoreWithWaivers(passed, total, 0)).toBe(Math.round((passed / total) * 100 * 100) / 100);
    expect(scoreWithWaivers(1, 2, 1)).toBe(100);
    expect(scoreWithWaivers(1, 2, 1, "include")).toBe(50);
  });
});
