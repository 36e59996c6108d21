import { XmlScanner, type OpenTag, type XmlEvents } from "../../xml/scanner.js";
import { PipeError, type Position } from "../../errors.js";
import { ByteLines, utf8, type OutputBlocks } from "../../streams/byte-lines.js";
import { plainText, readPlainRuleResult, type RuleResultBuilder } from "./plain-rule-result.js";
import { readPlainRule } from "./plain-rule.js";
import { readPlainValue, skipSelections } from "./plain-items.js";
import { collapse, mayBeOverField, sectionOf, toDateTime, xccdfSeverity } from "./fields.js";
import { BLANKS, PLAIN_VALUE, PLAIN_VALUE_GROUP, countLines } from "../../xml/syntax.js";
import type { EvidenceHold } from "./evidence-hold.js";
import { needsEvidence, type EvidenceMode } from "./evidence.js";
import type { OvalReportReader } from "./evidence-oval.js";
import { settleRule, tailJson, writeRuleLine, type BenchmarkMeta, type RuleMeta, type TestContext } from "./line.js";
import { BLOCK, UNREAD_IN_GROUP, UNREAD_IN_PROFILE, UNREAD_IN_VALUE, ruleTextKind, storeRuleText, unreadInRule, type RuleTextKind } from "./rule-children.js";

const XCCDF_NAMESPACES = new Set(["http://checklists.nist.gov/xccdf/1.1", "http://checklists.nist.gov/xccdf/1.2"]);

type CaptureKind = RuleTextKind | "benchmark-title" | "benchmark-version" | "profile-title" | "value-value" | "test-target" | "rr-result" | "rr-ident" | "rr-message" | "rr-fix";

interface Capture {
  kind: CaptureKind;
  depth: number;
  pieces: string[];
  attributes: Record<string, string>;
  /** Characters in pieces, while they cannot be over maxField bytes; -1 once counted in bytes. */
  chars: number;
  /** Bytes in pieces, once counted (chars is -1). */
  bytes: number;
  /** Bytes dropped over maxField. */
  dropped: number;
}

/**
 * readFromStart reads elements by one regular expression each (rule-results, Values, Profile selections)
 * only once it has been offered more than `after` elements of that kind: V8 compiles such a pattern at its
 * first use, ~50-110 us each, more than a small report's few elements of that kind cost element by element.
 * Measured on the 21 KB fixture ARF (callgrind, main thread): 108.5 -> 107.5 M instructions. Tests that
 * compare the one-step readings with the element-by-element one set `after` to 0.
 */
export const oneStepReading = { after: 32 };

/** Default of --max-field: the bytes of text a field keeps (a Benchmark title is copied into every line). */
export const DEFAULT_MAX_FIELD = 1024 * 1024;

/**
 * The subtrees open() skips unread, whatever their namespace (the same names
 * as its switch's cases, which compare each fresh element name faster than
 * a lookup; a test checks they agree). The scanner stops saxes at them.
 */
export const SKIPPED_SUBTREES = ["oval_definitions", "oval_system_characteristics", "ocil", "cpe-list", "signature", "Signature"];

export interface XccdfReaderOptions {
  includeNotselected?: boolean;
  /** Holds failed rule-results' lines (in an ARF) until their OVAL evidence is read. */
  evidence?: EvidenceHold;
  /** Bytes of text kept in each field; the rest is dropped, with a `[truncated N bytes]` marker. */
  maxField?: number;
  /** Told of each field truncated (`what`: the field's element or attribute). */
  onTruncated?: (what: string) => void;
  /**
   * Keep each Rule as text, read only when a rule-result names it (see
   * KeptRule). Not with batches: their context carries read Rules only.
   */
  keepRules?: boolean;
  /**
   * A Rule's texts are dropped once its part of a line is serialised
   * (settleRule): not when batches will be cut, whose context carries them.
   */
  dropRuleTexts?: boolean;
  /** Blocks for the lines, reused once the caller has written them (see OutputBlocks). */
  blocks?: OutputBlocks;
}

/**
 * A Rule kept unread (XmlEvents.keepWhole): most of a real ARF's Benchmark is
 * Rules that no line names (305 of the bundled Debian scan's 355, 319 of the
 * Ubuntu CIS scan's 592: the rule-results of Rules outside the profile are
 * notselected), so a Rule is read only when a line needs it. Measured on
 * those two ARFs (8 and 15 MB), fastest of 16: 306 -> 256 ms, and about the
 * same (the CIS lines name 273 Rules); with every Rule skipped, the bound:
 * 213 -> 161 ms and 305 -> 201 ms.
 * Its syntax is judged then too: like the OVAL definitions, a Rule nothing
 * names is only searched for its end tag.
 */
