import { PipeError } from "../errors.js";
import { Utf8Decoder } from "../streams/utf8-decoder.js";
import { BatchCutting, type Batch, type BatchCutter } from "./batch-cutter.js";
import { OpenElements, localOf, type Ancestor } from "./elements.js";
import { QuickPath } from "./quick-path.js";
import { bareAmpersandFault, betweenMarkup, describeSaxMessage, inQuickPathWords, newSaxesParser, referenceLeftOpen, type PlacedFault, type SaxesParser, type SaxesTagPlain } from "./saxes-faults.js";
import { Char, INCOMPLETE, LinesRead, SyntaxFault, countLines, escapeRegExp, excerpt, findEndTag, isSpace, parsePlainStartTag } from "./syntax.js";

export type { Ancestor } from "./elements.js";
export type { Batch, BatchCutter } from "./batch-cutter.js";

export interface OpenTag {
  /** Qualified name as written (`xccdf:Rule`). */
  name: string;
  /** Name without its prefix (`Rule`). */
  local: string;
  attributes: Record<string, string>;
  selfClosing: boolean;
}

export interface XmlEvents {
  /** Return true to skip the element's content unparsed (its close still arrives). */
  open(tag: OpenTag): boolean | void;
  close(local: string): void;
  text(text: string): void;
  /** False while text would be ignored: the quick path then does not even cut it out. */
  readonly wantsText?: boolean;
  /**
   * Quick path only: offered each element that opens directly inside a quick
   * element (and declares no namespace), before open(), with the buffer that
   * holds its start tag; `from` is where its content begins. A handler that
   * can read the whole element from there (content and end tag, all in `buf`)
   * does so and returns where its end tag ends; -1 has it read as usual. What
   * it accepts must be read as open(), text() and close() would have read it:
   * in doubt (including a fault), it returns -1.
   */
  readWhole?(tag: OpenTag, buf: string, from: number): number;
  /**
   * Quick path only: offered each element that opens directly inside a quick
   * element, before its start tag (at `lt` in `buf`) is even parsed. A
   * handler that finds it whole in `buf` and well-formed, in a shape it
   * checks exactly, and reads it as open(), text() and close() would have
   * (or passes it over, if they would change nothing), returns where its end
   * tag ends. In doubt, -1: it is read as usual.
   */
  readFromStart?(buf: string, lt: number): number;
  /**
   * Quick path only: the local name of elements whose content a handler may
   * keep unread, as text, to read later if at all (see keepWhole).
   */
  readonly keptLocal?: string;
  /**
   * Quick path only: asked at each start tag named `keptLocal` (not
   * self-closing, declaring no namespace) whether its element is to be kept
   * whole, unread. If so, the quick path finds its end tag (waiting for more
   * input, up to MAX_KEPT characters and MAX_KEPT_WAITS reads) and hands over
   * its content with keepWhole(); an element it cannot hand over whole (too
   * long, cut into too many reads, or holding a comment, CDATA section or
   * processing instruction, where an end tag may hide) is read as usual.
   */
  wantsWhole?(tag: OpenTag): boolean;
  /**
   * The content of an element wantsWhole() asked for, between its start and
   * end tags, unread: the caller reads it later (and judges its syntax then),
   * or never. `at`: where the content begins in the input.
   */
  keepWhole?(tag: OpenTag, content: string, at: () => { line: number; col: number }): void;
}

const MAX_LEADING_LINE = 1024 * 1024;
/** The XML declaration oscap writes: a document that begins with it may start without saxes (see startWithoutSaxes). */
const PLAIN_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';
const MAX_PRINTABLE_ASCII = 0x7e;

/** Switches startWithoutSaxes off: tests compare the two ways of starting. */
export const plainStart = { enabled: true };

/**
 * True if `text` (after the root's end tag) holds only blanks, comments and
 * processing instructions, whole: what saxes, reading it in the same write as
 * that end tag, passed over without finding fault.
 */
function onlyMarkupAfterRoot(text: string): boolean {
  let i = 0;
  for (;;) {
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    if (i === text.length) return true;
    const close = text.startsWith("<!--", i) ? "-->" : text.startsWith("<?", i) ? "?>" : "";
    const end = close ? text.indexOf(close, i + 2) : -1;
    if (end < 0) return false;
    i = end + close.length;
  }
}
/** At most this many bytes after a chunk's last `>` are carried to the next (see decode); more are decoded at once. */
const TAIL_BYTES = 16 * 1024;

