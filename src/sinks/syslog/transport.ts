import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect as netConnect, isIPv6, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { sleep } from "../../delivery/http.js";
import { tlsConnectOptions, type TlsOptions } from "../../delivery/tls.js";
import { statSync } from "node:fs";
import { DELIVERED, failed, netFailureKind, type AttemptListener, type Outcome } from "../../delivery/outcome.js";
import { Circuit, DEFAULT_OUTAGE, FIRST_RECONNECT_MS, reconnectScheduleMs, sendWithRetries, type OutageSettings, type Schedule, type Try } from "../../delivery/circuit.js";
import { RelpClient } from "./relp.js";

export type TransportKind = "unix" | "udp" | "tcp" | "tls" | "relp" | "relp+tls";

export interface TransportOptions {
  kind: TransportKind;
  host?: string;
  port?: number;
  /** Local socket (unix). */
  path?: string;
  tls?: TlsOptions;
  timeoutMs: number;
  /** Reconnect attempts per message (tcp, tls). */
  retries: number;
  /** Largest frame, for the local logger's --size. */
  maxSize: number;
  /** Local socket only: the ident logger writes, and whether it writes RFC 5424. */
  ident?: string;
  rfc5424?: boolean;
  /** Told of each failed connection or write (tcp, tls, relp). */
  onFailedAttempt?: AttemptListener;
  /** What to do while the collector is down (tcp, tls, relp). */
  outage?: OutageSettings;
}

/** What a transport counts for --stats. */
export interface TransportStats {
  /** Attempts after a record's first. */
  retried: number;
  /** Connections opened after the first one. */
  reconnects: number;
  /** tcp, tls: lines written on connections that then broke, since the (re)connect before: they may be lost. */
  unconfirmed: number;
  /** relp: lines written again after a reconnect: the most duplicates there can be. */
  resent: number;
}

/**
 * A syslog frame, or what makes it: tcp, tls and relp call it only when the
 * frame is to be written, so lines refused at once (the collector found
 * down) cost no formatting.
 */
export type Frame = string | (() => string);

const textOf = (frame: Frame): string => (typeof frame === "string" ? frame : frame());

/** Carries finished syslog frames; resolves each send once the frame left (relp: once it was acknowledged), or could not. */
export interface SyslogTransport {
  send(frame: Frame): Promise<Outcome>;
  close(): Promise<Outcome>;
  /** SIGINT/SIGTERM: stop waiting for a collector that is down. */
  stop(): void;
  stats(): TransportStats;
}

const NO_STATS: TransportStats = { retried: 0, reconnects: 0, unconfirmed: 0, resent: 0 };

export function openTransport(opts: TransportOptions): SyslogTransport {
  switch (opts.kind) {
    case "udp":
      return new UdpTransport(opts);
    case "unix":
      return new LocalSocketTransport(opts);
    case "relp":
    case "relp+tls":
      return new RelpTransport(opts);
    default:
      return new StreamTransport(opts);
  }
}

class UdpTransport implements SyslogTransport {
  private readonly socket: UdpSocket;
  constructor(private readonly opts: TransportOptions) {
    this.socket = createSocket(isIPv6(opts.host ?? "") ? "udp6" : "udp4");
    this.socket.on("error", () => undefined);
  }
  send(frame: Frame): Promise<Outcome> {
    const text = textOf(frame);
    return new Promise((resolve) =>
      this.socket.send(text, this.opts.port ?? 514, this.opts.host ?? "127.0.0.1", (err) => resolve(err ? failed(`udp: ${err.message}`) : DELIVERED)),
    );
  }
  close(): Promise<Outcome> {
    return new Promise((resolve) => this.socket.close(() => resolve(DELIVERED)));
  }
  stop(): void {}
  stats(): TransportStats {
    return NO_STATS;
  }
}

