import type { Argv } from "yargs";
import { writeSync } from "node:fs";
import type { Writable } from "node:stream";
import { PipeError, exitCodeFor, formatError } from "../errors.js";
import { builtin } from "../util/builtin.js";
import { ndjsonWriter } from "../streams/ndjson.js";
import { packageVersion } from "./fast-path.js";

export interface Io {
  /** process.stdout, made (and given its EPIPE handler) when first asked for: see writeStdout. */
  readonly stdout: Writable;
  /** One line on stderr, prefixed with the command name. */
  warn(message: string): void;
  /** True when stderr is a terminal (progress is shown only then). */
  stderrIsTTY: boolean;
}

export interface CommandSpec<A> {
  name: string;
  usage: string;
  /** [command line, what it does] pairs shown under --help, each command on one line so it can be copied. */
  examples: [string, string][];
  /** The exit codes beyond the usual 0, 1 and 2, for --help (`3 scanner not available`). */
  extraExitCodes?: string[];
  /** Declares the options (yargs); positional file arguments are `_`. */
  options(y: Argv): Argv<A>;
  /**
   * The arguments when the command line holds nothing but file names (or
   * none): such a run does not load yargs, which costs ~50 ms and ~13 MB of
   * RSS. Must match the defaults that `options` declares.
   */
  plainDefaults?: A;
  /** Does the work; resolves when done, rejects with a PipeError on failure. */
  run(args: A & { _: (string | number)[] }, io: Io): Promise<void>;
}

/** False once this process has made process.stdout or process.stderr, or been given an exit code (see exitIfDone). */
let onlyWrittenToFds = true;

/**
 * Exits now, with code 0, if the command is done and nothing it wrote can be
 * left behind: it has made neither process.stdout nor process.stderr (whose
 * writes to a pipe may still be queued) and set no exit code, so what it
 * wrote went to its file descriptors in writes that had ended. For a command
 * with nothing else under way (xccdf2rules's shim calls it once main has
 * resolved): it skips Node's teardown of V8's heap and threads, ~0.3-0.8 ms
 * of a small file's run (node -e 0 is ~16 ms). Anything else exits as usual.
 */
export function exitIfDone(): void {
  if (onlyWrittenToFds && !process.exitCode) process.exit(0);
}

/**
 * The one top-level handler: parses arguments (usage errors exit 2), runs the
 * command, prints any failure as `cmd: where: what` and maps it to an exit
 * code. A closed downstream pipe is success.
 */
export async function runCli<A>(spec: CommandSpec<A>, argv: string[] = process.argv.slice(2)): Promise<void> {
  // process.stdout and process.stderr load Node's stream modules: a plain run of xccdf2rules does without
  let stdoutReady = false;
  const stdout = () => {
    if (!stdoutReady) {
      stdoutReady = true;
      onlyWrittenToFds = false;
      process.stdout.on("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "EPIPE") process.exit(0);
      });
    }
    return process.stdout;
  };
  const io: Io = {
    get stdout() {
      return stdout();
    },
    warn: (message) => {
      onlyWrittenToFds = false;
      process.stderr.write(`${spec.name}: ${message}\n`);
    },
    get stderrIsTTY() {
      onlyWrittenToFds = false;
      return Boolean(process.stderr.isTTY);
    },
  };

  let args: A & { _: (string | number)[] };
  try {
    const plain = spec.plainDefaults && argv.every((arg) => arg === "-" || !arg.startsWith("-"));
    args = plain ? { ...spec.plainDefaults!, _: argv } : await parseArgs(spec, argv, stdout());
  } catch (err) {
    if (err instanceof Answered) return;
    onlyWrittenToFds = false;
    process.stderr.write(`${formatError(spec.name, err)}\n`);
    if (exitCodeFor(err) === 2) process.stderr.write(`Try '${spec.name} --help' for more information.\n`);
    process.exitCode = exitCodeFor(err);
    return;
  }

  try {
    await spec.run(args, io);
  } catch (err) {
    onlyWrittenToFds = false;
    if ((err as NodeJS.ErrnoException)?.code === "EPIPE" || (err as NodeJS.ErrnoException)?.code === "ERR_STREAM_PREMATURE_CLOSE") {
      process.exitCode = 0;
      return;
    }
    process.stderr.write(`${formatError(spec.name, err)}\n`);
    if (process.env.COMPLIANCE_PIPES_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = exitCodeFor(err);
  }
}

/** Thrown by parseArgs when it has answered --help or --version: nothing to run, exit 0. */
export class Answered extends Error {}

