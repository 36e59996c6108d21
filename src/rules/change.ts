import type { RuleResult, RuleStatus } from "../types.js";

export type Change = "new-failure" | "fixed" | "regressed" | "still-failing" | "unchanged" | "new-rule" | "removed";

/** Statuses with nothing to fix (as mozdef-send counts compliance): the rule passed, did not apply, or was not checked. */
const NOTHING_TO_FIX: ReadonlySet<string> = new Set(["pass", "notapplicable", "skip"]);

/**
 * How a rule's result moved from the previous scan to this one:
 *   none before                         new-rule
 *   same status                         unchanged, or still-failing (fail, warn, error)
 *   nothing to fix → fail/warn/error    new-failure
 *   fail/warn/error → nothing to fix    fixed
 *   warn/error → fail                   regressed  (other moves between failures: still-failing)
 *   pass → notapplicable/skip           regressed  (the rule is no longer checked)
 *   notapplicable/skip → pass, or ↔     unchanged
 */
export function classify(previous: string | undefined, now: RuleStatus): Change {
  if (previous === undefined) return "new-rule";
  const wasFine = NOTHING_TO_FIX.has(previous);
  const isFine = NOTHING_TO_FIX.has(now);
  if (previous === now) return isFine ? "unchanged" : "still-failing";
  if (wasFine && !isFine) return "new-failure";
  if (!wasFine && isFine) return "fixed";
  if (!isFine) return now === "fail" ? "regressed" : "still-failing";
  return previous === "pass" ? "regressed" : "unchanged";
}

/** Changes written without --all. */
export function isReported(change: Change): boolean {
  return change !== "unchanged" && change !== "still-failing";
}

/** A rule's identity across scans: (scanner, profile, rule); the target is the state file. */
export function profileOf(r: Pick<RuleResult, "profile">): string {
  return r.profile?.id ?? r.profile?.title ?? "";
}

/**
 * The MozDef summary of a RuleResult that carries a change (mozdef-send), or
 * null when the change adds nothing to the plain summary.
 */
export function changeSummary(r: Pick<RuleResult, "target" | "rule_ref"> & { change?: unknown; previous_status?: unknown }): string | null {
  const was = typeof r.previous_status === "string" ? ` (was ${r.previous_status})` : "";
  switch (r.change) {
    case "new-failure":
      return `${r.target} newly fails compliance with ${r.rule_ref}${was}`;
    case "fixed":
      return `${r.target} is fixed for compliance with ${r.rule_ref}${was}`;
    case "regressed":
      return `${r.target} regressed on compliance with ${r.rule_ref}${was}`;
    case "removed":
      return `${r.rule_ref} is no longer checked on ${r.target}${was}`;
    default:
      return null;
  }
}