/**
 * Streaming XML reader on top of saxes, with two things saxes lacks:
 *
 * - Leading non-XML text (oscap's per-rule lines before `<?xml` when the
 *   report goes to /dev/stdout) is skipped line by line and counted.
 * - Element content a caller does not need (OVAL results: most of the bytes
 *   of a large ARF) is skipped by searching for its closing tag instead of
 *   being parsed, so those regions cost a string search, not a parse, and a
 *   huge text node inside them is never held.
 *
 * - The content of elements named in `quick` (the TestResult: nearly all the
 *   bytes of a rule-heavy report) is tokenised by string search (see
 *   quick-path.ts) instead of by saxes, which reads one character at a time,
 *   and may be cut into batches for other threads (see batch-cutter.ts).
 *   The element's own start and end tags still go through saxes, but for a
 *   root that begins the document as oscap writes it (startWithoutSaxes).
 *
 * Chunks are handed to saxes cut just after a `>`, so when a skip or the
 * quick path begins saxes sits between markup: a skip can close it cleanly
 * with synthesised end tags, and the quick path starts only once saxes has
 * nothing open inside the quick element. Line numbers in errors count every
 * line, whoever read it.
 * No DTD is read, no entity is expanded beyond XML's five, nothing is fetched.
 */
export class XmlScanner {
  readonly source: string;
  /** Bytes of non-XML text dropped before the document. */
  leadingBytes = 0;
  /**
   * True once text followed the root element. oscap flushes its buffered
   * per-rule lines at exit, after the report it wrote to /dev/stdout.
   */
  trailingText = false;

  /** saxes, made when first needed (see startWithoutSaxes). */
  private saxes?: SaxesParser;
  /** The line saxes would be on where the quick path began, when saxes did not read the start (see startWithoutSaxes). */
  private startLine = 1;
  /** Local names of quick elements the caller reads as roots (see startWithoutSaxes). */
  private readonly plainRoots: ReadonlySet<string>;
  private readonly decoder = new Utf8Decoder();
  /** Bytes carried from the last chunk (see keepTail), at the start of `scratch`; more room is allocated as needed. */
  private scratch = Buffer.alloc(0);
  private carriedBytes = 0;
  /**
   * The last chunk's bytes (with those carried in front: then `inScratch`)
   * and where its text ends; `exact`: the text is all of bytes[0, cut).
   */
  private cutChunk: { bytes: Buffer; cut: number; exact: boolean; inScratch: boolean } | undefined;
  /** False while the decoder is known to hold no bytes of a character cut by a chunk's end. */
  private decoderHolds = false;
  private readonly events: XmlEvents;
  private readonly elements: OpenElements;
  private readonly quick: QuickPath;
  private readonly batching?: BatchCutting;
  /** Lines read outside saxes, for positions. */
  private readonly read = new LinesRead();
  private inProlog = true;
  /** Leading text carried to the next chunk (a line not yet ended). */
  private leading = "";
  private sawRoot = false;
  /** Text for saxes not yet written: writes end at a '>'. */
  private pending: string[] = [];
  /** Text carried while searching for a skipped element's end tag. */
  private skipCarry = "";
  private failed = false;
  /** True while saxes is told of end tags that the quick path will read (see enterQuick). */
  private handingOver = false;
  /**
   * saxes's column is short of the real one by this much on its line
   * `shiftLine`, where the quick path handed the input back to it (saxes did
   * not see what the quick path read, and did see enterQuick's end tags).
   */
  private columnShift = 0;
  private shiftLine = -1;
  /** Reads a batch: the quick element's content only, as a fragment. */
  private readonly fragment: boolean;
  /** The start of a quick element or of one named in `saxesStops` (see saxesCut). */
  private readonly stop: RegExp | undefined;

