import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Characters held in memory before they go to the file. */
const MEMORY_CHARS = 512 * 1024;
/** Bytes read back from the file at a time (more when one entry is longer). */
const READ_BYTES = 256 * 1024;

/**
 * A first-in first-out queue of one-line strings (no line feed in them) that
 * keeps at most ~MEMORY_CHARS of them in memory: the rest wait in a
 * temporary file, removed from the directory as soon as it is open (it goes
 * when the queue is closed, or the process ends). Order: what was read back
 * from the file, then the rest of the file, then what is in memory.
 */
export class SpillQueue {
  /** Entries read back from the file, taken from `next`. */
  private head: string[] = [];
  private next = 0;
  /** The newest entries, not yet in the file. */
  private tail: string[] = [];
  private tailChars = 0;
  private fd?: number;
  private readAt = 0;
  private writeAt = 0;
  /** Entries in the queue. */
  size = 0;

  constructor(
    private readonly memoryChars = MEMORY_CHARS,
    private readonly readBytes = READ_BYTES,
  ) {}

  push(entry: string): void {
    this.tail.push(entry);
    this.tailChars += entry.length;
    this.size++;
    if (this.tailChars > this.memoryChars) this.spill();
  }

  shift(): string | undefined {
    for (;;) {
      if (this.next < this.head.length) {
        this.size--;
        return this.head[this.next++];
      }
      if (this.fd !== undefined && this.readAt < this.writeAt) this.readBack();
      else if (this.tail.length) {
        [this.head, this.next, this.tail, this.tailChars] = [this.tail, 0, [], 0];
      } else return undefined;
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.head = this.tail = [];
    this.size = 0;
  }

  private spill(): void {
    if (this.fd === undefined) {
      const dir = mkdtempSync(join(tmpdir(), "xccdf2rules-"));
      this.fd = openSync(join(dir, "held.ndjson"), "w+");
      rmSync(dir, { recursive: true });
      this.readAt = this.writeAt = 0;
    }
    const text = Buffer.from(`${this.tail.join("\n")}\n`);
    writeSync(this.fd, text, 0, text.length, this.writeAt);
    this.writeAt += text.length;
    this.tail = [];
    this.tailChars = 0;
  }

  /** Reads the next whole entries from the file into `head`. */
  private readBack(): void {
    for (let want = this.readBytes; ; want *= 2) {
      const buf = Buffer.allocUnsafe(Math.min(want, this.writeAt - this.readAt));
      const got = readSync(this.fd!, buf, 0, buf.length, this.readAt);
      // a line feed byte is never part of a multi-byte UTF-8 character
      const end = buf.lastIndexOf(10, got - 1);
      if (end < 0) continue;
      this.head = buf.toString("utf8", 0, end).split("\n");
      this.next = 0;
      this.readAt += end + 1;
      return;
    }
  }
}
