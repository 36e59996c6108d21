import { createRequire } from "node:module";
import type { SaxesParser as SaxesParserType, SaxesTagPlain } from "saxes";
import { StringDecoder } from "node:string_decoder";
import { PipeError } from "../errors.js";
import { INCOMPLETE, SyntaxFault, countLines, decodeText, findEndTag, nameEnd, parseStartTag, safeTextEnd } from "./syntax.js";

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
}

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
const MAX_LEADING_LINE = 1024 * 1024;

// saxes is CommonJS: an ESM import of it runs Node's export lexer, a WebAssembly module that
// costs ~13 MB of RSS and ~20 ms in every thread that loads this file. require() does not.
const { SaxesParser } = createRequire(import.meta.url)("saxes") as typeof import("saxes");
type SaxesParser = SaxesParserType;
const XML_NS = "http://www.w3.org/XML/1998/namespace";
const BARE_AMPERSAND = "'&' that does not start a reference (write &amp;)";
/** saxes's state while it reads a reference (`&amp;`): see saxWrite. */
const SAXES_S_ENTITY = 14;
/** saxes's states in an attribute value, and after it. */
const SAXES_S_ATTRIB_VALUE_QUOTED = 40;
const SAXES_S_ATTRIB_VALUE_CLOSED = 41;