  /**
   * `ancestors`: see forBatch. `saxesStops`: local names of elements (besides
   * the quick ones) at whose start tag saxes's write ends, because what
   * follows is read some other way (the caller skips them: see saxesCut).
   */
  constructor(events: XmlEvents, opts: { source?: string; quick?: Iterable<string>; saxesStops?: Iterable<string>; batches?: BatchCutter; ancestors?: Ancestor[]; plainRoots?: Iterable<string> } = {}) {
    this.events = events;
    this.source = opts.source ?? "stdin";
    this.fragment = opts.ancestors !== undefined;
    this.batching = opts.batches && new BatchCutting(opts.batches, this.read);
    const quick = [...(opts.quick ?? [])];
    this.plainRoots = new Set([...(opts.plainRoots ?? [])].filter((local) => quick.includes(local)));
    const stops = [...quick, ...(opts.saxesStops ?? [])];
    const names = stops.map(escapeRegExp).join("|");
    this.stop = stops.length ? new RegExp(`<(?:[A-Za-z_][\\w.-]*:)?(?:${names})[\\s/>]`, "g") : undefined;
    this.elements = new OpenElements(events, new Set(quick), (outermost) => {
      if (outermost) this.quick.active = false;
      this.batching?.leftQuick();
    });
    this.quick = new QuickPath(this.elements, events, this.read, this.batching, this.fragment, (fault, buf) => this.quickFault(fault, buf), () => this.saxes?.line ?? this.startLine);
    if (this.fragment) {
      this.elements.openAround(opts.ancestors!);
      this.inProlog = false;
      this.sawRoot = true;
      this.quick.active = true;
    }
  }

  private get parser(): SaxesParser {
    return (this.saxes ??= this.newParser());
  }

  private newParser(): SaxesParser {
    const parser = newSaxesParser();
    parser.on("opentag", (tag) => this.onOpen(tag as SaxesTagPlain));
    parser.on("closetag", () => {
      if (!this.handingOver) this.onClose();
    });
    parser.on("text", (text) => {
      if (this.rootClosed) this.trailingText ||= text.trim() !== "";
      else if (this.elements.skipDepth === 0) this.events.text(text);
    });
    parser.on("error", (err) => {
      // after the root element, whatever follows is not ours to judge
      if (this.rootClosed) this.trailingText = true;
      else throw err;
    });
    parser.on("cdata", (text) => {
      if (this.elements.skipDepth === 0) this.events.text(text);
    });
    return parser;
  }

  /**
   * A scanner for a batch cut by another scanner: `ancestors` are the
   * elements open around it (the quick element last), as `openAncestors()`
   * gave them. Its content is read by the quick path; leaving the quick
   * element, or ending inside an element, is a fault.
   */
  static forBatch(events: XmlEvents, ancestors: Ancestor[], source: string): XmlScanner {
    return new XmlScanner(events, { source, ancestors });
  }

  /** The open elements, for forBatch. */
  openAncestors(): Ancestor[] {
    return this.elements.ancestors();
  }

  /** Checks that a batch ended where it began: between elements inside the quick element. */
  endBatch(): void {
    if (!this.fragment || this.failed) throw new Error("endBatch: not a batch scanner, or it failed");
    const carry = this.quick.carry;
    if (carry || this.elements.skipDepth > 0 || this.elements.depth !== this.elements.quickDepth) {
      throw this.quickFault(new SyntaxFault("batch ends inside an element", carry.length), carry);
    }
  }

  /** True while input is held back until the batches cut so far are settled (see resume). */
  get waiting(): boolean {
    return this.batching?.holding ?? false;
  }

  /** The batches cut so far are settled: reads the input held back. */
  resume(): void {
    for (const text of this.batching?.resume() ?? []) this.feed(text);
  }

  /**
   * `batch` (and those cut after it) did not read as expected elsewhere:
   * reads them here, in place, with everything after them. No batching
   * until the quick element closes.
   */
  replay(batch: Batch, later: Batch[]): void {
    const rest = this.batching!.replay(batch, later);
    this.read.lines = batch.lines;
    this.read.column = batch.column;
    for (const text of rest) this.feed(text);
  }

  /** True once saxes has been handed any of the input (see startWithoutSaxes). */
  get readBySaxes(): boolean {
    return this.saxes !== undefined;
  }

  /** True once the document's first element has been found. */
  get inDocument(): boolean {
    return !this.inProlog;
  }

  write(chunk: Buffer | string): void {
    if (typeof chunk === "string") {
      if (chunk.length) this.feed(chunk);
      return;
    }
    const carriedBefore = this.quick.carriedChars;
    const text = this.decode(chunk);
    if (text.length) this.feed(text);
    this.keepTail(carriedBefore === 0 ? text : undefined);
  }