interface KeptRule {
  name: string;
  attributes: Record<string, string>;
  content: string;
  /** Where its content begins in the input, for faults found when it is read. */
  at: { line: number; col: number };
  namespaces: Readonly<Record<string, string>>;
  /** Its Benchmark's platforms (for its section). */
  platforms: string[];
  /** Values seen before it: a `sub` names one of these, as when read in place. */
  valuesSeen: number;
}

/**
 * What a reader of a batch of rule-results (cut from a TestResult, read on
 * another thread) needs to know to write the lines the document's own reader
 * would: the Rules seen so far and the TestResult's part of every line.
 */
export interface BatchContext {
  includeNotselected: boolean;
  maxField: number;
  rules: [string, RuleMeta][];
  values: [string, string][];
  /** The local names of the open elements (the TestResult last). */
  stack: string[];
  /** The lines' tail from the TestResult (`testJson`), with its line feed. */
  tail: string;
  /** Set when rule-results wanting evidence are to be read in place (their lines are held there). */
  evidence?: EvidenceMode;
}

/** A batch held something other than whole XCCDF rule-results: it is read again in place. */
export class NotABatch extends Error {}

/**
 * SAX handler that turns XCCDF 1.1/1.2 results (plain, TestResult-rooted or
 * inside ARF) into RuleResults, in document order. Rules seen in any
 * Benchmark before a rule-result enrich it; nothing else is retained.
 */
export class XccdfReader implements XmlEvents {
  /** RuleResult lines ready to be taken by the caller. */
  readonly out: ByteLines;
  testResults = 0;

  private scanner!: XmlScanner;
  private readonly includeNotselected: boolean;
  private readonly dropRuleTexts: boolean;
  private readonly maxField: number;
  private readonly onTruncated: (what: string) => void;
  private readonly stack: string[] = [];
  private readonly rules = new Map<string, RuleMeta>();
  private readonly kept = new Map<string, KeptRule>();
  /** "Rule" when Rules are kept as text (see KeptRule). */
  readonly keptLocal?: string;
  private values = new Map<string, string>();
  /** The order in which Values were first seen (see KeptRule.valuesSeen). */
  private valueOrder = new Map<string, number>();
  /** In a reader of kept Rules: the Values seen before the Rule being read (see readKept). */
  private valuesBefore = Infinity;
  /** Reads the kept Rules, one after another, in a Benchmark of their prefix and namespaces (see readKept). */
  private side?: { reader: XccdfReader; scanner: XmlScanner; benchmark: string; namespaces: Readonly<Record<string, string>>; line: number };
  private readonly profiles = new Map<string, string>();
  private readonly benchmarks = new Map<string, BenchmarkMeta>();
  private readonly openBenchmarks: string[] = [];
  private rule: { id: string; depth: number; meta: RuleMeta } | null = null;
  private profileId: string | null = null;
  private valueId: string | null = null;
  private test: TestContext | null = null;
  private rr: RuleResultBuilder | null = null;
  private capture: Capture | null = null;
  private readonly evidence?: EvidenceHold;
  /** In a batch reader: the evidence mode of the document's reader (see BatchContext). */
  private readonly batchEvidence?: EvidenceMode;
  private inArf = false;
  /** The id of the innermost ARF report seen (`oval0`). */
  private reportId?: string;
  /** Reads the OVAL report being read for evidence. */
  private oval: OvalReportReader | null = null;

  /** Depth of the elements around a batch; 0 when reading a whole document. */
  private readonly batchDepth: number;
  private batchSnapshot?: { json: Buffer; version: number; context: BatchContext };
  /** Counts changes to what a BatchContext holds besides the TestResult's tail (Rules, Values, titles). */
  private version = 0;
  /** Elements offered to readFromStart, by the pattern that would read them (see oneStepReading). */
  private readonly offered = { ruleResult: 0, value: 0, selections: 0 };

  /** With `batches`, a reader for batches cut from a TestResult whose context that is. */
  constructor(opts: XccdfReaderOptions = {}, batches?: BatchContext) {
    this.out = new ByteLines(opts.blocks);
    this.includeNotselected = Boolean(batches?.includeNotselected ?? opts.includeNotselected);
    this.maxField = batches?.maxField ?? opts.maxField ?? DEFAULT_MAX_FIELD;
    this.onTruncated = opts.onTruncated ?? (() => {});
    this.batchDepth = batches?.stack.length ?? 0;
    this.evidence = batches ? undefined : opts.evidence;
    this.batchEvidence = batches?.evidence;
    if (opts.keepRules && !batches) this.keptLocal = "Rule";
    this.dropRuleTexts = Boolean(opts.dropRuleTexts) && !batches;
    if (batches) {
      for (const [id, meta] of batches.rules) this.rules.set(id, meta);
      for (const [id, value] of batches.values) this.values.set(id, value);
      this.stack.push(...batches.stack);
      this.test = { id: "", json: utf8(batches.tail) };
    }
  }

