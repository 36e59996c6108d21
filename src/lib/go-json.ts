/**
 * JSON the way Go's encoding/json writes it: compact, with `<`, `>`, `&`,
 * U+2028 and U+2029 escaped. They can only occur inside strings, so
 * escaping the finished text is safe.
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Go's time.RFC3339Nano in UTC: fraction digits with trailing zeros trimmed,
 * no fraction at all when it is zero. `epochMs` may carry sub-millisecond
 * digits (performance.timeOrigin + performance.now()).
 */
export function rfc3339Nano(epochMs: number): string {
  const whole = Math.floor(epochMs / 1000);
  const micros = Math.round((epochMs - whole * 1000) * 1000);
  const base = new Date(whole * 1000).toISOString().slice(0, 19);
  const fraction = String(micros).padStart(6, "0").replace(/0+$/, "");
  return `${base}${fraction ? `.${fraction}` : ""}Z`;
}

export function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
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
