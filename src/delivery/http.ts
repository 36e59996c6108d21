import { createRequire } from "node:module";
import type { Dispatcher, Pool as UndiciPool } from "undici";
import { PipeError } from "../errors.js";
import { tlsConnectOptions, type TlsOptions } from "./tls.js";
import { netFailureKind, type AttemptListener, type HttpAnswer } from "./outcome.js";
import { Circuit, DEFAULT_OUTAGE, sendWithRetries, type OutageSettings, type Schedule, type Try } from "./circuit.js";

export type { TlsOptions };

// undici's index loads all of undici (fetch, WebSocket, caches, mocks): ~8 MB of a sender's memory,
// when it needs a connection pool and the header parser. Their files are undici 7's; should a release
// move them, the index is loaded instead (the same pieces, the memory back).
const require = createRequire(import.meta.url);
function undiciPart<T>(file: string, fromIndex: (undici: Record<string, unknown>) => T): T {
  try {
    return require(file) as T;
  } catch {
    return fromIndex(require("undici") as Record<string, unknown>);
  }
}
const Pool = undiciPart<typeof UndiciPool>("undici/lib/dispatcher/pool.js", (u) => u.Pool as typeof UndiciPool);
type HeaderParser = { parseHeaders(raw: Buffer[]): Record<string, string | string[] | undefined> };
const { parseHeaders } = undiciPart<HeaderParser>("undici/lib/core/util.js", (u) => u.util as HeaderParser);

export interface HttpSenderOptions {
  url: string;
  /** Per attempt, milliseconds. */
  timeoutMs: number;
  /** Attempts after the first. */
  retries: number;
  /** Statuses retried besides 5xx and 429. */
  retryOn?: ReadonlySet<number>;
  /** Sockets kept open to the server (keep-alive pool). */
  connections: number;
  tls?: TlsOptions;
  headers?: Record<string, string>;
  onFailedAttempt?: AttemptListener;
  /** What to do while the server is down (default: fail the rest at once once it is found down). */
  outage?: OutageSettings;
}

/** Retries after the first attempt and seconds per attempt: the commands' defaults and the library's. */
export const DEFAULT_RETRIES = 5;
export const DEFAULT_TIMEOUT_S = 10;

/** First backoff step; the longest Retry-After honoured (milliseconds). */
const BACKOFF_MS = 250;
const MAX_RETRY_AFTER_MS = 300_000;

export interface SendRequest {
  body: string | Buffer;
  /** Path (and query) on the server; default: the URL's. */
  path?: string;
  headers?: Record<string, string>;
  /** Statuses that must not be retried for this request (e.g. 401). */
  noRetry?: ReadonlySet<number>;
  /**
   * Awaited before the first attempt is made (pacing), given the sender's
   * wait, which stop() cuts short: false means interrupted, and the request
   * is not sent. Not called when the receiver is down and the request is not sent.
   */
  beforeFirstAttempt?: (wait: (ms: number) => Promise<boolean>) => Promise<boolean>;
}

/**
 * POSTs bodies to one HTTP(S) server over a keep-alive pool (undici), with a
 * timeout per attempt and retries with exponential backoff and jitter on
 * connection errors, 5xx, 429 (Retry-After honoured) and chosen statuses.
 * Other statuses come back as failures for the caller to dead-letter. TLS
 * certificates are verified unless `insecure`. A server found down (see
 * Circuit) costs one retry schedule, not one per request.
 */
export class HttpSender {
  private readonly pool: UndiciPool;
  private readonly url: URL;
  private readonly path: string;
  private readonly headers: Record<string, string>;
  /**
   * Backoff waits that stop() cuts short. One set of wake-ups rather than a
   * listener per wait on a shared AbortSignal: with --concurrency above 10,
   * that many waits at once made Node warn of a listener leak.
   */
  private readonly waiting = new Set<() => void>();
  private stopped = false;
  private readonly circuit: Circuit;
  private readonly schedule: Schedule;
  retried = 0;

  constructor(private readonly opts: HttpSenderOptions) {
    this.url = parseHttpUrl(opts.url);
    const outage = opts.outage ?? DEFAULT_OUTAGE;
    this.circuit = new Circuit(outage);
    this.schedule = {
      circuit: this.circuit,
      retries: opts.retries,
      firstBackoffMs: BACKOFF_MS,
      maxBackoffMs: outage.maxBackoffMs,
      onFailedAttempt: opts.onFailedAttempt,
      wait: (ms) => this.wait(ms),
      onRetry: () => this.retried++,
    };
    this.path = `${this.url.pathname}${this.url.search}`;
    this.headers = { "content-type": "application/json", "user-agent": "compliance-pipes", ...opts.headers };
    // one origin: a pool of its own, no agent in between; connecting counts against the attempt's time too
    this.pool = new Pool(this.url.origin, {
      connections: opts.connections,
      pipelining: 1,
      connect: { ...tlsConnectOptions(opts.tls), timeout: opts.timeoutMs },
      keepAliveTimeout: 30_000,
    });
  }