  /** Makes ready for the next batch, after one that failed. */
  resetBatch(): void {
    this.stack.length = this.batchDepth;
    this.rr = null;
    this.capture = null;
  }

  /** The context of the XCCDF TestResult being read, for readers of batches cut from it; undefined outside one. */
  batchContext(): BatchContext | undefined {
    const test = this.test;
    // held lines are due: what follows them goes behind them, through the hold, read in place
    if (!test || this.evidence?.releasing) return undefined;
    const json = this.tailOf(test);
    if (this.batchSnapshot?.json !== json || this.batchSnapshot.version !== this.version) {
      this.batchSnapshot = {
        json,
        version: this.version,
        context: {
          includeNotselected: this.includeNotselected,
          maxField: this.maxField,
          rules: [...this.rules].map(([id, meta]) => [id, { ...meta, json: undefined }]),
          values: [...this.values],
          stack: [...this.stack],
          tail: json.toString("utf8"),
          evidence: this.wantsCheck ? this.evidence!.mode : undefined,
        },
      };
    }
    return this.batchSnapshot.context;
  }

  attach(scanner: XmlScanner): void {
    this.scanner = scanner;
  }

  open(tag: OpenTag): boolean {
    if (this.oval) return this.oval.open(tag);
    const parent = this.stack[this.stack.length - 1];
    if (this.stack.length === this.batchDepth && this.batchDepth > 0 && (tag.local !== "rule-result" || !this.isXccdf(tag))) {
      throw new NotABatch(`<${tag.name}> in a batch of rule-results`);
    }
    this.stack.push(tag.local);
    const capture = this.capture;
    if (capture) {
      if (tag.local === "sub") {
        const idref = tag.attributes.idref ?? "";
        this.text(this.valueOf(idref) ?? idref);
      } else if (BLOCK.has(tag.local)) this.text(" ");
      return false;
    }
    if (parent !== undefined && this.unread(parent, tag.local)) return true;
    const a = this.capAttributes(tag.attributes);
    // a switch, not Set lookups: they would hash every element's fresh name
    switch (tag.local) {
      case "rule-result":
        if (this.test && this.isXccdf(tag)) this.rr = { idref: a.idref ?? "", severity: a.severity, idents: [], messages: [] };
        return false;
      case "check":
        // a rule-result's check says how, not what: not needed for the line, unless it leads to evidence.
        // (complex-check is read through: it may nest, and a skip ends at the first end tag of its name)
        return this.rr !== null && !this.wantsCheck;
      case "check-content-ref":
        if (this.rr && parent === "check" && a.name) this.rr.check ??= { href: a.href ?? "", name: a.name };
        return false;
      case "asset-report-collection":
        this.inArf = true;
        return false;
      case "report":
        if (this.inArf && a.id) this.reportId = a.id;
        return false;
      case "oval_results":
        this.oval = (this.wantsCheck && this.evidence?.readerFor(this.reportId)) || null;
        return this.oval === null;
      // subtrees that never feed a RuleResult and make up most of a large ARF (SKIPPED_SUBTREES)
      case "oval_definitions":
      case "oval_system_characteristics":
      case "ocil":
      case "cpe-list":
      case "signature":
      case "Signature":
        return true;
      case "Benchmark":
        if (this.isXccdf(tag)) {
          const id = a.id ?? "";
          this.openBenchmarks.push(id);
          if (!this.benchmarks.has(id)) this.benchmarks.set(id, { platforms: [] });
        }
        return false;
      case "Rule":
        if (this.isXccdf(tag) && !this.test) this.rule = { id: a.id ?? "", depth: this.stack.length, meta: { severity: xccdfSeverity(a.severity), idents: [], references: [] } };
        return false;
      case "Profile":
        if (parent === "Benchmark") this.profileId = a.id ?? null;
        return false;
      case "platform":
        if (parent === "Benchmark" && a.idref && this.isXccdf(tag)) this.openBenchmark()?.platforms.push(a.idref);
        return false;
      case "Value":
        if (this.isXccdf(tag)) this.valueId = a.id ?? null;
        return false;
      case "TestResult":
        if (this.isXccdf(tag)) {
          this.testResults++;
          this.test = { id: a.id ?? "", startedAt: toDateTime(a["start-time"]), completedAt: toDateTime(a["end-time"]), version: a.version, benchmarkId: this.openBenchmarks[this.openBenchmarks.length - 1] };
        }
        return false;
    }
    const kind = this.captureKind(tag.local, parent, a);
    if (kind) this.capture = { kind, depth: this.stack.length, pieces: [], attributes: a, chars: 0, bytes: 0, dropped: 0 };
    return false;
  }