/**
 * TCP and TLS with RFC 6587 octet-counting framing (`LEN SP MSG`). A broken
 * connection is re-opened with backoff; the frame whose write failed is
 * written again on the new one. A collector found down (see Circuit) costs
 * one retry schedule, not one per line. Nothing acknowledges a line: those
 * written on a connection that then broke are counted as unconfirmed.
 */
class StreamTransport implements SyslogTransport {
  private socket: Socket | null = null;
  private opening: Promise<Socket> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly circuit: Circuit;
  private readonly where: string;
  private connections = 0;
  /** Lines written on the current connection. */
  private written = 0;
  private closing = false;
  private readonly counts = { ...NO_STATS };
  private readonly schedule: Schedule;

  constructor(private readonly opts: TransportOptions) {
    const outage = opts.outage ?? DEFAULT_OUTAGE;
    this.circuit = new Circuit(outage);
    this.where = `${opts.kind} ${opts.host}:${opts.port}`;
    this.schedule = {
      circuit: this.circuit,
      retries: opts.retries,
      // every failure here is a connection's: the schedule's reconnect pauses apply
      firstBackoffMs: FIRST_RECONNECT_MS,
      maxBackoffMs: outage.maxBackoffMs,
      onFailedAttempt: opts.onFailedAttempt,
      wait: (ms) => sleep(ms).then(() => true),
      onRetry: () => this.counts.retried++,
    };
  }

  send(frame: Frame): Promise<Outcome> {
    const result = this.queue.then(() => this.deliver(frame));
    // a frame that could not be made fails its own send only
    this.queue = result.catch(() => undefined);
    return result;
  }

  stop(): void {
    this.circuit.stop();
  }

  stats(): TransportStats {
    return { ...this.counts };
  }

  private deliver(frame: Frame): Promise<Outcome> {
    let data: string | undefined;
    // octet counting (RFC 6587): `LEN SP MSG`
    const framed = () => (data ??= ((text) => `${Buffer.byteLength(text)} ${text}`)(textOf(frame)));
    return sendWithRetries<Outcome>(this.schedule, () => this.attempt(framed()), (last, why) =>
      last?.result ? failed(`${last.result.reason}; ${why.note}`, last.kind) : failed(`${why.kind}; ${why.note}`, why.kind),
    );
  }

  private async attempt(data: string): Promise<Try<Outcome>> {
    try {
      await this.write(await this.connection(), data);
      this.written++;
      return { result: DELIVERED, ok: true, contact: "answered", retryable: false, kind: "" };
    } catch (err) {
      this.drop();
      const kind = netFailureKind(this.where, err as NodeJS.ErrnoException);
      return { result: failed(`${this.where}: ${(err as Error).message}`, kind), ok: false, contact: "unreachable", retryable: true, kind };
    }
  }

