/**
 * JSON the way Go's encoding/json writes it: compact, with `<`, `>`, `&`,
 * U+2028 and U+2029 escaped. They can only occur inside strings, so
 * escaping the finished text is safe.
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
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
