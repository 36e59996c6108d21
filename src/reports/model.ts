import type { RuleResult, RuleStatus, Severity } from "../types.js";

/** A RuleResult line as a report reads it: the schema's fields plus the optional evidence, change and waiver. */
export type ReportRule = RuleResult & {
  evidence?: unknown;
  change?: string;
  previous_status?: string;
  waiver?: { reason?: string; expires?: string; ticket?: string; source?: string };
};

export const STATUSES: readonly RuleStatus[] = ["fail", "error", "warn", "pass", "skip", "notapplicable"];
/** Most severe first. */
export const SEVERITIES: readonly Severity[] = ["critical", "high", "medium", "low", "info", "unknown"];

export const severityRank = (s: string | undefined): number => {
  const i = SEVERITIES.indexOf((s ?? "unknown") as Severity);
  return i < 0 ? SEVERITIES.length - 1 : i;
};

export const isWaived = (r: ReportRule): boolean => r.waiver !== null && typeof r.waiver === "object";

/** fail and error are the results a gate and a summary count against the target. */
export const isFailing = (r: ReportRule): boolean => r.status === "fail" || r.status === "error";

export type Counts = Record<RuleStatus, number>;
export const noCounts = (): Counts => ({ pass: 0, fail: 0, warn: 0, skip: 0, notapplicable: 0, error: 0 });
export const total = (c: Counts): number => c.pass + c.fail + c.warn + c.skip + c.notapplicable + c.error;

/** Passed rules among those that were decided (skip and notapplicable left out), in percent, one decimal; null when none was. */
export function score(c: Counts): number | null {
  const decided = c.pass + c.fail + c.warn + c.error;
  return decided ? Math.round((c.pass / decided) * 1000) / 10 : null;
}

/** What a report is per: one (target, scanner, profile). */
export interface ScanKey {
  target: string;
  scanner: string;
  profileId: string;
  profileTitle: string;
}

export const scanKeyOf = (r: ReportRule): ScanKey => ({
  target: r.target,
  scanner: r.scanner,
  profileId: r.profile?.id ?? "",
  profileTitle: r.profile?.title ?? r.profile?.id ?? (r.scanner === "docker-bench" ? "Docker Bench for Security" : ""),
});

export const scanKeyString = (k: ScanKey): string => JSON.stringify([k.target, k.scanner, k.profileId]);

export const scanLabel = (k: ScanKey): string => [k.target || "(no target)", k.scanner, k.profileTitle || k.profileId].filter(Boolean).join(" · ");

/** Groups anything by scan, in order of first appearance. */
export class ByScan<G> {
  private readonly map = new Map<string, { key: ScanKey; value: G }>();
  constructor(private readonly make: (key: ScanKey) => G) {}

  for(r: ReportRule): G {
    const key = scanKeyOf(r);
    const s = scanKeyString(key);
    let entry = this.map.get(s);
    if (!entry) {
      entry = { key, value: this.make(key) };
      this.map.set(s, entry);
    }
    return entry.value;
  }

  get entries(): { key: ScanKey; value: G }[] {
    return [...this.map.values()];
  }
}

/** One writer per format: fed rule by rule, then asked for its text in chunks. */
export interface ReportWriter {
  add(rule: ReportRule): void;
  finish(): Iterable<string | Buffer>;
}
