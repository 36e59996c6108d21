// XCCDF vocabulary: its result words, severities, benchmark sections and times, as RuleResult fields.
import type { RuleStatus, Severity } from "../../types.js";

export type XccdfResult = "pass" | "fail" | "informational" | "notapplicable" | "notchecked" | "error" | "fixed" | "unknown" | "notselected";

/** XCCDF result word → RuleResult status (raw word kept in raw_status). */
export const XCCDF_STATUS: Readonly<Record<XccdfResult, RuleStatus>> = {
  pass: "pass",
  fail: "fail",
  informational: "warn",
  notapplicable: "notapplicable",
  notchecked: "skip",
  error: "error",
  // remediated during the scan (oscap --remediate): compliant now
  fixed: "pass",
  // the tool could not decide: that is an error, not a pass or a skip
  unknown: "error",
  // not part of the profile; emitted only with --include-notselected
  notselected: "notapplicable",
};

const SEVERITIES = new Set<Severity>(["unknown", "info", "low", "medium", "high", "critical"]);

/** A severity as XCCDF words it (`severity="high"` on a Rule or rule-result); undefined if it is none of them. */
export function xccdfSeverity(word: string | undefined): Severity | undefined {
  // the words as XCCDF writes them, compared without hashing a fresh string (once per rule-result)
  switch (word) {
    case undefined:
    case "":
      return undefined;
    case "unknown":
    case "info":
    case "low":
    case "medium":
    case "high":
    case "critical":
      return word;
  }
  const lower = word.trim().toLowerCase();
  return SEVERITIES.has(lower as Severity) ? (lower as Severity) : undefined;
}

const CIS_RULE_ID = /^xccdf_org\.cisecurity\.benchmarks_rule_(\d+(?:\.\d+)*)_/;
const SECTION_NUMBER = /^\d+(?:\.\d+)*$/;

/**
 * Benchmark section of a rule: the CIS reference number SSG attaches to the
 * rule (`<reference href="https://www.cisecurity.org/benchmark/...">1.1.9</reference>`),
 * else the number inside a CIS benchmark rule id, else undefined.
 */
export function sectionOf(ruleId: string, references: readonly { href: string; value: string }[] | undefined): string | undefined {
  for (const ref of references ?? []) {
    if (ref.href.includes("cisecurity.org") && SECTION_NUMBER.test(ref.value)) return ref.value;
  }
  return CIS_RULE_ID.exec(ruleId)?.[1];
}

const HAS_ZONE = /(Z|[+-]\d\d:?\d\d)$/i;

/**
 * XCCDF times are xsd:dateTime; older oscap writes them without a zone. Those
 * are taken as UTC so that the value is a valid RFC 3339 date-time.
 */
export function toDateTime(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(v)) return undefined;
  if (HAS_ZONE.test(v)) return v.replace(/([+-]\d\d)(\d\d)$/, "$1:$2");
  return `${v}Z`;
}

/** Collapses runs of whitespace into one space and trims. */
export function collapse(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
