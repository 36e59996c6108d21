import type { Argv } from "yargs";
import { once } from "node:events";
import { setFlagsFromString } from "node:v8";
import { PipeError } from "../errors.js";
import type { Io } from "./run.js";
import { openInputs, type NamedInput } from "../streams/input.js";
import { DeadLetterFile, removeAside, setAsideIfReplayed, type ReplayAside } from "../delivery/dead-letter.js";
import { emptyLoopStats, runDeliveryLoop, type LoopStats, type Where } from "../delivery/loop.js";
import { DEFAULT_SPOOL_MAX_BYTES } from "../delivery/spool.js";
import { DELIVERED, type AttemptListener, type Outcome } from "../delivery/outcome.js";
import { FailureReport } from "../delivery/failure-report.js";
import type { TlsOptions } from "../delivery/tls.js";
import { DEFAULT_RETRIES, DEFAULT_TIMEOUT_S } from "../delivery/http.js";
import { outageOptions, outageSettings, type OutageSettings } from "../delivery/circuit.js";

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
  "wait-for-receiver"?: string;
  "max-backoff"?: number;
  spool?: string;
  "spool-max-bytes": number;
}

export function senderOptions<T>(y: Argv<T>, deadLetterDefault: string) {
  return y
    .option("concurrency", { type: "number", default: 4, describe: "requests in flight at once (reading pauses while all are busy)" })
    .option("timeout", { type: "number", default: DEFAULT_TIMEOUT_S, describe: "seconds to wait for each attempt" })
    .option("retries", { type: "number", default: DEFAULT_RETRIES, describe: "retries after the first attempt (connection errors, 5xx, 429), with exponential backoff and jitter" })
    .options(outageOptions)
    .option("retry-on", { type: "string", describe: "more HTTP statuses to retry, comma-separated (e.g. 409,423)" })
    .option("ca", { type: "string", describe: "PEM file of the CA to verify the server against" })
    .option("cert", { type: "string", describe: "client certificate (PEM)" })
    .option("key", { type: "string", describe: "client key (PEM)" })
    .option("insecure", { type: "boolean", default: false, describe: "do not verify the server's certificate (warns)" })
    .option("dead-letter", { type: "string", default: deadLetterDefault, describe: "file (appended to) for records not delivered, with the reason; feed it back to replay" })
    .option("spool", { type: "string", describe: "directory of a durable spool: each record is written there before it is sent and kept until delivered or dead-lettered, so kill -9 or a power cut loses none; a run with the same --spool first sends what an earlier one left" })
    .option("spool-max-bytes", { type: "number", default: DEFAULT_SPOOL_MAX_BYTES, describe: "disk the spool may use; when it is full, reading waits (nothing is dropped)" })
    .option("dry-run", { type: "boolean", default: false, describe: "print what would be sent on stdout; send nothing" })
    .option("stats", { type: "boolean", default: false, describe: "print read/sent/retried/dead-lettered counts on stderr at the end" });
}

/** What every sender's connection needs, checked: the HTTP sender's options but the URL (connections = --concurrency). */
export interface SenderSettings {
  tls: TlsOptions;
  retryOn: Set<number>;
  timeoutMs: number;
  retries: number;
  connections: number;
  /** Says the first failure of each kind on stderr as it happens. */
  onFailedAttempt: AttemptListener;
  /** --wait-for-receiver, --max-backoff (a spool waits for ever: waitMs = Infinity). */
  outage: OutageSettings;
}

