/**
 * Lexing helpers for the scanner's quick path: element content tokenised with
 * string searches instead of saxes's per-character state machine. Each helper
 * works on a buffer that may end mid-token and says so (INCOMPLETE) rather
 * than guessing; faults carry their offset in the buffer.
 */

export const INCOMPLETE = -1;

/** The characters the lexers look for, by code (`buf.charCodeAt(i) === Char.Lt`). */
export const enum Char {
  Tab = 9,
  Lf = 10,
  Cr = 13,
  Space = 32,
  Bang = 33,
  Quote = 34,
  Amp = 38,
  Apos = 39,
  Slash = 47,
  Colon = 58,
  Semicolon = 59,
  Lt = 60,
  Equals = 61,
  Gt = 62,
  Question = 63,
  UpperA = 65,
  UpperZ = 90,
  Underscore = 95,
  LowerA = 97,
  LowerX = 120,
  LowerZ = 122,
  /** The first code beyond ASCII. */
  NonAscii = 128,
  Bom = 0xfeff,
}

export const BARE_AMPERSAND = "'&' that does not start a reference (write &amp;)";

/** Characters of the input a fault message quotes, at most. */
const EXCERPT_CHARS = 40;

/**
 * Input text as a fault message quotes it: its first line, and at most
 * EXCERPT_CHARS characters of it. A fault message is one line, whatever the input.
 */
export function excerpt(text: string): string {
  const newline = text.search(/[\r\n]/);
  const line = newline < 0 ? text : text.slice(0, newline);
  return line.length > EXCERPT_CHARS || newline >= 0 ? `${line.slice(0, EXCERPT_CHARS)}…` : line;
}

/** A well-formedness fault at `offset` in the buffer being lexed. */
export class SyntaxFault extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export interface StartTag {
  name: string;
  attributes: Record<string, string>;
  selfClosing: boolean;
  /** Offset just after the tag's `>`. */
  end: number;
  /** False when no attribute can be a namespace declaration. */
  declares: boolean;
}

export const isSpace = (c: number) => c === Char.Space || c === Char.Lf || c === Char.Tab || c === Char.Cr;

/**
 * ASCII characters that end a name in a tag: all but XML's name characters
 * (letters, digits, `-`, `.`, `_` and `:`). Whatever follows a name other
 * than a blank, `>`, `/` or `=` is a fault.
 */
const NAME_END = new Uint8Array(Char.NonAscii).fill(1);
const ASCII_NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";
for (let i = 0; i < ASCII_NAME_CHARS.length; i++) NAME_END[ASCII_NAME_CHARS.charCodeAt(i)] = 0;

/** True if c may start an XML name: a letter, `_`, `:`, or (not checked further) anything beyond ASCII. */
const startsName = (c: number) => (c >= Char.LowerA && c <= Char.LowerZ) || (c >= Char.UpperA && c <= Char.UpperZ) || c === Char.Underscore || c === Char.Colon || c >= Char.NonAscii;

/** Scans a name from `i`; returns its end. */
export function nameEnd(buf: string, i: number, len: number): number {
  while (i < len) {
    const c = buf.charCodeAt(i);
    if (c < Char.NonAscii && NAME_END[c]) return i;
    i++;
  }
  return len;
}

/** Parses the start tag at `lt` (a `<`), or returns INCOMPLETE if the buffer ends inside it. */
export function parseStartTag(buf: string, lt: number): StartTag | typeof INCOMPLETE {
  return parsePlainStartTag(buf, lt) ?? parseAnyStartTag(buf, lt);
}

/**
 * The common case, fast: `<name a="v" b='w'>` on one line, whose values need
 * no decoding. Returns null for anything else (or a tag cut by the buffer's
 * end), which parseAnyStartTag then reads or reports character by character.
 */
