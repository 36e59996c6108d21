import { allNotApplicableMessage } from "../../scanners/scap-content.js";
import { findingWithWaiver, scoreWithWaivers, type ScoreWaived } from "../../rules/marks.js";
import { isWaivedFailure } from "../../rules/waiver-field.js";
import type { PatchmonScan, RuleResult, RuleStatus, ScanPayload, ScanResult, Scanner } from "../../types.js";

export interface ScanGroup {
  target: string;
  scanner: Scanner;
  profileId: string;
  profileTitle?: string;
  benchmarkVersion?: string;
  testResultId: string;
  startedAt?: string;
  completedAt?: string;
  counts: Record<RuleStatus, number>;
  /** Failures that carry a rules-waive waiver (counted in counts too). */
  waived?: number;
  results: ScanResult[];
}

const STATUSES: readonly RuleStatus[] = ["pass", "fail", "warn", "skip", "notapplicable", "error"];

/** Checks a parsed line is a RuleResult; returns why not, or null. */
export function ruleResultProblem(o: unknown): string | null {
  if (o === null || typeof o !== "object" || Array.isArray(o)) return "not a JSON object";
  const r = o as Partial<RuleResult>;
  if (typeof r.rule_ref !== "string" || !r.rule_ref) return "rule_ref missing";
  if (!STATUSES.includes(r.status as RuleStatus)) return `status must be one of ${STATUSES.join(", ")}`;
  if (r.scanner !== "openscap" && r.scanner !== "docker-bench") return "scanner must be openscap or docker-bench";
  if (typeof r.target !== "string") return "target missing";
  return null;
}

/**
 * Groups RuleResults by (target, scanner, profile, test_result_id). Each
 * group keeps only the fields a payload carries, so the input is held once;
 * given `keep`, results go there instead (a spill file) and groups hold only
 * their counts.
 */
export class ScanGroups {
  private readonly byKey = new Map<string, ScanGroup>();

  constructor(private readonly keep?: (g: ScanGroup, r: ScanResult) => void) {}

  add(r: RuleResult): void {
    const profileId = r.profile?.id ?? r.profile?.title ?? "";
    const testResultId = r.test_result_id ?? "";
    const key = JSON.stringify([r.target, r.scanner, profileId, testResultId]);
    let g = this.byKey.get(key);
    if (!g) {
      g = { target: r.target, scanner: r.scanner, profileId, profileTitle: r.profile?.title, benchmarkVersion: r.benchmark?.version, testResultId, counts: { pass: 0, fail: 0, warn: 0, skip: 0, notapplicable: 0, error: 0 }, results: [] };
      this.byKey.set(key, g);
    }
    g.counts[r.status]++;
    if (r.started_at && (!g.startedAt || r.started_at < g.startedAt)) g.startedAt = r.started_at;
    if (r.completed_at && (!g.completedAt || r.completed_at > g.completedAt)) g.completedAt = r.completed_at;
    const s: ScanResult = { rule_ref: r.rule_ref, title: r.title ?? "", severity: r.severity ?? "unknown", status: r.status };
    for (const k of ["description", "rationale", "section", "finding", "actual", "expected", "remediation"] as const) if (typeof r[k] === "string") s[k] = r[k];
    if (isWaivedFailure(r)) {
      g.waived = (g.waived ?? 0) + 1;
      s.finding = findingWithWaiver(r);
    }
    if (this.keep) this.keep(g, s);
    else g.results.push(s);
  }

  get groups(): ScanGroup[] {
    return [...this.byKey.values()];
  }
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Results in a group: counted, since they may be kept elsewhere. */
function resultCount(g: ScanGroup): number {
  return STATUSES.reduce((n, s) => n + g.counts[s], 0);
}

function profileName(g: ScanGroup): string {
  return g.profileId || (g.scanner === "docker-bench" ? "docker-bench-security" : "unknown");
}

function times(g: ScanGroup, now: string) {
  const started = g.startedAt ?? g.completedAt ?? now;
  return { started, completed: g.completedAt ?? started };
}

/**
 * A scan in which no rule applied measured nothing: its score (0 %, or
 * 100 % on a server that leaves not-applicable rules out) is not real. It
 * is sent as failed, with the reason, which both formats accept.
 */
function outcome(g: ScanGroup): { status: "completed" } | { status: "failed"; error: string } {
  const total = resultCount(g);
  return total > 0 && g.counts.notapplicable === total ? { status: "failed", error: allNotApplicableMessage(total) } : { status: "completed" };
}

/** The spec's payload, without its results (they are written one by one). */
export function specHead(g: ScanGroup, now: string, scoreWaived: ScoreWaived = "exclude"): Omit<ScanPayload, "results"> & { error?: string } {
  const c = g.counts;
  const total = resultCount(g);
  const t = times(g, now);
  const profile: ScanPayload["profile"] = { name: profileName(g), type: g.scanner };
  if (g.benchmarkVersion) profile.version = g.benchmarkVersion;
  return {
    profile,
    started_at: t.started,
    completed_at: t.completed,
    ...outcome(g),
    summary: { total_rules: total, passed: c.pass, failed: c.fail, warnings: c.warn, skipped: c.skip + c.notapplicable, errors: c.error, ...(g.waived ? { waived: g.waived } : {}), score: scoreWithWaivers(c.pass, total, g.waived ?? 0, scoreWaived) },
  };
}

/** A scan as PatchMon's agent reports it: errors count as failed, its score leaves out skipped and not applicable. */
export function patchmonHead(g: ScanGroup, now: string): Omit<PatchmonScan, "results"> {
  const c = g.counts;
  const total = resultCount(g);
  const t = times(g, now);
  const scored = total - c.skip - c.notapplicable;
  return {
    profile_name: profileName(g),
    profile_type: g.scanner,
    ...outcome(g),
    score: scored > 0 ? round2((c.pass / scored) * 100) : 0,
    total_rules: total,
    passed: c.pass,
    failed: c.fail + c.error,
    warnings: c.warn,
    skipped: c.skip,
    not_applicable: c.notapplicable,
    started_at: t.started,
    completed_at: t.completed,
  };
}

/** PatchMon stores no rationale field per result: the agent appends it to the description. */
export function patchmonResult(r: ScanResult): Record<string, unknown> {
  const { rationale, ...rest } = r;
  if (rationale) rest.description = rest.description ? `${rest.description}\n\nRationale: ${rationale}` : `Rationale: ${rationale}`;
  return rest;
}