  private write(socket: Socket, data: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      socket.once("error", onError);
      socket.write(data, (err) => {
        socket.off("error", onError);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  private connection(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed && this.socket.writable) return Promise.resolve(this.socket);
    this.opening ??= new Promise<Socket>((resolve, reject) => {
      const host = this.opts.host ?? "127.0.0.1";
      const port = this.opts.port ?? (this.opts.kind === "tls" ? 6514 : 514);
      const s: Socket =
        this.opts.kind === "tls"
          ? tlsConnect({ host, port, servername: serverName(host), ...tlsConnectOptions(this.opts.tls) }, () => done(null))
          : netConnect({ host, port }, () => done(null));
      const timer = setTimeout(() => done(new Error(`no connection within ${this.opts.timeoutMs} ms`)), this.opts.timeoutMs);
      const done = (err: Error | null) => {
        clearTimeout(timer);
        s.off("error", done);
        this.opening = null;
        if (err) {
          s.destroy();
          reject(err);
        } else {
          s.setKeepAlive(true);
          s.on("error", () => undefined);
          // the collector closed or reset it (a restart): what was written on it may not have been read
          s.on("close", () => this.lost(s));
          if (this.connections++ > 0) this.counts.reconnects++;
          this.socket = s;
          resolve(s);
        }
      };
      s.once("error", done);
    });
    return this.opening;
  }

  private lost(s: Socket): void {
    if (this.socket !== s || this.closing) return;
    this.counts.unconfirmed += this.written;
    this.written = 0;
    this.socket = null;
  }

  private drop(): void {
    const s = this.socket;
    if (s) this.lost(s);
    s?.destroy();
  }

  /**
   * Ends the connection and waits for the collector to close its side: it
   * does so only after reading everything, so then the last connection's
   * lines were taken; if it does not within the timeout, they are unconfirmed.
   */
  async close(): Promise<Outcome> {
    await this.queue;
    this.circuit.stop();
    const s = this.socket;
    if (!s) return DELIVERED;
    this.closing = true;
    const closedByPeer = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), this.opts.timeoutMs);
      s.once("close", (hadError) => {
        clearTimeout(timer);
        resolve(!hadError);
      });
      s.end();
    });
    if (!closedByPeer) this.counts.unconfirmed += this.written;
    s.destroy();
    return DELIVERED;
  }
}

/**
 * RELP (rsyslog's imrelp): every line is acknowledged by the collector, and
 * lines not acknowledged when a connection breaks are written again after
 * the reconnect (RelpClient). A line counts as delivered only once it was
 * acknowledged. The client gives up after --wait-for-receiver, or by default
 * after as long as the retry schedule takes; the circuit then fails the
 * rest at once, probing with one line at a time.
 */
class RelpTransport implements SyslogTransport {
  private readonly client: RelpClient;
  private readonly circuit: Circuit;
  private readonly where: string;

  constructor(private readonly opts: TransportOptions) {
    const host = opts.host ?? "127.0.0.1";
    const outage = opts.outage ?? DEFAULT_OUTAGE;
    const tls = opts.kind === "relp+tls" ? { servername: serverName(host), ...tlsConnectOptions(opts.tls) } : undefined;
    this.where = `${opts.kind} ${host}:${opts.port}`;
    this.client = new RelpClient({
      host,
      port: opts.port ?? 2514,
      tls,
      timeoutMs: opts.timeoutMs,
      initialBackoffMs: FIRST_RECONNECT_MS,
      maxBackoffMs: Math.min(outage.maxBackoffMs, 5_000),
      giveUpAfterMs: outage.waitMs > 0 ? outage.waitMs : Math.max(reconnectScheduleMs(opts.retries, outage.maxBackoffMs), FIRST_RECONNECT_MS),
      maxDataBytes: Math.max(opts.maxSize, 128 * 1024),
    });
    // the client already waited as long as it should: the circuit only fails the rest at once
    this.circuit = new Circuit({ ...outage, waitMs: 0 });
  }

  async send(frame: Frame): Promise<Outcome> {
    const firstAttemptAt = performance.now();
    const gate = await this.circuit.enter();
    if (!gate.go) return failed(`${gate.refusal.kind}; ${gate.refusal.note}`, gate.refusal.kind);
    const text = textOf(frame);
    try {
      await this.client.send(text);
      this.circuit.succeeded(gate.probe);
      return DELIVERED;
    } catch (err) {
      const reason = (err as Error).message;
      if (!/nothing acknowledged/.test(reason)) return failed(reason, reason.replace(/: line of \d+ bytes/, ": line").replace(/refused the line: .*/, "refused the line"));
      const problem = /last problem: (?:connect )?(E[A-Z]+)/.exec(reason)?.[1];
      const kind = netFailureKind(this.where, { code: problem, message: "nothing acknowledged" });
      this.circuit.failed(kind, { probe: gate.probe, exhausted: true, firstAttemptAt });
      this.opts.onFailedAttempt?.({ kind, attempt: 1, retries: 0, retrying: false });
      return failed(reason, kind);
    }
  }