  /**
   * True for a child of a Rule, Group, Value or Profile that never feeds a
   * line, skipped unread like the OVAL definitions: Group and Value texts,
   * Profile selections, a Rule's checks, warnings and fix scripts after the
   * first (SSG writes up to six per Rule), most of a real Benchmark's bytes
   * outside the texts of its Rules. Likewise a TestResult's target facts and
   * addresses, and an ARF's relationships and assets: ~100 of a small ARF's
   * ~250 elements, ~0.25 ms of its run. Its syntax is only searched for its end tag.
   */
  private unread(parent: string, local: string): boolean {
    // a switch on the parent first: most elements of a Benchmark are XHTML inside descriptions
    switch (parent) {
      case "Rule":
        return unreadInRule(this.rule?.meta, local);
      case "Group":
        return UNREAD_IN_GROUP.has(local);
      case "Value":
        return UNREAD_IN_VALUE.has(local);
      case "Profile":
        return UNREAD_IN_PROFILE.has(local);
      case "TestResult":
        return local === "target-facts" || local === "target-address";
      case "asset-report-collection":
        return local === "relationships" || local === "assets";
    }
    return false;
  }

  /**
   * A rule-result in oscap's usual shape is read straight from the text, with
   * none of the per-element work of open/text/close (most of a rule-heavy
   * report); so are a kept Rule's plain references and idents (readRuleChild),
   * and the definitions of an OVAL report read for evidence.
   */
  readWhole(tag: OpenTag, buf: string, from: number): number {
    if (this.oval) return this.oval.readWhole(tag, buf, from);
    if (tag.local === "reference" || tag.local === "ident") return this.readRuleChild(tag, buf, from);
    if (tag.local !== "rule-result" || !this.test || this.capture || !this.isXccdf(tag)) return -1;
    // once per rule-result of a rule-heavy report: only what goes into the line is looked at
    const a = tag.attributes;
    const rr: RuleResultBuilder = { idref: this.capText(a.idref ?? "", "@idref"), severity: a.severity, idents: [], messages: [] };
    const end = readPlainRuleResult(buf, from, tag.name, rr, this.wantsCheck);
    if (end >= 0) this.emit(this.capPlain(rr));
    return end;
  }

  /**
   * A Rule's reference or ident holding plain text (no markup, reference or
   * CR, under --max-field), read from the text in one step, as the element
   * by element reading would read it. Offered only where the Rule is a quick
   * element (the reader of kept Rules): an SSG CIS Rule has ~100 references.
   */
  private readRuleChild(tag: OpenTag, buf: string, from: number): number {
    const rule = this.rule;
    if (!rule || this.capture || this.stack.length !== rule.depth) return -1;
    const plain = plainText(buf, from, tag.name);
    if (!plain || mayBeOverField(plain[0].length, this.maxField)) return -1;
    const [text, end] = plain;
    const key = tag.local === "reference" ? "href" : "system";
    const value = tag.attributes[key] ?? "";
    if (mayBeOverField(value.length, this.maxField)) return -1;
    if (tag.local === "reference") rule.meta.references.push({ href: value, value: collapse(text) });
    else if (text.trim()) rule.meta.idents.push({ system: value, value: text.trim() });
    this.version++;
    return end;
  }

