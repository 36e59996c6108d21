import { PipeError } from "../errors.js";

export interface Line {
  text: string;
  /** 1-based line number within its input. */
  number: number;
}

/** A line longer than the limit, skipped as it streamed past: its number and size, not its bytes. */
export interface OversizeLine {
  number: number;
  bytes: number;
}

export interface ReadLinesOptions {
  /** Longest line kept, in bytes (default 64 MiB). */
  maxLength?: number;
  /** Input name for messages. */
  source?: string;
  /**
   * Called for each line over maxLength, which is then skipped (its bytes are
   * never held) and reading goes on. Without it such a line is an input error,
   * raised as soon as the limit is passed.
   */
  onOversize?: (line: OversizeLine) => void;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits bytes into lines (LF or CRLF). Lines are found by a byte search for
 * LF, which never falls inside a multi-byte UTF-8 character, and each line is
 * decoded once, whole: time is linear in the input whatever the line lengths
 * (a RegExp splitter re-scanning the growing tail took 11 s for one 32 MB
 * line). Only the current line's bytes are held, and none of an over-long one.
 * As before, empty lines are yielded and a last line without LF is yielded
 * when it is not empty.
 */
export async function* readLines(source: AsyncIterable<Buffer | string>, opts: ReadLinesOptions = {}): AsyncGenerator<Line> {
  const maxLength = opts.maxLength ?? 64 * 1024 * 1024;
  // the current line so far: copies, since a source may reuse its buffer for the next chunk
  let parts: Buffer[] = [];
  let held = 0;
  // bytes of an over-long line skipped so far, or -1 while the line is kept
  let skipped = -1;
  let number = 0;

  const overflow = (bytes: number): void => {
    if (!opts.onOversize) throw new PipeError("E_BAD_INPUT", `line longer than ${maxLength} bytes`, { position: { source: opts.source, line: number + 1 } });
    parts = [];
    held = 0;
    skipped = bytes;
  };

  for await (const chunk of source) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    let pos = 0;
    while (pos < buf.length) {
      const lf = buf.indexOf(LF, pos);
      const end = lf < 0 ? buf.length : lf;
      const piece = end - pos;
      if (skipped < 0 && held + piece > maxLength) overflow(held + piece);
      else if (skipped >= 0) skipped += piece;
      if (lf < 0) {
        if (skipped < 0) {
          parts.push(Buffer.from(buf.subarray(pos)));
          held += piece;
        }
        break;
      }
      number++;
      if (skipped >= 0) {
        opts.onOversize!({ number, bytes: skipped });
        skipped = -1;
      } else {
        yield { text: decodeLine(parts, held, buf.subarray(pos, end)), number };
        parts = [];
        held = 0;
      }
      pos = lf + 1;
    }
  }
  if (skipped >= 0) opts.onOversize!({ number: number + 1, bytes: skipped });
  else if (held > 0) yield { text: decodeLine(parts, held, Buffer.alloc(0), false), number: number + 1 };
}

/** The held parts and the last piece as one string, without the CR of a CRLF ending. */
function decodeLine(parts: Buffer[], held: number, last: Buffer, endsAtLf = true): string {
  const whole = parts.length === 0 ? last : Buffer.concat(last.length ? [...parts, last] : parts, held + last.length);
  const end = endsAtLf && whole.length > 0 && whole[whole.length - 1] === CR ? whole.length - 1 : whole.length;
  return whole.toString("utf8", 0, end);
}
