import type { OpenTag, XmlEvents } from "./scanner.js";
import type { OpenElements } from "./elements.js";
import type { BatchCutting } from "./batch-cutter.js";
import { localOf } from "./elements.js";
import { Char, INCOMPLETE, SyntaxFault, excerpt, decodeText, endTagCloses, findEndTag, parseStartTag, safeTextEnd, type LinesRead } from "./syntax.js";

/**
 * The quick path: the content of a quick element (the TestResult: nearly all
 * the bytes of a rule-heavy report) tokenised by string search (syntax.ts)
 * instead of by saxes, which reads one character at a time. The element's
 * own start and end tags still go through saxes (but see
 * XmlScanner.startWithoutSaxes).
 *
 * Measured on a 324 MB rule-heavy ARF (bench/make-data.mjs), XccdfReader
 * over the scanner, one thread, Node 20: 80-114 MB/s with the quick path,
 * 39-57 MB/s with saxes reading it all (same lines out; alternating runs on
 * a shared 2-core machine). That factor of ~2 is the reason it exists.
 */
export class QuickPath {
  /** True while chunks go to the quick path rather than saxes. */
  active = false;
  /** Input not yet tokenised (a token cut by the chunk boundary). */
  private rest = "";
  /**
   * A start tag longer than LONG_TOKEN, not yet ended: its pieces, gathered
   * until a `>` outside quotes ends it, and then parsed once. Re-parsing
   * the growing tag on every chunk made a 32 MB attribute value quadratic.
   */
  private longTag?: { pieces: string[]; quote: number };

  constructor(
    private readonly elements: OpenElements,
    private readonly events: XmlEvents,
    /** Lines read outside saxes, and the quick path's column. */
    private readonly read: LinesRead,
    private readonly batching: BatchCutting | undefined,
    /** Reads a batch: leaving the quick element is a fault. */
    private readonly fragment: boolean,
    /** The error to throw for a fault at its offset in `buf` (see place()). */
    private readonly fail: (fault: SyntaxFault, buf: string) => Error,
    /** saxes's line count. */
    private readonly saxesLine: () => number,
  ) {}

  /** Times the element to be kept that the carried input begins with was waited for (see MAX_KEPT_WAITS). */
  private keptWaits = 0;
  /** Line feeds counted in the buffer being tokenised, up to `to` (see place). */
  private counted: { buf: string; to: number; lines: number; lastNewline: number; nextNewline: number } | undefined;

  /** The quick element is open and saxes has nothing open inside it; `column`: saxes's. */
  enter(column: number): void {
    this.active = true;
    this.read.column = column;
  }

  /**
   * Tokenises quick-element content until the buffer runs out (the rest is
   * carried to the next chunk) or the quick element's end tag is reached,
   * which is returned with what follows for saxes to read.
   */
  /** Input not yet tokenised. */
  get carry(): string {
    return this.longTag ? this.longTag.pieces.join("") : this.rest;
  }

  /** Characters of input carried to the next chunk as a string (none while a long tag is gathered). */
  get carriedChars(): number {
    return this.longTag ? 0 : this.rest.length;
  }

  /**
   * Gives up the input carried to the next chunk, for the caller to hand it
   * back in front of that chunk, read again as if never read: see XmlScanner.keepTail.
   */
  takeCarried(): string {
    if (this.longTag) return "";
    const rest = this.rest;
    this.rest = "";
    return rest;
  }

  feed(text: string): string {
    const long = this.longTag;
    if (long) {
      const end = tagEnd(text, 0, long);
      if (end < 0) {
        long.pieces.push(text);
        return "";
      }
      this.longTag = undefined;
      long.pieces.push(text);
      text = long.pieces.join("");
    }
    const buf = this.rest ? this.rest + text : text;
    this.rest = "";
    try {
      return this.tokenise(buf);
    } catch (cause) {
      if (cause instanceof SyntaxFault) throw this.fail(cause, buf);
      throw cause;
    }
  }

