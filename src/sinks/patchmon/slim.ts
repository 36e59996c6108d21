import type { Json } from "../../types.js";

/**
 * How far a scan is slimmed, in the order that keeps what a dashboard needs
 * longest: raw_output goes first, then remediation text is cut to its first
 * line, then descriptions (and docker-bench's finding/actual/expected), then
 * rationales are cut, and last all of those texts go. rule_ref, status,
 * severity, title and section always stay.
 */
export const SLIM_LEVELS = ["as is", "without raw_output", "remediation cut to its first line", "descriptions trimmed", "rationales trimmed", "results without texts"] as const;
export type SlimLevel = 0 | 1 | 2 | 3 | 4 | 5;
export const MAX_SLIM_LEVEL: SlimLevel = 5;

/** Characters a trimmed text keeps. */
export const TRIM = 200;
const MARK = "… [trimmed]";
/** How patchmonResult appends the rationale to the description (PatchMon stores no rationale per result). */
const RATIONALE = "\n\nRationale: ";
const DETAILS = ["finding", "actual", "expected"] as const;

function cut(s: string, n = TRIM): string {
  return s.length > n ? `${s.slice(0, n)}${MARK}` : s;
}

function firstLine(s: string): string {
  const line = s.trim().split("\n", 1)[0].trimEnd();
  return line.length < s.length || line.length > TRIM ? `${line.slice(0, TRIM)}${MARK}` : s;
}

/** A result (either format) slimmed to a level; unchanged fields are shared, the input is not modified. */
export function slimResult(r: Json, level: SlimLevel): Json {
  if (level < 2) return r;
  const out: Json = { ...r };
  if (level >= 5) {
    for (const k of ["remediation", "description", "rationale", ...DETAILS]) delete out[k];
    return out;
  }
  if (typeof out.remediation === "string") out.remediation = firstLine(out.remediation);
  if (level >= 3) {
    for (const k of DETAILS) if (typeof out[k] === "string") out[k] = cut(out[k] as string);
    if (typeof out.description === "string") out.description = slimDescription(out.description, level);
  }
  if (level >= 4 && typeof out.rationale === "string") out.rationale = cut(out.rationale);
  return out;
}

/** A description, with the rationale a PatchMon result carries in it trimmed only from level 4. */
function slimDescription(d: string, level: SlimLevel): string {
  const at = d.lastIndexOf(RATIONALE);
  if (at < 0) return cut(d);
  const rationale = d.slice(at + RATIONALE.length);
  const head = at > 0 ? `${cut(d.slice(0, at))}${RATIONALE}` : RATIONALE.trimStart();
  return head + (level >= 4 ? cut(rationale) : rationale);
}

/** A scan (PatchMon's or the spec's payload) slimmed to a level. */
export function slimScan(scan: Json, level: SlimLevel): Json {
  if (level < 1) return scan;
  const { raw_output: _raw, ...rest } = scan;
  if (Array.isArray(scan.results)) rest.results = (scan.results as Json[]).map((r) => slimResult(r, level));
  return rest;
}

/**
 * Bytes of a scan's JSON slimmed to a level, measured result by result: a
 * scan of many megabytes is never made into one string just to be weighed.
 */
export function scanJsonBytes(scan: Json, level: SlimLevel = 0): number {
  if (!Array.isArray(scan.results)) return Buffer.byteLength(JSON.stringify(slimScan(scan, level)));
  const results = scan.results as Json[];
  // the scan with no results ends in `"results":[]`: the results go between those brackets, with commas
  let bytes = Buffer.byteLength(JSON.stringify(slimScan({ ...scan, results: [] }, level))) + Math.max(results.length - 1, 0);
  for (const r of results) bytes += Buffer.byteLength(JSON.stringify(slimResult(r, level)));
  return bytes;
}

/** The least slimmed form of a scan whose JSON `fits`, or the most slimmed one (fits false) when none does. */
export function slimToFit(scan: Json, fits: (bytes: number) => boolean): { scan: Json; level: SlimLevel; bytes: number; fits: boolean } {
  let level: SlimLevel = 0;
  for (;;) {
    const bytes = scanJsonBytes(scan, level);
    if (fits(bytes) || level === MAX_SLIM_LEVEL) return { scan: slimScan(scan, level), level, bytes, fits: fits(bytes) };
    level = (level + 1) as SlimLevel;
  }
}

/** What was done to a scan slimmed to a level, for the warning. */
export function slimmedHow(level: SlimLevel, from: SlimLevel = 1): string {
  return SLIM_LEVELS.slice(from, level + 1).join(", ");
}
