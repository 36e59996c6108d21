import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect as netConnect, isIPv6, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { sleep } from "../../delivery/http.js";
import { tlsConnectOptions, type TlsOptions } from "../../delivery/tls.js";
import { statSync } from "node:fs";
import { DELIVERED, failed, netFailureKind, type AttemptListener, type Outcome } from "../../delivery/outcome.js";

export type TransportKind = "unix" | "udp" | "tcp" | "tls";

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
  /** Told of each failed connection or write (tcp, tls). */
  onFailedAttempt?: AttemptListener;
}

/** Carries finished syslog frames; resolves each send once the frame left (or could not leave). */
export interface SyslogTransport {
  send(frame: string): Promise<Outcome>;
  close(): Promise<Outcome>;
}

export function openTransport(opts: TransportOptions): SyslogTransport {
  switch (opts.kind) {
    case "udp":
      return new UdpTransport(opts);
    case "unix":
      return new LocalSocketTransport(opts);
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
  send(frame: string): Promise<Outcome> {
    return new Promise((resolve) =>
      this.socket.send(frame, this.opts.port ?? 514, this.opts.host ?? "127.0.0.1", (err) => resolve(err ? failed(`udp: ${err.message}`) : DELIVERED)),
    );
  }
  close(): Promise<Outcome> {
    return new Promise((resolve) => this.socket.close(() => resolve(DELIVERED)));
  }
}

/**
 * TCP and TLS with RFC 6587 octet-counting framing (`LEN SP MSG`). A broken
 * connection is re-opened with backoff; the frame whose write failed is
 * written again on the new one.
 */
class StreamTransport implements SyslogTransport {
  private socket: Socket | null = null;
  private opening: Promise<Socket> | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: TransportOptions) {}

  send(frame: string): Promise<Outcome> {
    const data = `${Buffer.byteLength(frame)} ${frame}`;
    const result = this.queue.then(() => this.deliver(data));
    this.queue = result;
    return result;
  }

  private async deliver(data: string): Promise<Outcome> {
    let reason = "";
    let kind = "";
    for (let attempt = 0; attempt <= this.opts.retries; attempt++) {
      if (attempt > 0) await sleep(Math.min(10_000, 200 * 2 ** (attempt - 1)));
      try {
        const socket = await this.connection();
        await new Promise<void>((resolve, reject) => {
          const onError = (e: Error) => reject(e);
          socket.once("error", onError);
          socket.write(data, (err) => {
            socket.off("error", onError);
            if (err) reject(err);
            else resolve();
          });
        });
        return DELIVERED;
      } catch (err) {
        const where = `${this.opts.kind} ${this.opts.host}:${this.opts.port}`;
        reason = `${where}: ${(err as Error).message}`;
        kind = netFailureKind(where, err as NodeJS.ErrnoException);
        this.opts.onFailedAttempt?.({ kind, attempt: attempt + 1, retries: this.opts.retries, retrying: attempt < this.opts.retries });
        this.drop();
      }
    }
    return failed(reason, kind);
  }

  private connection(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed && this.socket.writable) return Promise.resolve(this.socket);
    this.opening ??= new Promise<Socket>((resolve, reject) => {
      const host = this.opts.host ?? "127.0.0.1";
      const port = this.opts.port ?? (this.opts.kind === "tls" ? 6514 : 514);
      const s: Socket =
        this.opts.kind === "tls"
          ? tlsConnect({ host, port, servername: isIPv6(host) || /^\d+\.\d+\.\d+\.\d+$/.test(host) ? undefined : host, ...tlsConnectOptions(this.opts.tls) }, () => done(null))
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
          s.on("close", () => {
            if (this.socket === s) this.socket = null;
          });
          this.socket = s;
          resolve(s);
        }
      };
      s.once("error", done);
    });
    return this.opening;
  }

  private drop(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  async close(): Promise<Outcome> {
    await this.queue;
    const s = this.socket;
    if (!s) return DELIVERED;
    await new Promise<void>((resolve) => s.end(() => resolve()));
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

  send(frame: string): Promise<Outcome> {
    if (this.failed || !this.child) return Promise.resolve(failed(this.failed ?? "logger is not running"));
    this.written++;
    const stdin = this.child.stdin;
    return new Promise((resolve) => {
      // the callback comes once logger took the line: that is the backpressure
      stdin.write(`${frame.replace(/\n/g, " ")}\n`, (err) => {
        if (!err) return resolve(DELIVERED);
        // a write fails (EPIPE, destroyed stream) because logger ended: its reason is the real one
        void this.exited.then((end) => resolve(end ?? failed(`logger: ${err.message}`)));
      });
    });
  }

  async close(): Promise<Outcome> {
    this.child?.stdin.end();
    const result = await this.exited;
    // with nothing given to logger, every line already failed on its own
    if (!this.written) return DELIVERED;
    return result && failed(`${result.reason} (${this.written} line(s) given to it may not have been delivered)`, result.kind);
  }
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

const noDaemon = (path: string) => `no ${path}: is a syslog daemon running?`;