  /**
   * Line and column of `offset` in `buf` (a fault's, or where an element
   * kept whole begins). For offsets that grow within one buffer the line
   * feeds already counted are not counted again: an element kept whole asks
   * for its position several times per chunk.
   */
  place(buf: string, offset: number): { line: number; col: number } {
    let c = this.counted;
    if (!c || c.buf !== buf || offset < c.to) c = this.counted = { buf, to: 0, lines: 0, lastNewline: -1, nextNewline: buf.indexOf("\n") };
    while (c.nextNewline >= 0 && c.nextNewline < offset) {
      c.lines++;
      c.lastNewline = c.nextNewline;
      c.nextNewline = buf.indexOf("\n", c.nextNewline + 1);
    }
    c.to = offset;
    const line = this.saxesLine() + this.read.lines + c.lines;
    const col = c.lastNewline >= 0 ? offset - c.lastNewline : this.read.column + offset + 1;
    return { line, col };
  }

  private tokenise(buf: string): string {
    const elements = this.elements;
    const events = this.events;
    const keptLocal = events.keptLocal;
    this.counted = undefined;
    let pos = 0;
    for (;;) {
      if (elements.skipDepth > 0) {
        const [at, end] = findEndTag(buf, elements.skipClose, pos);
        if (at === INCOMPLETE) return this.suspend(buf, end);
        pos = end;
        elements.close();
        continue;
      }
      const lt = buf.indexOf("<", pos);
      if (this.batching && elements.depth === elements.innerQuickDepth) {
        const step = this.batching.step(buf, pos, lt);
        if (step) {
          this.read.consume(buf, step.from);
          if (!step.hold) return buf.slice(step.from);
          this.batching.hold(buf.slice(step.from));
          return "";
        }
      }
      if (lt < 0) {
        const end = safeTextEnd(buf, pos);
        if (end > pos && events.wantsText !== false) events.text(decodeText(buf.slice(pos, end), pos));
        return this.suspend(buf, end);
      }
      if (lt > pos && events.wantsText !== false) events.text(decodeText(buf.slice(pos, lt), pos));
      pos = lt;
      if (lt + 1 >= buf.length) return this.suspend(buf, lt);
      const next = buf.charCodeAt(lt + 1);
      if (next === Char.Slash) {
        const gt = buf.indexOf(">", lt);
        if (gt < 0) return this.suspend(buf, lt);
        const open = elements.innermost;
        if (!endTagCloses(buf, lt, gt, open)) {
          throw new SyntaxFault(`unexpected close tag </${excerpt(buf.slice(lt + 2, gt).trim())}> (open element is <${excerpt(open)}>)`, lt);
        }
        if (elements.depth === elements.quickDepth) {
          if (this.fragment) throw new SyntaxFault("batch leaves its element", lt);
          // saxes reads the quick element's own end tag
          this.active = false;
          this.read.consume(buf, lt);
          return buf.slice(lt);
        }
        pos = gt + 1;
        elements.close();
      } else if (next === Char.Bang) {
        const [open, close] = buf.startsWith("<!--", lt) ? ["<!--", "-->"] : buf.startsWith("<![CDATA[", lt) ? ["<![CDATA[", "]]>"] : ["", ""];
        if (!open) {
          if (buf.length - lt < 9) return this.suspend(buf, lt);
          throw new SyntaxFault("unexpected markup declaration inside an element", lt);
        }
        const end = buf.indexOf(close, lt + open.length);
        if (end < 0) {
          if (buf.length - lt < LONG_TOKEN) return this.suspend(buf, lt);
          // a long comment or CDATA section is passed on as it streams, not held and searched again
          const keep = buf.length - (close.length - 1);
          if (open !== "<!--") events.text(buf.slice(lt + open.length, keep));
          this.read.consume(buf, keep);
          this.read.column -= open.length;
          this.rest = open + buf.slice(keep);
          return "";
        }
        if (open !== "<!--") events.text(buf.slice(lt + open.length, end));
        pos = end + close.length;
      } else if (next === Char.Question) {
        const end = buf.indexOf("?>", lt + 2);
        if (end < 0) return this.suspend(buf, lt);
        pos = end + 2;
      } else {
        if (elements.depth === elements.innerQuickDepth && events.readFromStart) {
          const end = events.readFromStart(buf, lt);
          if (end >= 0) {
            pos = end;
            continue;
          }
        }
        const tag = parseStartTag(buf, lt);
        if (tag === INCOMPLETE) {
          if (buf.length - lt >= LONG_TOKEN) {
            const long = { pieces: [buf.slice(lt)], quote: 0 };
            if (tagEnd(buf, lt + 1, long) < 0) {
              this.read.consume(buf, lt);
              this.longTag = long;
              return "";
            }
          }
          return this.suspend(buf, lt);
        }
        pos = tag.end;
        if (keptLocal && !tag.selfClosing && !tag.declares && isNamed(tag.name, keptLocal)) {
          const open: OpenTag = { name: tag.name, local: keptLocal, attributes: tag.attributes, selfClosing: false };
          if (events.wantsWhole?.(open) && events.keepWhole) {
            const [at, end] = findEndTag(buf, `</${tag.name}`, pos);
            if (at === INCOMPLETE) {
              // the carried input begins with the element waited for (lt 0): it was waited for keptWaits times
              const waits = lt === 0 ? this.keptWaits : 0;
              if (buf.length - lt < MAX_KEPT && waits < MAX_KEPT_WAITS) {
                this.keptWaits = waits + 1;
                return this.suspend(buf, lt);
              }
            } else {
              const content = buf.slice(pos, at);
              if (!content.includes("<!") && !content.includes("<?")) {
                const from = pos;
                this.keptWaits = 0;
                events.keepWhole(open, content, () => this.place(buf, from));
                pos = end;
                continue;
              }
            }
            this.keptWaits = 0;
          }
        }
        if (!tag.selfClosing && !tag.declares && elements.depth === elements.innerQuickDepth && events.readWhole) {
          const end = events.readWhole({ name: tag.name, local: localOf(tag.name), attributes: tag.attributes, selfClosing: false }, buf, pos);
          if (end >= 0) {
            pos = end;
            continue;
          }
        }
        elements.open(tag.name, tag.attributes, tag.selfClosing, tag.declares);
        if (tag.selfClosing) elements.close();
      }
    }
  }

