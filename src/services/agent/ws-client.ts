import { createRequire } from "node:module";
import type WS from "ws";

// required, not imported: an ES import of a CommonJS package runs Node's export
// lexer over each of its files, which leaves the idle agent ~4 MB larger
const WebSocket = createRequire(import.meta.url)("ws") as typeof WS;

export interface SocketOptions {
  server: string;
  apiId: string;
  apiKey: string;
  skipSslVerify: boolean;
  /** Keep-alive ping period and read deadline (the real agent: 30 s and 90 s). */
  pingMs: number;
  readDeadlineMs: number;
  /** Reconnect backoff: 1 s doubling to this (32 s). */
  maxBackoffMs: number;
  onMessage(message: Record<string, unknown>): void;
  onOpen(): void;
  onClose(why: string): void;
  log(message: string): void;
}

/** The agent accepts messages up to 64 KB, as the real one does. */
const MAX_MESSAGE = 64 * 1024;
const HANDSHAKE_TIMEOUT_MS = 45_000;

/** `{server}/api/v1/agents/ws`, ws for http and wss for https. */
export function socketUrl(server: string): string {
  const u = new URL(server);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.pathname = `${u.pathname.replace(/\/$/, "")}/api/v1/agents/ws`;
  u.search = "";
  return u.toString();
}

/**
 * The agent's WebSocket to the server: X-API-ID/X-API-KEY headers, pings
 * every 30 s, a 90 s read deadline that any frame re-arms (the server's
 * pings included; ws answers them with pongs), and reconnects with backoff
 * from 1 s doubling to 32 s, reset after a successful dial.
 */
export class AgentSocket {
  private ws: WS | null = null;
  private backoffMs = 1_000;
  private stopped = false;
  private pingTimer: NodeJS.Timeout | null = null;
  private deadline: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  connected = false;

  constructor(private readonly opts: SocketOptions) {}

  start(): void {
    this.dial();
  }

  /** Sends a JSON message; false when not connected. */
  send(message: Record<string, unknown>): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.clearTimers();
    this.ws?.close(1001, "agent stopping");
    const ws = this.ws;
    // a server that does not answer the close is not waited for
    setTimeout(() => ws?.terminate(), 1000).unref();
  }

  private dial(): void {
    if (this.stopped) return;
    const ws = new WebSocket(socketUrl(this.opts.server), {
      headers: { "X-API-ID": this.opts.apiId, "X-API-KEY": this.opts.apiKey },
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      maxPayload: MAX_MESSAGE,
      rejectUnauthorized: !this.opts.skipSslVerify,
    });
    this.ws = ws;
    let why = "closed";
    let answered = false;
    ws.on("open", () => {
      this.backoffMs = 1_000;
      this.connected = true;
      this.rearm();
      this.pingTimer = setInterval(() => ws.ping(), this.opts.pingMs);
      this.opts.onOpen();
    });
    ws.on("unexpected-response", (_req, res) => {
      answered = true;
      why = `the server answered the upgrade with HTTP ${res.statusCode}${res.statusCode === 401 ? " (credentials refused)" : ""}`;
      res.resume();
      ws.terminate();
    });
    ws.on("message", (data, isBinary) => {
      this.rearm();
      if (isBinary) return;
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        this.opts.log("websocket: ignored a message that is not JSON");
        return;
      }
      if (msg && typeof msg === "object" && !Array.isArray(msg)) this.opts.onMessage(msg as Record<string, unknown>);
    });
    ws.on("ping", () => this.rearm());
    ws.on("pong", () => this.rearm());
    // after an HTTP answer, terminate()'s own error says less than the answer did
    ws.on("error", (err) => {
      if (!answered) why = err.message;
    });
    ws.on("close", (code, reason) => {
      const was = this.connected;
      this.connected = false;
      this.clearTimers();
      if (this.ws === ws) this.ws = null;
      if (code && code !== 1006) why = `closed (${code}${reason.length ? ` ${reason.toString()}` : ""})`;
      if (was) this.opts.onClose(why);
      if (this.stopped) return;
      const wait = this.backoffMs;
      this.backoffMs = Math.min(this.opts.maxBackoffMs, this.backoffMs * 2);
      this.opts.log(`websocket: ${why}; reconnecting in ${Math.round(wait / 100) / 10} s`);
      this.retryTimer = setTimeout(() => this.dial(), wait);
    });
  }

  /** Any frame from the server re-arms the read deadline. */
  private rearm(): void {
    if (this.deadline) clearTimeout(this.deadline);
    const ws = this.ws;
    this.deadline = setTimeout(() => {
      this.opts.log(`websocket: nothing from the server for ${this.opts.readDeadlineMs / 1000} s; dropping the connection`);
      ws?.terminate();
    }, this.opts.readDeadlineMs);
  }

  private clearTimers(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.deadline) clearTimeout(this.deadline);
    this.pingTimer = this.deadline = null;
  }
}
