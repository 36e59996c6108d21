/** Record kinds that flow between the commands. */

export type Severity = "unknown" | "info" | "low" | "medium" | "high" | "critical";
export type RuleStatus = "pass" | "fail" | "warn" | "skip" | "notapplicable" | "error";
export type Scanner = "openscap" | "docker-bench";

export interface Ident {
  system: string;
  value: string;
}

export interface Reference {
  href: string;
  value: string;
}

/** One line of xccdf2rules / dockerbench2rules output (../shared/schemas/rule-result.schema.json). */
export interface RuleResult {
  rule_ref: string;
  title: string;
  description?: string;
  rationale?: string;
  severity: Severity;
  section?: string;
  status: RuleStatus;
  raw_status?: string;
  finding?: string;
  actual?: string;
  expected?: string;
  remediation?: string;
  idents?: Ident[];
  references?: Reference[];
  scanner: Scanner;
  target: string;
  profile?: { id?: string; title?: string };
  benchmark?: { id?: string; title?: string; version?: string };
  test_result_id?: string;
  started_at?: string;
  completed_at?: string;
}
