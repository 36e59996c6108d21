/**
 * A RELP client: rsyslog's Reliable Event Logging Protocol as librelp speaks it (imrelp on the
 * server side), so that a syslog line counts as delivered only when the collector acknowledged it.
 *
 * Use (what syslog-send / mozdef-send do for `relp://host:port`):
 *
 *   const relp = new RelpClient({ host, port, tls, timeoutMs, window });
 *   await relp.send(line);  // resolves when the server answered "200 OK" for this line;
 *                           // rejects with a PipeError when the server refused it (a 500 rsp, its
 *                           // text in the message), when the line is too big for a RELP frame, or
 *                           // when the server stayed unreachable for giveUpAfterMs
 *   relp.stats();           // { sent, acked, resent, refused, reconnects, failed }
 *   await relp.close();     // waits until every send has settled, then "close" and its rsp
 *
 * Many sends may be pending at once; up to `window` frames are in flight on the connection, the
 * rest wait in order. When the connection is lost (a reset, the server's `serverclose` hint, no
 * rsp within timeoutMs) the client reconnects with exponential backoff and writes every frame that
 * was not acknowledged again, before any newer one: at-least-once delivery. A frame the server
 * received but whose rsp was lost arrives twice; `resent` counts such re-writes, so it bounds
 * the duplicates a run may have caused.
 *
 * Protocol facts used (librelp's doc/relp.md and what rsyslog 8 answers):
 * - a frame is `TXNR SP COMMAND SP DATALEN [SP DATA] LF`; DATA is absent when DATALEN is 0;
 * - a session starts with txnr 1 (`open`, whose data are offers, one `name=value` a line); the
 *   client's txnr grows by one a command and wraps from 999999999 to 1; txnr 0 is for hints;
 * - every command is answered by `rsp` with the same txnr, in the order the commands came; its
 *   data is `CODE SP TEXT [LF DATA]`, 200 for OK and anything else an error; the `open` rsp
 *   carries the server's offers, and a session may use `syslog` only if they list it;
 * - the server sends the hint `0 serverclose 0` before it closes a session (on shutdown too);
 * - librelp's frames hold at most 128 KiB of data by default, and imrelp aborts the session on a
 *   bigger one, so such lines are refused here instead of being re-sent forever.
 * What "acknowledged" means is the server's business: rsyslog answers 200 once the line is in its
 * main queue, so with an in-memory main queue a line acknowledged just before a shutdown is lost
 * inside rsyslog if the queue cannot be drained within its shutdown timeout (a direct or
 * disk-assisted main queue avoids that).
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { PipeError } from "../../errors.js";

export interface RelpClientOptions {
  host: string;
  port: number;
  /** Speak TLS from the first byte (imrelp `tls="on"`); the options are node's tls.connect options. */
  tls?: ConnectionOptions;
  /** Longest wait for a connection, or for an rsp while frames are in flight, before the connection is dropped and redone. */
  timeoutMs?: number;
  /** Frames in flight (sent, not yet answered). librelp's own client uses 128. */
  window?: number;
  /** First reconnect delay; it doubles on each failure in a row up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** When no frame was acknowledged for this long while some wait, the waiting sends are rejected. */
  giveUpAfterMs?: number;
  /** Largest line in bytes (librelp's default data limit). */
  maxDataBytes?: number;
  /** Told about each lost connection and each reconnect, in words (for --verbose / stderr). */
  onWarning?: (message: string) => void;
}

export interface RelpStats {
  /** Lines written at least once. */
  sent: number;
  /** Lines the server answered 200 for. */
  acked: number;
  /** Lines the server answered with an error rsp. */
  refused: number;
  /** Writes of a line that had been written before, on an earlier connection: the most duplicates there can be. */
  resent: number;
  /** Sessions opened after the first one. */
  reconnects: number;
  /** Lines given up on without an answer (server unreachable, or destroy()). */
  failed: number;
}

export const RELP_MAX_TXNR = 999_999_999;
/** The txnr after this one: they wrap from 999999999 to 1 (0 is for hints). */
export const followingTxnr = (txnr: number) => (txnr >= RELP_MAX_TXNR ? 1 : txnr + 1);
/** The relp_software offer: only its first part, the name, is required. */
const SOFTWARE = "compliance-pipes";

interface Pending {
  data: Buffer;
  writes: number;
  resolve(): void;
  reject(err: Error): void;
}

type SessionState = "down" | "connecting" | "opening" | "open" | "closing";

export class RelpClient {
  private readonly host: string;
  private readonly port: number;
  private readonly tls?: ConnectionOptions;
  private readonly timeoutMs: number;
  private readonly window: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly giveUpAfterMs: number;
  private readonly maxDataBytes: number;
  private readonly warn: (message: string) => void;