  /**
   * A rule-result in oscap's usual shape (a result, and an OVAL check with
   * its exports and one check-content-ref), checked whole by one regular
   * expression, is read without its tags being parsed one by one. A
   * notselected one makes no line (without --include-notselected) and is
   * passed over; most rule-results of a real scan are notselected (oscap
   * writes one for every Rule of the Benchmark, ~1,200 of ~1,500 in an SSG
   * CIS scan). Anything else (idents, messages, fixes, other attributes or
   * values that want decoding) is read by readWhole or element by element.
   * Measured on a 60 MB rule-heavy-real bench file (196,000 of its 229,000
   * rule-results notselected), notselected only: 1.5-2.1 s before, 1.1-1.4 s.
   */
  readFromStart(buf: string, lt: number): number {
    if (this.capture) return -1;
    if (!this.test) return this.rule || this.rr || this.oval ? -1 : this.readItemFromStart(buf, lt);
    if (++this.offered.ruleResult <= oneStepReading.after) return -1;
    PLAIN_RULE_RESULT.lastIndex = lt;
    const m = PLAIN_RULE_RESULT.exec(buf);
    if (!m) return -1;
    const end = PLAIN_RULE_RESULT.lastIndex;
    // a value over --max-field would be told of (onTruncated): read as usual
    if (mayBeOverField(end - lt, this.maxField)) return -1;
    const [, prefix, idref, severity, result, name, href] = m;
    if (result === "notselected" && !this.includeNotselected) return end;
    if (!XCCDF_NAMESPACES.has(this.scanner.uriOf(`${prefix}rule-result`) ?? "")) return -1;
    const rr: RuleResultBuilder = { idref: idref ?? "", severity, result, idents: [], messages: [] };
    if (name && this.wantsCheck) rr.check = { href, name };
    this.emit(rr);
    return end;
  }

  /**
   * In a Benchmark, a Value in SSG's shape is read whole, and a Profile's
   * plain selections are passed over, by one pattern each (plain-items.ts),
   * as element by element: no fault to find, the same Values stored.
   */
  private readItemFromStart(buf: string, lt: number): number {
    if (this.stack[this.stack.length - 1] === "Profile") return ++this.offered.selections <= oneStepReading.after ? -1 : skipSelections(buf, lt);
    if (++this.offered.value <= oneStepReading.after) return -1;
    const value = readPlainValue(buf, lt);
    if (!value || mayBeOverField(value.id.length, this.maxField) || value.texts.some((text) => mayBeOverField(text.length, this.maxField))) return -1;
    if (!XCCDF_NAMESPACES.has(this.scanner.uriOf(`${value.prefix}Value`) ?? "")) return -1;
    // in place, a Value without an id stores nothing
    if (value.id) {
      for (const text of value.texts) {
        this.version++;
        this.setValue(value.id, text.trim());
      }
    }
    return value.end;
  }

  /** A Rule of the Benchmark (not inside anything being read) is kept as text: see KeptRule. */
  wantsWhole(tag: OpenTag): boolean {
    return !this.test && !this.capture && !this.rr && !this.oval && this.isXccdf(tag);
  }

  keepWhole(tag: OpenTag, content: string, at: () => { line: number; col: number }): void {
    const id = this.capAttributes(tag.attributes).id ?? "";
    // the last Rule of an id is the one read, as in place
    this.rules.delete(id);
    this.kept.set(id, {
      name: tag.name,
      attributes: tag.attributes,
      // a slice: it holds on to its chunk's text (the Benchmark's, ~8 MB in a real ARF); a copy as UTF-8
      // bytes cost ~10 ms of the 15 MB CIS ARF's ~350
      content,
      at: at(),
      namespaces: this.scanner.namespacesInScope(),
      platforms: [...(this.openBenchmark()?.platforms ?? [])],
      valuesSeen: this.valueOrder.size,
    });
  }

  /** A Rule's metadata, read now if it was kept as text. */
  private ruleMeta(id: string): RuleMeta | undefined {
    return this.rules.get(id) ?? this.readKept(id);
  }

  /**
   * Reads a kept Rule as it would have been read in place: by a reader of
   * kept Rules, which reads each inside a Benchmark of the same prefix, with
   * the namespaces in scope where it was and the Values seen before it. A
   * fault is placed where the Rule's text is in the input.
   * One reader for all of them: one per Rule (a scanner, saxes and a reader
   * each) made the Ubuntu CIS ARF, whose lines name 273 of its Rules, slower
   * than reading every Rule in place.
   */
  private readKept(id: string): RuleMeta | undefined {
    const kept = this.kept.get(id);
    if (!kept) return undefined;
    this.kept.delete(id);
    const plain = readPlainRule(kept.name, kept.attributes, kept.content, (ref) => this.valueOf(ref, kept.valuesSeen), this.maxField);
    const meta = plain ?? this.readKeptInPlace(id, kept);
    if (!meta) return undefined;
    meta.section = sectionOf(id, meta.references, kept.platforms);
    this.rules.set(id, meta);
    return meta;
  }

