import { SaxesParser, type SaxesTagPlain } from "saxes";
import { StringDecoder } from "node:string_decoder";
import { PipeError } from "./errors.js";

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
}

const MAX_LEADING_LINE = 1024 * 1024;
const XML_NS = "http://www.w3.org/XML/1998/namespace";

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
 * Chunks are handed to saxes cut just after a `>`, so when a skip begins
 * saxes sits between markup and can be closed cleanly with synthesised end
 * tags. Line numbers in errors count every line, skipped or not.
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
  private nsFrames: (Record<string, string> | null)[] = [];
  private skipDepth = 0;
  private skipClose = "";
  private skipCarry = "";
  private skippedLines = 0;
  private failed = false;

  constructor(events: XmlEvents, opts: { source?: string } = {}) {
    this.events = events;
    this.source = opts.source ?? "stdin";
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

  /** True once the document's first element has been found. */
  get inDocument(): boolean {
    return !this.inProlog;
  }

  write(chunk: Buffer | string): void {
    const text = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    if (text.length) this.feed(text);
  }

  end(): void {
    const rest = this.decoder.end();
    if (rest) this.feed(rest);
    if (this.inProlog) {
      const skipped = this.leadingBytes + Buffer.byteLength(this.leading);
      throw this.error(`not XML: no element found${skipped ? ` in ${skipped} bytes of text` : ""}`, { line: this.skippedLines + 1, col: 1 });
    }
    if (this.skipDepth > 0) {
      throw this.error(`unexpected end of input inside <${this.names[this.skipDepth - 1]}>`, { line: this.skippedLines + this.parser.line });
    }
    if (!this.rootClosed) this.saxWrite(this.pending.join(""));
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

  private saxWrite(text: string): void {
    try {
      this.parser.write(text);
    } catch (cause) {
      if (cause instanceof PipeError) throw cause;
      throw this.saxError(cause);
    }
  }

  private onOpen(tag: SaxesTagPlain): void {
    if (this.rootClosed) return;
    this.sawRoot = true;
    const attributes = tag.attributes as Record<string, string>;
    let frame: Record<string, string> | null = null;
    for (const key in attributes) {
      if (key.charCodeAt(0) === 120 /* x */ && (key === "xmlns" || key.startsWith("xmlns:"))) {
        frame ??= {};
        frame[key] = attributes[key];
      }
    }
    this.nsFrames.push(frame);
    this.names.push(tag.name);
    if (this.skipDepth > 0) return;
    const colon = tag.name.indexOf(":");
    const local = colon < 0 ? tag.name : tag.name.slice(colon + 1);
    const skip = this.events.open({ name: tag.name, local, attributes, selfClosing: tag.isSelfClosing });
    if (skip && !tag.isSelfClosing) {
      this.skipDepth = this.names.length;
      this.skipClose = `</${tag.name}`;
    }
  }

  private onClose(): void {
    if (this.rootClosed) return;
    const name = this.names.pop()!;
    if (this.names.length === 0) this.rootClosed = true;
    this.nsFrames.pop();
    if (this.skipDepth > 0) {
      if (this.names.length >= this.skipDepth) return;
      this.skipDepth = 0;
      this.skipCarry = "";
    }
    const colon = name.indexOf(":");
    this.events.close(colon < 0 ? name : name.slice(colon + 1));
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
    const carryLength = this.skipCarry.length;
    const hay = carryLength ? this.skipCarry + text : text;
    for (let at = hay.indexOf(this.skipClose); at >= 0; at = hay.indexOf(this.skipClose, at + 1)) {
      let i = at + this.skipClose.length;
      while (i < hay.length && hay.charCodeAt(i) <= 32) i++;
      if (i === hay.length) {
        // the end tag is cut by the chunk boundary: decide with the next chunk
        this.countLines(hay, carryLength, at);
        this.skipCarry = hay.slice(at);
        return "";
      }
      if (hay.charCodeAt(i) !== 62 /* > */) continue;
      this.countLines(hay, carryLength, at);
      this.skipCarry = "";
      // saxes sees the real end tag and closes the skipped element itself
      this.saxWrite(hay.slice(at, i + 1));
      return hay.slice(i + 1);
    }
    this.countLines(hay, carryLength, hay.length);
    const keep = this.skipClose.length;
    this.skipCarry = hay.length > keep ? hay.slice(hay.length - keep) : hay;
    return "";
  }

  private countLines(hay: string, from: number, to: number): void {
    for (let i = hay.indexOf("\n", from); i >= 0 && i < to; i = hay.indexOf("\n", i + 1)) this.skippedLines++;
  }

  private saxError(cause: unknown, message?: string): PipeError {
    this.failed = true;
    const raw = (cause as Error).message.replace(/^\d+:\d+: /, "");
    return this.error(message ?? describeSaxMessage(raw), { line: this.parser.line + this.skippedLines, col: this.parser.column + 1 }, cause);
  }

  private error(message: string, at: { line?: number; col?: number } = {}, cause?: unknown): PipeError {
    this.failed = true;
    return new PipeError("E_BAD_INPUT", message, { position: { source: this.source, ...at }, cause });
  }
}

function describeSaxMessage(message: string): string {
  message = message.replace(/\.$/, "");
  if (/^undefined entity/.test(message)) return `${message} (DTD entities are not expanded)`;
  return message;
}
