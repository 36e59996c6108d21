import { MozDefAssetHint, MozDefCompliance, MozDefEvent, MozDefVulnerability, type MozDefMessage } from "./messages.js";
import { MozDefError } from "./error.js";
import { isoTimestamp } from "../../util/time.js";
import { parseJsonObject } from "../../streams/ndjson.js";
import { goJson, isGoJsonOf } from "../../util/go-json.js";
import type { ComplianceItem, Json, RuleResult } from "../../types.js";
import { mozdefMarks, sentAlthoughNotApplicable } from "../../rules/marks.js";
export const RECORD_KINDS = ["event", "compliance", "vulnerability", "hint", "rule"] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

/** What a line is, by its shape. */
export function detectKind(o: Json): RecordKind {
  if (typeof o.rule_ref === "string" && typeof o.status === "string" && typeof o.scanner === "string") return "rule";
  if (("vuln" in o && "asset" in o) || (o.version === 2 && "asset" in o && "sourcename" in o)) return "vulnerability";
  if (o.category === "complianceitems") return "compliance";
  if (!("summary" in o) && !("details" in o) && "check" in o && "policy" in o && "target" in o) return "compliance";
  if (o.category === "asset_hint") return "hint";
  return "event";
}

export interface RecordContext {
  /** Base URL of rule documentation for a RuleResult's link (the rule id is appended). */
  linkBase?: string;
  /** Send RuleResults that did not apply or were not checked (notapplicable, skip) instead of leaving them out. */
  includeNotApplicable?: boolean;
}

/** RuleResult statuses that say nothing about compliance: the rule did not apply, or was not checked. */
const NOT_APPLICABLE: ReadonlySet<string> = new Set(["notapplicable", "skip"]);

/** A RuleResult that is left out unless asked for (see RecordContext.includeNotApplicable). */
export function isNotApplicable(o: Json, kind: RecordKind = detectKind(o)): boolean {
  return kind === "rule" && NOT_APPLICABLE.has(String(o.status)) && !sentAlthoughNotApplicable(o);
}

/** The library message for a record; throws MozDefError when the record cannot be one. */
export function recordToMessage(o: Json, kind: RecordKind = detectKind(o), ctx: RecordContext = {}): MozDefMessage {
  switch (kind) {
    case "rule": {
      const rule = o as unknown as RuleResult;
      // rules-diff's change and rules-waive's waiver go into the details and the summary
      const marks = mozdefMarks(o as Json & RuleResult, ruleSummary(rule));
      const event = MozDefCompliance.fromItem({ ...ruleToComplianceItem(rule, ctx), ...marks.details });
      // the envelope names the scanner, not MIG, and says what the status means
      event.source = rule.scanner;
      event.tags = [rule.scanner, "compliance"];
      event.summary = marks.summary;
      return event;
    }
    case "compliance":
      // a bare item (runner2compliance) gets the MIG plugin's envelope; a full event is taken as it is
      return "details" in o || "summary" in o ? new MozDefCompliance().assign(o) : MozDefCompliance.fromItem(o);
    case "vulnerability": {
      const v = new MozDefVulnerability();
      v.log = o;
      return v;
    }
    case "hint":
      return new MozDefAssetHint().assign(o);
    default:
      return new MozDefEvent().assign(o);
  }
}

/**
 * A RuleResult as a compliance item. check.ref and check.test.value stay the
 * same for a rule whatever its status, so MozDef keeps one last-known state
 * per (rule, target).
 */
