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

const CIS_RULE_PREFIX = "xccdf_org.cisecurity.benchmarks_rule_";
const CIS_RULE_ID = /^xccdf_org\.cisecurity\.benchmarks_rule_(\d+(?:\.\d+)*)_/;
const SECTION_NUMBER = /^\d+(?:\.\d+)*$/;
/** A CIS benchmark reference (`https://www.cisecurity.org/benchmark/ubuntu_linux/`) and the product it names. */
const CIS_BENCHMARK_HREF = /cisecurity\.org\/benchmark\/([^/?#]*)/i;

/**
 * Benchmark section of a rule: the value of its CIS benchmark reference
 * (SSG writes `<reference href="https://www.cisecurity.org/benchmark/ubuntu_linux/">1.6.3</reference>`);
 * of several, the one for a product of `platforms` (the Benchmark's CPEs), else
 * the first. Else the number inside a CIS benchmark rule id, else undefined.
 * A CIS Controls reference (`…/controls/`, a safeguard number such as 11) is
 * not a section.
 */
export function sectionOf(ruleId: string, references: readonly { href: string; value: string }[] | undefined, platforms: readonly string[] = []): string | undefined {
  let first: string | undefined;
  for (const ref of references ?? []) {
    const product = CIS_BENCHMARK_HREF.exec(ref.href)?.[1];
    if (product === undefined || !SECTION_NUMBER.test(ref.value)) continue;
    if (platforms.some((cpe) => namesProduct(product, cpe))) return ref.value;
    first ??= ref.value;
  }
  // the test first: the expression is compiled at its first use, ~25 us, for ids that are not CIS's
  return first ?? (ruleId.startsWith(CIS_RULE_PREFIX) ? CIS_RULE_ID.exec(ruleId)?.[1] : undefined);
}

/**
 * True if a CIS benchmark's product (`ubuntu_linux`, `red_hat_linux`) is the
 * one a CPE names (`cpe:/o:canonical:ubuntu_linux:22.04`, `cpe:/o:redhat:enterprise_linux:8`):
 * the same product, or a name that starts with its vendor.
 */
function namesProduct(product: string, cpe: string): boolean {
  const parts = cpe.toLowerCase().split(":");
  // cpe:/o:vendor:product:… or cpe:2.3:o:vendor:product:…
  const [vendor, name] = parts[1]?.startsWith("/") ? [parts[2], parts[3]] : [parts[3], parts[4]];
  if (!vendor || !name) return false;
  const slug = product.toLowerCase();
  return slug === name || slug.replace(/_/g, "").startsWith(vendor.replace(/_/g, ""));
}

/**
 * XCCDF times are xsd:dateTime; older oscap writes them without a zone. Those
 * are taken as UTC so that the value is a valid RFC 3339 date-time, and a
 * zone written +hhmm becomes +hh:mm. (No regular expressions: see escapeRegExp.)
 */
export function toDateTime(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (!hasShape(v, 0, "9999-99-99T99:99:99")) return undefined;
  const end = v.length;
  if (v.endsWith("Z") || v.endsWith("z")) return v;
  const signAt = (i: number) => v[i] === "+" || v[i] === "-";
  if (signAt(end - 6) && hasShape(v, end - 5, "99:99")) return v;
  if (signAt(end - 5) && hasShape(v, end - 4, "9999")) return `${v.slice(0, end - 2)}:${v.slice(end - 2)}`;
  return `${v}Z`;
}

/** True if `text` has `shape` at `at`: a digit for each `9` in it, its other characters as they are. */
function hasShape(text: string, at: number, shape: string): boolean {
  if (at < 0 || at + shape.length > text.length) return false;
  for (let i = 0; i < shape.length; i++) {
    const c = text.charCodeAt(at + i);
    if (shape[i] === "9" ? c < 0x30 || c > 0x39 : c !== shape.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * True if a text of `length` UTF-16 units may be over `maxField` bytes as
 * UTF-8 (a unit is at most 3), so that its bytes must be counted. The
 * one-step readers leave such a text to the element-by-element reading,
 * where it is truncated and told of.
 */
export function mayBeOverField(length: number, maxField: number): boolean {
  return length * 3 > maxField;
}

/** Collapses runs of whitespace into one space and trims. */
export function collapse(text: string): string {
  // most texts (a reference's "CCI-000366", a title) are already so: tested, not copied
  return isCollapsed(text) ? text : text.replace(/\s+/g, " ").trim();
}

/**
 * True if `text` has no whitespace (JavaScript's \s) that collapse() would
 * change: none at either end, none but spaces, no two in a row. A loop, not
 * /^\s|\s$|\s\s|[^\S ]/: see escapeRegExp (that test compiled twice in a small
 * file's run, at its first and second use, ~0.1 ms together).
 */
export function isCollapsed(text: string): boolean {
  let blankBefore = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20) {
      if (blankBefore) return false;
      blankBefore = true;
    } else if (isOtherWhitespace(c)) return false;
    else blankBefore = false;
  }
  return !blankBefore || text.length === 0;
}

/** JavaScript's \s, but for the space itself. */
function isOtherWhitespace(c: number): boolean {
  if (c < 0xa0) return c >= 0x09 && c <= 0x0d;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}
