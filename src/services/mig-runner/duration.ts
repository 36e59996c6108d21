/**
 * Go's time.ParseDuration (entity.cfg `expiry`, runner.cfg `delayresults`):
 * a sequence of decimal numbers with a unit each, `1h30m`, `1.5s`, `300ms`,
 * optionally signed; `0` alone is allowed. Returns milliseconds, or null
 * when the text is not a Go duration.
 */
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseGoDuration(text: string): number | null {
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest[0] === "-") sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") return null;
  let total = 0;
  const part = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (rest.length) {
    const m = part.exec(rest);
    if (!m || (m[1] === "" && (m[2] ?? "") === "")) return null;
    total += Number(`${m[1] || "0"}.${m[2] || "0"}`) * UNIT_MS[m[3]];
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}

/** A duration for messages: `10m`, `1h30m`, `90s`, `250ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s || (!h && !m) ? `${s}s` : ""}`;
}