  /** Makes waiting retries give up at once (SIGINT/SIGTERM). */
  stop(): void {
    this.stopped = true;
    this.circuit.stop();
    for (const wake of this.waiting) wake();
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  async send(req: SendRequest): Promise<HttpAnswer> {
    return sendWithRetries<HttpAnswer>(this.schedule, (n) => this.attempt(req, n), (last, why) =>
      last ? { ...last.result, reason: `${last.result.reason}; ${why.note}` } : { ok: false, attempts: 0, reason: `${why.kind}; ${why.note}`, kind: why.kind },
    );
  }

  private attempt(req: SendRequest, attempt: number): Promise<Try<HttpAnswer>> {
    // a paced sender (patchmon-send) takes its turn only when a request really goes out
    if (attempt === 1 && req.beforeFirstAttempt) return req.beforeFirstAttempt((ms) => this.wait(ms)).then((go) => (go ? this.post(req, attempt) : NOT_SENT));
    return this.post(req, attempt);
  }

  /**
   * One POST through undici's dispatch API with a handler of our own: the
   * answer is gathered as it arrives, with no response stream, AbortSignal
   * or listener per request (at thousands of requests a second those were a
   * third of the sender's time). One timer bounds the whole attempt.
   */
  private post(req: SendRequest, attempt: number): Promise<Try<HttpAnswer>> {
    const timeoutMs = this.opts.timeoutMs;
    return new Promise((resolve) => {
      let abort: ((err: Error) => void) | null = null;
      let timedOut = false;
      let status = 0;
      let rawHeaders: Buffer[] = [];
      const chunks: Buffer[] = [];
      // a request not yet on a socket is aborted when it gets there (it is then not sent)
      const timer = setTimeout(() => {
        timedOut = true;
        abort?.(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const handler: Dispatcher.DispatchHandler = {
        onConnect: (a: (err?: Error) => void) => {
          abort = a;
          if (timedOut) a(new Error(`no answer within ${timeoutMs} ms`));
        },
        onHeaders: (statusCode: number, raw: Buffer[]) => {
          // 1xx: informational, the answer is still to come
          if (statusCode >= 200) {
            status = statusCode;
            rawHeaders = raw;
          }
          return true;
        },
        onData: (chunk: Buffer) => {
          chunks.push(chunk);
          return true;
        },
        onComplete: () => {
          clearTimeout(timer);
          resolve(this.answered(req, attempt, status, rawHeaders, chunks.length ? Buffer.concat(chunks).toString("utf8") : ""));
        },
        onError: (err: Error) => {
          clearTimeout(timer);
          resolve(this.unanswered(attempt, err, timedOut));
        },
      } as Dispatcher.DispatchHandler;
      this.pool.dispatch(
        {
          path: req.path ?? this.path,
          method: "POST",
          headers: req.headers ? { ...this.headers, ...req.headers } : this.headers,
          body: req.body,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        },
        handler,
      );
    });
  }

  private answered(req: SendRequest, attempt: number, status: number, rawHeaders: Buffer[], body: string): Try<HttpAnswer> {
    if (status >= 200 && status < 300) return { result: { ok: true, status, attempts: attempt, body }, ok: true, contact: "answered", retryable: false, kind: "" };
    const headers = parseHeaders(rawHeaders);
    const said = body.trim().slice(0, 200);
    const result: HttpAnswer = { ok: false, status, attempts: attempt, reason: `HTTP ${status}${said ? `: ${said}` : ""}`, kind: `${this.url.host}: HTTP ${status}`, body, headers };
    const retryable = !req.noRetry?.has(status) && (status >= 500 || status === 429 || (this.opts.retryOn?.has(status) ?? false));
    return { result, ok: false, contact: "answered", retryable, retryAfterMs: retryable ? this.retryAfter(headers["retry-after"]) : undefined, kind: result.kind! };
  }

  private unanswered(attempt: number, err: Error, abortedByTimer: boolean): Try<HttpAnswer> {
    const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
    const timedOut = abortedByTimer || e.code === "UND_ERR_HEADERS_TIMEOUT" || e.code === "UND_ERR_BODY_TIMEOUT";
    const code = e.cause?.code ?? e.code;
    const reason = timedOut ? `no answer within ${this.opts.timeoutMs} ms` : `${code ? `${code}: ` : ""}${e.cause?.message ?? e.message}`;
    const kind = timedOut ? `${this.url.host}: ${reason}` : netFailureKind(this.url.host, { code, message: e.cause?.message ?? e.message });
    // a certificate the server should not have is not going to get better
    const retryable = !/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT|HOSTNAME_MISMATCH/i.test(String(code));
    return { result: { ok: false, attempts: attempt, reason, kind }, ok: false, contact: retryable ? "unreachable" : "unknown", retryable, kind };
  }

  /** Resolves true after `ms`, or false as soon as stop() is called. */
  private wait(ms: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiting.delete(wake);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.waiting.delete(wake);
        resolve(true);
      }, ms);
      this.waiting.add(wake);
    });
  }

  private retryAfter(value: string | string[] | undefined): number | undefined {
    const v = Array.isArray(value) ? value[0] : value;
    if (!v) return undefined;
    const max = MAX_RETRY_AFTER_MS;
    const seconds = Number(v);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(v) - Date.now();
    return Number.isFinite(ms) ? Math.min(max, Math.max(0, ms)) : undefined;
  }
}

/** An http(s) URL without credentials in it, or a usage error saying what is wrong. */
export function parseHttpUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new PipeError("E_USAGE", `invalid URL: ${text}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new PipeError("E_USAGE", `URL must be http or https: ${text}`);
  if (url.username || url.password) throw new PipeError("E_USAGE", "credentials in the URL would show in the process list: use the config file or environment");
  return url;
}

/** Resolves after `ms`. */
/** A request whose turn never came: stopped while it waited to be paced. */
const NOT_SENT: Try<HttpAnswer> = {
  result: { ok: false, attempts: 0, reason: "not sent: interrupted", kind: "not sent: interrupted" },
  ok: false,
  contact: "unknown",
  retryable: false,
  kind: "not sent: interrupted",
};

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
