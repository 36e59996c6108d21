import split2 from "split2";
import { Readable } from "node:stream";
import { PipeError } from "../errors.js";

export interface Line {
  text: string;
  /** 1-based line number within its input. */
  number: number;
}

/**
 * Splits bytes into lines (LF or CRLF) with split2, which keeps multi-byte
 * UTF-8 characters whole across chunk boundaries. A line longer than
 * maxLength is an input error rather than unbounded memory.
 */
export async function* readLines(source: AsyncIterable<Buffer | string>, opts: { maxLength?: number; source?: string } = {}): AsyncGenerator<Line> {
  const maxLength = opts.maxLength ?? 64 * 1024 * 1024;
  const splitter = split2(/\r?\n/, { maxLength });
  // split2 may hold a chunk while the source reuses its buffer: hand it copies
  const feeder = Readable.from(copies(source), { objectMode: false });
  feeder.on("error", (e) => splitter.destroy(e));
  feeder.pipe(splitter);
  let number = 0;
  try {
    for await (const text of splitter) yield { text: text as string, number: ++number };
  } catch (cause) {
    if (cause instanceof PipeError) throw cause;
    const message = (cause as Error).message === "maximum buffer reached" ? `line longer than ${maxLength} bytes` : (cause as Error).message;
    throw new PipeError("E_BAD_INPUT", message, { position: { source: opts.source, line: number + 1 }, cause });
  }
}

async function* copies(source: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer | string> {
  for await (const chunk of source) yield typeof chunk === "string" ? chunk : Buffer.from(chunk);
}
