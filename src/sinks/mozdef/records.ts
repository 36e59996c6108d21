import { MozDefAssetHint, MozDefCompliance, MozDefEvent, MozDefVulnerability, type MozDefMessage } from "./messages.js";
import { MozDefError } from "./error.js";
import { isoTimestamp } from "../../util/time.js";
import { parseJsonObject } from "../../streams/ndjson.js";
import type { ComplianceItem, Json, RuleResult } from "../../types.js";
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
}

/** The library message for a record; throws MozDefError when the record cannot be one. */
export function recordToMessage(o: Json, kind: RecordKind = detectKind(o), ctx: RecordContext = {}): MozDefMessage {
  switch (kind) {
    case "rule": {
      const rule = o as unknown as RuleResult;
      const event = MozDefCompliance.fromItem(ruleToComplianceItem(rule, ctx));
      // the envelope names the scanner, not MIG
      event.source = rule.scanner;
      event.tags = [rule.scanner, "compliance"];
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
  const link = ctx.linkBase ? `${ctx.linkBase}${encodeURIComponent(r.rule_ref)}` : (r.references?.find((x) => /^https?:/.test(x.href))?.href ?? r.references?.[0]?.href ?? "");
  const when = r.completed_at ?? r.started_at;
  return {
    utctimestamp: when && !Number.isNaN(Date.parse(when)) ? new Date(when).toISOString() : isoTimestamp(),
    target: r.target,
    compliance: r.status === "pass",
    link,
    tags: { status: r.status, scanner: r.scanner },
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
 * A line as the MozDef document it becomes (defaults filled, validated as
 * mozdef_client does). Throws with the reason when it cannot be sent.
 */
export function lineToDocument(line: string, opts: { kind?: RecordKind; linkBase?: string; hostname: string }): Json {
  return recordToMessage(parseJsonObject(line), opts.kind, { linkBase: opts.linkBase }).build({ hostname: opts.hostname });
}
