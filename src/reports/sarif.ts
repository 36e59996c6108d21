import { type ReportRule, type ReportWriter } from "./model.js";

// GitHub code scanning reads properties.security-severity as a CVSS-like score: >= 9 critical, >= 7 high, >= 4 medium, else low
const SECURITY_SEVERITY: Record<string, string> = { critical: "9.5", high: "8.0", medium: "5.5", low: "2.0" };
const LEVEL: Record<string, "error" | "warning" | "note"> = { critical: "error", high: "error", medium: "warning", low: "note", info: "note", unknown: "warning" };
const TOOL: Record<string, { name: string; informationUri: string }> = {
  openscap: { name: "OpenSCAP", informationUri: "https://www.open-scap.org/" },
  "docker-bench": { name: "Docker Bench for Security", informationUri: "https://github.com/docker/docker-bench-security" },
};
const REPORTED = new Set(["fail", "error", "warn"]);

interface Run {
  rules: Record<string, unknown>[];
  ruleIndex: Map<string, number>;
  results: string[];
}

/** A rule id a person can read: SSG's and the XCCDF prefixes dropped. */
const shortName = (ref: string): string => ref.replace(/^xccdf_[^_]+(?:\.[^_]+)*_rule_/, "");

function sarifRule(r: ReportRule): Record<string, unknown> {
  const rule: Record<string, unknown> = { id: r.rule_ref, name: shortName(r.rule_ref) };
  if (r.title) rule.shortDescription = { text: r.title };
  if (r.description) rule.fullDescription = { text: r.description };
  if (r.remediation) rule.help = { text: r.remediation };
  const properties: Record<string, unknown> = { tags: ["security", "compliance"], severity: r.severity ?? "unknown" };
  if (SECURITY_SEVERITY[r.severity]) properties["security-severity"] = SECURITY_SEVERITY[r.severity];
  if (r.section) properties.section = r.section;
  if (r.idents?.length) properties.idents = r.idents.map((i) => `${i.system} ${i.value}`);
  rule.properties = properties;
  rule.defaultConfiguration = { level: LEVEL[r.severity] ?? "warning" };
  return rule;
}

function sarifResult(r: ReportRule, ruleIndex: number): Record<string, unknown> {
  const result: Record<string, unknown> = {
    ruleId: r.rule_ref,
    ruleIndex,
    level: r.status === "warn" ? "note" : (LEVEL[r.severity] ?? "warning"),
    message: { text: [r.status === "error" ? `error: ${r.finding || r.title || r.rule_ref}` : r.finding || r.title || r.rule_ref, r.target ? `(target ${r.target})` : ""].filter(Boolean).join(" ") },
    // no file holds a host's finding: the target stands as a relative artifact (GitHub needs a location, not an absolute URI)
    locations: [{ physicalLocation: { artifactLocation: { uri: encodeURIComponent(r.target || "target") } }, logicalLocations: [{ name: r.target || "target", kind: "module" }] }],
    properties: { status: r.status, ...(r.raw_status ? { raw_status: r.raw_status } : {}), ...(r.profile?.id ? { profile: r.profile.id } : {}), ...(r.actual !== undefined ? { actual: r.actual } : {}), ...(r.expected !== undefined ? { expected: r.expected } : {}) },
  };
  if (r.waiver) result.suppressions = [{ kind: "external", status: "accepted", justification: [r.waiver.reason, r.waiver.expires && `until ${r.waiver.expires}`, r.waiver.ticket].filter(Boolean).join("; ") }];
  return result;
}

/** SARIF 2.1.0: one run per scanner, its rules from the lines, results for fail, error and warn. */
export class SarifReport implements ReportWriter {
  private readonly runs = new Map<string, Run>();

  add(r: ReportRule): void {
    let run = this.runs.get(r.scanner);
    if (!run) this.runs.set(r.scanner, (run = { rules: [], ruleIndex: new Map(), results: [] }));
    let index = run.ruleIndex.get(r.rule_ref);
    if (index === undefined) {
      index = run.rules.length;
      run.ruleIndex.set(r.rule_ref, index);
      run.rules.push(sarifRule(r));
    }
    if (REPORTED.has(r.status)) run.results.push(JSON.stringify(sarifResult(r, index)));
  }

  *finish(): Generator<string> {
    yield `{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[\n`;
    let first = true;
    for (const [scanner, run] of this.runs) {
      const tool = TOOL[scanner] ?? { name: scanner, informationUri: "" };
      const driver = { name: tool.name, ...(tool.informationUri ? { informationUri: tool.informationUri } : {}), rules: run.rules };
      const head = JSON.stringify({ tool: { driver }, automationDetails: { id: `rules-report/${scanner}/` } });
      yield `${first ? "" : ",\n"}${head.slice(0, -1)},"results":[`;
      for (let i = 0; i < run.results.length; i += 500) yield "\n" + run.results.slice(i, i + 500).join(",\n") + (i + 500 < run.results.length ? "," : "");
      yield "\n]}";
      run.results = [];
      first = false;
    }
    yield "\n]}\n";
  }
}
