import type { Argv } from "yargs";
import { once } from "node:events";
import { PipeError } from "../errors.js";
import type { Io } from "./run.js";
import { openInputs } from "../streams/input.js";
import { DeadLetterFile } from "../delivery/dead-letter.js";
import { runDeliveryLoop, type LoopStats, type Outcome, type Where } from "../delivery/loop.js";
import type { TlsOptions } from "../delivery/tls.js";

/** Options every sender takes: delivery, TLS, dead-letter, reporting. */
export interface SenderArgs {
  timeout: number;
  retries: number;
  "retry-on"?: string;
  concurrency: number;
  ca?: string;
  cert?: string;
  key?: string;
  insecure: boolean;
  "dead-letter": string;
  "dry-run": boolean;
  stats: boolean;
}

export function senderOptions<T>(y: Argv<T>, deadLetterDefault: string) {
  return y
    .option("concurrency", { type: "number", default: 4, describe: "requests in flight at once (reading pauses while all are busy)" })
    .option("timeout", { type: "number", default: 10, describe: "seconds to wait for each attempt" })
    .option("retries", { type: "number", default: 5, describe: "retries after the first attempt (connection errors, 5xx, 429), with exponential backoff and jitter" })
    .option("retry-on", { type: "string", describe: "more HTTP statuses to retry, comma-separated (e.g. 409,423)" })
    .option("ca", { type: "string", describe: "PEM file of the CA to verify the server against" })
    .option("cert", { type: "string", describe: "client certificate (PEM)" })
    .option("key", { type: "string", describe: "client key (PEM)" })
    .option("insecure", { type: "boolean", default: false, describe: "do not verify the server's certificate (warns)" })
    .option("dead-letter", { type: "string", default: deadLetterDefault, describe: "file (appended to) for records not delivered, with the reason; feed it back to replay" })
    .option("dry-run", { type: "boolean", default: false, describe: "print what would be sent on stdout; send nothing" })
    .option("stats", { type: "boolean", default: false, describe: "print read/sent/retried/dead-lettered counts on stderr at the end" });
}

export function checkSenderArgs(a: SenderArgs, io: Io): { tls: TlsOptions; retryOn: Set<number> } {
  if (!(a.concurrency >= 1) || !Number.isInteger(a.concurrency)) throw new PipeError("E_USAGE", "--concurrency must be a whole number ≥ 1");
  if (!(a.timeout > 0)) throw new PipeError("E_USAGE", "--timeout must be > 0 seconds");
  if (!(a.retries >= 0) || !Number.isInteger(a.retries)) throw new PipeError("E_USAGE", "--retries must be a whole number ≥ 0");
  const retryOn = new Set<number>();
  for (const s of (a["retry-on"] ?? "").split(",").filter(Boolean)) {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 100 || n > 599) throw new PipeError("E_USAGE", `--retry-on: not an HTTP status: ${s}`);
    retryOn.add(n);
  }
  if ((a.cert === undefined) !== (a.key === undefined)) throw new PipeError("E_USAGE", "--cert and --key go together");
  if (a.insecure) io.warn("warning: --insecure: the server's certificate is NOT verified");
  return { tls: { ca: a.ca, cert: a.cert, key: a.key, insecure: a.insecure }, retryOn };
}