export function ruleToComplianceItem(r: RuleResult, ctx: RecordContext = {}): ComplianceItem {
  for (const k of ["rule_ref", "status", "target"] as const) if (typeof r[k] !== "string" || !r[k]) throw new MozDefError(`rule result: ${k} is required`);
  const when = r.completed_at ?? r.started_at;
  return {
    utctimestamp: when && !Number.isNaN(Date.parse(when)) ? new Date(when).toISOString() : isoTimestamp(),
    target: r.target,
    // a rule that did not apply or was not checked has nothing to fix: not a failure
    compliance: r.status === "pass" || NOT_APPLICABLE.has(r.status),
    link: ruleLink(r, ctx),
    tags: { status: r.status, ...(r.raw_status && r.raw_status !== r.status ? { raw_status: r.raw_status } : {}), scanner: r.scanner },
    policy: { name: r.profile?.title ?? r.profile?.id ?? r.benchmark?.title ?? r.scanner, url: r.benchmark?.id ?? "", level: r.severity ?? "unknown" },
    check: {
      ref: r.rule_ref,
      description: r.title ?? "",
      name: r.section ? `${r.section} ${r.title ?? ""}`.trim() : (r.title ?? r.rule_ref),
      location: r.target,
      test: { type: r.scanner, value: r.rule_ref },
    },
  };
}

/**
 * Where a RuleResult's link points: --link-base + the rule id, else the
 * rule's own benchmark reference (CIS content and SSG's CIS references,
 * `https://www.cisecurity.org/benchmark/<product>/`). The other references
 * (CIS Controls, NIST, ISO, …) name a whole standard, not the rule: no link
 * rather than a wrong one.
 */
function ruleLink(r: RuleResult, ctx: RecordContext): string {
  if (ctx.linkBase) return `${ctx.linkBase}${encodeURIComponent(r.rule_ref)}`;
  return r.references?.find((x) => /^https?:\/\/(www\.)?cisecurity\.org\/benchmark\//.test(x.href))?.href ?? "";
}

/** The event's summary: passes, fails, could not be checked, or does not apply; never "fails" for a rule that was not checked. */
export function ruleSummary(r: RuleResult): string {
  switch (r.status) {
    case "pass":
      return `${r.target} passes compliance with ${r.rule_ref}`;
    case "error":
      return `${r.target} could not be checked for compliance with ${r.rule_ref} (error)`;
    case "notapplicable":
      return `${r.rule_ref} does not apply to ${r.target}`;
    case "skip":
      return `${r.target} was not checked for compliance with ${r.rule_ref} (${r.raw_status ?? "skip"})`;
    default:
      return `${r.target} fails compliance with ${r.rule_ref}`;
  }
}

/**
 * A line as the MozDef document it becomes (defaults filled, validated as
 * mozdef_client does), or null for a RuleResult left out as not applicable.
 * Throws with the reason when it cannot be sent.
 */
export function lineToDocument(line: string, opts: RecordContext & { kind?: RecordKind; hostname: string }): Json | null {
  return lineToRecordAndDocument(line, opts)?.doc ?? null;
}

/**
 * lineToDocument, with the document's wire form (goJson): the line itself
 * when the document is the record as it was read and the line is already
 * that record's wire form (a MozDef event replayed, or as MIG posted it),
 * else the document written out.
 */
export function lineToEvent(line: string, opts: RecordContext & { kind?: RecordKind; hostname: string }): { doc: Json; body: string } | null {
  const read = lineToRecordAndDocument(line, opts);
  if (!read) return null;
  const { record, doc } = read;
  return { doc, body: sameMembers(doc, record) && isGoJsonOf(line, record) ? line : goJson(doc) };
}

function lineToRecordAndDocument(line: string, opts: RecordContext & { kind?: RecordKind; hostname: string }): { record: Json; doc: Json } | null {
  const record = parseJsonObject(line);
  const kind = opts.kind ?? detectKind(record);
  if (!opts.includeNotApplicable && isNotApplicable(record, kind)) return null;
  return { record, doc: recordToMessage(record, kind, opts).build({ hostname: opts.hostname }) };
}

/** Whether `a` and `b` have the same keys in the same order, with the same values (objects: the same ones): written the same. */
function sameMembers(a: Json, b: Json): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  let i = 0;
  for (const key in b) if (keys[i++] !== key || a[key] !== b[key]) return false;
  return i === keys.length;
}
