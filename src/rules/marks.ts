/**
 * What the senders make of the fields rules-diff and rules-waive add: the
 * few lines in rules2scan, sinks/patchmon and sinks/mozdef call these.
 */
import type { Json } from "../types.js";
import { changeSummary } from "./change.js";
import { isWaivedFailure, waiverNote, type WaiverField } from "./waiver-field.js";

export type ScoreWaived = "exclude" | "include";

/** A waived failure's finding: the scanner's own words, then the waiver (PatchMon has no waiver field). */
export function findingWithWaiver(r: { status?: unknown; waiver?: unknown; finding?: string }): string | undefined {
  if (!isWaivedFailure(r)) return r.finding;
  const note = waiverNote(r.waiver as WaiverField);
  return r.finding ? `${r.finding}\n\n${note}` : note;
}

/**
 * The spec summary's score: passed / total × 100, with waived failures left
 * out of the total (`exclude`) or counted as the failures they are (`include`).
 */
export function scoreWithWaivers(passed: number, total: number, waived: number, mode: ScoreWaived = "exclude"): number {
  const counted = mode === "exclude" ? total - waived : total;
  // the same arithmetic as an unwaived score, so a scan without waivers scores as before
  return counted > 0 ? Math.round((passed / counted) * 100 * 100) / 100 : 0;
}

/** Changes a sender passes on even for a rule that did not apply or was not checked: its last known state moved. */
const SENT_ALTHOUGH_NOT_APPLICABLE: ReadonlySet<unknown> = new Set(["fixed", "regressed", "removed"]);

export function sentAlthoughNotApplicable(o: Json): boolean {
  return SENT_ALTHOUGH_NOT_APPLICABLE.has(o.change);
}

/**
 * The MozDef compliance item's extra details (`change`, `previous_status`,
 * `waiver`) and its summary. A waived failure stays `compliance: false`
 * (the host does not comply; the exception is an accepted risk, not a fix),
 * and its summary says it is waived.
 */
export function mozdefMarks(r: Json & { target: string; rule_ref: string }, plainSummary: string): { details: Json; summary: string } {
  const details: Json = {};
  if (typeof r.change === "string") details.change = r.change;
  if (typeof r.previous_status === "string") details.previous_status = r.previous_status;
  const waived = isWaivedFailure(r as { status?: unknown; waiver?: unknown });
  if (waived) details.waiver = r.waiver;
  const summary = changeSummary(r) ?? plainSummary;
  return { details, summary: waived ? `${summary}; ${waiverNote(r.waiver as WaiverField)}` : summary };
}
