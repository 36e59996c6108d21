import { describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import { sh } from "./helpers/run.js";
import { ROOT } from "./helpers/paths.js";
import { escapeXml, jsonForScript } from "../src/reports/escape.js";
import { Spool } from "../src/reports/spool.js";

const SCHEMAS = join(ROOT, "test/data/report-schemas");
const BUNDLED = join(ROOT, "examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz");

/** The official SARIF 2.1.0 schema is draft-04: its top-level `id` is `$id` in the drafts Ajv reads. */
const validSarif = (() => {
  const schema = JSON.parse(readFileSync(join(SCHEMAS, "sarif-schema-2.1.0.json"), "utf8"));
  delete schema.$schema;
  schema.$id = schema.id;
  delete schema.id;
  const ajv = new Ajv({ allErrors: true, strict: false });
  (addFormatsModule as unknown as (a: Ajv) => void)(ajv);
  const validate = ajv.compile(schema);
  return (doc: unknown) => (validate(doc) ? null : ajv.errorsText(validate.errors));
})();

function junitProblem(xml: string): string | null {
  const dir = mkdtempSync(join(tmpdir(), "junit-"));
  writeFileSync(join(dir, "report.xml"), xml);
  const r = spawnSync("xmllint", ["--noout", "--schema", join(SCHEMAS, "junit-10.xsd"), join(dir, "report.xml")]);
  return r.status === 0 ? null : r.stderr.toString();
}

const line = (extra: Record<string, unknown>) => JSON.stringify({ rule_ref: "r1", title: "rule one", severity: "medium", status: "pass", scanner: "openscap", target: "web-01", profile: { id: "p1", title: "Profile one" }, ...extra });
const mixed = [
  line({ rule_ref: "r-high-fail", title: "High <script>alert(1)</script> & co", severity: "high", status: "fail", finding: 'PermitRootLogin is "yes"', section: "5.2.8" }),
  line({ rule_ref: "r-crit-waived", title: "Critical but waived", severity: "critical", status: "fail", waiver: { reason: "accepted until the migration", expires: "2099-01-01", ticket: "SEC-1" } }),
  line({ rule_ref: "r-med-error", title: "Medium error", status: "error" }),
  line({ rule_ref: "r-low-skip", title: "Skipped", severity: "low", status: "skip" }),
  line({ rule_ref: "r-na", title: "Not applicable", status: "notapplicable" }),
  line({ rule_ref: "r-warn", title: "Informational", severity: "info", status: "warn" }),
  line({ rule_ref: "db-1", title: "Docker rule", scanner: "docker-bench", target: "docker-01", profile: undefined, status: "fail", severity: "unknown", remediation: "do this\u0001" }),
].join("\n");

describe("rules-report", () => {
  it("writes SARIF 2.1.0 that the official schema accepts, for the bundled real scan and for every status, waivers and both scanners", () => {
    for (const cmd of [`xccdf2rules ${BUNDLED} 2>/dev/null | rules-report --format sarif`, "rules-report --format sarif"]) {
      const r = sh(cmd, { input: mixed });
      expect(r.status, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(validSarif(doc)).toBeNull();
      for (const run of doc.runs) for (const result of run.results) expect(run.tool.driver.rules[result.ruleIndex].id).toBe(result.ruleId);
    }
    expect(validSarif({ version: "2.1.0", runs: [{ results: [] }] }), "the schema bites: a run needs a tool").not.toBeNull();
    const doc = JSON.parse(sh("rules-report --format sarif", { input: mixed }).stdout);
    expect(doc.runs.map((run: { tool: { driver: { name: string } } }) => run.tool.driver.name)).toEqual(["OpenSCAP", "Docker Bench for Security"]);
    const [openscap] = doc.runs;
    // fail, error and warn are results; pass, skip and notapplicable are not
    expect(openscap.results.map((x: { ruleId: string }) => x.ruleId)).toEqual(["r-high-fail", "r-crit-waived", "r-med-error", "r-warn"]);
    expect(openscap.results[0]).toMatchObject({ level: "error", message: { text: expect.stringContaining("PermitRootLogin") } });
    expect(openscap.results[1].suppressions[0]).toMatchObject({ kind: "external", justification: expect.stringContaining("accepted until the migration") });
    expect(openscap.tool.driver.rules.find((x: { id: string }) => x.id === "r-high-fail").properties["security-severity"]).toBe("8.0");
    // GitHub code scanning: no absolute URI needed, a ruleId on every result
    expect(JSON.stringify(doc)).not.toMatch(/"uri":"[a-z]+:/);
  });

  it("writes JUnit XML that the Jenkins xUnit schema accepts: failure, error and skipped by status, text escaped", () => {
    const real = sh(`xccdf2rules ${BUNDLED} 2>/dev/null | rules-report --format junit`);
    expect(real.status, real.stderr).toBe(0);
    expect(junitProblem(real.stdout)).toBeNull();
    expect(junitProblem('<testsuite name="x"/>'), "the schema bites: counts are required").not.toBeNull();
    const r = sh("rules-report --format junit", { input: mixed });
    expect(r.status, r.stderr).toBe(0);
    expect(junitProblem(r.stdout)).toBeNull();
    expect(r.stdout.match(/<testsuite /g)).toHaveLength(2);
    expect(r.stdout).toMatch(/<testcase classname="5.2.8" name="r-high-fail: High &lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; co"><failure type="high"/);
    expect(r.stdout).toMatch(/name="r-med-error: Medium error"><error /);
    expect(r.stdout).toMatch(/name="r-low-skip: Skipped"><skipped /);
    expect(r.stdout).toMatch(/name="r-na: Not applicable"><skipped message="not applicable"/);
    expect(r.stdout).toContain("do this\uFFFD"); // a control character XML cannot hold
  });

  it("golden reports are valid too: SARIF against the official schema, JUnit against the xUnit schema", () => {
    const golden = join(ROOT, "test/golden");
    const cases = readdirSync(golden).filter((d) => /^rules-report--(sarif|junit)-/.test(d));
    expect(cases.length).toBeGreaterThanOrEqual(3);
    for (const name of cases) {
      const text = readFileSync(join(golden, name, "expected.stdout"), "utf8");
      expect(name.includes("sarif") ? validSarif(JSON.parse(text)) : junitProblem(text), name).toBeNull();
    }
  });

  it("--fail-on gates on unwaived fail/error at or above the severity, after writing the report", () => {
    const dir = mkdtempSync(join(tmpdir(), "gate-"));
    const out = join(dir, "report.md");
    const high = sh(`rules-report --format markdown --fail-on high --output ${out}`, { input: mixed });
    expect(high.status).toBe(1);
    expect(high.stderr).toBe("rules-report: --fail-on high: 1 unwaived failing rule(s) at or above high\n");
    expect(readFileSync(out, "utf8")).toContain("## Compliance report");
    // the only critical failure is waived
    expect(sh("rules-report --format markdown --fail-on critical", { input: mixed }).status).toBe(0);
    // medium takes in the error too; unknown (the lowest) every failing rule but the waived one
    expect(sh("rules-report --format markdown --fail-on medium", { input: mixed }).stderr).toContain(": 2 unwaived");
    expect(sh("rules-report --format markdown --fail-on unknown", { input: mixed }).stderr).toContain(": 3 unwaived");
    expect(sh("rules-report --format markdown", { input: mixed }).status).toBe(0);
    // the bundled scan's two failures have severity unknown
    expect(sh(`xccdf2rules ${BUNDLED} 2>/dev/null | rules-report --format junit --fail-on low > /dev/null`).status).toBe(0);
    expect(sh(`xccdf2rules ${BUNDLED} 2>/dev/null | rules-report --format junit --fail-on unknown > /dev/null`).status).toBe(1);
  });

  it("markdown lists the failing rules by severity, most severe first, at most --max-rules", () => {
    const r = sh("rules-report --format markdown --max-rules 2", { input: mixed });
    expect(r.status, r.stderr).toBe(0);
    const md = r.stdout;
    expect(md.indexOf("#### critical (1)")).toBeLessThan(md.indexOf("#### high (1)"));
    expect(md).toContain("Critical but waived `r-crit-waived` on web-01 _(waived: accepted until the migration)_");
    expect(md).toContain("High \\<script\\>alert(1)\\</script\\> & co");
    expect(md).toMatch(/#### medium \(1\)\n\n- … 1 more\n/);
    expect(md).toMatch(/#### unknown \(1\)\n\n- … 1 more\n/);
    expect(md.split("\n").filter((l) => l.startsWith("- **") || l.startsWith("- C") || l.startsWith("- H"))).toHaveLength(2);
  });

  it("reports lines that are not RuleResults on stderr, leaves them out and exits 1, with the report written", () => {
    const r = sh("rules-report --format markdown", { input: `${line({})}\nnot json\n[1]\n{"rule_ref":"x"}\n` });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      [
        "rules-report: stdin: line 2: not a RuleResult: not JSON (Unexpected token 'o', \"not json\" is not valid JSON)",
        "rules-report: stdin: line 3: not a RuleResult: not a JSON object (an array)",
        "rules-report: stdin: line 4: not a RuleResult: status must be one of pass, fail, warn, skip, notapplicable, error",
        "rules-report: 3 line(s) were not RuleResults: left out of the report",
        "",
      ].join("\n"),
    );
    expect(r.stdout).toContain("1 rule result(s), 0 failing");
  });

  it("says when the report cannot be written, in one line, exit 1", () => {
    const r = sh("rules-report --format html --output /nonexistent-dir/report.html", { input: mixed });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^rules-report: \/nonexistent-dir\/report.html: cannot write the report: ENOENT[^\n]*\n$/);
  });

  it("asks for a format, and names the ones it knows", () => {
    const r = sh("rules-report", { input: "" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Missing required argument: format/);
    expect(sh("rules-report --format pdf", { input: "" }).stderr).toMatch(/Choices: "html", "junit", "sarif", "markdown"/);
  });

  it("escapes for XML and for a <script> block", () => {
    expect(escapeXml('a<b>&"c"\r\u0000')).toBe("a&lt;b&gt;&amp;&quot;c&quot;&#13;\uFFFD");
    expect(jsonForScript({ t: "</script><!--" })).toBe('{"t":"\\u003c/script\\u003e\\u003c!--"}');
    expect(JSON.parse(jsonForScript({ t: "</script>\u2028" }))).toEqual({ t: "</script>\u2028" });
  });

  it("reads a spool back as it was written, across its 1 MiB chunks, multi-byte characters included", () => {
    const spool = new Spool();
    const parts = Array.from({ length: 3000 }, (_, i) => `${i}:${"é€𝄞".repeat(200)}\n`);
    for (const p of parts) spool.append(p);
    const chunks = [...spool.drain()];
    expect(chunks.length).toBeGreaterThan(2);
    expect(Buffer.concat(chunks).toString("utf8")).toBe(parts.join(""));
  });
});