  private socket: Socket | null = null;
  private state: SessionState = "down";
  private parser = new RelpParser();
  private nextTxnr = 1;
  private openTxnr = 0;
  private closeTxnr = 0;
  /** Waiting to be written on the current (or next) session, oldest first. */
  private readonly queue: Pending[] = [];
  /** Written on the current session, keyed by txnr, in the order they were written. */
  private readonly inFlight = new Map<number, Pending>();

  private rspTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private failuresInARow = 0;
  /** When the oldest unanswered trouble began: the last acknowledgement, or the first failure since. */
  private stalledSince: number | null = null;
  /** Given up on as unreachable, and not connected since: one connection attempt is all a later line gets. */
  private givenUp = false;
  private everOpened = false;
  private closing = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private closeRsp: (() => void) | null = null;

  private readonly counters: RelpStats = { sent: 0, acked: 0, refused: 0, resent: 0, reconnects: 0, failed: 0 };

  constructor(opts: RelpClientOptions) {
    this.host = opts.host;
    this.port = opts.port;
    this.tls = opts.tls;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.window = Math.max(1, opts.window ?? 128);
    this.initialBackoffMs = opts.initialBackoffMs ?? 100;
    this.maxBackoffMs = opts.maxBackoffMs ?? 5_000;
    this.giveUpAfterMs = opts.giveUpAfterMs ?? 60_000;
    this.maxDataBytes = opts.maxDataBytes ?? 128 * 1024;
    this.warn = opts.onWarning ?? (() => undefined);
  }

  get url(): string {
    return `relp://${this.host.includes(":") ? `[${this.host}]` : this.host}:${this.port}`;
  }

  stats(): RelpStats {
    return { ...this.counters };
  }

  /** Lines handed to send() that are not settled yet. */
  get pending(): number {
    return this.queue.length + this.inFlight.size;
  }