export function parsePlainStartTag(buf: string, lt: number): StartTag | null {
  const len = buf.length;
  if (!startsName(buf.charCodeAt(lt + 1))) return null;
  let i = nameEnd(buf, lt + 1, len);
  const name = buf.slice(lt + 1, i);
  const attributes: Record<string, string> = {};
  let declares = false;
  for (;;) {
    let c = buf.charCodeAt(i);
    if (c === Char.Space) c = buf.charCodeAt(++i);
    else if (c !== Char.Gt && c !== Char.Slash) return null;
    if (c === Char.Gt || c === Char.Slash) {
      const end = c === Char.Gt ? i + 1 : i + 2;
      if (!name || (c === Char.Slash && buf.charCodeAt(i + 1) !== Char.Gt)) return null;
      const text = buf.slice(lt, end);
      // a '<' or '&' in a value, or a blank that normalises to a space, needs the careful reading
      if (text.includes("&") || text.includes("\n") || text.includes("\t") || text.includes("\r") || text.indexOf("<", 1) > 0) return null;
      return { name, attributes, selfClosing: c === Char.Slash, end, declares };
    }
    const nameStart = i;
    if (!startsName(buf.charCodeAt(i))) return null;
    i = nameEnd(buf, i, len);
    if (buf.charCodeAt(i) !== Char.Equals) return null;
    const attribute = buf.slice(nameStart, i);
    const quote = buf.charCodeAt(++i);
    if (quote !== Char.Quote && quote !== Char.Apos) return null;
    const close = buf.indexOf(quote === Char.Quote ? '"' : "'", i + 1);
    if (close < 0 || attributes[attribute] !== undefined) return null;
    declares ||= attribute.charCodeAt(0) === Char.LowerX;
    attributes[attribute] = buf.slice(i + 1, close);
    i = close + 1;
  }
}

function parseAnyStartTag(buf: string, lt: number): StartTag | typeof INCOMPLETE {
  const len = buf.length;
  let i = nameEnd(buf, lt + 1, len);
  if (i >= len) return INCOMPLETE;
  const name = buf.slice(lt + 1, i);
  if (!startsName(buf.charCodeAt(lt + 1))) throw new SyntaxFault(`invalid start tag: a name cannot start with '${buf[lt + 1]}'`, lt + 1);
  if (!endsName(buf.charCodeAt(i))) throw new SyntaxFault(`invalid start tag <${excerpt(name)}: unexpected '${buf[i]}'`, i);
  const attributes: Record<string, string> = {};
  for (;;) {
    while (i < len && isSpace(buf.charCodeAt(i))) i++;
    if (i >= len) return INCOMPLETE;
    const c = buf.charCodeAt(i);
    if (c === Char.Gt) return { name, attributes, selfClosing: false, end: i + 1, declares: true };
    if (c === Char.Slash) {
      if (i + 1 >= len) return INCOMPLETE;
      if (buf.charCodeAt(i + 1) !== Char.Gt) throw new SyntaxFault(`malformed start tag <${excerpt(name)}>: '/' not followed by '>'`, i);
      return { name, attributes, selfClosing: true, end: i + 2, declares: true };
    }
    const nameStart = i;
    i = nameEnd(buf, i, len);
    if (i >= len) return INCOMPLETE;
    const attribute = buf.slice(nameStart, i);
    if (!startsName(buf.charCodeAt(nameStart))) throw new SyntaxFault(`malformed start tag <${excerpt(name)}>: an attribute name cannot start with '${buf[nameStart]}'`, nameStart);
    if (!(endsName(buf.charCodeAt(i)) || buf.charCodeAt(i) === Char.Equals)) throw new SyntaxFault(`malformed start tag <${excerpt(name)}>: unexpected '${buf[i]}' after attribute name ${excerpt(attribute)}`, i);
    while (i < len && isSpace(buf.charCodeAt(i))) i++;
    if (i >= len) return INCOMPLETE;
    if (buf.charCodeAt(i) !== Char.Equals) throw new SyntaxFault(`attribute ${excerpt(attribute)} of <${excerpt(name)}> has no value`, i);
    i++;
    while (i < len && isSpace(buf.charCodeAt(i))) i++;
    if (i >= len) return INCOMPLETE;
    const quote = buf.charCodeAt(i);
    if (quote !== Char.Quote && quote !== Char.Apos) throw new SyntaxFault(`attribute ${excerpt(attribute)} of <${excerpt(name)}> is not quoted`, i);
    const close = buf.indexOf(quote === Char.Quote ? '"' : "'", i + 1);
    if (close < 0) return INCOMPLETE;
    let value = buf.slice(i + 1, close);
    const lessThan = value.indexOf("<");
    if (lessThan >= 0) throw new SyntaxFault(`'<' in the value of attribute ${excerpt(attribute)} of <${excerpt(name)}>`, i + 1 + lessThan);
    // literal blanks become spaces; blanks written as character references stay
    if (value.includes("\n") || value.includes("\t") || value.includes("\r")) value = value.replace(/\r\n|[\t\n\r]/g, " ");
    if (value.includes("&")) value = decodeEntities(value, i + 1);
    if (Object.hasOwn(attributes, attribute)) throw new SyntaxFault(`duplicate attribute ${excerpt(attribute)} on <${excerpt(name)}>`, nameStart);
    attributes[attribute] = value;
    i = close + 1;
    const after = buf.charCodeAt(i);
    if (i < len && !isSpace(after) && after !== Char.Gt && after !== Char.Slash) throw new SyntaxFault(`malformed start tag <${excerpt(name)}>: no space after attribute ${excerpt(attribute)}`, i);
  }
}

