import type { ByteLines } from "../../streams/byte-lines.js";
import type { RuleResultBuilder } from "./plain-rule-result.js";
import { writeRuleLine, type LineEvidence, type RuleMeta } from "./line.js";
import { OvalReportReader } from "./evidence-oval.js";
import { buildEvidence, needsEvidence, type EvidenceMode } from "./evidence.js";

/** A rule-result's OVAL check: the report (`#oval0`) and the definition id. */
export interface CheckRef {
  href: string;
  name: string;
}

interface Held {
  rr: RuleResultBuilder;
  meta: RuleMeta | undefined;
  tail: Buffer;
  check: CheckRef;
  evidence?: LineEvidence;
  /** True once a report it points to has been read. */
  settled: boolean;
}

/**
 * The lines that wait for their OVAL evidence. In an ARF the OVAL reports
 * come after the TestResult, so a failed rule-result's line is held until
 * the report its check points to has been read, then written with its
 * evidence; memory is the held lines and what their definitions need.
 */
export class EvidenceHold {
  private held: Held[] = [];

  constructor(
    readonly mode: EvidenceMode,
    private readonly maxItems: number,
  ) {}

  /** Holds the line if it wants evidence from an OVAL report; false to write it now. */
  hold(rr: RuleResultBuilder, meta: RuleMeta | undefined, tail: Buffer, check: CheckRef | undefined): boolean {
    if (!check?.name || !needsEvidence(this.mode, rr.result)) return false;
    this.held.push({ rr, meta, tail, check, settled: false });
    return true;
  }

  /** A reader for the OVAL report `reportId`, or undefined if no held line points to it. */
  readerFor(reportId: string | undefined): OvalReportReader | undefined {
    const wanted = new Set(this.heldFor(reportId).map((h) => h.check.name));
    return wanted.size ? new OvalReportReader(wanted, this.maxItems) : undefined;
  }

  /** The report `reportId` has been read: its lines get their evidence and are written. */
  settle(reportId: string | undefined, reader: OvalReportReader, out: ByteLines): void {
    for (const h of this.heldFor(reportId)) {
      const built = buildEvidence(h.check.name, reader.found);
      if (!built) continue;
      h.settled = true;
      // the sentence explains a failure: a passing rule gets the evidence alone
      const explains = h.rr.result === "fail" || h.rr.result === "error";
      h.evidence = { ...(explains ? built.summary : {}), json: `,"evidence":${JSON.stringify(built.evidence)}` };
    }
    this.release(out, false);
  }

  /** Writes the held lines (all of them, with or without evidence, when `all`). */
  release(out: ByteLines, all: boolean): void {
    const keep: Held[] = [];
    for (const h of this.held) {
      if (all || h.settled) writeRuleLine(out, h.rr, h.meta, h.tail, h.evidence);
      else keep.push(h);
    }
    this.held = keep;
  }

  /**
   * The held lines a report may explain: those whose check names it; a check
   * naming something else (old oscap wrote `#xccdf1`) takes the first report
   * that has its definition.
   */
  private heldFor(reportId: string | undefined): Held[] {
    return this.held.filter((h) => !h.settled && (h.check.href === `#${reportId}` || !/^#oval\d+$/.test(h.check.href)));
  }
}