  stop(): void {
    this.circuit.stop();
    this.client.destroy("not sent: interrupted");
  }

  stats(): TransportStats {
    const s = this.client.stats();
    return { retried: s.resent, reconnects: s.reconnects, unconfirmed: 0, resent: s.resent };
  }

  async close(): Promise<Outcome> {
    await this.client.close();
    return DELIVERED;
  }
}

/**
 * The local socket (/dev/log) is a datagram socket, which Node cannot open,
 * so frames go through util-linux `logger` (always on Debian): it adds the
 * local header (`<PRI>Mmm dd hh:mm:ss ident: `) exactly as syslog(3) does.
 * Frames here are `<PRI>message` lines. logger cannot confirm single lines:
 * if it fails, every line given to it is reported undelivered.
 */
class LocalSocketTransport implements SyslogTransport {
  private readonly child: ChildProcessWithoutNullStreams | null = null;
  private readonly exited: Promise<Outcome>;
  private written = 0;
  private stderr = "";
  private failed: string | null = null;

  constructor(opts: TransportOptions) {
    const path = opts.path ?? "/dev/log";
    // logger would start, find no socket, and leave only EPIPE behind for the lines written to it
    if (!isSocket(path)) {
      this.failed = noDaemon(path);
      this.exited = Promise.resolve(failed(this.failed));
      return;
    }
    const args = ["--socket-errors=on", "-u", path, "--prio-prefix", "--size", String(opts.maxSize), "-t", opts.ident ?? "mozdef-send"];
    if (opts.rfc5424) args.push("--rfc5424");
    const child = spawn("logger", args, { stdio: ["pipe", "pipe", "pipe"] });
    this.child = child;
    child.stderr.setEncoding("utf8").on("data", (d: string) => (this.stderr = (this.stderr + d).slice(-400)));
    child.stdin.on("error", () => undefined);
    this.exited = new Promise((resolve) => {
      child.on("error", (err) => {
        this.failed = `cannot run logger for ${path}: ${err.message}`;
        resolve(failed(this.failed));
      });
      child.on("close", (code) => {
        if (code !== 0) {
          const said = this.stderr.trim().split("\n").pop() ?? "";
          // the daemon went away (or never listened on a left-over socket)
          this.failed ??= /No such file|Connection refused/i.test(said) ? noDaemon(path) : `logger exited with ${code}: ${said}`;
        }
        resolve(this.failed ? failed(this.failed) : DELIVERED);
      });
    });
  }

  send(frame: Frame): Promise<Outcome> {
    if (this.failed || !this.child) return Promise.resolve(failed(this.failed ?? "logger is not running"));
    const text = textOf(frame);
    this.written++;
    const stdin = this.child.stdin;
    return new Promise((resolve) => {
      // the callback comes once logger took the line: that is the backpressure
      stdin.write(`${text.replace(/\n/g, " ")}\n`, (err) => {
        if (!err) return resolve(DELIVERED);
        // a write fails (EPIPE, destroyed stream) because logger ended: its reason is the real one
        void this.exited.then((end) => resolve(end ?? failed(`logger: ${err.message}`)));
      });
    });
  }

  stop(): void {}
  stats(): TransportStats {
    return NO_STATS;
  }

  async close(): Promise<Outcome> {
    this.child?.stdin.end();
    const result = await this.exited;
    // with nothing given to logger, every line already failed on its own
    if (!this.written) return DELIVERED;
    return result && failed(`${result.reason} (${this.written} line(s) given to it may not have been delivered)`, result.kind);
  }
}

/** The name a TLS server's certificate is checked against: none for an IP address. */
const serverName = (host: string) => (isIPv6(host) || /^\d+\.\d+\.\d+\.\d+$/.test(host) ? undefined : host);

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

const noDaemon = (path: string) => `no ${path}: is a syslog daemon running?`;