  /** Keeps buf[from...] for the next chunk. */
  private suspend(buf: string, from: number): string {
    this.read.consume(buf, from);
    this.rest = buf.slice(from);
    return "";
  }
}

/** Tokens longer than this, cut by a chunk's end, are carried in pieces (see QuickPath). */
const LONG_TOKEN = 64 * 1024;

/**
 * An element kept whole (XmlEvents.keepWhole) whose end tag is not yet in
 * the buffer is waited for up to this many characters from its start tag;
 * a longer one is read as usual. An SSG Rule is 2-30 KB.
 */
const MAX_KEPT = 256 * 1024;
/**
 * Each wait for a kept element's end tag searches it again from its start
 * (with what came before): a few waits cost little with reads of 64 KB,
 * and input in small pieces (a slow pipe) has it read as usual, not searched
 * once per piece.
 */
const MAX_KEPT_WAITS = 4;

/** True if qualified name `name` has local name `local`. */
function isNamed(name: string, local: string): boolean {
  if (name.length === local.length) return name === local;
  return name.endsWith(local) && name.charCodeAt(name.length - local.length - 1) === Char.Colon;
}

/**
 * Where a start tag's `>` ends it in `text` (from `from`), outside quoted
 * values: its offset, or -1 if not in `text`. `state.quote` carries the open
 * quote (its code, 0 if none) from piece to piece.
 */
function tagEnd(text: string, from: number, state: { quote: number }): number {
  let quote = state.quote;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quote) {
      const close = text.indexOf(quote === Char.Quote ? '"' : "'", i);
      if (close < 0) break;
      quote = 0;
      i = close;
    } else if (c === Char.Quote || c === Char.Apos) quote = c;
    else if (c === Char.Gt) {
      state.quote = 0;
      return i;
    }
  }
  state.quote = quote;
  return -1;
}