/** The settings, and the report of failures that runSender ends with (give it in SenderRun). */
export function checkSenderArgs(a: SenderArgs, io: Io): SenderSettings & { failures: FailureReport } {
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
  if (!(a["spool-max-bytes"] > 0)) throw new PipeError("E_USAGE", "--spool-max-bytes must be > 0");
  if (a.insecure) io.warn("warning: --insecure: the server's certificate is NOT verified");
  const failures = new FailureReport(io.warn);
  const outage = outageSettings(a);
  // with a spool, records wait there for the receiver (SIGTERM leaves them for the next run) unless told otherwise
  if (a.spool !== undefined && a["wait-for-receiver"] === undefined) outage.waitMs = Infinity;
  return { tls: { ca: a.ca, cert: a.cert, key: a.key, insecure: a.insecure }, retryOn, timeoutMs: a.timeout * 1000, retries: a.retries, connections: a.concurrency, onFailedAttempt: failures.attempt, outage, failures };
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

/** What a sender command plugs into runSender: its records' preparation and its transport. */
export interface Sender<T> {
  /** A line as what is delivered, or null to leave it out (counted); throws (with the reason) for an invalid record. */
  prepare(line: string, where: Where): T | null;
  /** Delivers a unit, one outcome per item (in a dry run: prints it, see printTo). */
  deliver(items: T[]): Promise<Outcome[]>;
  /** SIGINT/SIGTERM: give up waiting retries. */
  stop(): void;
  /**
   * Closes connections once the loop is over; a late failure (the local
   * logger) comes back as a failed outcome. May throw a PipeError that
   * outranks the counts (credentials refused).
   */
  close(stats: Readonly<LoopStats>): Promise<Outcome>;
  counters(): { retried: number; truncated: number; more?: string };
}

/** How a sender command runs: who it is, its arguments, and the shape of its delivery units. */
export interface SenderRun {
  name: string;
  args: SenderArgs & { _: (string | number)[] };
  io: Io;
  unitSize: number;
  concurrency: number;
  /** For the truncation warning. */
  maxSize?: number;
  /** Longest input line taken; a longer one is dead-lettered (number and size) without being held. */
  maxLineLength?: number;
  /** Counts what was not delivered by kind (and says each kind once); from checkSenderArgs. */
  failures: FailureReport;
  /**
   * Records are payloads of megabytes, sent a few a minute (PatchMon): V8
   * is told to favour memory over speed. Otherwise it lets dead payloads
   * (each line, the objects read from it, its body) pile up to ~130 MB of
   * heap before a full collection: 210 MB peak RSS on 8 MB payloads, 120
   * MB with it.
   */
  largeRecords?: boolean;
}

/** A dry run's deliver: prints each unit's preview on stdout (with backpressure) and calls it delivered. */
export function printTo<T>(out: Io["stdout"], preview: (items: T[]) => string): (items: T[]) => Promise<Outcome[]> {
  return async (items) => {
    if (!out.write(preview(items))) await once(out, "drain");
    return items.map(() => DELIVERED);
  };
}

/**
 * The body every sender shares: dead-letter file, signals, progress, the
 * delivery loop, closing, and the final verdict.
 */
export async function runSender<T>(run: SenderRun, sender: Sender<T>): Promise<void> {
  keepWasmBaseline();
  if (run.largeRecords) setFlagsFromString("--optimize-for-size");
  const { io, args } = run;
  const dryRun = args["dry-run"];
  const paths = args._.map(String);
  const replay = dryRun ? null : setAsideIfReplayed(args["dead-letter"], paths);
  const deadLetter = dryRun ? null : new DeadLetterFile(args["dead-letter"], run.name, { buffered: !args.spool });
  const signals = stopOnSignals(() => sender.stop());
  const stats: LoopStats = emptyLoopStats();
  const stopProgress = progress(io, () => `${run.name}: read ${stats.read}, sent ${stats.sent}, dead-lettered ${stats.deadLettered}`);
  const spoolDir = dryRun ? undefined : args.spool;
  // how far the aside copy of a replayed dead-letter file was read: to its end, or to a cut (SIGTERM)
  let replayedTo = 0 as number | "end";
  let late: Outcome = DELIVERED;
  try {
    try {
      await runDeliveryLoop<T>({
        inputs: replay ? asideInputs(openInputs(replay.paths), replay, () => (replayedTo = "end")) : openInputs(paths),
        prepare: sender.prepare,
        unitSize: run.unitSize,
        concurrency: run.concurrency,
        deliver: async (items) => {
          const outcomes = await sender.deliver(items);
          // with a spool, what fails once interrupted is kept there, not lost
          const keptInSpool = spoolDir !== undefined && signals.signal.aborted;
          for (const o of outcomes) if (o && !keptInSpool) run.failures.record(o);
          return outcomes;
        },
        deadLetter,
        onInvalid: (where, reason) => io.warn(`${where.source}: line ${where.record}: ${reason}`),
        stop: signals.signal,
        maxLineLength: run.maxLineLength,
        spool: spoolDir ? { dir: spoolDir, maxBytes: args["spool-max-bytes"], onWarning: (w) => io.warn(`warning: ${w.message}`) } : undefined,
        onCut: (name, offset) => {
          if (!replay?.names.has(name)) return false;
          replayedTo = offset;
          return true; // the rest of the line is copied back with the rest of the file
        },
        stats,
      });
    } finally {
      stopProgress();
      signals.dispose();
      late = await sender.close(stats);
    }
  } catch (err) {
    if (replay) io.warn(`the dead letters being replayed are kept in ${replay.aside}`);
    deadLetter?.close();
    throw err;
  }
  if (replay && deadLetter) {
    // what was not read of the replayed file goes back, as it was
    if (replayedTo !== "end") deadLetter.keepRest(replay.aside, replayedTo);
    deadLetter.close();
    removeAside(replay);
  }
  const counters = sender.counters();
  if (counters.truncated) io.warn(`${counters.truncated} line(s) longer than --max-size ${run.maxSize} were truncated (marked '[truncated N bytes]')`);
  if (late) io.warn(late.reason);
  const signal = signals.received();
  if (signal) exitOnceReported(signal);
  finish(io, { ...stats, ...counters }, { deadLetter, spool: spoolDir, showStats: args.stats, signal, dryRun, reasons: run.failures.summary() });
  if (late) throw new PipeError("E_LOST", `delivery through the local socket may be incomplete: ${late.reason}`);
}

/**
 * The HTTP client parses answers with llhttp compiled to WebAssembly. V8
 * recompiles a hot WebAssembly function with its optimising compiler in the
 * background, which took ~35 MB of memory at once for llhttp's parser (a
 * sender's peak RSS: 125 MB instead of 88 MB for one PatchMon payload) to
 * speed up what is ~2 % of a sender's time. The baseline code is kept
 * instead. Set before the first connection, when the module is compiled.
 */
function keepWasmBaseline(): void {
  setFlagsFromString("--liftoff-only");
}

/** The inputs with the aside copy named as the dead-letter file was; `onEnd` when the aside copy has been read to its end. */
async function* asideInputs(inputs: AsyncIterable<NamedInput>, replay: ReplayAside, onEnd: () => void): AsyncGenerator<NamedInput> {
  for await (const input of inputs) {
    const name = input.name === replay.aside ? [...replay.names].find((n) => n !== "stdin") ?? input.name : input.name;
    if (!replay.names.has(name)) {
      yield input;
      continue;
    }
    yield {
      name,
      chunks: (async function* () {
        yield* input.chunks;
        onEnd();
      })(),
    };
  }
}

/**
 * After a signal, a read of a pipe whose producer is still running stays
 * pending: it cannot be cancelled, and even process.exit() waits for it (the
 * thread pool is joined). Once the final message is out (stderr to a pipe
 * or file is written synchronously), the signal is raised again with its
 * default action, as a program interrupted by it ends: status 128 + signal
 * either way. The timer keeps nothing alive: without a read pending the
 * process has ended normally before it fires.
 */
function exitOnceReported(signal: NodeJS.Signals): void {
  setTimeout(() => process.kill(process.pid, signal), 50).unref();
}

/** A stderr progress line once a second, only on a terminal; stopping erases it, if one was written. */
function progress(io: Io, stats: () => string): () => void {
  if (!io.stderrIsTTY) return () => undefined;
  let shown = false;
  const timer = setInterval(() => {
    shown = true;
    process.stderr.write(`\r${stats()}\x1b[K`);
  }, 1000);
  return () => {
    clearInterval(timer);
    if (shown) process.stderr.write("\r\x1b[K");
  };
}

/** The end of a sender's run: stats, then an error when anything was not delivered. */
function finish(io: Io, stats: LoopStats & { retried?: number; truncated?: number; more?: string }, opts: { deadLetter: DeadLetterFile | null; spool?: string; showStats: boolean; signal: NodeJS.Signals | null; dryRun: boolean; reasons: string }): void {
  opts.deadLetter?.close();
  if (opts.showStats) {
    const extra =
      (stats.truncated ? `, truncated ${stats.truncated}` : "") +
      (stats.leftOut ? `, not applicable ${stats.leftOut}` : "") +
      (stats.replayed ? `, from the spool ${stats.replayed}` : "") +
      (stats.kept ? `, kept in the spool ${stats.kept}` : "") +
      (stats.more ? `, ${stats.more}` : "");
    io.warn(`read ${stats.read}, ${opts.dryRun ? "printed" : "sent"} ${stats.sent}, retried ${stats.retried ?? 0}, dead-lettered ${stats.deadLettered} (invalid ${stats.invalid})${extra}`);
  }
  const lost = stats.deadLettered;
  const where = (opts.deadLetter && lost ? `; kept in ${opts.deadLetter.path}` : "") + (opts.reasons ? `; reasons: ${opts.reasons}` : "");
  if (opts.signal) {
    const kept = stats.kept ? `, ${stats.kept} kept in the spool ${opts.spool} (sent first by the next run with --spool ${opts.spool})` : "";
    throw new PipeError("E_LOST", `interrupted by ${opts.signal}: ${stats.sent} of ${stats.read} records read were delivered, ${lost} dead-lettered${kept}${where}`, {
      exitCode: opts.signal === "SIGINT" ? 130 : 143,
    });
  }
  if (lost) throw new PipeError("E_LOST", `${lost} of ${stats.read} records not ${opts.dryRun ? "valid" : "delivered"}${where}`);
}
