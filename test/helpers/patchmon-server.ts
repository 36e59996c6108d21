import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { EventEmitter } from "node:events";
import { WebSocketServer, type WebSocket } from "ws";
import { complianceHash } from "../../src/services/agent/hash.js";

export interface Upload {
  n: number;
  at: number;
  apiId: string;
  body: string;
  payload: { hostname: string; scans: Record<string, unknown>[]; [k: string]: unknown };
}

/** Where a test may step into an upload: request head read, whole body read (stored next), answer written. */
export type UploadStage = "head" | "body" | "answered";

export interface StandInOptions {
  apiId?: string;
  apiKey?: string;
  /** Uploads allowed per window per API id (the real server: 10 a minute). */
  uploadsPerWindow?: number;
  windowMs?: number;
  /** Body limit in bytes (COMPLIANCE_BODY_LIMIT of the fix branch: 413). */
  bodyLimit?: number;
  /** WebSocket pings from the server and its read deadline (real: 30 s, 90 s). */
  pingMs?: number;
  readDeadlineMs?: number;
  /** Called at each stage of each upload; may wait (the test kills the agent there). */
  onUpload?: (n: number, stage: UploadStage) => void | Promise<void>;
  /** Answer every ping with requestFull: ["compliance"]. */
  alwaysRequestFull?: boolean;
}

/**
 * A stand-in PatchMon server on 127.0.0.1, following the real protocol
 * (../shared/spec/patchmon.md): X-API-ID/X-API-KEY on every route (401
 * without), the agent WebSocket at /api/v1/agents/ws (ping frames, a read
 * deadline, one connection per API id, a new one replacing the old),
 * POST /api/v1/compliance/scans with its per-API-id rate limit (429,
 * Retry-After), body limit (413) and 50,000-object limit, 200 only for a
 * stored upload, and POST /api/v1/hosts/ping answering requestFull when the
 * agent's compliance hash is not the one stored from the last upload.
 *
 * The protocol has no scan id, so the server stores every upload it takes,
 * as the real one does (its table keeps one completed scan per host and
 * profile: a scan sent twice replaces itself): `uploads` lists them all.
 */
