import { createHash } from "node:crypto";
import { goJson } from "../../util/go-json.js";

/** A scan as the upload carries it (snake_case), the fields the hash reads. */
export interface HashableScan {
  profile_name?: unknown;
  profile_type?: unknown;
  status?: unknown;
  score?: unknown;
  total_rules?: unknown;
  passed?: unknown;
  failed?: unknown;
  warnings?: unknown;
  skipped?: unknown;
  not_applicable?: unknown;
  remediation_applied?: unknown;
  remediation_count?: unknown;
  results?: readonly Record<string, unknown>[];
}

const text = (v: unknown): string => (typeof v === "string" ? v.normalize("NFC").trim() : "");
const int = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? Math.trunc(v) : 0);
/** Go's sort compares strings byte by byte (UTF-8), not by UTF-16 unit. */
const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * PatchMon's compliance hash (internal/hashing/canonical.go): SHA-256 hex of
 * Go's json.Marshal of the canonical rows — camelCase keys in struct order,
 * strings NFC-normalised and trimmed, score rounded to 4 decimals, results
 * sorted by ruleRef then status, scans by profileName then profileType.
 * The server stores it from each accepted upload and compares it with the
 * one the agent sends in its ping.
 */
export function complianceHash(scans: readonly HashableScan[]): string {
  const canonical = scans
    .map((s) => ({
      profileName: text(s.profile_name),
      profileType: text(s.profile_type),
      status: text(s.status),
      score: typeof s.score === "number" && Number.isFinite(s.score) ? Math.round(s.score * 1e4) / 1e4 : 0,
      totalRules: int(s.total_rules),
      passed: int(s.passed),
      failed: int(s.failed),
      warnings: int(s.warnings),
      skipped: int(s.skipped),
      notApplicable: int(s.not_applicable),
      remediationApplied: s.remediation_applied === true,
      remediationCount: int(s.remediation_count),
      results: (s.results ?? [])
        .map((r) => ({
          ruleRef: text(r.rule_ref),
          status: text(r.status),
          severity: text(r.severity),
          section: text(r.section),
          title: text(r.title),
          description: text(r.description),
          finding: text(r.finding),
          actual: text(r.actual),
          expected: text(r.expected),
          remediation: text(r.remediation),
        }))
        .sort((a, b) => byBytes(a.ruleRef, b.ruleRef) || byBytes(a.status, b.status)),
    }))
    .sort((a, b) => byBytes(a.profileName, b.profileName) || byBytes(a.profileType, b.profileType));
  return createHash("sha256").update(goJson({ scans: canonical })).digest("hex");
}
