import { utf8, type ByteLines } from "../../streams/byte-lines.js";
import type { RuleResultBuilder } from "./plain-rule-result.js";
import { writeRuleLine, type LineEvidence, type RuleMeta } from "./line.js";
import { OvalReportReader } from "./evidence-oval.js";
import { buildEvidence, needsEvidence, type EvidenceMode, type EvidenceSummary } from "./evidence.js";
import { SpillQueue } from "./spill-queue.js";

/** A rule-result's OVAL check: the report (`#oval0`) and the definition id. */
export interface CheckRef {
  href: string;
  name: string;
}

/**
 * A held line, as queued (JSON): the rule-result, its Rule's and tail's
 * numbers (see EvidenceHold.metas/tails), its place in the document, and
 * whether it waits for evidence (else it is only queued behind lines that did).
 */
type Entry = [rr: RuleResultBuilder, meta: number, tail: number, seq: number, waits: 0 | 1];

/** The evidence a report gave for one check (`href` and definition), for the lines held before it was read. */
interface Settled {
  evidence: { json: Buffer; summary: EvidenceSummary };
  /** Lines from this place in the document on were held after the report: not settled by it. */
  before: number;
}

/** Lines written by one releaseSome call, at most (~600 KB of lines of a real SSG scan). */
const RELEASE_LINES = 100;

/**
 * The lines that wait for their OVAL evidence. In an ARF the OVAL reports
 * come after the TestResult, so a failed rule-result's line is held until
 * the report its check points to has been read, then written with its
 * evidence.
 *
 * Memory stays flat however many lines wait: they are held as JSON text (UTF-8 bytes),
 * beyond 512 KB in a temporary file (SpillQueue), and written out a slice at a
 * time (releaseSome) so that the caller can pass each slice on before the
 * next. Measured on the 336 MB rule-heavy-real bench file (~37,000 failed
 * rule-results waiting for the report at its end): peak RSS 450 MB when the
 * rule-results were held as objects (their strings kept the 64 KB input
 * chunks they were cut from alive) and written all at once.
 */
export class EvidenceHold {
  private queue: SpillQueue;
  /** During a release: the lines it keeps (still waiting), in order. */
  private kept?: SpillQueue;
  private releaseAll = false;
  /** A report was read while a release was under way: the lines it passed by are looked at again. */
  private again = false;
  private seq = 0;
  private readonly metas = new Numbered<RuleMeta | undefined>();
  private readonly tails = new Numbered<Buffer>();
  /** Lines waiting, by their check's href, then definition: how many. */
  private readonly waiting = new Map<string, Map<string, number>>();
  /** Evidence read, by check (`href definition`), for the lines held before. */
  private readonly settled = new Map<string, Settled>();

  constructor(
    readonly mode: EvidenceMode,
    private readonly maxItems: number,
    /** Bytes of held lines kept in memory (SpillQueue's default if undefined). */
    private readonly memoryBytes?: number,
  ) {
    this.queue = new SpillQueue(memoryBytes);
  }

  /** Holds the line if it wants evidence from an OVAL report, or lines are being released (it goes behind them); false to write it now. */
  hold(rr: RuleResultBuilder, meta: RuleMeta | undefined, tail: Buffer, check: CheckRef | undefined): boolean {
    const waits = Boolean(check?.name) && needsEvidence(this.mode, rr.result);
    if (!waits && !this.kept) return false;
    if (waits) {
      const names = this.waiting.get(check!.href) ?? new Map<string, number>();
      this.waiting.set(check!.href, names);
      names.set(check!.name, (names.get(check!.name) ?? 0) + 1);
    }
    const entry: Entry = [rr, this.metas.of(meta), this.tails.of(tail), this.seq++, waits ? 1 : 0];
    this.queue.push(JSON.stringify(entry));
    return true;
  }