  /** Reads a kept Rule element by element (see readKept). */
  private readKeptInPlace(id: string, kept: KeptRule): RuleMeta | undefined {
    const benchmark = `${kept.name.slice(0, -"Rule".length)}Benchmark`;
    let side = this.side;
    if (!side || side.benchmark !== benchmark || !sameRecord(side.namespaces, kept.namespaces)) {
      const reader = new XccdfReader({ maxField: this.maxField, onTruncated: this.onTruncated });
      reader.values = this.values;
      reader.valueOrder = this.valueOrder;
      // the Rule quick too: its children are offered to readWhole (see readRuleChild)
      const scanner = new XmlScanner(reader, { source: this.scanner.source, quick: ["Benchmark", "Rule"] });
      reader.attach(scanner);
      // line 1 is the Benchmark's start tag: each Rule begins a line (see placedIn)
      scanner.write(`<${benchmark}${attributesXml(kept.namespaces)}>\n`);
      side = this.side = { reader, scanner, benchmark, namespaces: kept.namespaces, line: 2 };
    }
    side.reader.valuesBefore = kept.valuesSeen;
    const head = `<${kept.name}${attributesXml(kept.attributes)}>`;
    try {
      side.scanner.write(`${head}${kept.content}</${kept.name}>\n`);
    } catch (err) {
      this.side = undefined;
      if (err instanceof PipeError) err.position = placedIn(err.position, side.line, head.length, kept.at);
      throw err;
    }
    side.line += countLines(kept.content, kept.content.length) + 1;
    const meta = side.reader.rules.get(id);
    side.reader.rules.delete(id);
    return meta;
  }

  /** A Value's text, if seen before the Rule being read (see KeptRule.valuesSeen). */
  private valueOf(id: string, before = this.valuesBefore): string | undefined {
    const value = this.values.get(id);
    if (value === undefined || before === Infinity) return value;
    return (this.valueOrder.get(id) ?? Infinity) < before ? value : undefined;
  }

  text(text: string): void {
    if (this.oval) {
      this.oval.text(text);
      return;
    }
    const c = this.capture;
    if (!c) return;
    // cheap while the pieces cannot be over maxField bytes (a character is at most 3 UTF-8 bytes)
    if (c.chars >= 0 && !mayBeOverField(c.chars + text.length, this.maxField)) {
      c.chars += text.length;
      c.pieces.push(text);
      return;
    }
    if (c.chars >= 0) {
      c.bytes = Buffer.byteLength(c.pieces.join(""));
      c.chars = -1;
    }
    const bytes = Buffer.byteLength(text);
    if (c.dropped === 0 && c.bytes + bytes <= this.maxField) {
      c.bytes += bytes;
      c.pieces.push(text);
      return;
    }
    const kept = c.dropped === 0 ? utf8Prefix(text, this.maxField - c.bytes) : "";
    if (kept) c.pieces.push(kept);
    c.bytes += bytes;
    if (c.dropped === 0) this.onTruncated(c.kind);
    c.dropped += bytes - Buffer.byteLength(kept);
  }

  /** Attribute values as a field keeps them: at most maxField bytes. */
  private capAttributes(a: Record<string, string>): Record<string, string> {
    let capped: Record<string, string> | undefined;
    for (const key of OUTPUT_ATTRIBUTES) {
      const value = a[key];
      if (value === undefined) continue;
      if (!mayBeOverField(value.length, this.maxField) || Buffer.byteLength(value) <= this.maxField) continue;
      capped ??= { ...a };
      capped[key] = this.capText(value, `@${key}`);
    }
    return capped ?? a;
  }

  /** A plain rule-result's texts, at most maxField bytes each. */
  private capPlain(rr: RuleResultBuilder): RuleResultBuilder {
    if (rr.result !== undefined) rr.result = this.capText(rr.result, "result");
    if (rr.fix !== undefined) rr.fix = this.capText(rr.fix, "fix");
    for (let i = 0; i < rr.messages.length; i++) rr.messages[i] = this.capText(rr.messages[i], "message");
    for (let i = 0; i < rr.idents.length; i++) rr.idents[i].value = this.capText(rr.idents[i].value, "ident");
    return rr;
  }

  private capText(value: string, what: string): string {
    if (!mayBeOverField(value.length, this.maxField)) return value;
    const bytes = Buffer.byteLength(value);
    if (bytes <= this.maxField) return value;
    const kept = utf8Prefix(value, this.maxField);
    this.onTruncated(what);
    return `${kept}${truncatedMark(bytes - Buffer.byteLength(kept))}`;
  }

  get wantsText(): boolean {
    return this.capture !== null || (this.oval?.wantsText ?? false);
  }

  /** True when rule-results' OVAL checks are read, for evidence. */
  private get wantsCheck(): boolean {
    return this.batchEvidence !== undefined || (this.inArf && this.evidence !== undefined && this.evidence.mode !== "none");
  }