  /**
   * A chunk's text, decoded up to its last `>` (an ASCII byte: a character's
   * end), with the bytes carried from the last chunk in front (see keepTail).
   * Text that ends a tag leaves the quick path and a skip's search nothing to
   * carry, so the next chunk's text is searched as decoded, not joined to a
   * carried string (V8 copies such a join whole, into the young generation,
   * at its first search). Measured on the 15 MB Ubuntu CIS ARF: 23 of the
   * run's 74 MB of allocations were those copies; fastest of 20, 243 -> 210 ms.
   */
  private decode(chunk: Buffer): string {
    let bytes = chunk;
    const inScratch = this.carriedBytes > 0;
    if (inScratch) {
      // the carried bytes are at the scratch's start: the chunk goes after them (one copy, no allocation)
      bytes = this.room(this.carriedBytes + chunk.length);
      chunk.copy(bytes, this.carriedBytes);
      this.carriedBytes = 0;
    }
    const cut = bytes.lastIndexOf(Char.Gt) + 1;
    const held = this.decoderHolds;
    // no `>` near the end (a long text or comment): the whole chunk, as without a cut
    if (cut === 0 || bytes.length - cut > TAIL_BYTES) {
      this.cutChunk = undefined;
      this.decoderHolds = true; // maybe: a character cut by the chunk's end
      return this.decoder.write(bytes);
    }
    // a cut after an ASCII byte leaves the decoder holding nothing: the text is then exactly bytes[0, cut)
    this.decoderHolds = false;
    this.cutChunk = { bytes, cut, exact: !held, inScratch };
    return this.decoder.write(cut < bytes.length ? bytes.subarray(0, cut) : bytes);
  }

  /**
   * Keeps the last chunk's bytes after its cut for the next, in the scratch
   * buffer (the reader reuses the chunk's own). In front of them, what the
   * quick path carries (an element kept whole, waiting for its end tag: a
   * Rule cut by the chunk's end) is handed back as bytes too, so that with
   * the next chunk it is one decoded string; only when it is the end of
   * `text`, all of the chunk's text (nothing was carried into it as a string).
   */
  private keepTail(text: string | undefined): void {
    const chunk = this.cutChunk;
    this.cutChunk = undefined;
    if (!chunk) return;
    let from = chunk.cut;
    const chars = this.quick.carriedChars;
    if (text !== undefined && chunk.exact && chars > 0 && chars <= text.length && !this.batching && this.quick.active) {
      const rest = this.quick.carry;
      const start = chunk.cut - Buffer.byteLength(rest);
      // a replacement character may stand for bytes that were not UTF-8: their count is not known then
      if (start >= 0 && text.endsWith(rest) && !rest.includes("\ufffd")) {
        this.quick.takeCarried();
        from = start;
      }
    }
    const length = chunk.bytes.length - from;
    if (length === 0) return;
    if (chunk.inScratch) this.scratch.copyWithin(0, from, chunk.bytes.length);
    else chunk.bytes.copy(this.room(length), 0, from);
    this.carriedBytes = length;
  }

  /** The scratch buffer's first `size` bytes, grown (its carried bytes kept) if need be. */
  private room(size: number): Buffer {
    if (size > this.scratch.length) {
      const bigger = Buffer.allocUnsafe(Math.max(size, 2 * this.scratch.length, 128 * 1024));
      this.scratch.copy(bigger, 0, 0, this.carriedBytes);
      this.scratch = bigger;
    }
    return this.scratch.subarray(0, size);
  }

