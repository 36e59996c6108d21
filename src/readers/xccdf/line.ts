import type { Ident, Reference, RuleResult, Severity } from "../../types.js";
import { utf8, type ByteLines } from "../../streams/byte-lines.js";
import type { RuleResultBuilder } from "./plain-rule-result.js";
import { XCCDF_STATUS, sectionOf, xccdfSeverity, type XccdfResult } from "./fields.js";

// The output line of a rule-result. Every line carries its Rule's metadata and its TestResult's
// context, so both are serialised once and their bytes reused (keys in the schema's order, the
// order JSON.stringify gives a RuleResult).

/** What a Benchmark says about one Rule, kept for the whole run (the only state that grows). */
export interface RuleMeta {
  severity?: Severity;
  title?: string;
  description?: string;
  rationale?: string;
  fixtext?: string;
  fix?: string;
  idents: Ident[];
  references: Reference[];
  titleLang?: string;
  /** Its benchmark section (see sectionOf), found once the Rule is read. */
  section?: string;
  /** Serialised on the Rule's first rule-result. */
  json?: RuleJson;
}

export interface TestContext {
  id: string;
  startedAt?: string;
  completedAt?: string;
  version?: string;
  benchmarkId?: string;
  profileId?: string;
  target?: string;
  /** Serialised on the TestResult's first rule-result; cleared when what it holds changes. */
  json?: Buffer;
}

export interface BenchmarkMeta {
  title?: string;
  version?: string;
  /** The CPEs of its `platform`s. */
  platforms: string[];
}

/** The line's tail: `,"scanner":…}` from the TestResult and its Benchmark. */
export function tailJson(test: TestContext, profiles: ReadonlyMap<string, string>, benchmarks: ReadonlyMap<string, BenchmarkMeta>): string {
  const out: Partial<RuleResult> = { scanner: "openscap", target: test.target ?? "" };
  if (test.profileId) {
    const title = profiles.get(test.profileId);
    out.profile = title ? { id: test.profileId, title } : { id: test.profileId };
  }
  if (test.benchmarkId) {
    const b = benchmarks.get(test.benchmarkId);
    out.benchmark = { id: test.benchmarkId };
    if (b?.title) out.benchmark.title = b.title;
    const version = test.version ?? b?.version;
    if (version) out.benchmark.version = version;
  }
  if (test.id) out.test_result_id = test.id;
  if (test.startedAt) out.started_at = test.startedAt;
  if (test.completedAt) out.completed_at = test.completedAt;
  return `,${JSON.stringify(out).slice(1)}`;
}

/** What OVAL evidence adds to a line: the sentence and short values (used when the rule-result has no message) and the evidence. */
export interface LineEvidence {
  finding?: string;
  actual?: string;
  expected?: string;
  /** `,"evidence":{…}`, as UTF-8: encoded once per check, copied into each of its lines */
  json?: Buffer;
}

/**
 * Writes a rule-result's line: `meta` is its Rule's (if the document had it),
 * `tail` the line's end from its TestResult, with the line feed.
 */
export function writeRuleLine(out: ByteLines, rr: RuleResultBuilder, meta: RuleMeta | undefined, tail: Buffer, evidence?: LineEvidence): void {
  const raw = rr.result ?? "unknown";
  const rule = meta ? (meta.json ??= ruleJson(rr.idref, meta)) : ruleJson(rr.idref, undefined);
  const severity = xccdfSeverity(rr.severity) ?? meta?.severity ?? "unknown";
  out.bytes((rule.lead[severity] ??= leadJson(rule, severity)));
  const status = statusJson(raw);
  if (status) out.bytes(status);
  else out.text(`,"status":"error","raw_status":${JSON.stringify(raw)}`);
  if (rr.messages.length) out.text(`,"finding":${JSON.stringify(rr.messages.join("\n"))}`);
  else if (evidence?.finding) out.text(`,"finding":${JSON.stringify(evidence.finding)}`);
  if (evidence?.actual !== undefined && !rr.messages.length) out.text(`,"actual":${JSON.stringify(evidence.actual)},"expected":${JSON.stringify(evidence.expected ?? "")}`);
  if (rule.remediation) out.bytes(rule.remediation);
  else if (rr.fix) out.text(`,"remediation":${JSON.stringify(rr.fix)}`);
  if (rr.idents.length) out.bytes(identsJson(rr.idents, rule));
  else if (rule.idents) out.bytes(rule.idents);
  if (rule.references) out.bytes(rule.references);
  if (evidence?.json) {
    // the tail ends with `}` and the line feed: the evidence goes last in the object
    out.bytes(tail.subarray(0, tail.length - 2));
    out.bytes(evidence.json);
    out.endLine(CLOSE_LINE);
  } else out.endLine(tail);
}

