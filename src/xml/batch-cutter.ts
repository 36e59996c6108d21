import { Char, INCOMPLETE, isSpace, nameEnd, type LinesRead } from "./syntax.js";
import { localOf } from "./elements.js";

/**
 * Cuts the content of a quick element into batches of whole elements of one
 * kind (the rule-results of a TestResult) for another thread to read. The
 * scanner itself then only searches for end tags; what the batch holds is
 * checked by whoever reads it, and a batch that does not read as expected is
 * handed back with replay().
 */
export interface BatchCutter {
  /** Local name of the elements cut into batches. */
  local: string;
  /** A batch is cut once this many characters are buffered. */
  minChars: number;
  take(batch: Batch): void;
}

export interface Batch {
  /** Whole elements (and what lies between them), directly inside the quick element. */
  text: string;
  /** Line count and column where the batch starts, to read it again in place. */
  lines: number;
  column: number;
}

/** An element bigger than this many batches is read in place rather than cut. */
const MAX_BATCHES_PER_ELEMENT = 16;

/** Batching takes over from `from`: the text is gathered into a batch, or held back (`hold`). */
export interface BatchStep {
  hold: boolean;
  from: number;
}

/**
 * The scanner's side of batching: gathers the quick element's content into
 * batches, and holds input back while batches are out (nothing at their
 * level may be read before they are settled: one that fails is read again
 * from its start, with everything after it).
 */
export class BatchCutting {
  /** Text being gathered into a batch, while non-null. */
  private pieces: string[] | null = null;
  private chars = 0;
  /** `</name` of the elements being batched. */
  private close = "";
  /** Batches were cut since the last resume(): nothing may be read in place before they are settled. */
  private out = false;
  /** Input held back until the caller has settled the batches (see resume). */
  private held: string[] | null = null;
  /** The next element at the batch level is read in place (it was too big to batch). */
  private skipOnce = false;
  /** No batching until the quick element closes (after a replay). */
  private off = false;
  /** No batching at all: the input has ended. */
  private ending = false;

  constructor(
    private readonly cutter: BatchCutter,
    private readonly read: LinesRead,
  ) {}

  get gathering(): boolean {
    return this.pieces !== null;
  }

  get holding(): boolean {
    return this.held !== null;
  }

  /** True while batches are out or input is held: the input may not end yet. */
  get unsettled(): boolean {
    return this.held !== null || this.out;
  }

  hold(text: string): void {
    this.held!.push(text);
  }

  /** The quick element closed: batching may start again in the next. */
  leftQuick(): void {
    this.off = false;
  }

  /**
   * At the quick element's own level, with text read up to `pos` and the
   * next markup at `lt` (-1 if none yet): whether batching takes over, and
   * from where (the caller counts the lines up to there). Undefined: read on.
   */
  step(buf: string, pos: number, lt: number): BatchStep | undefined {
    if (this.off) return undefined;
    const batchable = lt < 0 || lt + 1 >= buf.length ? INCOMPLETE : this.isBatchable(buf, lt, buf.charCodeAt(lt + 1));
    if (this.out) {
      if (batchable === false) {
        this.held = [];
        return { hold: true, from: pos };
      }
      this.startGathering();
      return { hold: false, from: pos };
    }
    if (batchable !== true) return undefined;
    this.startGathering();
    return { hold: false, from: lt };
  }

  /**
   * Gathers text until a batch's worth is buffered, then cuts it after the
   * last end tag of a batched element and hands it over. Returns the text
   * after the cut, to be read on.
   */
  gather(text: string): string {
    const pieces = this.pieces!;
    pieces.push(text);
    this.chars += text.length;
    if (this.chars < this.cutter.minChars) return "";
    const all = pieces.length === 1 ? pieces[0] : pieces.join("");
    const cut = lastEndTag(all, this.close);
    if (cut < 0) {
      if (this.chars <= MAX_BATCHES_PER_ELEMENT * this.cutter.minChars) {
        this.pieces = [all];
        return "";
      }
      // one element bigger than many batches: read it in place once the batches before it are settled
      this.pieces = null;
      this.skipOnce = true;
      if (!this.out) return all;
      this.held = [all];
      return "";
    }
    this.pieces = null;
    const batch: Batch = { text: all.slice(0, cut), lines: this.read.lines, column: this.read.column };
    this.read.consume(batch.text, cut);
    this.out = true;
    this.cutter.take(batch);
    return all.slice(cut);
  }

  /** The batches cut so far are settled: the input held back, to be read. */
  resume(): string[] {
    const held = this.held ?? [];
    this.held = null;
    this.out = false;
    return held;
  }

  /**
   * `batch` (and those cut after it) did not read as expected elsewhere: the
   * text to read again in place, from the batch's own start (the caller
   * rewinds the position to it). No batching until the quick element closes.
   */
  replay(batch: Batch, later: Batch[]): string[] {
    const rest = [batch.text, ...later.map((b) => b.text), ...(this.pieces ?? []), ...(this.held ?? [])];
    this.pieces = null;
    this.held = null;
    this.out = false;
    this.off = true;
    return rest;
  }

  /** The input ends: no more batches. */
  end(): void {
    this.ending = true;
  }

  /** What was being gathered when the input ended, to be read in place (to find the fault); null if nothing. */
  takeUnfinished(): string[] | null {
    const pieces = this.pieces;
    this.pieces = null;
    return pieces;
  }

  private startGathering(): void {
    this.pieces = [];
    this.chars = 0;
  }

  /** True if the markup at `lt` starts an element to batch; INCOMPLETE if its name is cut off. */
  private isBatchable(buf: string, lt: number, next: number): boolean | typeof INCOMPLETE {
    if (next === Char.Slash || next === Char.Bang || next === Char.Question || this.ending) return false;
    const end = nameEnd(buf, lt + 1, buf.length);
    if (end === buf.length) return INCOMPLETE;
    const name = buf.slice(lt + 1, end);
    if (localOf(name) !== this.cutter.local) return false;
    if (this.skipOnce) {
      this.skipOnce = false;
      return false;
    }
    this.close = `</${name}`;
    return true;
  }
}

/** End of the last `close` end tag (`</name`, blanks, `>`) in `text`, or -1. */
function lastEndTag(text: string, close: string): number {
  for (let at = text.lastIndexOf(close); at >= 0; at = at > 0 ? text.lastIndexOf(close, at - 1) : -1) {
    let i = at + close.length;
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    if (i < text.length && text.charCodeAt(i) === Char.Gt) return i + 1;
  }
  return -1;
}
