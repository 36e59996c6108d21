/** Now, in milliseconds since the epoch, with sub-millisecond digits. */
export function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** `YYYY-MM-DDTHH:MM:SS` in UTC and the microseconds past that second. */
function utcSecondAndMicros(epochMs: number): [string, number] {
  const whole = Math.floor(epochMs / 1000);
  return [new Date(whole * 1000).toISOString().slice(0, 19), Math.round((epochMs - whole * 1000) * 1000)];
}

/** Go's time.RFC3339Nano in UTC: fraction with trailing zeros trimmed, none when zero. */
export function rfc3339Nano(epochMs: number): string {
  const [base, micros] = utcSecondAndMicros(epochMs);
  const fraction = String(micros).padStart(6, "0").replace(/0+$/, "");
  return `${base}${fraction ? `.${fraction}` : ""}Z`;
}

/** Python's `datetime.isoformat()` of a UTC time: microseconds (none when zero) and "+00:00". */
export function isoTimestamp(epochMs = nowEpochMs()): string {
  const [base, micros] = utcSecondAndMicros(epochMs);
  return `${base}${micros ? `.${String(micros).padStart(6, "0")}` : ""}+00:00`;
}