  end(): void {
    if (this.batching?.unsettled) throw new Error("XmlScanner.end: batches not settled (call resume first)");
    // nothing may be left waiting for input that will not come
    this.batching?.end();
    const carried = this.scratch.subarray(0, this.carriedBytes);
    this.carriedBytes = 0;
    const rest = this.decoder.write(carried) + this.decoder.end();
    if (rest) this.feed(rest);
    // the input ended inside the batched elements: read what there is in place, to find the fault
    for (const text of this.batching?.takeUnfinished() ?? []) this.feed(text);
    if (this.inProlog) {
      const skipped = this.leadingBytes + Buffer.byteLength(this.leading);
      throw this.error(`not XML: no element found${skipped ? ` in ${skipped} bytes of text` : ""}`, { line: this.read.lines + 1, col: 1 });
    }
    const { skipDepth, names } = this.elements;
    if (skipDepth > 0) {
      throw this.error(`unexpected end of input inside <${excerpt(names[skipDepth - 1])}>`, this.endOfSkip());
    }
    if (this.quick.active) {
      const carry = this.quick.carry;
      throw this.quickFault(new SyntaxFault(`unexpected end of input (unclosed <${excerpt(this.elements.innermost)}>)`, carry.length), carry);
    }
    if (!this.rootClosed) this.saxWrite(this.pending.join(""), true);
    this.pending = [];
    try {
      // without saxes, the root is closed (the quick path read up to its end tag): nothing for it to check
      this.saxes?.close();
    } catch (cause) {
      const open = names.length ? ` (unclosed <${excerpt(this.elements.innermost)}>)` : "";
      throw this.saxError(cause, `unexpected end of input${open}`);
    }
    if (!this.sawRoot) throw this.error("not XML: no element found");
  }

  /** Namespace URI of a qualified name, as declared on the currently open elements. */
  uriOf(qname: string): string | undefined {
    return this.elements.uriOf(qname);
  }

  /** The namespace declarations in scope on the open elements (`xmlns:p` and `xmlns` keys), the innermost winning. */
  namespacesInScope(): Record<string, string> {
    return this.elements.namespacesInScope();
  }

  /** True once the root element has closed. */
  private get rootClosed(): boolean {
    return this.sawRoot && this.elements.depth === 0;
  }

  /** Hands text to whoever reads it now: the batch cutter, the quick path, a skip, or saxes. */
  private feed(text: string): void {
    if (this.failed) return;
    const batching = this.batching;
    if (batching?.holding) {
      batching.hold(text);
      return;
    }
    if (this.rootClosed) {
      this.trailingText ||= text.trim() !== "";
      return;
    }
    if (this.inProlog) {
      const start = this.findDocumentStart(text);
      if (start < 0) return;
      text = start ? text.slice(start) : text;
    }
    if (!this.sawRoot && !this.saxes && !this.pending.length && this.plainRoots.size && plainStart.enabled) text = this.startWithoutSaxes(text);
    while (text.length) {
      if (batching?.holding) {
        // set by the calls below
        batching.hold(text);
        return;
      }
      if (batching?.gathering) {
        text = batching.gather(text);
        continue;
      }
      if (this.quick.active) {
        text = this.quick.feed(text);
        if (this.quick.active) continue;
        if (this.saxes) this.handedBack();
        else {
          // the root's end tag (see startWithoutSaxes), checked by the quick path
          const gt = text.indexOf(">");
          this.read.consume(text, gt + 1);
          this.elements.close();
          this.trailingText ||= !onlyMarkupAfterRoot(text.slice(gt + 1));
          return;
        }
        continue;
      }
      if (this.elements.skipDepth > 0) {
        text = this.skipAhead(text);
        continue;
      }
      const cut = this.saxesCut(text);
      if (cut < 0) {
        this.pending.push(text);
        return;
      }
      const head = text.slice(0, cut + 1);
      text = text.slice(cut + 1);
      if (this.pending.length) {
        this.pending.push(head);
        const joined = this.pending.join("");
        this.pending = [];
        this.saxWrite(joined);
      } else this.saxWrite(head);
      if (this.elements.skipDepth > 0) {
        // where the skip's search begins, for the column after it (see handedBack)
        this.read.column = this.columnOf(this.parser.column, this.parser.line);
        this.closeSkippedElements();
      }
      if (this.elements.inQuick && this.elements.skipDepth === 0 && betweenMarkup(this.parser)) this.enterQuick();
      if (this.rootClosed) {
        this.trailingText ||= text.trim() !== "";
        return;
      }
    }
  }

  /**
   * Where saxes's next write ends: at the first `>` after the start of a
   * quick element or a stop, so that the quick path or a skip takes over
   * there, else at the last `>`. saxes reads one character at a time: given
   * whole 64 KB chunks it read all of a small report and, in a large one, up
   * to a chunk past each of those starts. Measured (fastest of 60 and of 10):
   * a 21 KB ARF 87 -> 83 ms, the bundled 8 MB real ARF 319 -> 289 ms.
   * A cut that falls inside a tag or a comment only delays the switch. Each
   * call looks only as far as the cut it returns (the last `>` is searched
   * for only when no stop is left): a comment full of stop names followed by
   * a long text took seconds when every call searched back from the end.
   */
  private saxesCut(text: string): number {
    const stop = this.stop;
    if (stop) {
      stop.lastIndex = 0;
      const start = stop.exec(text);
      const gt = start ? text.indexOf(">", start.index) : -1;
      if (gt >= 0) return gt;
    }
    return text.lastIndexOf(">");
  }