/** SIGINT/SIGTERM stop reading; the loop then finishes or dead-letters what is in flight. */
function stopOnSignals(onStop: () => void) {
  const controller = new AbortController();
  let signal: NodeJS.Signals | null = null;
  const handler = (s: NodeJS.Signals) => {
    if (signal) return;
    signal = s;
    controller.abort();
    onStop();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    signal: controller.signal,
    received: () => signal,
    dispose: () => {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}

/** What one sender command plugs into runSender. */
export interface SenderRun<T> {
  name: string;
  args: SenderArgs & { _: (string | number)[] };
  io: Io;
  prepare(line: string, where: Where): T;
  unitSize: number;
  concurrency: number;
  /** Delivers a unit; not called in a dry run. */
  deliver(items: T[]): Promise<Outcome[]>;
  /** A dry run's output for a unit: the lines that would be sent. */
  preview(items: T[]): string;
  /** SIGINT/SIGTERM: give up waiting retries. */
  stop(): void;
  /** Closes connections; a late failure (the local logger) comes back as a reason. */
  close(): Promise<string | null>;
  counters(): { retried: number; truncated: number };
  /** A failure that outranks the counts (credentials refused), checked after the loop. */
  failure?(stats: LoopStats): PipeError | null;
  /** For the truncation warning. */
  maxSize?: number;
}

/**
 * The body every sender shares: dead-letter file, signals, progress, the
 * delivery loop (or a dry run's preview), closing, and the final verdict.
 */
export async function runSender<T>(r: SenderRun<T>): Promise<void> {
  const dryRun = r.args["dry-run"];
  const deadLetter = openDeadLetter(r.args["dead-letter"], r.name, dryRun);
  const signals = stopOnSignals(() => r.stop());
  const stats: LoopStats = { read: 0, sent: 0, deadLettered: 0, invalid: 0 };
  const stopProgress = progress(r.io, () => `${r.name}: read ${stats.read}, sent ${stats.sent}, dead-lettered ${stats.deadLettered}`);
  let late: string | null = null;
  try {
    await runDeliveryLoop<T>({
      inputs: openInputs(r.args._.map(String)),
      prepare: r.prepare,
      unitSize: r.unitSize,
      concurrency: r.concurrency,
      deliver: dryRun
        ? async (items) => {
            if (!r.io.stdout.write(r.preview(items))) await once(r.io.stdout, "drain");
            return items.map(() => null);
          }
        : r.deliver,
      deadLetter,
      onInvalid: (where, reason) => r.io.warn(`${where.source}: line ${where.record}: ${reason}`),
      stop: signals.signal,
      stats,
    });
  } finally {
    stopProgress();
    signals.dispose();
    late = await r.close();
  }
  const failure = r.failure?.(stats);
  if (failure) {
    deadLetter?.close();
    throw failure;
  }
  const counters = r.counters();
  if (counters.truncated) r.io.warn(`${counters.truncated} line(s) longer than --max-size ${r.maxSize} were truncated (marked '[truncated N bytes]')`);
  if (late) r.io.warn(late);
  finish(r.io, { ...stats, ...counters }, { deadLetter, showStats: r.args.stats, signal: signals.received(), dryRun });
  if (late) throw new PipeError("E_LOST", `delivery through the local socket may be incomplete: ${late}`);
}

/** A stderr progress line once a second, only on a terminal. */
function progress(io: Io, stats: () => string): () => void {
  if (!io.stderrIsTTY) return () => undefined;
  const timer = setInterval(() => process.stderr.write(`\r${stats()}\x1b[K`), 1000);
  return () => {
    clearInterval(timer);
    process.stderr.write("\r\x1b[K");
  };
}

/** The end of a sender's run: stats, then an error when anything was not delivered. */
function finish(io: Io, stats: LoopStats & { retried?: number; truncated?: number }, opts: { deadLetter: DeadLetterFile | null; showStats: boolean; signal: NodeJS.Signals | null; dryRun: boolean }): void {
  opts.deadLetter?.close();
  if (opts.showStats) {
    const extra = stats.truncated ? `, truncated ${stats.truncated}` : "";
    io.warn(`read ${stats.read}, ${opts.dryRun ? "printed" : "sent"} ${stats.sent}, retried ${stats.retried ?? 0}, dead-lettered ${stats.deadLettered} (invalid ${stats.invalid})${extra}`);
  }
  const lost = stats.deadLettered;
  const where = opts.deadLetter && lost ? `; kept in ${opts.deadLetter.path}` : "";
  if (opts.signal) {
    throw new PipeError("E_LOST", `interrupted by ${opts.signal}: ${stats.sent} of ${stats.read} records read were delivered, ${lost} dead-lettered${where}`, {
      exitCode: opts.signal === "SIGINT" ? 130 : 143,
    });
  }
  if (lost) throw new PipeError("E_LOST", `${lost} of ${stats.read} records not ${opts.dryRun ? "valid" : "delivered"}${where}`);
}

function openDeadLetter(path: string, command: string, dryRun: boolean): DeadLetterFile | null {
  return dryRun ? null : new DeadLetterFile(path, command);
}
