import type { Argv } from "yargs";
import { pipeline } from "node:stream/promises";
import { Readable, type Writable } from "node:stream";
import { PipeError, exitCodeFor, formatError } from "../errors.js";
import { ndjsonWriter } from "../streams/ndjson.js";

export interface Io {
  stdout: Writable;
  /** One line on stderr, prefixed with the command name. */
  warn(message: string): void;
  /** True when stderr is a terminal (progress is shown only then). */
  stderrIsTTY: boolean;
}

export interface CommandSpec<A> {
  name: string;
  usage: string;
  /** [command line, what it does] pairs shown under --help. */
  examples: [string, string][];
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

/**
 * The one top-level handler: parses arguments (usage errors exit 2), runs the
 * command, prints any failure as `cmd: where: what` and maps it to an exit
 * code. A closed downstream pipe is success.
 */
export async function runCli<A>(spec: CommandSpec<A>, argv: string[] = process.argv.slice(2)): Promise<void> {
  const io: Io = {
    stdout: process.stdout,
    warn: (message) => process.stderr.write(`${spec.name}: ${message}\n`),
    stderrIsTTY: Boolean(process.stderr.isTTY),
  };
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
  });

  let args: A & { _: (string | number)[] };
  try {
    args = spec.plainDefaults && argv.every((arg) => arg === "-" || !arg.startsWith("-")) ? { ...spec.plainDefaults, _: argv } : await parseArgs(spec, argv);
  } catch (err) {
    process.stderr.write(`${formatError(spec.name, err)}\n`);
    if (exitCodeFor(err) === 2) process.stderr.write(`Try '${spec.name} --help' for more information.\n`);
    process.exitCode = exitCodeFor(err);
    return;
  }

  try {
    await spec.run(args, io);
  } catch (err) {
    if ((err as NodeJS.ErrnoException)?.code === "EPIPE" || (err as NodeJS.ErrnoException)?.code === "ERR_STREAM_PREMATURE_CLOSE") {
      process.exitCode = 0;
      return;
    }
    process.stderr.write(`${formatError(spec.name, err)}\n`);
    if (process.env.COMPLIANCE_PIPES_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = exitCodeFor(err);
  }
}

/** Parses the command line with yargs: --help, usage errors (exit 2), the options the spec declares. */
export async function parseArgs<A>(spec: CommandSpec<A>, argv: string[]): Promise<A & { _: (string | number)[] }> {
  const { default: yargs } = await import("yargs");
  let parser = yargs(argv)
    .scriptName(spec.name)
    .usage(spec.usage)
    .strictOptions()
    .help("help")
    .alias("help", "h")
    .version(false)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((message, error) => {
      throw new PipeError("E_USAGE", message ?? error?.message ?? "invalid arguments");
    })
    .epilogue("Exit codes: 0 success, 1 bad input or failure (some records not produced or delivered), 2 usage error.");
  for (const [cmd, what] of spec.examples) parser = parser.example(cmd, what);
  return (await spec.options(parser).parseAsync()) as A & { _: (string | number)[] };
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
  await pipeline(Readable.from(guarded()), ndjsonWriter(), out, { end: out !== process.stdout });
  if (failure !== undefined) throw failure;
}

/** Writes text (or its bytes) to `out` in order, honouring backpressure. */
export async function writeText(chunks: Iterable<string | Buffer> | AsyncIterable<string | Buffer>, out: Writable): Promise<void> {
  await pipeline(Readable.from(chunks, { objectMode: false }), out, { end: out !== process.stdout });
}
