import { readFileSync, writeFileSync } from "node:fs";
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { packageVersion } from "../../cli/fast-path.js";
import { sleep, type Clock } from "./clock.js";

export type UploadOutcome =
  | { kind: "accepted"; status: number; body: string }
  /** Try again later (connection refused, 5xx, 429 with its Retry-After). */
  | { kind: "later"; why: string; afterMs?: number }
  /** 401: the credentials are wrong; nothing will go through until they are fixed. */
  | { kind: "auth"; why: string }
  /** Refused for good (other 4xx, or over the body limit even slimmed down). */
  | { kind: "refused"; why: string }
  /** Stopped by the agent shutting down: the scan stays in the outbox. */
  | { kind: "parked" };

export interface UploaderOptions {
  server: string;
  apiId: string;
  apiKey: string;
  skipSslVerify: boolean;
  perWindow: number;
  windowMs: number;
  maxBodyBytes: number;
  /** Where the times of recent uploads are kept, so pacing holds over a restart. */
  pacingFile?: string;
  clock: Clock;
  warn(message: string): void;
  timeoutMs?: number;
}

type Json = Record<string, unknown>;

const PACING_MARGIN_MS = 1_000;

/**
 * POSTs to the PatchMon server with the agent's headers, one request per
 * call (the outbox decides about retries), paced under the server's limit
 * of 10 uploads a minute per API id: it waits rather than collect 429s.
 * Node's own http client, not undici (the senders' src/delivery/http.ts):
 * a few requests an hour do not need a pool, and undici, loaded by the
 * first ping, would stay at ~7 MB in an agent that must idle in 60 MB
 * (measured: 56 → 63 MB). The senders' retries inside a send do not fit
 * either: here the outbox decides when a scan goes again.
 */
export class Uploader {
  private readonly agent: HttpAgent;
  private readonly base: URL;
  private sentAt: number[] = [];
  private readonly headers: Record<string, string>;

  constructor(private readonly opts: UploaderOptions) {
    this.base = new URL(opts.server);
    this.agent = this.base.protocol === "https:" ? new HttpsAgent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: !opts.skipSslVerify }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
    this.headers = { "content-type": "application/json", "user-agent": `compliance-agent/${packageVersion()}`, "x-api-id": opts.apiId, "x-api-key": opts.apiKey };
    if (opts.pacingFile) {
      try {
        const times = JSON.parse(readFileSync(opts.pacingFile, "utf8")) as unknown;
        if (Array.isArray(times)) this.sentAt = times.filter((t): t is number => typeof t === "number");
      } catch {
        // first run, or unreadable: start from nothing
      }
    }
  }

  path(p: string): string {
    return `${this.base.pathname.replace(/\/$/, "")}${p}`;
  }

  close(): Promise<void> {
    this.agent.destroy();
    return Promise.resolve();
  }

  /** One upload body (the host head and its scans), slimmed down and sent again once if too large. */
  async uploadScans(payload: Json & { scans: Json[] }, signal: AbortSignal): Promise<UploadOutcome> {
    let body = JSON.stringify(payload);
    let slimmed = false;
    for (;;) {
      if (Buffer.byteLength(body) > this.opts.maxBodyBytes && !slimmed) {
        ({ body, slimmed } = await this.slim(payload, body));
        continue;
      }
      const r = await this.post("/api/v1/compliance/scans", body, signal, true);
      if (r.kind !== "too-big") return r;
      if (slimmed) return { kind: "refused", why: `${r.why}, even without raw_output and with descriptions trimmed` };
      ({ body, slimmed } = await this.slim(payload, body));
    }
  }

  private async slim(payload: Json & { scans: Json[] }, body: string): Promise<{ body: string; slimmed: true }> {
    const { shrinkScan } = await import("../../sinks/patchmon/delivery.js");
    const smaller = JSON.stringify({ ...payload, scans: payload.scans.map(shrinkScan) });
    this.opts.warn(`upload of ${Buffer.byteLength(body)} bytes is over the server's body limit: sending it without raw_output and with descriptions and rationales trimmed (${Buffer.byteLength(smaller)} bytes)`);
    return { body: smaller, slimmed: true };
  }

  /** A request to the server; `paced` ones count against the upload limit. */
  async post(path: string, body: string, signal: AbortSignal, paced: boolean): Promise<UploadOutcome | { kind: "too-big"; why: string }> {
    if (paced && !(await this.pace(signal))) return { kind: "parked" };
    let res: { status: number; headers: IncomingHttpHeaders; text: string };
    try {
      res = await this.request(path, body, signal);
    } catch (err) {
      if (signal.aborted) return { kind: "parked" };
      const e = err as NodeJS.ErrnoException;
      return { kind: "later", why: `${e.code ?? ""} ${e.message}`.trim() };
    }
    const { text } = res;
    const status = res.status;
    const said = `HTTP ${status}${text.trim() ? `: ${text.trim().slice(0, 160)}` : ""}`;
    if (status === 200) return { kind: "accepted", status, body: text };
    if (status === 413 || (status === 400 && /Invalid JSON body/i.test(text))) return { kind: "too-big", why: said };
    if (status === 401 || status === 403) return { kind: "auth", why: said };
    if (status === 429) return { kind: "later", why: said, afterMs: retryAfterMs(res.headers["retry-after"], this.opts.clock.now()) ?? this.opts.windowMs };
    if (status >= 500 || status === 408) return { kind: "later", why: said };
    return { kind: "refused", why: said };
  }

  /** One POST; rejects on a connection error, a time-out (30 s) or the signal. */
  private request(path: string, body: string, signal: AbortSignal): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    const send = this.base.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        { host: this.base.hostname, port: this.base.port || undefined, path: this.path(path), method: "POST", agent: this.agent, signal, headers: { ...this.headers, "content-length": Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            // the answer is a short JSON; more is not read into memory
            if ((size += c.length) <= 1024 * 1024) chunks.push(c);
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", reject);
          res.on("aborted", () => reject(new Error("answer cut short")));
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: "ETIMEDOUT" })));
      req.on("error", reject);
      req.end(body);
    });
  }

  /** Waits until one more upload stays within the limit; false when stopped meanwhile. */
  private async pace(signal: AbortSignal): Promise<boolean> {
    const { perWindow, windowMs, clock } = this.opts;
    for (;;) {
      const now = clock.now();
      this.sentAt = this.sentAt.filter((t) => now - t < windowMs + PACING_MARGIN_MS && t <= now);
      if (this.sentAt.length < perWindow) break;
      // a margin for the time a request takes to reach the server, whose window starts on arrival
      if (!(await sleep(clock, this.sentAt[0] + windowMs + PACING_MARGIN_MS - now, signal))) return false;
    }
    this.sentAt.push(clock.now());
    if (this.opts.pacingFile) {
      try {
        writeFileSync(this.opts.pacingFile, JSON.stringify(this.sentAt));
      } catch {
        // pacing over a restart is a courtesy; the server's 429 is the backstop
      }
    }
    return true;
  }
}

function retryAfterMs(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const seconds = Number(v);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(v) - now;
  return Number.isFinite(ms) ? Math.min(600_000, Math.max(0, ms)) : undefined;
}