  /** The lines still waiting for evidence are to be written (at the end of the input, or after a fault): see releaseSome. */
  releaseHeld(): void {
    this.evidence?.releaseRest();
  }

  /**
   * Writes the next held lines that are due (their evidence read, or the
   * input ended) to `out`; true while more are due: take `out` and call
   * again, before writing more input.
   */
  releaseSome(): boolean {
    return this.evidence?.releaseSome(this.out) ?? false;
  }

  close(local: string): void {
    const oval = this.oval;
    if (oval) {
      if (oval.depth > 0) return oval.close(local);
      this.oval = null;
      this.evidence!.settle(this.reportId, oval);
    }
    const depth = this.stack.length;
    this.stack.pop();
    const capture = this.capture;
    if (capture) {
      if (depth === capture.depth) {
        this.capture = null;
        this.store(capture);
      } else if (BLOCK.has(local)) this.text(" ");
      return;
    }
    switch (local) {
      case "rule-result":
        if (this.rr) this.emit(this.rr);
        this.rr = null;
        break;
      case "Rule":
        if (this.rule && depth === this.rule.depth) {
          const { id, meta } = this.rule;
          meta.section = sectionOf(id, meta.references, this.openBenchmark()?.platforms);
          this.rules.set(this.rule.id, this.rule.meta);
          this.kept.delete(this.rule.id);
          this.rule = null;
        }
        break;
      case "TestResult":
        this.test = null;
        break;
      case "Benchmark":
        this.openBenchmarks.pop();
        break;
      case "Profile":
        this.profileId = null;
        break;
      case "Value":
        this.valueId = null;
        break;
    }
  }

  /** The innermost open XCCDF Benchmark's metadata. */
  private openBenchmark(): BenchmarkMeta | undefined {
    return this.benchmarks.get(this.openBenchmarks[this.openBenchmarks.length - 1] ?? "");
  }

  private isXccdf(tag: OpenTag): boolean {
    const uri = this.scanner.uriOf(tag.name);
    return uri !== undefined && XCCDF_NAMESPACES.has(uri);
  }

  private captureKind(local: string, parent: string | undefined, a: Record<string, string>): CaptureKind | null {
    if (this.rr) {
      if (parent !== "rule-result") return null;
      switch (local) {
        case "result":
          return "rr-result";
        case "ident":
          return "rr-ident";
        case "message":
          return "rr-message";
        case "fix":
          return "rr-fix";
      }
      return null;
    }
    if (this.rule) return this.stack.length === this.rule.depth + 1 ? ruleTextKind(local) : null;
    if (this.test) {
      if (parent !== "TestResult") return null;
      if (local === "target") return this.test.target === undefined ? "test-target" : null;
      if (local === "profile") this.test.profileId = a.idref;
      else if (local === "benchmark" && a.id) this.test.benchmarkId = a.id;
      else return null;
      this.test.json = undefined;
      return null;
    }
    if (parent === "Benchmark" && local === "title") return "benchmark-title";
    if (parent === "Benchmark" && local === "version") return "benchmark-version";
    if (parent === "Profile" && local === "title" && this.profileId) return "profile-title";
    if (parent === "Value" && local === "value" && this.valueId && !a.selector) return "value-value";
    return null;
  }

  private store(c: Capture): void {
    const joined = c.pieces.length === 1 ? c.pieces[0] : c.pieces.join("");
    const raw = c.dropped ? `${joined}${truncatedMark(c.dropped)}` : joined;
    // captures inside a rule-result (the "rr-" kinds) change nothing a batch needs
    if (!this.rr) this.version++;
    const meta = this.rule?.meta;
    switch (c.kind) {
      case "rule-title":
      case "rule-description":
      case "rule-rationale":
      case "rule-fixtext":
      case "rule-fix":
      case "rule-ident":
      case "rule-reference":
        if (meta) storeRuleText(meta, c.kind, raw, c.attributes);
        break;
      case "benchmark-title":
      case "benchmark-version": {
        const b = this.openBenchmark();
        if (b) b[c.kind === "benchmark-title" ? "title" : "version"] ??= collapse(raw);
        break;
      }
      case "profile-title":
        if (this.profileId && !this.profiles.has(this.profileId)) this.profiles.set(this.profileId, collapse(raw));
        break;
      case "value-value":
        if (this.valueId) this.setValue(this.valueId, raw.trim());
        break;
      case "test-target":
        if (this.test) {
          this.test.target = raw.trim();
          this.test.json = undefined;
        }
        break;
      case "rr-result":
        if (this.rr) this.rr.result = raw.trim();
        break;
      case "rr-ident":
        if (this.rr && raw.trim()) this.rr.idents.push({ system: c.attributes.system ?? "", value: raw.trim() });
        break;
      case "rr-message":
        if (this.rr && raw.trim()) this.rr.messages.push(collapse(raw));
        break;
      case "rr-fix":
        if (this.rr && this.rr.fix === undefined && raw.trim()) this.rr.fix = raw.trim();
        break;
    }
  }