  /**
   * A document that begins as oscap writes one (the declaration PLAIN_DECLARATION, blanks, then the start
   * tag of a root named in plainRoots, on one line, in printable ASCII, with no reference or blank in a
   * value: nothing for saxes to find fault with) has its root opened here, and the quick path reads it
   * from there to its end tag: saxes is not even loaded. Returns the text after that start tag; anything
   * else (those tags not whole in this first text either) is returned whole, for saxes to read as before.
   * saxes's line and column where its reading would have ended carry on in the quick path's positions.
   * Measured on the 21 KB fixture ARF (callgrind, main thread; node -e 0 is 78 M): 107.5 -> 104.4 M
   * instructions: saxes's loading, its first writes and the expression that cut them are gone.
   */
  private startWithoutSaxes(text: string): string {
    if (this.fragment || this.batching || !text.startsWith(PLAIN_DECLARATION)) return text;
    let lt = PLAIN_DECLARATION.length;
    while (lt < text.length && isSpace(text.charCodeAt(lt)) && text.charCodeAt(lt) !== Char.Cr) lt++;
    const tag = parsePlainStartTag(text, lt);
    if (!tag || tag.selfClosing || !this.plainRoots.has(localOf(tag.name))) return text;
    for (let i = lt; i < tag.end; i++) {
      const c = text.charCodeAt(i);
      if (c < Char.Space || c > MAX_PRINTABLE_ASCII) return text;
    }
    const lines = countLines(text, lt);
    this.startLine = 1 + lines;
    this.sawRoot = true;
    this.elements.open(tag.name, tag.attributes, false, true);
    this.quick.enter(lines ? tag.end - text.lastIndexOf("\n", lt) - 1 : tag.end);
    return text.slice(tag.end);
  }

  /** Drops whole lines until one starts (after blanks) with `<`; returns its index or -1. */
  private findDocumentStart(text: string): number {
    let buf = this.leading + text;
    const base = this.leading.length;
    let pos = 0;
    for (;;) {
      let i = pos;
      while (i < buf.length && (buf.charCodeAt(i) <= Char.Space || buf.charCodeAt(i) === Char.Bom)) i++;
      if (i < buf.length && buf.charCodeAt(i) === Char.Lt) {
        this.leadingBytes += Buffer.byteLength(buf.slice(0, i));
        this.inProlog = false;
        this.leading = "";
        // hand back the document start, including any part carried from earlier chunks
        if (i < base) {
          this.pending.push(buf.slice(i, base));
          return 0;
        }
        return i - base;
      }
      const nl = buf.indexOf("\n", i);
      if (nl < 0) {
        this.leadingBytes += Buffer.byteLength(buf.slice(0, pos));
        buf = buf.slice(pos);
        if (buf.length > MAX_LEADING_LINE) {
          throw this.error(`not XML: ${MAX_LEADING_LINE} bytes without a line break before any element`, { line: this.read.lines + 1 });
        }
        this.leading = buf;
        return -1;
      }
      this.read.lines++;
      pos = nl + 1;
    }
  }

  /** `last`: the input's last write, which need not end at a '>'. */
  private saxWrite(text: string, last = false): void {
    const [line, column] = [this.parser.line, this.columnOf(this.parser.column, this.parser.line)];
    try {
      this.parser.write(text);
    } catch (cause) {
      if (cause instanceof PipeError) throw cause;
      const bare = bareAmpersandFault(this.parser, text, cause as Error);
      if (bare) throw this.placedError(bare, line, column, cause);
      throw this.saxError(cause, undefined, { line, column });
    }
    // writes end at a '>', which no reference holds
    const open = last ? undefined : referenceLeftOpen(this.parser, text);
    if (open) throw this.placedError(open, line, column);
  }

  /** `line` and `column`: saxes's where the fault's text began. */
  private placedError(fault: PlacedFault, line: number, column: number, cause?: unknown): PipeError {
    const { text, index } = fault;
    const newlines = countLines(text, index);
    const col = newlines ? index - text.lastIndexOf("\n", index - 1) : column + index + 1;
    return this.error(fault.message, { line: line + newlines + this.read.lines, col }, cause);
  }

