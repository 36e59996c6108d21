/** A member of a JSON object: its key, and where its value's text is. */
export interface JsonMember {
  key: string;
  /** The value is text.slice(start, end). */
  start: number;
  end: number;
  /** Elements of the value when it is an array. */
  elements: number;
}

/**
 * The members of a JSON object text, found without building their values:
 * the whole text is checked as JSON.parse would, but only the keys are made
 * into strings. A payload of many megabytes whose head alone is wanted then
 * costs no tree of objects that dies a moment later (for patchmon-send, most
 * of its memory). Null when the text is not a JSON object, or not valid JSON:
 * JSON.parse says why. Iterative, so any depth of nesting is fine.
 */
export function jsonObjectMembers(text: string): JsonMember[] | null {
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== OPEN_OBJECT) return null;
  i = skipSpace(text, i + 1);
  const members: JsonMember[] = [];
  if (text.charCodeAt(i) !== CLOSE_OBJECT) {
    for (;;) {
      const keyEnd = scanString(text, i);
      if (keyEnd < 0) return null;
      const keyText = text.slice(i, keyEnd);
      i = skipSpace(text, keyEnd);
      if (text.charCodeAt(i) !== COLON) return null;
      const start = skipSpace(text, i + 1);
      const value = scanValue(text, start);
      if (!value) return null;
      members.push({ key: keyText.includes("\\") ? (JSON.parse(keyText) as string) : keyText.slice(1, -1), start, end: value.end, elements: value.elements });
      i = skipSpace(text, value.end);
      const c = text.charCodeAt(i);
      if (c === CLOSE_OBJECT) break;
      if (c !== COMMA) return null;
      i = skipSpace(text, i + 1);
    }
  }
  return skipSpace(text, i + 1) === text.length ? members : null;
}

const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const SPACE = /[ \t\n\r]*/y;
// a run of string characters that need no look: neither quote, backslash nor control character
const PLAIN = /[^"\\\x00-\x1f]*/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LITERALS = ["true", "false", "null"];

function skipSpace(text: string, i: number): number {
  SPACE.lastIndex = i;
  SPACE.test(text);
  return SPACE.lastIndex;
}

/** The end of the string starting at i (after its closing quote), or -1. */
function scanString(text: string, i: number): number {
  if (text.charCodeAt(i) !== QUOTE) return -1;
  i++;
  for (;;) {
    PLAIN.lastIndex = i;
    PLAIN.test(text);
    i = PLAIN.lastIndex;
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c !== BACKSLASH) return -1; // a control character, or the end of the text
    ESCAPE.lastIndex = i;
    if (!ESCAPE.test(text)) return -1;
    i = ESCAPE.lastIndex;
  }
}

/** The end of a scalar (string, number, literal) at i, or -1. */
function scanScalar(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return scanString(text, i);
  for (const word of LITERALS) if (text.startsWith(word, i)) return i + word.length;
  NUMBER.lastIndex = i;
  return NUMBER.test(text) ? NUMBER.lastIndex : -1;
}

/** After the key of an object member at i: where its value starts, or -1. */
function afterKey(text: string, i: number): number {
  i = scanString(text, i);
  if (i < 0) return -1;
  i = skipSpace(text, i);
  return text.charCodeAt(i) === COLON ? skipSpace(text, i + 1) : -1;
}

/** The end of the value at i, and its element count if it is an array; null if it is not valid. */
function scanValue(text: string, i: number): { end: number; elements: number } | null {
  // the closing characters of the containers open around i
  const open: number[] = [];
  let elements = 0;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const close = c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) !== close) {
        open.push(close);
        if (close === CLOSE_OBJECT) i = afterKey(text, i);
        else if (open.length === 1) elements++;
        if (i < 0) return null;
        continue;
      }
      i++;
    } else {
      i = scanScalar(text, i);
      if (i < 0) return null;
    }
    // a value has ended: close what ends with it, then on to the next value
    for (;;) {
      if (!open.length) return { end: i, elements };
      i = skipSpace(text, i);
      const next = text.charCodeAt(i);
      const close = open[open.length - 1];
      if (next === COMMA) {
        i = skipSpace(text, i + 1);
        if (close === CLOSE_OBJECT) i = afterKey(text, i);
        else if (open.length === 1) elements++;
        if (i < 0) return null;
        break;
      }
      if (next !== close) return null;
      open.pop();
      i++;
    }
  }
}
