/**
 * Lexing helpers for the scanner's quick path: element content tokenised with
 * string searches instead of saxes's per-character state machine. Each helper
 * works on a buffer that may end mid-token and says so (INCOMPLETE) rather
 * than guessing; faults carry their offset in the buffer.
 */

export const INCOMPLETE = -1;

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

const isSpace = (c: number) => c === 32 || c === 10 || c === 9 || c === 13;

/**
 * ASCII characters that end a name in a tag: all but XML's name characters
 * (letters, digits, `-`, `.`, `_` and `:`). Whatever follows a name other
 * than a blank, `>`, `/` or `=` is a fault.
 */
const NAME_END = new Uint8Array(128).fill(1);
for (let c = 0; c < 128; c++) if (/[A-Za-z0-9._:-]/.test(String.fromCharCode(c))) NAME_END[c] = 0;

/** True if c may start an XML name: a letter, `_`, `:`, or (not checked further) anything beyond ASCII. */
const startsName = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58 || c >= 128;

/** Scans a name from `i`; returns its end. */
export function nameEnd(buf: string, i: number, len: number): number {
  while (i < len) {
    const c = buf.charCodeAt(i);
    if (c < 128 && NAME_END[c]) return i;
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
    if (c === 32) c = buf.charCodeAt(++i);
    else if (c !== 62 && c !== 47) return null;
    if (c === 62 || c === 47) {
      const end = c === 62 ? i + 1 : i + 2;
      if (!name || (c === 47 && buf.charCodeAt(i + 1) !== 62)) return null;
      const text = buf.slice(lt, end);
      // a '<' or '&' in a value, or a blank that normalises to a space, needs the careful reading
      if (text.includes("&") || text.includes("\n") || text.includes("\t") || text.includes("\r") || text.indexOf("<", 1) > 0) return null;
      return { name, attributes, selfClosing: c === 47, end, declares };
    }
    const nameStart = i;
    if (!startsName(buf.charCodeAt(i))) return null;
    i = nameEnd(buf, i, len);
    if (buf.charCodeAt(i) !== 61 /* = */) return null;
    const attribute = buf.slice(nameStart, i);
    const quote = buf.charCodeAt(++i);
    if (quote !== 34 && quote !== 39) return null;
    const close = buf.indexOf(quote === 34 ? '"' : "'", i + 1);
    if (close < 0 || attributes[attribute] !== undefined) return null;
    declares ||= attribute.charCodeAt(0) === 120 /* x */;
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
  if (!endsName(buf.charCodeAt(i))) throw new SyntaxFault(`invalid start tag <${name}: unexpected '${buf[i]}'`, i);
  const attributes: Record<string, string> = {};
  for (;;) {
    while (i < len && isSpace(buf.charCodeAt(i))) i++;
    if (i >= len) return INCOMPLETE;
    const c = buf.charCodeAt(i);
    if (c === 62) return { name, attributes, selfClosing: false, end: i + 1, declares: true };
    if (c === 47) {
      if (i + 1 >= len) return INCOMPLETE;
      if (buf.charCodeAt(i + 1) !== 62) throw new SyntaxFault(`malformed start tag <${name}>: '/' not followed by '>'`, i);
      return { name, attributes, selfClosing: true, end: i + 2, declares: true };
    }
    const nameStart = i;
    i = nameEnd(buf, i, len);
    if (i >= len) return INCOMPLETE;
    const attribute = buf.slice(nameStart, i);
    if (!startsName(buf.charCodeAt(nameStart))) throw new SyntaxFault(`malformed start tag <${name}>: an attribute name cannot start with '${buf[nameStart]}'`, nameStart);
    if (!(endsName(buf.charCodeAt(i)) || buf.charCodeAt(i) === 61)) throw new SyntaxFault(`malformed start tag <${name}>: unexpected '${buf[i]}' after attribute name ${attribute}`, i);
    while (i < len && isSpace(buf.charCodeAt(i))) i++;
    if (i >= len) return INCOMPLETE;
    if (buf.charCodeAt(i) !== 61) throw new SyntaxFault(`attribute ${attribute} of <${name}> has no value`, i);
    i++;
    while (i < len && isSpace(buf.charCodeAt(i))) i++;
    if (i >= len) return INCOMPLETE;
    const quote = buf.charCodeAt(i);
    if (quote !== 34 && quote !== 39) throw new SyntaxFault(`attribute ${attribute} of <${name}> is not quoted`, i);
    const close = buf.indexOf(quote === 34 ? '"' : "'", i + 1);
    if (close < 0) return INCOMPLETE;
    let value = buf.slice(i + 1, close);
    const lessThan = value.indexOf("<");
    if (lessThan >= 0) throw new SyntaxFault(`'<' in the value of attribute ${attribute} of <${name}>`, i + 1 + lessThan);
    // literal blanks become spaces; blanks written as character references stay
    if (value.includes("\n") || value.includes("\t") || value.includes("\r")) value = value.replace(/\r\n|[\t\n\r]/g, " ");
    if (value.includes("&")) value = decodeEntities(value, i + 1);
    if (Object.hasOwn(attributes, attribute)) throw new SyntaxFault(`duplicate attribute ${attribute} on <${name}>`, nameStart);
    attributes[attribute] = value;
    i = close + 1;
    const after = buf.charCodeAt(i);
    if (i < len && !isSpace(after) && after !== 62 && after !== 47) throw new SyntaxFault(`malformed start tag <${name}>: no space after attribute ${attribute}`, i);
  }
}

/** True for what may follow a name in a tag: a blank, `>` or `/`. */
const endsName = (c: number) => isSpace(c) || c === 62 || c === 47;

const PREDEFINED: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
const REFERENCE = /&([^;&\s<]*);?/g;

/** Replaces XML's five entities and character references; anything else is a fault (no DTD is read). */
function decodeEntities(text: string, offset: number): string {
  return text.replace(REFERENCE, (whole, name: string, at: number) => {
    if (!whole.endsWith(";")) throw new SyntaxFault("'&' that does not start a reference (write &amp;)", offset + at);
    const predefined = PREDEFINED[name];
    if (predefined !== undefined && Object.hasOwn(PREDEFINED, name)) return predefined;
    const code = /^#x[0-9a-fA-F]+$/.test(name) ? parseInt(name.slice(2), 16) : /^#[0-9]+$/.test(name) ? parseInt(name.slice(1), 10) : NaN;
    if (Number.isNaN(code)) throw new SyntaxFault(`undefined entity &${name}; (DTD entities are not expanded)`, offset + at);
    if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new SyntaxFault(`invalid character reference &${name};`, offset + at);
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
  const amp = buf.lastIndexOf("&");
  if (amp >= from && buf.indexOf(";", amp) < 0) end = amp;
  if (end > from && buf.charCodeAt(end - 1) === 13) end--;
  return end;
}

/**
 * Finds the end tag `close` (`</name`, then optional blanks, then `>`) at or
 * after `from`. Returns [start, end] of the tag, or INCOMPLETE with the offset
 * from which a later buffer must be searched again.
 */
export function findEndTag(hay: string, close: string, from: number): [number, number] | [typeof INCOMPLETE, number] {
  for (let at = hay.indexOf(close, from); at >= 0; at = hay.indexOf(close, at + 1)) {
    let i = at + close.length;
    while (i < hay.length && isSpace(hay.charCodeAt(i))) i++;
    if (i === hay.length) return [INCOMPLETE, at];
    if (hay.charCodeAt(i) === 62) return [at, i + 1];
  }
  return [INCOMPLETE, Math.max(from, hay.length - close.length)];
}

/** Counts line feeds in buf[0, to). */
export function countLines(buf: string, to: number): number {
  let n = 0;
  for (let i = buf.indexOf("\n"); i >= 0 && i < to; i = buf.indexOf("\n", i + 1)) n++;
  return n;
}
