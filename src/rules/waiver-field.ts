/** The `waiver` a matching RuleResult gets (rule-result.schema.json); what the senders read of it lives here, apart from the YAML reader. */
export interface WaiverField {
  reason: string;
  /** Absent for a waiver written with `expires: never`. */
  expires?: string;
  ticket?: string;
  /** FILE#N: the waivers file and the entry's number in it (from 1). */
  source: string;
}

/** The waiver in words, for a finding or a summary: `waived: <reason> (ticket T, until D)`. */
export function waiverNote(w: Partial<WaiverField>): string {
  const extra = [w.ticket ? `ticket ${w.ticket}` : "", w.expires ? `until ${w.expires}` : ""].filter(Boolean).join(", ");
  return `waived: ${w.reason ?? ""}${extra ? ` (${extra})` : ""}`;
}

/** Statuses a waiver is for: a passing or not applicable rule needs no exception. */
export const WAIVABLE: ReadonlySet<string> = new Set(["fail", "warn", "error"]);

/** True for a RuleResult-shaped record carrying a waiver on a failure. */
export function isWaivedFailure(r: { status?: unknown; waiver?: unknown }): boolean {
  return WAIVABLE.has(String(r.status)) && r.waiver !== null && typeof r.waiver === "object";
}

