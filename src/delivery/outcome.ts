/**
 * What became of one record (or one frame, one message) given to a
 * transport: null when delivered, else the failure saying why.
 */
export type Outcome = Failure | null;

/** Why something was not delivered. With `line`, part was: `line` is the rest, the part to dead-letter. */
export interface Failure {
  /** The whole reason, as the dead-letter file keeps it. */
  reason: string;
  /** The reason without what varies per record (attempt counts, response bodies): failures are grouped by it on stderr. */
  kind: string;
  line?: string;
}

export const DELIVERED: Outcome = null;

export function failed(reason: string, kind = reason): Failure {
  return { reason, kind };
}

/** The HTTP sender's answer to one request, after its retries. */
export interface HttpAnswer {
  ok: boolean;
  status?: number;
  attempts: number;
  /** Why the last attempt failed (when not ok). */
  reason?: string;
  /** What kind of failure that was, e.g. `HTTP 503` or `127.0.0.1:9: connection refused`. */
  kind?: string;
  body?: string;
  headers?: Record<string, string | string[] | undefined>;
}

/** An HTTP answer as an outcome; the one place that says "after N attempts". */
export function httpOutcome(a: HttpAnswer): Outcome {
  if (a.ok) return DELIVERED;
  const reason = a.reason ?? "not sent";
  const tries = a.attempts ? ` (after ${a.attempts} attempt${a.attempts === 1 ? "" : "s"})` : "";
  return failed(`${reason}${tries}`, a.kind ?? reason);
}

/** One outcome of several transports that each had the same record: delivered only when every one took it. */
export function allOf(outcomes: Outcome[]): Outcome {
  const failures = outcomes.filter((o): o is Failure => o !== null);
  if (!failures.length) return DELIVERED;
  if (failures.length === 1) return failures[0];
  return failed(failures.map((f) => f.reason).join("; "), failures.map((f) => f.kind).join(" + "));
}

/** Told of each failed attempt as it happens, whether another attempt follows or not. */
export type AttemptListener = (attempt: { kind: string; attempt: number; retries: number; retrying: boolean }) => void;

const NET_WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection closed",
  UND_ERR_SOCKET: "connection closed by the server",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
};

/** A network error in words, `127.0.0.1:9: connection refused`, for grouping failures by kind. */
export function netFailureKind(where: string, err: { code?: string; message?: string }): string {
  const words = (err.code && NET_WORDS[err.code]) ?? (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME/i.test(String(err.code)) ? `certificate not trusted (${err.code})` : (err.message ?? err.code ?? "failed"));
  return `${where}: ${words}`;
}
