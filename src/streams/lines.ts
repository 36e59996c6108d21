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
/** A line's bytes are gathered in one buffer, kept for the next line while it is at most this big. */
const KEPT_LINE_BUFFER = 16 * 1024 * 1024;

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
  // a line that spans chunks is copied into one reused buffer (a source may reuse its own for the
  // next chunk): per line, no pieces to be copied again, no buffer of its size to be collected
  const pending = new LineBuffer();
  // bytes of an over-long line skipped so far, or -1 while the line is kept
  let skipped = -1;
  let number = 0;

  const overflow = (bytes: number): void => {
    if (!opts.onOversize) throw new PipeError("E_BAD_INPUT", `line longer than ${maxLength} bytes`, { position: { source: opts.source, line: number + 1 } });
    pending.clear();
    skipped = bytes;
  };

  for await (const chunk of source) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    let pos = 0;
    while (pos < buf.length) {
      const lf = buf.indexOf(LF, pos);
      const end = lf < 0 ? buf.length : lf;
      const piece = end - pos;
      if (skipped < 0 && pending.length + piece > maxLength) overflow(pending.length + piece);
      else if (skipped >= 0) skipped += piece;
      if (lf < 0) {
        if (skipped < 0) pending.append(buf.subarray(pos));
        break;
      }
      number++;
      if (skipped >= 0) {
        opts.onOversize!({ number, bytes: skipped });
        skipped = -1;
      } else if (pending.length === 0) {
        yield { text: decodeLine(buf, pos, end), number };
      } else {
        pending.append(buf.subarray(pos, end));
        yield { text: pending.take(), number };
      }
      pos = lf + 1;
    }
  }
  if (skipped >= 0) opts.onOversize!({ number: number + 1, bytes: skipped });
  else if (pending.length > 0) {
    yield { text: pending.take(false), number: number + 1 };
  }
}

/** Bytes [start, end) of `buf` as text, without the CR of a CRLF ending unless `endsAtLf` is false. */
function decodeLine(buf: Buffer, start: number, end: number, endsAtLf = true): string {
  const stop = endsAtLf && end > start && buf[end - 1] === CR ? end - 1 : end;
  return buf.toString("utf8", start, stop);
}

/** The bytes of the line being read, in one buffer that grows as needed and is reused. */
class LineBuffer {
  private buffer = Buffer.allocUnsafe(0);
  length = 0;

  append(piece: Buffer): void {
    if (this.length + piece.length > this.buffer.length) {
      const bigger = Buffer.allocUnsafe(Math.max(64 * 1024, 2 * (this.length + piece.length)));
      this.buffer.copy(bigger, 0, 0, this.length);
      this.buffer = bigger;
    }
    piece.copy(this.buffer, this.length);
    this.length += piece.length;
  }

  /** The line as text (see decodeLine); the buffer is emptied, and let go if it grew past KEPT_LINE_BUFFER. */
  take(endsAtLf = true): string {
    const text = decodeLine(this.buffer, 0, this.length, endsAtLf);
    this.clear();
    return text;
  }

  clear(): void {
    this.length = 0;
    if (this.buffer.length > KEPT_LINE_BUFFER) this.buffer = Buffer.allocUnsafe(0);
  }
}