  send(line: string | Buffer): Promise<void> {
    if (this.closing || this.closed) return Promise.reject(new PipeError("E_LOST", `${this.url}: client is closed`));
    const data = typeof line === "string" ? Buffer.from(line) : line;
    if (data.length > this.maxDataBytes) {
      return Promise.reject(new PipeError("E_BAD_INPUT", `${this.url}: line of ${data.length} bytes is over RELP's ${this.maxDataBytes}-byte frame limit`));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ data, writes: 0, resolve, reject });
      this.stalledSince ??= Date.now();
      this.pump();
    });
  }

  /** Waits for every send to settle, then ends the session politely (`close`, its rsp) and the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    if (this.pending > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (this.state === "open" && this.socket) {
      this.state = "closing";
      await new Promise<void>((resolve) => {
        this.closeRsp = resolve;
        this.closeTxnr = this.takeTxnr();
        this.write(this.closeTxnr, "close", Buffer.alloc(0));
        this.armRspTimer();
      });
    }
    if (this.socket) this.drop(this.socket, "");
    this.clearTimers();
    this.closed = true;
  }

  /** Ends at once: every unsettled send is rejected (the caller spools or dead-letters those lines). */
  destroy(reason = "client destroyed"): void {
    this.closing = true;
    this.closed = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    this.state = "down";
    socket?.destroy();
    this.failAll(reason);
  }

  // ---- connection and session ----

  private pump(): void {
    if (this.state === "down") {
      if (!this.reconnectTimer && this.queue.length > 0) this.connect();
      return;
    }
    if (this.state !== "open") return;
    while (this.queue.length > 0 && this.inFlight.size < this.window) {
      const p = this.queue.shift()!;
      const txnr = this.takeTxnr();
      this.inFlight.set(txnr, p);
      if (p.writes === 0) this.counters.sent++;
      else this.counters.resent++;
      p.writes++;
      this.write(txnr, "syslog", p.data);
    }
    this.armRspTimer();
  }

  private connect(): void {
    this.state = "connecting";
    this.parser = new RelpParser();
    const onReady = () => {
      if (this.socket !== socket) return;
      this.state = "opening";
      this.nextTxnr = 1;
      this.openTxnr = this.takeTxnr();
      this.write(this.openTxnr, "open", Buffer.from(`relp_version=0\nrelp_software=${SOFTWARE}\ncommands=syslog`));
      this.armRspTimer();
    };
    const socket: Socket = this.tls
      ? tlsConnect({ ...this.tls, host: this.host, port: this.port }, onReady)
      : netConnect({ host: this.host, port: this.port }, onReady);
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(this.timeoutMs, () => {
      if (this.state === "connecting") this.drop(socket, `no connection within ${this.timeoutMs} ms`);
    });
    socket.on("data", (chunk: Buffer) => this.onData(socket, chunk));
    socket.on("error", (err) => this.drop(socket, err.message));
    socket.on("close", () => this.drop(socket, "connection closed by the server"));
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (this.socket !== socket) return;
    let frames: RelpFrame[];
    try {
      frames = this.parser.push(chunk);
    } catch (err) {
      return this.drop(socket, (err as Error).message);
    }
    for (const frame of frames) {
      if (this.socket !== socket) return;
      this.onFrame(socket, frame);
    }
  }

  private onFrame(socket: Socket, frame: RelpFrame): void {
    if (frame.txnr === 0 && frame.command === "serverclose") return this.drop(socket, "the server closed the session (serverclose)");
    if (frame.command !== "rsp") return this.drop(socket, `protocol error: unexpected command "${frame.command}" from the server`);
    const rsp = parseRsp(frame.data);
    if (frame.txnr === this.openTxnr && this.state === "opening") return this.onOpenRsp(socket, rsp);
    if (frame.txnr === this.closeTxnr && this.state === "closing") {
      this.clearRspTimer();
      this.closeRsp?.();
      this.closeRsp = null;
      return;
    }
    const p = this.inFlight.get(frame.txnr);
    if (!p) return this.drop(socket, `protocol error: rsp for txnr ${frame.txnr}, which is not in flight`);
    this.inFlight.delete(frame.txnr);
    this.armRspTimer(true);
    if (rsp.code === 200) {
      this.counters.acked++;
      this.failuresInARow = 0;
      this.stalledSince = this.pending > 0 ? Date.now() : null;
      p.resolve();
    } else {
      this.counters.refused++;
      p.reject(new PipeError("E_LOST", `${this.url} refused the line: ${rsp.code} ${rsp.text}`.trimEnd()));
    }
    this.pump();
    this.notifyIfIdle();
  }

  private onOpenRsp(socket: Socket, rsp: Rsp): void {
    this.clearRspTimer();
    if (rsp.code !== 200) {
      // a refused session (e.g. "500 required command not supported by client") will not change by retrying
      this.drop(socket, "");
      return this.failAll(`${this.url} refused the session: ${rsp.code} ${rsp.text}`.trimEnd());
    }
    const offers = parseOffers(rsp.data);
    if (!(offers.get("commands") ?? []).includes("syslog")) {
      this.drop(socket, "");
      return this.failAll(`${this.url} does not offer the syslog command (offers: ${rsp.data.trim().replace(/\n/g, "; ")})`);
    }
    this.state = "open";
    this.givenUp = false;
    if (this.everOpened) {
      this.counters.reconnects++;
      this.warn(`${this.url}: reconnected; re-sending ${this.queue.filter((p) => p.writes > 0).length} unacknowledged lines`);
    }
    this.everOpened = true;
    this.pump();
  }

  /** The connection is over (any reason, any number of times): unanswered frames go back to the head of the queue. */
  private drop(socket: Socket, why: string): void {
    if (this.socket !== socket) return;
    this.socket = null;
    socket.destroy();
    this.clearRspTimer();
    if (this.state === "closing") {
      this.state = "down";
      this.closeRsp?.();
      this.closeRsp = null;
      return;
    }
    this.state = "down";
    if (!why) return;
    const unanswered = [...this.inFlight.values()];
    this.inFlight.clear();
    this.queue.unshift(...unanswered);
    if (this.queue.length === 0) return;
    this.stalledSince ??= Date.now();
    // a line sent after the server was given up on (a probe) waits for no schedule of its own
    if (this.givenUp) return this.failAll(`${this.url}: nothing acknowledged (still unreachable); last problem: ${why}`);
    if (Date.now() - this.stalledSince >= this.giveUpAfterMs) {
      this.givenUp = true;
      return this.failAll(`${this.url}: nothing acknowledged for ${Math.round((Date.now() - this.stalledSince) / 1000)} s; last problem: ${why}`);
    }
    const delay = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** this.failuresInARow);
    this.failuresInARow++;
    this.warn(`${this.url}: ${why}; ${this.queue.filter((p) => p.writes > 0).length} lines written and not acknowledged; reconnecting in ${delay} ms`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.pump();
    }, delay);
  }

  private failAll(reason: string): void {
    const all = [...this.inFlight.values(), ...this.queue];
    this.inFlight.clear();
    this.queue.length = 0;
    this.stalledSince = null;
    this.failuresInARow = 0;
    this.counters.failed += all.length;
    for (const p of all) p.reject(new PipeError("E_LOST", reason));
    this.notifyIfIdle();
  }

  private notifyIfIdle(): void {
    if (this.pending > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  // ---- frames and timers ----

  private takeTxnr(): number {
    const txnr = this.nextTxnr;
    this.nextTxnr = followingTxnr(txnr);
    return txnr;
  }

  private write(txnr: number, command: string, data: Buffer): void {
    this.socket?.write(encodeFrame(txnr, command, data));
  }

  /** Keeps a deadline for the next rsp while one is awaited; `restart` pushes it out after an rsp arrived. */
  private armRspTimer(restart = false): void {
    const awaiting = this.inFlight.size > 0 || this.state === "opening" || this.state === "closing";
    if (!awaiting) return this.clearRspTimer();
    if (this.rspTimer && !restart) return;
    this.clearRspTimer();
    const socket = this.socket;
    this.rspTimer = setTimeout(() => {
      this.rspTimer = null;
      if (socket) this.drop(socket, `no rsp within ${this.timeoutMs} ms`);
    }, this.timeoutMs);
  }

  private clearRspTimer(): void {
    if (this.rspTimer) clearTimeout(this.rspTimer);
    this.rspTimer = null;
  }

  private clearTimers(): void {
    this.clearRspTimer();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }
}

// ---- the wire format ----

export interface RelpFrame {
  txnr: number;
  command: string;
  data: Buffer;
}

export function encodeFrame(txnr: number, command: string, data: Buffer): Buffer {
  const head = `${txnr} ${command} ${data.length}`;
  return data.length === 0 ? Buffer.from(`${head}\n`) : Buffer.concat([Buffer.from(`${head} `), data, Buffer.from("\n")]);
}

const MAX_HEADER = 9 + 1 + 32 + 1 + 9 + 1;
const HEADER = /^(\d{1,9}) ([A-Za-z]{1,32}) (\d{1,9})$/;

/** Splits a byte stream into frames; throws on anything that is not RELP framing. */
export class RelpParser {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly maxDataBytes = 128 * 1024) {}

  push(chunk: Buffer): RelpFrame[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const frames: RelpFrame[] = [];
    for (;;) {
      const frame = this.next();
      if (!frame) return frames;
      frames.push(frame);
    }
  }

  private next(): RelpFrame | null {
    const buf = this.buffered;
    // the header ends at the third field's end: a space (data follows) or LF (DATALEN 0)
    let spaces = 0;
    let end = -1;
    for (let i = 0; i < Math.min(buf.length, MAX_HEADER); i++) {
      if (buf[i] === 0x0a || (buf[i] === 0x20 && ++spaces === 3)) {
        end = i;
        break;
      }
    }
    if (end < 0) {
      if (buf.length >= MAX_HEADER) throw new Error(`protocol error: no RELP header in ${JSON.stringify(buf.subarray(0, 40).toString("latin1"))}`);
      return null;
    }
    const header = buf.subarray(0, end).toString("latin1");
    const m = HEADER.exec(header);
    if (!m) throw new Error(`protocol error: bad RELP header ${JSON.stringify(header)}`);
    const [txnr, command, dataLen] = [Number(m[1]), m[2], Number(m[3])];
    if (dataLen > this.maxDataBytes) throw new Error(`protocol error: frame of ${dataLen} bytes`);
    if (dataLen === 0) {
      if (buf[end] !== 0x0a) throw new Error(`protocol error: frame "${header}" with DATALEN 0 has data`);
      this.buffered = buf.subarray(end + 1);
      return { txnr, command, data: Buffer.alloc(0) };
    }
    if (buf[end] !== 0x20) throw new Error(`protocol error: frame "${header}" ends before its ${dataLen} bytes`);
    const trailer = end + 1 + dataLen;
    if (buf.length <= trailer) return null;
    if (buf[trailer] !== 0x0a) throw new Error(`protocol error: frame "${header}" has no LF after its data`);
    const data = Buffer.from(buf.subarray(end + 1, trailer));
    this.buffered = buf.subarray(trailer + 1);
    return { txnr, command, data };
  }
}

interface Rsp {
  code: number;
  text: string;
  /** What follows the first LF (the offers of an `open` rsp). */
  data: string;
}

function parseRsp(data: Buffer): Rsp {
  const s = data.toString("utf8");
  const lf = s.indexOf("\n");
  const line = lf < 0 ? s : s.slice(0, lf);
  const m = /^(\d{3})(?: (.*))?$/.exec(line);
  return { code: m ? Number(m[1]) : 0, text: m ? (m[2] ?? "") : line, data: lf < 0 ? "" : s.slice(lf + 1) };
}

/** Offers, one `name[=value[,value...]]` a line. */
export function parseOffers(text: string): Map<string, string[]> {
  const offers = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    if (!line) continue;
    const eq = line.indexOf("=");
    offers.set(eq < 0 ? line : line.slice(0, eq), eq < 0 ? [] : line.slice(eq + 1).split(","));
  }
  return offers;
}
