import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A temporary file of lines (strings without a line feed), removed from its
 * directory as soon as it is open: nothing is left behind, even after a
 * crash. Appends are gathered and written `flushBytes` at a time; lines are
 * read back by byte range, `readBytes` at a time (more is carried when one
 * line is longer), so memory holds a buffer, whatever the file's size.
 */
export class ScratchLines {
  private readonly fd: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  private written = 0;
  /** Bytes appended so far (each line and its line feed), written or not. */
  size = 0;

  constructor(
    prefix: string,
    private readonly readBytes = 1 << 20,
    private readonly flushBytes = 1 << 20,
  ) {
    const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    this.fd = openSync(join(dir, "lines"), "w+", 0o600);
    rmSync(dir, { recursive: true });
  }

  /** Appends a line; returns the byte offset where it starts. */
  append(line: string): number {
    const at = this.size;
    const bytes = Buffer.byteLength(line) + 1;
    this.size += bytes;
    this.pending.push(line, "\n");
    this.pendingBytes += bytes;
    if (this.pendingBytes >= this.flushBytes) this.flush();
    return at;
  }

  /** The lines between two line starts (or the end), in order. */
  *lines(from: number, to: number): Generator<string> {
    this.flush();
    const buf = Buffer.allocUnsafe(this.readBytes);
    // a line longer than a read is carried as bytes, so no character is cut in two
    let carry: Buffer[] = [];
    for (let at = from; at < to; ) {
      const n = readSync(this.fd, buf, 0, Math.min(buf.length, to - at), at);
      if (n <= 0) throw new Error(`scratch file ended early at byte ${at}`);
      at += n;
      // a line feed byte is never part of a multi-byte UTF-8 character
      const end = buf.lastIndexOf(0x0a, n - 1);
      if (end < 0) {
        carry.push(Buffer.from(buf.subarray(0, n)));
        continue;
      }
      const lines = Buffer.concat([...carry, buf.subarray(0, end)]).toString("utf8").split("\n");
      carry = end + 1 < n ? [Buffer.from(buf.subarray(end + 1, n))] : [];
      yield* lines;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  private flush(): void {
    if (!this.pending.length) return;
    const data = Buffer.from(this.pending.join(""));
    for (let done = 0; done < data.length; ) done += writeSync(this.fd, data, done, data.length - done, this.written + done);
    this.written += data.length;
    this.pending = [];
    this.pendingBytes = 0;
  }
}
