import { openSync, writeSync, closeSync, fsyncSync, readSync, fstatSync, statSync, renameSync, unlinkSync } from "node:fs";
import { PipeError } from "../errors.js";

/** What a dead-letter line says about why the record was not delivered. */
export interface DeadLetterNote {
  reason: string;
  /** 1-based record (line) number in its input. */
  record: number;
  source: string;
  command: string;
  at: string;
}

/** A dead-letter line: the original line, untouched, plus why. */
export interface DeadLetterLine {
  dead_letter: DeadLetterNote;
  line: string;
}

export interface DeadLetterOptions {
  /**
   * Gather lines and write them together (64 KiB, or at the end of the
   * event loop's turn) rather than one write each: a receiver found down
   * sends thousands of records here at once. Not with a spool: there a
   * record's ack follows its dead-letter line and must not overtake it.
   */
  buffered?: boolean;
}

/** Gathered lines are written once they reach this many bytes. */
const BUFFER_BYTES = 64 * 1024;

/**
 * The file undelivered records go to. It is created (or appended to) only
 * when the first record arrives, and each line is written synchronously
 * (buffered: within the event loop's turn), so a crash cannot lose a line
 * once its record is done. Feeding the file back to the same command
 * replays the original lines.
 */
export class DeadLetterFile {
  private fd: number | null = null;
  private pending: string[] = [];
  private pendingBytes = 0;
  private flushing: NodeJS.Immediate | null = null;
  /** A write of gathered lines that failed in the background: said by the next write or close. */
  private failure: unknown = null;
  private readonly flushOnExit = () => this.flush();

  constructor(
    readonly path: string,
    private readonly command: string,
    private readonly opts: DeadLetterOptions = {},
  ) {}

  write(line: string, where: { record: number; source: string }, reason: string): void {
    if (this.failure) throw this.failure;
    if (this.fd === null) {
      try {
        this.fd = openSync(this.path, "a", 0o600);
      } catch (cause) {
        throw new PipeError("E_IO", `cannot open dead-letter file: ${(cause as Error).message}; the record at ${where.source} line ${where.record} was not delivered (${reason})`, {
          position: { source: this.path },
          cause,
        });
      }
    }
    const entry: DeadLetterLine = { dead_letter: { reason, record: where.record, source: where.source, command: this.command, at: new Date().toISOString() }, line };
    const text = `${JSON.stringify(entry)}\n`;
    if (!this.opts.buffered) return void writeSync(this.fd, text);
    this.pending.push(text);
    this.pendingBytes += text.length;
    if (this.pendingBytes >= BUFFER_BYTES) this.flush();
    else if (!this.flushing) {
      this.flushing = setImmediate(() => {
        try {
          this.flush();
        } catch (err) {
          this.failure = err;
        }
      });
      // a process.exit() before the turn ends still writes them
      process.once("exit", this.flushOnExit);
    }
  }

  /** Writes the gathered lines. */
  private flush(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = null;
    process.off("exit", this.flushOnExit);
    if (!this.pending.length || this.fd === null) return;
    const text = this.pending.join("");
    this.pending = [];
    this.pendingBytes = 0;
    writeSync(this.fd, text);
  }

  /** Appends the bytes of `file` from `offset` on, as they are (dead-letter lines being replayed, not read yet). */
  keepRest(file: string, offset: number): void {
    this.flush();
    const from = openSync(file, "r");
    try {
      this.fd ??= openSync(this.path, "a", 0o600);
      const buf = Buffer.allocUnsafe(64 * 1024);
      for (let pos = offset, n; (n = readSync(from, buf, 0, buf.length, pos)) > 0; pos += n) writeSync(this.fd, buf, 0, n);
    } finally {
      closeSync(from);
    }
  }

  close(): void {
    this.flush();
    if (this.failure) {
      const failure = this.failure;
      this.failure = null;
      throw failure;
    }
    if (this.fd === null) return;
    try {
      fsyncSync(this.fd);
    } catch (err) {
      // --dead-letter /dev/null (or a pipe): nothing to flush
      if ((err as NodeJS.ErrnoException).code !== "EINVAL") throw err;
    }
    closeSync(this.fd);
    this.fd = null;
  }
}

/** Where a dead-letter line's first key is (any order, any spacing): only such lines are parsed. */
const DEAD_LETTER_START = /^\s*\{\s*"(?:dead_letter|line)"\s*:/;

/**
 * A line as read, or the original line when it is a dead-letter line (a
 * replay). Only a line that starts like one is parsed here; the others
 * would otherwise be parsed twice, here and by the command.
 */
export function originalLine(raw: string): string {
  if (!DEAD_LETTER_START.test(raw)) return raw;
  try {
    return unwrapDeadLetter(JSON.parse(raw)) ?? raw;
  } catch {
    return raw; // not JSON: the command's own parsing says so
  }
}

/** The original line if `parsed` is a dead-letter entry, else undefined. */
function unwrapDeadLetter(parsed: unknown): string | undefined {
  if (parsed === null || typeof parsed !== "object") return undefined;
  const o = parsed as Partial<DeadLetterLine>;
  if (typeof o.line === "string" && o.dead_letter && typeof o.dead_letter === "object" && Object.keys(o).length === 2) return o.line;
  return undefined;
}

/**
 * A replay of the dead-letter file into the command that writes it: the file
 * is moved aside (renamed, atomically) before it is read, new failures go to
 * a fresh file at the path, and the aside copy is removed once the run has
 * ended. Otherwise every record failing again would be appended to the file
 * being read, and read again, without end.
 */
export interface ReplayAside {
  /** Where the dead-letter file was moved to. */
  aside: string;
  /** The inputs to open: the aside copy instead of the dead-letter path. */
  paths: string[];
  /** The input names (as messages give them) that are the dead-letter file. */
  names: Set<string>;
}

/** Moves the dead-letter file aside when an input (a path, or stdin: `-` or none) is that file; null when none is. */
export function setAsideIfReplayed(deadLetterPath: string, inputs: readonly string[]): ReplayAside | null {
  let dead: { dev: number; ino: number };
  try {
    const st = statSync(deadLetterPath);
    if (!st.isFile()) return null;
    dead = st;
  } catch {
    return null;
  }
  const list = inputs.length ? inputs : ["-"];
  const same = (p: string) => {
    try {
      const st = p === "-" ? fstatSync(0) : statSync(p);
      return st.isFile() && st.dev === dead.dev && st.ino === dead.ino;
    } catch {
      return false; // openInputs says why
    }
  };
  const replayed = list.filter(same);
  if (!replayed.length) return null;
  const aside = `${deadLetterPath}.replaying-${process.pid}`;
  try {
    renameSync(deadLetterPath, aside);
  } catch (cause) {
    throw new PipeError("E_IO", `cannot move the dead-letter file aside to replay it: ${(cause as Error).message}`, { position: { source: deadLetterPath }, cause });
  }
  return {
    aside,
    paths: list.map((p) => (p !== "-" && replayed.includes(p) ? aside : p)),
    names: new Set(replayed.map((p) => (p === "-" ? "stdin" : p))),
  };
}

/** Removes the aside copy of a replayed dead-letter file (its records are all accounted for). */
export function removeAside(r: ReplayAside): void {
  try {
    unlinkSync(r.aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}
