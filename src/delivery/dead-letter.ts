import { openSync, writeSync, closeSync, fsyncSync } from "node:fs";
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

/**
 * The file undelivered records go to. It is created (or appended to) only
 * when the first record arrives, and each line is written synchronously, so
 * a crash right after cannot lose it. Feeding the file back to the same
 * command replays the original lines.
 */
export class DeadLetterFile {
  private fd: number | null = null;

  constructor(readonly path: string, private readonly command: string) {}

  write(line: string, where: { record: number; source: string }, reason: string): void {
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
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
  }

  close(): void {
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

/** The original line if `parsed` is a dead-letter entry, else undefined. */
export function unwrapDeadLetter(parsed: unknown): string | undefined {
  if (parsed === null || typeof parsed !== "object") return undefined;
  const o = parsed as Partial<DeadLetterLine>;
  if (typeof o.line === "string" && o.dead_letter && typeof o.dead_letter === "object" && Object.keys(o).length === 2) return o.line;
  return undefined;
}