/** What saxes's parser holds when it reports a fault (not in its types). */
interface SaxesInternals {
  /** The text of the current write, and the offset after the character read last. */
  chunk: string;
  i: number;
  state: number;
  entity: string;
  /** The element being read or last opened, the attribute name being read, and the attributes read. */
  tag?: { name: string };
  name: string;
  attribList: { name: string }[];
}

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
 *   xml-syntax.ts) instead of by saxes, which reads one character at a time.
 *   The element's own start and end tags still go through saxes.
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

  private readonly parser: SaxesParser;
  private readonly decoder = new StringDecoder("utf8");
  private readonly events: XmlEvents;
  private inProlog = true;
  private leading = "";
  private sawRoot = false;
  private rootClosed = false;
  private pending: string[] = [];
  private names: string[] = [];
  /** Local names of the open elements, beside `names`. */
  private locals: string[] = [];
  private nsFrames: (Record<string, string> | null)[] = [];
  private skipDepth = 0;
  private skipClose = "";
  private skipCarry = "";
  private skippedLines = 0;
  private failed = false;
  private readonly quick: ReadonlySet<string>;
  /** Depth of the open quick element, 0 if none. */
  private quickDepth = 0;
  /** True while chunks go to the quick path rather than saxes. */
  private quickActive = false;
  /** Quick-path input not yet tokenised (a token cut by the chunk boundary). */
  private quickCarry = "";
  /** Column at the start of quickCarry, for error positions. */
  private quickColumn = 0;
  private readonly batches?: BatchCutter;
  /** Text being gathered into a batch, while non-null. */
  private batchPieces: string[] | null = null;
  private batchChars = 0;
  /** `</name` of the elements being batched. */
  private batchClose = "";
  /** Batches were cut since the last resume(): nothing may be read in place before they are settled. */
  private batchesOut = false;
  /** Input held back until the caller has settled the batches (see resume). */
  private held: string[] | null = null;
  /** The next element at the batch level is read in place (it was too big to batch). */
  private batchSkipOnce = false;
  /** No batching until the quick element closes (after a replay). */
  private batchOff = false;
  /** No batching at all: the input has ended. */
  private ending = false;
  /** Reads a batch: the quick element's content only, as a fragment. */
  private readonly fragment: boolean;

  /** `ancestors`: see forBatch. */
  constructor(events: XmlEvents, opts: { source?: string; quick?: Iterable<string>; batches?: BatchCutter; ancestors?: Ancestor[] } = {}) {
    this.events = events;
    this.source = opts.source ?? "stdin";
    this.quick = new Set(opts.quick ?? []);
    this.batches = opts.batches;
    this.fragment = opts.ancestors !== undefined;
    for (const a of opts.ancestors ?? []) {
      this.names.push(a.name);
      this.locals.push(this.localOf(a.name));
      this.nsFrames.push(a.ns);
    }
    if (this.fragment) {
      this.inProlog = false;
      this.sawRoot = true;
      this.quickDepth = this.names.length;
      this.quickActive = true;
    }
    this.parser = new SaxesParser({ xmlns: false, position: true });
    this.parser.on("opentag", (tag) => this.onOpen(tag as SaxesTagPlain));
    this.parser.on("closetag", () => this.onClose());
    this.parser.on("text", (text) => {
      if (this.rootClosed) this.trailingText ||= text.trim() !== "";
      else if (this.skipDepth === 0) this.events.text(text);
    });
    this.parser.on("error", (err) => {
      // after the root element, whatever follows is not ours to judge
      if (this.rootClosed) this.trailingText = true;
      else throw err;
    });
    this.parser.on("cdata", (text) => {
      if (this.skipDepth === 0) this.events.text(text);
    });
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
    return this.names.map((name, i) => ({ name, ns: this.nsFrames[i] }));
  }

  /** Checks that a batch ended where it began: between elements inside the quick element. */
  endBatch(): void {
    if (!this.fragment || this.failed) throw new Error("endBatch: not a batch scanner, or it failed");
    if (this.quickCarry || this.skipDepth > 0 || this.names.length !== this.quickDepth) {
      throw this.quickFault(new SyntaxFault("batch ends inside an element", this.quickCarry.length), this.quickCarry);
    }
  }

  /** True while input is held back until the batches cut so far are settled (see resume). */
  get waiting(): boolean {
    return this.held !== null;
  }

  /** The batches cut so far are settled: reads the input held back. */
  resume(): void {
    const held = this.held ?? [];
    this.held = null;
    this.batchesOut = false;
    for (const text of held) this.feed(text);
  }

  /**
   * `batch` (and those cut after it) did not read as expected elsewhere:
   * reads them here, in place, with everything after them. No batching
   * until the quick element closes.
   */
  replay(batch: Batch, later: Batch[]): void {
    const rest = [batch.text, ...later.map((b) => b.text), ...(this.batchPieces ?? []), ...(this.held ?? [])];
    this.batchPieces = null;
    this.held = null;
    this.batchesOut = false;
    this.batchOff = true;
    this.skippedLines = batch.lines;
    this.quickColumn = batch.column;
    for (const text of rest) this.feed(text);
  }

  /** True once the document's first element has been found. */
  get inDocument(): boolean {
    return !this.inProlog;
  }

  write(chunk: Buffer | string): void {
    const text = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    if (text.length) this.feed(text);
  }

  end(): void {
    if (this.held || this.batchesOut) throw new Error("XmlScanner.end: batches not settled (call resume first)");
    // nothing may be left waiting for input that will not come
    this.ending = true;
    const rest = this.decoder.end();
    if (rest) this.feed(rest);
    if (this.batchPieces) {
      // the input ended inside the batched elements: read what there is in place, to find the fault
      const pieces = this.batchPieces;
      this.batchPieces = null;
      for (const text of pieces) this.feed(text);
    }
    if (this.inProlog) {
      const skipped = this.leadingBytes + Buffer.byteLength(this.leading);
      throw this.error(`not XML: no element found${skipped ? ` in ${skipped} bytes of text` : ""}`, { line: this.skippedLines + 1, col: 1 });
    }
    if (this.skipDepth > 0) {
      throw this.error(`unexpected end of input inside <${this.names[this.skipDepth - 1]}>`, { line: this.skippedLines + this.parser.line });
    }
    if (this.quickActive) {
      throw this.quickFault(new SyntaxFault(`unexpected end of input (unclosed <${this.names[this.names.length - 1]}>)`, this.quickCarry.length), this.quickCarry);
    }
    if (!this.rootClosed) this.saxWrite(this.pending.join(""), true);
    this.pending = [];
    try {
      this.parser.close();
    } catch (cause) {
      const open = this.names.length ? ` (unclosed <${this.names[this.names.length - 1]}>)` : "";
      throw this.saxError(cause, `unexpected end of input${open}`);
    }
    if (!this.sawRoot) throw this.error("not XML: no element found");
  }

  /** Namespace URI of a qualified name, as declared on the currently open elements. */
  uriOf(qname: string): string | undefined {
    const colon = qname.indexOf(":");
    const prefix = colon < 0 ? "" : qname.slice(0, colon);
    if (prefix === "xml") return XML_NS;
    const key = prefix ? `xmlns:${prefix}` : "xmlns";
    for (let i = this.nsFrames.length - 1; i >= 0; i--) {
      const frame = this.nsFrames[i];
      if (frame && key in frame) return frame[key] || undefined;
    }
    return undefined;
  }

  private feed(text: string): void {
    if (this.failed) return;
    if (this.held) {
      this.held.push(text);
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
    while (text.length) {
      const held = this.held as string[] | null; // set by the calls below
      if (held) {
        held.push(text);
        return;
      }
      if (this.batchPieces) {
        text = this.gatherBatch(text);
        continue;
      }
      if (this.quickActive) {
        text = this.quickFeed(text);
        continue;
      }
      if (this.skipDepth > 0) {
        text = this.skipAhead(text);
        continue;
      }
      const cut = text.lastIndexOf(">");
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
      if (this.skipDepth > 0) this.closeSkippedElements();
      if (this.quickDepth > 0 && this.names.length === this.quickDepth) {
        this.quickActive = true;
        this.quickColumn = this.parser.column;
      }
      if (this.rootClosed) {
        this.trailingText ||= text.trim() !== "";
        return;
      }
    }
  }

  /** Drops whole lines until one starts (after blanks) with `<`; returns its index or -1. */
  private findDocumentStart(text: string): number {
    let buf = this.leading + text;
    const base = this.leading.length;
    let pos = 0;
    for (;;) {
      let i = pos;
      while (i < buf.length && (buf.charCodeAt(i) <= 32 || buf.charCodeAt(i) === 0xfeff)) i++;
      if (i < buf.length && buf.charCodeAt(i) === 60 /* < */) {
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
          throw this.error(`not XML: ${MAX_LEADING_LINE} bytes without a line break before any element`, { line: this.skippedLines + 1 });
        }
        this.leading = buf;
        return -1;
      }
      this.skippedLines++;
      pos = nl + 1;
    }
  }

  /** `last`: the input's last write, which need not end at a '>'. */
  private saxWrite(text: string, last = false): void {
    const [line, column] = [this.parser.line, this.parser.column];
    try {
      this.parser.write(text);
    } catch (cause) {
      if (cause instanceof PipeError) throw cause;
      if ((cause as Error).message.endsWith("disallowed character in entity name.")) {
        // the reference began at the first '&' after the previous ';' (saxes read on to this one)
        const { i } = this.parser as unknown as SaxesInternals;
        const amp = text.indexOf("&", text.lastIndexOf(";", i - 2) + 1);
        if (amp >= 0 && amp < i) throw this.error(BARE_AMPERSAND, this.positionIn(text, amp, line, column), cause);
      }
      throw this.saxError(cause, undefined, { line, column });
    }
    // Writes end at a '>', which no reference holds: saxes still reading one is a bare '&', from which it
    // would read on to the next ';' or the end of the input, holding all it reads, and then fail far away.
    const { state, entity } = this.parser as unknown as SaxesInternals;
    if (state === SAXES_S_ENTITY && !last) {
      let amp = text.length - entity.length - 1;
      while (amp > 0 && text.charCodeAt(amp) !== 38 /* & */) amp--;
      throw this.error(BARE_AMPERSAND, this.positionIn(text, amp, line, column));
    }
  }

  /** The line and column of text[index]; `line` and `column` are saxes's where `text` began. */
  private positionIn(text: string, index: number, line: number, column: number): { line: number; col: number } {
    const newlines = countLines(text, index);
    return { line: line + newlines + this.skippedLines, col: newlines ? index - text.lastIndexOf("\n", index - 1) : column + index + 1 };
  }

  private onOpen(tag: SaxesTagPlain): void {
    if (this.rootClosed) return;
    this.sawRoot = true;
    this.openElement(tag.name, tag.attributes as Record<string, string>, tag.isSelfClosing, true);
  }

  /** `declares`: false when the attributes are known to hold no xmlns declaration. */
  private openElement(name: string, attributes: Record<string, string>, selfClosing: boolean, declares: boolean): void {
    let frame: Record<string, string> | null = null;
    if (declares) {
      for (const key in attributes) {
        if (key.charCodeAt(0) === 120 /* x */ && (key === "xmlns" || key.startsWith("xmlns:"))) {
          frame ??= {};
          frame[key] = attributes[key];
        }
      }
    }
    const local = this.localOf(name);
    this.nsFrames.push(frame);
    this.names.push(name);
    this.locals.push(local);
    if (this.skipDepth > 0) return;
    const skip = this.events.open({ name, local, attributes, selfClosing });
    if (selfClosing) return;
    if (skip) {
      this.skipDepth = this.names.length;
      this.skipClose = `</${name}`;
    } else if (this.quickDepth === 0 && this.quick.has(local)) this.quickDepth = this.names.length;
  }

  private localOf(name: string): string {
    const colon = name.indexOf(":");
    return colon < 0 ? name : name.slice(colon + 1);
  }

  private onClose(): void {
    if (this.rootClosed) return;
    this.closeElement();
  }

  private closeElement(): void {
    this.names.pop();
    const local = this.locals.pop()!;
    if (this.names.length === 0) this.rootClosed = true;
    this.nsFrames.pop();
    if (this.skipDepth > 0) {
      if (this.names.length >= this.skipDepth) return;
      this.skipDepth = 0;
      this.skipCarry = "";
    }
    if (this.names.length < this.quickDepth) {
      this.quickDepth = 0;
      this.quickActive = false;
      this.batchOff = false;
    }
    this.events.close(local);
  }

  /**
   * saxes has parsed into the skipped element; close what it opened inside
   * it so that the real end tag, found by search, is what it sees next.
   */
  private closeSkippedElements(): void {
    const inner = this.names.slice(this.skipDepth).reverse();
    if (inner.length) this.saxWrite(inner.map((n) => `</${n}>`).join(""));
  }

  /** Searches for the skipped element's end tag; returns the text after it, or "" if not yet found. */
  private skipAhead(text: string): string {
    const hay = this.skipCarry ? this.skipCarry + text : text;
    const [at, end] = findEndTag(hay, this.skipClose, 0);
    if (at === INCOMPLETE) {
      this.skippedLines += countLines(hay, end);
      this.skipCarry = hay.slice(end);
      return "";
    }
    this.skippedLines += countLines(hay, at);
    this.skipCarry = "";
    // saxes sees the real end tag and closes the skipped element itself
    this.saxWrite(hay.slice(at, end));
    return hay.slice(end);
  }

  /**
   * Tokenises quick-element content until the buffer runs out (the rest is
   * carried to the next chunk) or the quick element's end tag is reached,
   * which is returned with what follows for saxes to read.
   */
  private quickFeed(text: string): string {
    const buf = this.quickCarry ? this.quickCarry + text : text;
    this.quickCarry = "";
    let pos = 0;
    try {
      for (;;) {
        if (this.skipDepth > 0) {
          const [at, end] = findEndTag(buf, this.skipClose, pos);
          if (at === INCOMPLETE) return this.quickSuspend(buf, end);
          pos = end;
          this.closeElement();
          continue;
        }
        const lt = buf.indexOf("<", pos);
        if (this.batches && this.names.length === this.quickDepth && !this.batchOff) {
          const batchable = lt < 0 || lt + 1 >= buf.length ? INCOMPLETE : this.isBatchable(buf, lt, buf.charCodeAt(lt + 1));
          if (this.batchesOut) {
            // nothing at this level is read before the batches are settled: a batch that
            // fails is read again from its start, with everything after it
            this.consumeLines(buf, pos);
            if (batchable === false) {
              this.held = [buf.slice(pos)];
              return "";
            }
            this.batchPieces = [];
            this.batchChars = 0;
            return buf.slice(pos);
          }
          if (batchable === true) {
            this.consumeLines(buf, lt);
            this.batchPieces = [];
            this.batchChars = 0;
            return buf.slice(lt);
          }
        }
        if (lt < 0) {
          const end = safeTextEnd(buf, pos);
          if (end > pos && this.events.wantsText !== false) this.events.text(decodeText(buf.slice(pos, end), pos));
          return this.quickSuspend(buf, end);
        }
        if (lt > pos && this.events.wantsText !== false) this.events.text(decodeText(buf.slice(pos, lt), pos));
        pos = lt;
        if (lt + 1 >= buf.length) return this.quickSuspend(buf, lt);
        const next = buf.charCodeAt(lt + 1);
        if (next === 47 /* / */) {
          const gt = buf.indexOf(">", lt);
          if (gt < 0) return this.quickSuspend(buf, lt);
          const open = this.names[this.names.length - 1];
          const afterName = lt + 2 + open.length;
          if (!(buf.startsWith(open, lt + 2) && (afterName === gt || buf.slice(afterName, gt).trim() === ""))) {
            throw new SyntaxFault(`unexpected close tag </${buf.slice(lt + 2, gt).trim()}> (open element is <${open}>)`, lt);
          }
          if (this.names.length === this.quickDepth) {
            if (this.fragment) throw new SyntaxFault("batch leaves its element", lt);
            // saxes reads the quick element's own end tag
            this.quickActive = false;
            this.consumeLines(buf, lt);
            return buf.slice(lt);
          }
          pos = gt + 1;
          this.closeElement();
        } else if (next === 33 /* ! */) {
          const [open, close] = buf.startsWith("<!--", lt) ? ["<!--", "-->"] : buf.startsWith("<![CDATA[", lt) ? ["<![CDATA[", "]]>"] : ["", ""];
          if (!open) {
            if (buf.length - lt < 9) return this.quickSuspend(buf, lt);
            throw new SyntaxFault("unexpected markup declaration inside an element", lt);
          }
          const end = buf.indexOf(close, lt + open.length);
          if (end < 0) return this.quickSuspend(buf, lt);
          if (open !== "<!--") this.events.text(buf.slice(lt + open.length, end));
          pos = end + close.length;
        } else if (next === 63 /* ? */) {
          const end = buf.indexOf("?>", lt + 2);
          if (end < 0) return this.quickSuspend(buf, lt);
          pos = end + 2;
        } else {
          const tag = parseStartTag(buf, lt);
          if (tag === INCOMPLETE) return this.quickSuspend(buf, lt);
          pos = tag.end;
          if (!tag.selfClosing && !tag.declares && this.names.length === this.quickDepth && this.events.readWhole) {
            const end = this.events.readWhole({ name: tag.name, local: this.localOf(tag.name), attributes: tag.attributes, selfClosing: false }, buf, pos);
            if (end >= 0) {
              pos = end;
              continue;
            }
          }
          this.openElement(tag.name, tag.attributes, tag.selfClosing, tag.declares);
          if (tag.selfClosing) this.closeElement();
        }
      }
    } catch (cause) {
      if (cause instanceof SyntaxFault) throw this.quickFault(cause, buf);
      throw cause;
    }
  }

  /** True if the markup at `lt` starts an element to batch; INCOMPLETE if its name is cut off. */
  private isBatchable(buf: string, lt: number, next: number): boolean | typeof INCOMPLETE {
    if (next === 47 || next === 33 || next === 63 || this.ending) return false;
    const end = nameEnd(buf, lt + 1, buf.length);
    if (end === buf.length) return INCOMPLETE;
    const name = buf.slice(lt + 1, end);
    if (this.localOf(name) !== this.batches!.local) return false;
    if (this.batchSkipOnce) {
      this.batchSkipOnce = false;
      return false;
    }
    this.batchClose = `</${name}`;
    return true;
  }

  /**
   * Gathers text until a batch's worth is buffered, then cuts it after the
   * last end tag of a batched element and hands it over. Returns the text
   * after the cut, to be read on.
   */
  private gatherBatch(text: string): string {
    const pieces = this.batchPieces!;
    pieces.push(text);
    this.batchChars += text.length;
    const cutter = this.batches!;
    if (this.batchChars < cutter.minChars) return "";
    const all = pieces.length === 1 ? pieces[0] : pieces.join("");
    const cut = lastEndTag(all, this.batchClose);
    if (cut < 0) {
      if (this.batchChars <= MAX_BATCHES_PER_ELEMENT * cutter.minChars) {
        this.batchPieces = [all];
        return "";
      }
      // one element bigger than many batches: read it in place once the batches before it are settled
      this.batchPieces = null;
      this.batchSkipOnce = true;
      if (!this.batchesOut) return all;
      this.held = [all];
      return "";
    }
    this.batchPieces = null;
    const batch: Batch = { text: all.slice(0, cut), lines: this.skippedLines, column: this.quickColumn };
    this.consumeLines(batch.text, cut);
    this.batchesOut = true;
    cutter.take(batch);
    return all.slice(cut);
  }

  /** Keeps buf[from...] for the next chunk. */
  private quickSuspend(buf: string, from: number): string {
    this.consumeLines(buf, from);
    this.quickCarry = buf.slice(from);
    return "";
  }

  /** Counts the lines of quick-path text read up to `to`, and the column reached. */
  private consumeLines(buf: string, to: number): void {
    const lines = countLines(buf, to);
    this.skippedLines += lines;
    this.quickColumn = lines ? to - buf.lastIndexOf("\n", to - 1) - 1 : this.quickColumn + to;
  }

  private quickFault(fault: SyntaxFault, buf: string): PipeError {
    const newline = buf.lastIndexOf("\n", fault.offset - 1);
    const line = this.parser.line + this.skippedLines + countLines(buf, fault.offset);
    const col = newline >= 0 ? fault.offset - newline : this.quickColumn + fault.offset + 1;
    return this.error(fault.message, { line, col });
  }

  /** `start`: saxes's line and column where the current write began. */
  private saxError(cause: unknown, message?: string, start?: { line: number; column: number }): PipeError {
    this.failed = true;
    const raw = (cause as Error).message.replace(/^\d+:\d+: /, "");
    const said = message === undefined && start ? this.inQuickPathWords(raw) : undefined;
    if (said) {
      const { chunk, i } = this.parser as unknown as SaxesInternals;
      return this.error(said.message, this.positionIn(chunk, i - said.back, start!.line, start!.column), cause);
    }
    return this.error(message ?? describeSaxMessage(raw), { line: this.parser.line + this.skippedLines, col: this.parser.column + 1 }, cause);
  }

  /**
   * A saxes fault in the words the quick path has for it, and where the quick
   * path points: `back` characters before saxes's position in its current
   * write, which is after the character it stopped at. A fault then reads the
   * same whichever of the two found it, wherever the chunks fell. Undefined for
   * the faults they word alike.
   */
  private inQuickPathWords(raw: string): { message: string; back: number } | undefined {
    const { chunk, i, tag, name, state, attribList } = this.parser as unknown as SaxesInternals;
    const c = chunk[i - 1];
    const element = tag?.name ?? "";
    switch (raw) {
      case "unexpected close tag.": {
        // saxes stops after the '>' and names neither tag
        const lt = chunk.lastIndexOf("</", i - 1);
        return lt >= 0 && tag ? { message: `unexpected close tag </${chunk.slice(lt + 2, i - 1).trim()}> (open element is <${element}>)`, back: i - lt } : undefined;
      }
      case "undefined entity.": {
        // saxes stops after the ';' and does not name the reference
        // (a reference lies within one write: they end at a '>', and a reference cannot hold one)
        const amp = chunk.lastIndexOf("&", i - 1);
        return amp >= 0 ? { message: `undefined entity ${chunk.slice(amp, i)} (DTD entities are not expanded)`, back: i - amp } : undefined;
      }
      case "malformed character entity.": {
        const amp = chunk.lastIndexOf("&", i - 1);
        return amp >= 0 ? { message: `invalid character reference ${chunk.slice(amp, i)}`, back: i - amp } : undefined;
      }
      case "inappropriately located doctype declaration.": {
        const lt = chunk.lastIndexOf("<!", i - 1);
        return lt >= 0 ? { message: "unexpected markup declaration inside an element", back: i - lt } : undefined;
      }
      case "disallowed character in tag name": // just after the '<'
        return { message: `invalid start tag: a name cannot start with '${c}'`, back: 1 };
      case "disallowed character in tag name.":
        return { message: `invalid start tag <${element}: unexpected '${c}'`, back: 1 };
      case "no whitespace between attributes.":
      case "disallowed character in attribute name.":
        if (state === SAXES_S_ATTRIB_VALUE_CLOSED) return { message: `malformed start tag <${element}>: no space after attribute ${attribList.at(-1)?.name}`, back: 1 };
        return { message: name ? `malformed start tag <${element}>: unexpected '${c}' after attribute name ${name}` : `malformed start tag <${element}>: an attribute name cannot start with '${c}'`, back: 1 };
      case "unquoted attribute value.":
        return { message: `attribute ${name} of <${element}> is not quoted`, back: 1 };
      case "disallowed character.":
        return state === SAXES_S_ATTRIB_VALUE_QUOTED && c === "<" ? { message: `'<' in the value of attribute ${name} of <${element}>`, back: 1 } : undefined;
    }
    const duplicate = /^duplicate attribute: (.+)\.$/.exec(raw);
    if (duplicate && tag) {
      // found once the tag is read: point at the second one's name, as the quick path does
      const lt = chunk.lastIndexOf("<", i - 1);
      const attribute = new RegExp(`\\s${duplicate[1].replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*=`, "g");
      let at = -1;
      for (const m of chunk.slice(lt, i).matchAll(attribute)) at = lt + m.index + 1;
      if (lt >= 0 && at >= 0) return { message: `duplicate attribute ${duplicate[1]} on <${element}>`, back: i - at };
    }
    return undefined;
  }

  private error(message: string, at: { line?: number; col?: number } = {}, cause?: unknown): PipeError {
    this.failed = true;
    return new PipeError("E_BAD_INPUT", message, { position: { source: this.source, ...at }, cause });
  }
}

export interface Ancestor {
  name: string;
  ns: Record<string, string> | null;
}

/** End of the last `close` end tag (`</name`, blanks, `>`) in `text`, or -1. */
function lastEndTag(text: string, close: string): number {
  for (let at = text.lastIndexOf(close); at >= 0; at = at > 0 ? text.lastIndexOf(close, at - 1) : -1) {
    let i = at + close.length;
    while (i < text.length && isBlank(text.charCodeAt(i))) i++;
    if (i < text.length && text.charCodeAt(i) === 62) return i + 1;
  }
  return -1;
}

const isBlank = (c: number) => c === 32 || c === 10 || c === 9 || c === 13;

function describeSaxMessage(message: string): string {
  message = message.replace(/\.$/, "");
  if (/^undefined entity/.test(message)) return `${message} (DTD entities are not expanded)`;
  return message;
}