/**
 * Parses the command line with yargs: usage errors (exit 2), the options the
 * spec declares. --help and --version (-h, -V) are answered here, on stdout,
 * before any option is checked.
 */
export async function parseArgs<A>(spec: CommandSpec<A>, argv: string[], out: Writable = process.stdout): Promise<A & { _: (string | number)[] }> {
  const { default: yargs } = await import("yargs");
  const width = Math.min(100, (out as NodeJS.WriteStream).columns || 100);
  const parser = spec.options(
    yargs(argv)
      .scriptName(spec.name)
      .usage(spec.usage)
      .strictOptions()
      .help(false)
      .option("help", { alias: "h", type: "boolean", describe: "show this help" })
      .version(false)
      .option("version", { alias: "V", type: "boolean", describe: "show the version" })
      .wrap(width)
      .fail((message, error) => {
        throw new PipeError("E_USAGE", message ?? error?.message ?? "invalid arguments");
      }),
  );
  const asked = argv.slice(0, argv.includes("--") ? argv.indexOf("--") : argv.length);
  if (asked.includes("--version") || asked.includes("-V")) {
    out.write(`${spec.name} ${packageVersion()}\n`);
    throw new Answered();
  }
  if (asked.includes("--help") || asked.includes("-h")) {
    out.write(`${await parser.getHelp()}\n\n${helpTail(spec)}`);
    throw new Answered();
  }
  return (await parser.parseAsync()) as A & { _: (string | number)[] };
}

/** Examples (each command whole on its own line, then what it does) and exit codes. */
function helpTail(spec: CommandSpec<unknown>): string {
  const examples = spec.examples.map(([cmd, what]) => `  ${cmd.replace(/\$0/g, spec.name)}\n      ${what}\n`).join("");
  const codes = ["0 success", "1 bad input or failure (some records not produced or delivered)", "2 usage error", ...(spec.extraExitCodes ?? [])];
  return `Examples:\n${examples}\nExit codes:\n${codes.map((c) => `  ${c}\n`).join("")}`;
}

/**
 * Writes records as NDJSON to `out`, honouring backpressure. If the producer
 * fails, everything it produced before failing is still written and flushed,
 * and only then is the failure rethrown.
 */
export async function writeRecords(records: AsyncIterable<unknown>, out: Writable): Promise<void> {
  let failure: unknown;
  async function* guarded() {
    try {
      yield* records;
    } catch (err) {
      failure = err;
    }
  }
  const { pipeline, Readable } = streams();
  await pipeline(Readable.from(guarded()), ndjsonWriter(), out, { end: out !== process.stdout });
  if (failure !== undefined) throw failure;
}

/** Writes text (or its bytes) to `out` in order, honouring backpressure. */
export async function writeText(chunks: Iterable<string | Buffer> | AsyncIterable<string | Buffer>, out: Writable): Promise<void> {
  const { pipeline, Readable } = streams();
  await pipeline(Readable.from(chunks, { objectMode: false }), out, { end: out !== process.stdout });
}

/**
 * Writes bytes to standard output, in order: straight to fd 1 while that
 * takes them whole (a file, a terminal, a pipe in blocking mode), without
 * process.stdout, whose streams cost a short run ~7 ms of start-up
 * (xccdf2rules on a 21 KB ARF, fastest of 40: 85.5 -> 78.1 ms, `node -e 0`
 * 63.7 ms); once fd 1 says EAGAIN (a pipe in non-blocking mode), the rest goes
 * through io.stdout with back-pressure. A write blocks until the reader
 * takes it: for a command that does nothing else meanwhile. A closed pipe
 * throws EPIPE, which runCli takes as success. `written` is told of each
 * chunk written straight to fd 1, before the next is asked for (not of those
 * that go through io.stdout).
 */
export async function writeStdout(chunks: AsyncIterable<Buffer>, io: Io, written?: (chunk: Buffer) => void): Promise<void> {
  const iterator = chunks[Symbol.asyncIterator]();
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    const chunk = next.value;
    let done = 0;
    try {
      while (done < chunk.length) done += writeSync(1, chunk, done);
      written?.(chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") {
        await iterator.return?.();
        throw err;
      }
      const rest = async function* () {
        yield chunk.subarray(done);
        for (let more = await iterator.next(); !more.done; more = await iterator.next()) yield more.value;
      };
      return writeText(rest(), io.stdout);
    }
  }
}

const streams = () => ({ ...builtin<typeof import("node:stream/promises")>("node:stream/promises"), Readable: builtin<typeof import("node:stream")>("node:stream").Readable });