  /** A Value's text; the first time its id is seen, its place in the order of Values (see KeptRule.valuesSeen). */
  private setValue(id: string, text: string): void {
    this.values.set(id, text);
    if (!this.valueOrder.has(id)) this.valueOrder.set(id, this.valueOrder.size);
  }

  /** Writes the rule-result's line (not for a notselected rule unless asked). */
  private emit(rr: RuleResultBuilder): void {
    if (rr.result === "notselected" && !this.includeNotselected) return;
    const meta = this.ruleMeta(rr.idref);
    if (meta && this.dropRuleTexts) settleRule(rr.idref, meta);
    const tail = this.tailOf(this.test!);
    if (this.batchEvidence && rr.check && needsEvidence(this.batchEvidence, rr.result)) throw new NotABatch("a rule-result whose line waits for evidence");
    if (this.evidence && this.wantsCheck && this.evidence.hold(rr, meta, tail, rr.check)) return;
    writeRuleLine(this.out, rr, meta, tail);
  }

  /** The line's tail as bytes, with its line feed: serialised once per TestResult context. */
  private tailOf(test: TestContext): Buffer {
    return (test.json ??= utf8(`${tailJson(test, this.profiles, this.benchmarks)}\n`));
  }

}

/**
 * A rule-result as oscap writes it, whole: its attributes in oscap's order
 * (none twice, no namespace declared), its result, and an OVAL check holding
 * exports and one check-content-ref (name, then href); the same prefix
 * throughout. Groups: prefix, idref, severity, result, check name, href.
 */
const PLAIN_RULE_RESULT = new RegExp(
  String.raw`<((?:[A-Za-z_][\w.-]*:)?)rule-result` +
    ["idref", "role", "time", "severity", "weight", "version"].map((name) => (name === "idref" || name === "severity" ? `(?: ${name}=${PLAIN_VALUE_GROUP})?` : `(?: ${name}=${PLAIN_VALUE})?`)).join("") +
    String.raw`>${BLANKS}<\1result>([a-z]+)</\1result>${BLANKS}` +
    String.raw`(?:<\1check system=${PLAIN_VALUE}>${BLANKS}(?:<\1check-export export-name=${PLAIN_VALUE} value-id=${PLAIN_VALUE}/>${BLANKS})*` +
    String.raw`<\1check-content-ref name=${PLAIN_VALUE_GROUP} href=${PLAIN_VALUE_GROUP}/>${BLANKS}</\1check>${BLANKS})?` +
    String.raw`</\1rule-result${BLANKS}>`,
  "y",
);

/** Attributes as XML text (` a="v"`…), for a kept Rule's synthetic context. */
function attributesXml(attributes: Record<string, string>): string {
  let xml = "";
  for (const key in attributes) xml += ` ${key}="${attributes[key].replace(/[&<"\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`)}"`;
  return xml;
}

/**
 * A fault's position in the text of the reader of kept Rules, where the
 * Rule's start tag (`head` characters) begins line `line` and its content
 * follows, as a position in the input, where that content begins at `at`.
 */
function placedIn(p: Position | undefined, line: number, head: number, at: { line: number; col: number }): Position {
  if (p?.line === undefined || p.line <= line) {
    const col = p?.col === undefined || p.line !== line ? at.col : at.col + Math.max(0, p.col - head - 1);
    return { ...p, line: at.line, col };
  }
  return { ...p, line: at.line + p.line - line };
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** The attributes whose values go into a line (idref, the TestResult's id and version, an ident's system…). */
const OUTPUT_ATTRIBUTES = ["idref", "id", "version", "system", "href"];

/** What a truncated field ends with. */
const truncatedMark = (dropped: number) => ` [truncated ${dropped} bytes]`;

/** The longest start of `text` of at most `max` UTF-8 bytes, whole characters only. */
function utf8Prefix(text: string, max: number): string {
  if (max <= 0) return "";
  let head = text.slice(0, max);
  // a surrogate pair cut in two would encode as a replacement character
  if (/[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
  const bytes = Buffer.from(head, "utf8");
  if (bytes.length <= max) return head;
  let cut = max;
  while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
  return bytes.subarray(0, cut).toString("utf8");
}