/** True for what may follow a name in a tag: a blank, `>` or `/`. */
const endsName = (c: number) => isSpace(c) || c === Char.Gt || c === Char.Slash;

const PREDEFINED: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
const REFERENCE = /&([^;&\s<]*);?/g;

/** Replaces XML's five entities and character references; anything else is a fault (no DTD is read). */
function decodeEntities(text: string, offset: number): string {
  return text.replace(REFERENCE, (whole, name: string, at: number) => {
    if (!whole.endsWith(";")) throw new SyntaxFault(BARE_AMPERSAND, offset + at);
    const predefined = PREDEFINED[name];
    if (predefined !== undefined && Object.hasOwn(PREDEFINED, name)) return predefined;
    const code = /^#x[0-9a-fA-F]+$/.test(name) ? parseInt(name.slice(2), 16) : /^#[0-9]+$/.test(name) ? parseInt(name.slice(1), 10) : NaN;
    if (Number.isNaN(code)) throw new SyntaxFault(`undefined entity ${excerpt(`&${name};`)} (DTD entities are not expanded)`, offset + at);
    if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new SyntaxFault(`invalid character reference ${excerpt(`&${name};`)}`, offset + at);
    return String.fromCodePoint(code);
  });
}

/** Text as XML hands it on: line ends normalised, references replaced. */
export function decodeText(text: string, offset: number): string {
  if (text.includes("\r")) text = text.replace(/\r\n?/g, "\n");
  return text.includes("&") ? decodeEntities(text, offset) : text;
}

/**
 * Where buffered text can safely be cut: before a trailing reference that may
 * be incomplete, or a trailing CR whose LF may follow.
 */
export function safeTextEnd(buf: string, from: number): number {
  let end = buf.length;
  // the last `&` after `from`, searched forwards: lastIndexOf, finding none, would go back through the
  // whole buffer, not just its text (~100 ms of a 150 MB rule-heavy report, whose chunks hold no `&`)
  let amp = buf.indexOf("&", from);
  for (let next = amp; next >= 0; next = buf.indexOf("&", next + 1)) amp = next;
  if (amp >= 0 && buf.indexOf(";", amp) < 0) end = amp;
  if (end > from && buf.charCodeAt(end - 1) === Char.Cr) end--;
  return end;
}