  private onOpen(tag: SaxesTagPlain): void {
    if (this.rootClosed) return;
    this.sawRoot = true;
    this.elements.open(tag.name, tag.attributes as Record<string, string>, tag.isSelfClosing, true);
  }

  private onClose(): void {
    if (this.rootClosed) return;
    this.elements.close();
  }

  /**
   * saxes has read into a quick element, up to the end of some markup: the
   * quick path reads on from here, whatever depth saxes reached inside it.
   * saxes is told of the end tags of what it opened inside (the quick path
   * will close those itself) so that the quick element's own end tag, which
   * the quick path hands back, is what it sees next.
   * Without this, saxes kept a Benchmark (3.7 MB of the bundled 8 MB ARF,
   * nested Groups and Rules) nearly whole: a write rarely ends at its level.
   * Measured on that ARF: saxes read 6.1 M of its characters before, 0.4 M
   * now (with oval_results quick too); a warm run ~15% faster, a cold one
   * (the bench's) about the same: it is bound by V8's warm-up, not by saxes.
   */
  private enterQuick(): void {
    const column = this.parser.column;
    const inner = this.elements.names.slice(this.elements.quickDepth);
    if (inner.length) {
      this.handingOver = true;
      try {
        this.parser.write(inner.reverse().map((name) => `</${name}>`).join(""));
      } finally {
        this.handingOver = false;
      }
    }
    this.quick.enter(column);
  }

  /** The quick path, or a skip's search, hands the input back to saxes (at an end tag). */
  private handedBack(): void {
    this.columnShift = this.read.column - this.parser.column;
    this.shiftLine = this.parser.line;
  }

  /** The real column (0-based) of saxes's `column` on its `line`. */
  private columnOf(column: number, line: number): number {
    return line === this.shiftLine ? column + this.columnShift : column;
  }

  /**
   * saxes has parsed into the skipped element; close what it opened inside
   * it so that the real end tag, found by search, is what it sees next.
   */
  private closeSkippedElements(): void {
    const inner = this.elements.names.slice(this.elements.skipDepth).reverse();
    if (inner.length) this.saxWrite(inner.map((n) => `</${n}>`).join(""));
  }

  /** Searches for the skipped element's end tag; returns the text after it, or "" if not yet found. */
  private skipAhead(text: string): string {
    const hay = this.skipCarry ? this.skipCarry + text : text;
    const [at, end] = findEndTag(hay, this.elements.skipClose, 0);
    if (at === INCOMPLETE) {
      this.read.consume(hay, end);
      this.skipCarry = hay.slice(end);
      return "";
    }
    this.read.consume(hay, at);
    this.skipCarry = "";
    // saxes sees the real end tag and closes the skipped element itself
    this.handedBack();
    this.saxWrite(hay.slice(at, end));
    return hay.slice(end);
  }

  /**
   * Where the input ended inside a skipped element: after what the skip (its own or the quick path's)
   * carries. QuickPath.place counts from the lines and column read outside saxes, which either skip keeps.
   */
  private endOfSkip(): { line: number; col: number } {
    const carry = this.quick.active ? this.quick.carry : this.skipCarry;
    return this.quick.place(carry, carry.length);
  }

  private quickFault(fault: SyntaxFault, buf: string): PipeError {
    return this.error(fault.message, this.quick.place(buf, fault.offset));
  }

  /** `start`: saxes's line and column where the current write began. */
  private saxError(cause: unknown, message?: string, start?: { line: number; column: number }): PipeError {
    this.failed = true;
    const raw = (cause as Error).message.replace(/^\d+:\d+: /, "");
    const said = message === undefined && start ? inQuickPathWords(this.parser, raw) : undefined;
    if (said) return this.placedError(said, start!.line, start!.column, cause);
    return this.error(message ?? describeSaxMessage(raw), { line: this.parser.line + this.read.lines, col: this.columnOf(this.parser.column, this.parser.line) + 1 }, cause);
  }

  private error(message: string, at: { line?: number; col?: number } = {}, cause?: unknown): PipeError {
    this.failed = true;
    return new PipeError("E_BAD_INPUT", message, { position: { source: this.source, ...at }, cause });
  }
}