  /** A reader for the OVAL report `reportId`, or undefined if no held line points to it. */
  readerFor(reportId: string | undefined): OvalReportReader | undefined {
    const wanted = new Set<string>();
    for (const [href, names] of this.waiting) if (explainedBy(href, reportId)) for (const name of names.keys()) wanted.add(name);
    return wanted.size ? new OvalReportReader(wanted, this.maxItems) : undefined;
  }

  /** The report `reportId` has been read: the lines it explains are written (by releaseSome) with their evidence. */
  settle(reportId: string | undefined, reader: OvalReportReader): void {
    let any = false;
    for (const [href, names] of this.waiting) {
      if (!explainedBy(href, reportId)) continue;
      for (const name of names.keys()) {
        const built = buildEvidence(name, reader.found);
        if (!built) continue;
        this.settled.set(`${href} ${name}`, { evidence: { json: utf8(`,"evidence":${JSON.stringify(built.evidence)}`), summary: built.summary }, before: this.seq });
        names.delete(name);
        any = true;
      }
      if (!names.size) this.waiting.delete(href);
    }
    if (any) this.startRelease();
  }

  /** Every held line is to be written, with or without evidence (the end of the input, or a fault). */
  releaseRest(): void {
    this.releaseAll = true;
    this.waiting.clear();
    this.startRelease();
  }

  /** True while held lines are to be written: call releaseSome until it is false. */
  get releasing(): boolean {
    return this.kept !== undefined;
  }

  /** Writes the next held lines that are due (RELEASE_LINES of them at most) to `out`; false once none is left to write. */
  releaseSome(out: ByteLines): boolean {
    const kept = this.kept;
    if (!kept) return false;
    let lines = 0;
    for (let text = this.queue.shift(); text !== undefined; text = this.queue.shift()) {
      const [rr, meta, tail, seq, waits] = JSON.parse(text) as Entry;
      const settled = waits && rr.check ? this.settled.get(`${rr.check.href} ${rr.check.name}`) : undefined;
      if (waits && !this.releaseAll && !(settled && seq < settled.before)) {
        kept.push(text);
        continue;
      }
      writeRuleLine(out, rr, this.metas.get(meta), this.tails.get(tail), settled && seq < settled.before ? lineEvidence(rr, settled.evidence) : undefined);
      if (++lines >= RELEASE_LINES) return true;
    }
    this.queue.close();
    this.queue = kept;
    this.kept = undefined;
    if (this.again) {
      this.again = false;
      this.startRelease();
      return true;
    }
    this.settled.clear();
    if (this.releaseAll) this.queue.close();
    return false;
  }

  /** Removes the temporary file, if any. */
  close(): void {
    this.queue.close();
    this.kept?.close();
  }

  private startRelease(): void {
    if (this.kept) this.again = true;
    else this.kept = new SpillQueue(this.memoryBytes);
  }
}

/** True if a held line whose check names `href` may be explained by the report `reportId` (old oscap wrote `#xccdf1`: the first report that has its definition). */
function explainedBy(href: string, reportId: string | undefined): boolean {
  return href === `#${reportId}` || !/^#oval\d+$/.test(href);
}

/** The sentence explains a failure: a passing rule gets the evidence alone. */
function lineEvidence(rr: RuleResultBuilder, evidence: Settled["evidence"]): LineEvidence {
  const explains = rr.result === "fail" || rr.result === "error";
  return { ...(explains ? evidence.summary : {}), json: evidence.json };
}

/** Numbers for values held by many lines (a Rule's metadata, a TestResult's tail), so that a queued line names them by number. */
class Numbered<T> {
  private readonly numbers = new Map<T, number>();
  private readonly values: T[] = [];

  of(value: T): number {
    let n = this.numbers.get(value);
    if (n === undefined) {
      n = this.values.push(value) - 1;
      this.numbers.set(value, n);
    }
    return n;
  }

  get(n: number): T {
    return this.values[n];
  }
}