export class StandInServer extends EventEmitter {
  readonly uploads: Upload[] = [];
  /** Every answer to an upload: status in arrival order. */
  readonly answers: number[] = [];
  readonly progress: Record<string, unknown>[] = [];
  readonly wsConnections: { at: number; apiId: string }[] = [];
  readonly pings: { hash: string; requestFull: string[] }[] = [];
  storedHash = "";
  port = 0;
  private http!: Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 512 * 1024 });
  private agentSocket: WebSocket | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly sentAt = new Map<string, number[]>();
  private uploadCount = 0;
  readonly opts: Required<Omit<StandInOptions, "onUpload">> & Pick<StandInOptions, "onUpload">;

  constructor(opts: StandInOptions = {}) {
    super();
    this.setMaxListeners(100);
    this.opts = { apiId: "agent-1", apiKey: "secret-1", uploadsPerWindow: 10, windowMs: 60_000, bodyLimit: 5_000_000, pingMs: 30_000, readDeadlineMs: 90_000, alwaysRequestFull: false, ...opts };
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    this.http = createServer((req, res) => void this.handle(req, res));
    this.http.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    this.http.on("upgrade", (req, socket, head) => this.upgrade(req, socket as Socket, head));
    await new Promise<void>((resolve) => this.http.listen(port, "127.0.0.1", resolve));
    this.port = (this.http.address() as AddressInfo).port;
    return this;
  }

  /** Down: nothing listens, every connection is cut. */
  async stop(): Promise<void> {
    this.agentSocket?.terminate();
    this.agentSocket = null;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  /** Back up on the same port. */
  async restart(): Promise<void> {
    await this.start(this.port);
  }

  /** Stops reading from the agent's connection and pinging it: to the agent, a server gone silent. */
  freeze(): void {
    const ws = this.agentSocket as unknown as { _socket?: Socket } | null;
    ws?._socket?.pause();
    this.frozen = true;
  }

  private frozen = false;

  get connected(): boolean {
    return this.agentSocket !== null;
  }

  /** A message to the connected agent, as the server's WebSocket handler sends it. */
  send(message: Record<string, unknown>): void {
    if (!this.agentSocket) throw new Error("no agent connected");
    this.agentSocket.send(JSON.stringify(message));
  }

  /** Resolves when `check` holds (tested now, after every event and every 50 ms), or rejects after `ceilingMs`. */
  waitFor<T>(what: string, check: () => T | undefined | false, ceilingMs = 30_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const test = () => {
        let v: T | undefined | false;
        try {
          v = check();
        } catch (err) {
          cleanup();
          return reject(err);
        }
        if (v) {
          cleanup();
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`stand-in server: waited ${ceilingMs} ms for ${what}`));
      }, ceilingMs);
      // files and processes change without telling the server: look again now and then too
      const poll = setInterval(test, 50);
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.off("event", test);
      };
      this.on("event", test);
      test();
    });
  }

  /** Lets tests that watch other things (files, processes) re-check. */
  poke(): void {
    this.emit("event");
  }

  private authorised(req: IncomingMessage): "ok" | "missing" | "wrong" {
    const id = req.headers["x-api-id"];
    const key = req.headers["x-api-key"];
    if (!id || !key) return "missing";
    return id === this.opts.apiId && key === this.opts.apiKey ? "ok" : "wrong";
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const auth = this.authorised(req);
    if (req.url !== "/api/v1/agents/ws" || auth !== "ok") {
      const status = req.url !== "/api/v1/agents/ws" ? "404 Not Found" : "401 Unauthorized";
      socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // one connection per API id: the new one replaces the old
      this.agentSocket?.close(1000, "replaced by a new connection");
      this.agentSocket = ws;
      this.wsConnections.push({ at: Date.now(), apiId: this.opts.apiId });
      let deadline: NodeJS.Timeout;
      const rearm = () => {
        clearTimeout(deadline);
        deadline = setTimeout(() => ws.terminate(), this.opts.readDeadlineMs);
      };
      rearm();
      this.frozen = false;
      const pinger = setInterval(() => !this.frozen && ws.ping(), this.opts.pingMs);
      ws.on("pong", rearm);
      ws.on("ping", rearm);
      ws.on("message", (data) => {
        rearm();
        try {
          const m = JSON.parse(data.toString()) as Record<string, unknown>;
          if (m.type === "compliance_scan_progress") this.progress.push(m);
        } catch {
          // the real server ignores what it cannot read
        }
        this.emit("event");
      });
      ws.on("close", () => {
        clearTimeout(deadline);
        clearInterval(pinger);
        if (this.agentSocket === ws) this.agentSocket = null;
        this.emit("event");
      });
      this.emit("event");
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
    };
    const auth = this.authorised(req);
    if (auth !== "ok") {
      req.resume();
      return json(401, { error: auth === "missing" ? "API credentials required" : "Invalid API credentials" });
    }
    if (req.method === "POST" && req.url === "/api/v1/compliance/scans") return this.upload(req, res, json);
    if (req.method === "POST" && req.url === "/api/v1/hosts/ping") {
      const body = await readBody(req, 8 * 1024);
      let hash = "";
      try {
        hash = String((JSON.parse(body ?? "{}") as { hashes?: { complianceHash?: string } }).hashes?.complianceHash ?? "");
      } catch {
        return json(400, { error: "Invalid JSON body" });
      }
      const requestFull = this.opts.alwaysRequestFull || !this.storedHash || hash !== this.storedHash ? ["compliance"] : [];
      this.pings.push({ hash, requestFull });
      json(200, { message: "Ping successful", timestamp: new Date().toISOString(), hashGate: true, requestFull });
      this.emit("event");
      return;
    }
    req.resume();
    json(404, { error: "not found" });
  }

  private async upload(req: IncomingMessage, res: ServerResponse, json: (s: number, b: unknown, h?: Record<string, string>) => void): Promise<void> {
    const n = ++this.uploadCount;
    const apiId = String(req.headers["x-api-id"]);
    await this.opts.onUpload?.(n, "head");
    const now = Date.now();
    const recent = (this.sentAt.get(apiId) ?? []).filter((t) => now - t < this.opts.windowMs);
    if (recent.length >= this.opts.uploadsPerWindow) {
      req.resume();
      const retry = Math.ceil((recent[0] + this.opts.windowMs - now) / 1000);
      this.answers.push(429);
      this.emit("event");
      return json(429, { error: "Too many compliance submissions" }, { "retry-after": String(Math.max(1, retry)) });
    }
    recent.push(now);
    this.sentAt.set(apiId, recent);
    const body = await readBody(req, this.opts.bodyLimit);
    if (body === null) {
      this.answers.push(413);
      this.emit("event");
      return json(413, { error: "compliance payload exceeds COMPLIANCE_BODY_LIMIT (raise it, and the reverse proxy's limit)" });
    }
    if (body === undefined) return; // the client went away mid-body: nothing stored
    let payload: Upload["payload"];
    try {
      payload = JSON.parse(body);
      if (countObjects(payload) > 50_000) {
        this.answers.push(413);
        return json(413, { error: "compliance payload has more than 50000 JSON objects" });
      }
      if (typeof payload.hostname !== "string" || !Array.isArray(payload.scans)) throw new Error("shape");
    } catch {
      this.answers.push(400);
      return json(400, { error: "Invalid JSON body" });
    }
    await this.opts.onUpload?.(n, "body");
    // stored as soon as read, whether or not the agent is still there to hear the 200 (as the real server does)
    this.uploads.push({ n, at: Date.now(), apiId, body, payload });
    this.storedHash = complianceHash(payload.scans);
    this.answers.push(200);
    this.emit("event");
    if (!res.destroyed) json(200, { message: "Compliance scans received", scan_id: `scan-${n}`, scans_received: payload.scans.length });
    await this.opts.onUpload?.(n, "answered");
  }
}

/** The body as text; null when over the limit; undefined when the client went away first. */
function readBody(req: IncomingMessage, limit: number): Promise<string | null | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    let ended = false;
    req.on("end", () => {
      ended = true;
      resolve(over ? null : Buffer.concat(chunks).toString("utf8"));
    });
    req.on("close", () => {
      if (!ended) resolve(undefined);
    });
    req.on("aborted", () => resolve(undefined));
    req.on("error", () => resolve(undefined));
  });
}

function countObjects(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + countObjects(x), 0);
  if (v && typeof v === "object") return 1 + Object.values(v).reduce((n: number, x) => n + countObjects(x), 0);
  return 0;
}

/** A scan's identity as the server can see it: host, profile and its own timestamps. */
export function scanKey(u: Upload, i = 0): string {
  const s = u.payload.scans[i];
  return JSON.stringify([u.payload.hostname, s.profile_name, s.profile_type, s.started_at, s.completed_at]);
}