const CLOSE_LINE = utf8("}\n");

/** `,"status":…,"raw_status":…` for each XCCDF result word. */
const STATUS_JSON = Object.fromEntries(Object.entries(XCCDF_STATUS).map(([raw, status]) => [raw, utf8(`,"status":"${status}","raw_status":"${raw}"`)])) as Record<XccdfResult, Buffer>;

/**
 * STATUS_JSON's piece for a result word, undefined for a word XCCDF does not
 * define. A switch compares the fresh string by length and characters, where
 * a property lookup would first hash it and look it up in V8's string table.
 */
function statusJson(raw: string): Buffer | undefined {
  switch (raw) {
    case "pass":
      return STATUS_JSON.pass;
    case "fail":
      return STATUS_JSON.fail;
    case "notapplicable":
      return STATUS_JSON.notapplicable;
    case "notchecked":
      return STATUS_JSON.notchecked;
    case "informational":
      return STATUS_JSON.informational;
    case "error":
      return STATUS_JSON.error;
    case "fixed":
      return STATUS_JSON.fixed;
    case "unknown":
      return STATUS_JSON.unknown;
    case "notselected":
      return STATUS_JSON.notselected;
  }
  return undefined;
}

/** A Rule's parts of a line, serialised once per Rule. */
export interface RuleJson {
  /** `{"rule_ref":…,"title":…` and description and rationale when known. */
  head: string;
  /** `,"section":…` or "". */
  section: string;
  /** head, severity and section: the line up to its status, for each severity seen. */
  lead: Partial<Record<Severity, Buffer>>;
  /** Undefined when the Rule has none, so that the rule-result's own fix is used. */
  remediation?: Buffer;
  idents?: Buffer;
  references?: Buffer;
  /** The last rule-result idents serialised for this Rule (oscap repeats the Rule's). */
  lastIdents?: { idents: Ident[]; json: Buffer };
}

/**
 * Serialises a Rule's parts of a line now, and drops the texts they were made
 * from: after this only `json` and `severity` are read (by writeRuleLine).
 * Does nothing for a Rule already serialised (in such a reader, settled).
 * For a reader whose Rules no batch will read again (see BatchContext). The
 * texts would otherwise live for the whole run, each of an SSG CIS Rule's ~100
 * references a small object copied by young-generation collections and
 * promoted. On the 15 MB Ubuntu CIS ARF (273 Rules named), scavenges were ~40 %
 * of the TestResult's time; with the texts dropped, the run's GC time fell
 * from ~48 to ~37 ms (--trace-gc, mean of 3).
 */
export function settleRule(idref: string, meta: RuleMeta): void {
  if (meta.json) return;
  meta.json = ruleJson(idref, meta);
  meta.title = meta.description = meta.rationale = meta.fixtext = meta.fix = meta.titleLang = undefined;
  meta.idents = [];
  meta.references = [];
}

function ruleJson(idref: string, meta: RuleMeta | undefined): RuleJson {
  const head: Partial<RuleResult> = { rule_ref: idref, title: meta?.title ?? "" };
  if (meta?.description) head.description = meta.description;
  if (meta?.rationale) head.rationale = meta.rationale;
  const section = meta ? meta.section : sectionOf(idref, undefined);
  const remediation = meta?.fixtext ?? meta?.fix;
  return {
    head: JSON.stringify(head).slice(0, -1),
    section: section ? `,"section":${JSON.stringify(section)}` : "",
    lead: {},
    remediation: remediation ? utf8(`,"remediation":${JSON.stringify(remediation)}`) : undefined,
    idents: meta?.idents.length ? utf8(`,"idents":${JSON.stringify(meta.idents)}`) : undefined,
    references: meta?.references.length ? utf8(`,"references":${JSON.stringify(meta.references)}`) : undefined,
  };
}

function leadJson(rule: RuleJson, severity: Severity): Buffer {
  return utf8(`${rule.head},"severity":"${severity}"${rule.section}`);
}

function identsJson(idents: Ident[], rule: RuleJson): Buffer {
  const last = rule.lastIdents;
  if (last && last.idents.length === idents.length && idents.every((ident, i) => ident.system === last.idents[i].system && ident.value === last.idents[i].value)) return last.json;
  rule.lastIdents = { idents, json: utf8(`,"idents":${JSON.stringify(idents)}`) };
  return rule.lastIdents.json;
}
