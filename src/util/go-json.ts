/**
 * JSON the way Go's encoding/json writes it: compact, with `<`, `>`, `&`,
 * U+2028 and U+2029 escaped. They can only occur inside strings, so
 * escaping the finished text is safe.
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Each token as goJson writes it, back to back (no white space): strings
 * with only the escapes it makes and none of the characters it escapes
 * (a surrogate only in a pair), integers it writes as they are (at most 15
 * digits, so exact; no -0), literals and punctuation.
 */
const GO_JSON_TOKENS =
  /^(?:"(?:[^"\\\x00-\x1f<>&\u2028\u2029\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff]|\\["\\bfnrt]|\\u(?:003[ce]|0026|202[89]))*"|[{}[\],:]|(?:0|-?[1-9]\d{0,14})(?![.eE\d])|true|false|null)*$/;

/** Nesting walked to count keys; deeper values are left to goJson. */
const MAX_DEPTH = 64;
/** Longest text looked at: the RegExp's backtrack stack overflows on millions of tokens (a 15 MB array), and a rare big event gains little. */
const MAX_LENGTH = 64 * 1024;

/**
 * Whether `text` is, byte for byte, what goJson writes for `parsed`, which
 * must be JSON.parse(text). True only when that is shown without writing
 * it: every token is written as goJson would (GO_JSON_TOKENS), and the
 * parsed value lost no key (a key given twice keeps one) nor moved one
 * (V8 puts integer-like keys first); false when it cannot be told so.
 * Measured on the runner-compliance events (~0.9 KB): 1.8 µs an event
 * against 3.5 µs for goJson itself, whose text would be thrown away.
 */
export function isGoJsonOf(text: string, parsed: unknown): boolean {
  // with no escaped quote in the text, every `":` ends a key
  if (text.length > MAX_LENGTH || text.includes('\\"') || !GO_JSON_TOKENS.test(text)) return false;
  let keys = 0;
  for (let at = text.indexOf(":"); at >= 0; at = text.indexOf(":", at + 1)) if (text.charCodeAt(at - 1) === 0x22) keys++;
  return countKeys(parsed, 0) === keys;
}

/** Keys of `value` and of everything in it, or -1 for an integer-like key (moved first) or nesting deeper than MAX_DEPTH. */
function countKeys(value: unknown, depth: number): number {
  if (value === null || typeof value !== "object") return 0;
  if (depth > MAX_DEPTH) return -1;
  let n = 0;
  if (Array.isArray(value)) {
    for (const item of value) {
      const inner = countKeys(item, depth + 1);
      if (inner < 0) return -1;
      n += inner;
    }
    return n;
  }
  for (const key in value as Record<string, unknown>) {
    const first = key.charCodeAt(0);
    if (first >= 0x30 && first <= 0x39) return -1;
    const inner = countKeys((value as Record<string, unknown>)[key], depth + 1);
    if (inner < 0) return -1;
    n += inner + 1;
  }
  return n;
}

/**
 * Go's `%.0f` of a float64 id: the exact integer value of the double. A JS
 * String() would print 1424700180901330700 for 1424700180901330688.
 */
export function goIdString(value: string | number): string {
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(n)) return String(value);
  return BigInt(Math.round(n)).toString();
}