/**
 * Finds the end tag `close` (`</name`, then optional blanks, then `>`) at or
 * after `from`. Returns [start, end] of the tag, or INCOMPLETE with the offset
 * from which a later buffer must be searched again: none of it if `hay` ends
 * with a `>`, where no end tag can begin and go on in the next buffer.
 */
export function findEndTag(hay: string, close: string, from: number): [number, number] | [typeof INCOMPLETE, number] {
  for (let at = hay.indexOf(close, from); at >= 0; at = hay.indexOf(close, at + 1)) {
    let i = at + close.length;
    while (i < hay.length && isSpace(hay.charCodeAt(i))) i++;
    if (i === hay.length) return [INCOMPLETE, at];
    if (hay.charCodeAt(i) === Char.Gt) return [at, i + 1];
  }
  if (hay.charCodeAt(hay.length - 1) === Char.Gt) return [INCOMPLETE, Math.max(from, hay.length)];
  return [INCOMPLETE, Math.max(from, hay.length - close.length)];
}

/**
 * True if the end tag at `lt`, whose `>` is at `gt`, closes element `name`:
 * `</name`, then nothing but blanks up to the `>`.
 */
export function endTagCloses(buf: string, lt: number, gt: number, name: string): boolean {
  const afterName = lt + 2 + name.length;
  return buf.startsWith(name, lt + 2) && (afterName === gt || buf.slice(afterName, gt).trim() === "");
}

// Regular-expression pieces for elements read whole by one pattern, in their plainest form, where the
// element-by-element reading would find no fault and decode nothing (plain-items.ts, plain-rule.ts, the
// reader's PLAIN_RULE_RESULT); anything else falls back to that reading.
/** A quoted attribute value with no reference, markup, control character or anything else saxes might find fault with. */
export const PLAIN_VALUE = String.raw`"[^"&<\x00-\x1f\ud800-\udfff\ufffe\uffff]*"`;
/** PLAIN_VALUE, its text captured. */
export const PLAIN_VALUE_GROUP = String.raw`"([^"&<\x00-\x1f\ud800-\udfff\ufffe\uffff]*)"`;
/** Text with no markup, reference or CR: what plainText takes as is. */
export const PLAIN_TEXT = String.raw`[^<&\r]*`;
export const BLANKS = String.raw`[ \t\r\n]*`;

const REGEXP_SYNTAX = "\\^$.*+?()[]{}|";

/**
 * `text` matched literally in a regular expression. A loop, not a global
 * replace: V8 compiles a regular expression to machine code at a global
 * replace's first call (~50 us), which a small file's run paid for ~15
 * element names. (Code that runs once per start-up is written without
 * regular expressions where one would be its only use: each costs ~35 us to
 * compile at its first use and as much again at its second.)
 */
export function escapeRegExp(text: string): string {
  let escaped = "";
  for (const c of text) escaped += REGEXP_SYNTAX.includes(c) ? `\\${c}` : c;
  return escaped;
}

/** Counts line feeds in buf[0, to). */
export function countLines(buf: string, to: number): number {
  let n = 0;
  for (let i = buf.indexOf("\n"); i >= 0 && i < to; i = buf.indexOf("\n", i + 1)) n++;
  return n;
}

/**
 * Lines read by whoever is not saxes (skipped leading text, skipped
 * elements, the quick path), which saxes's own line count misses; and the
 * quick path's column. Positions in faults add them up.
 */
export class LinesRead {
  lines = 0;
  /** Column reached by the quick path (0-based). */
  column = 0;

  /** Counts the lines of buf[0, to), read outside saxes, and the column reached. */
  consume(buf: string, to: number): void {
    const lines = countLines(buf, to);
    this.lines += lines;
    this.column = lines ? to - buf.lastIndexOf("\n", to - 1) - 1 : this.column + to;
  }
}
