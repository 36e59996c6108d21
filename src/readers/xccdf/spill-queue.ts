import { ScratchLines } from "../../util/scratch-lines.js";

/** Characters held in memory before they go to the file. */
const MEMORY_CHARS = 512 * 1024;
/** Bytes read back from the file at a time (more when one entry is longer). */
const READ_BYTES = 256 * 1024;

/**
 * A first-in first-out queue of one-line strings (no line feed in them) that
 * keeps at most ~MEMORY_CHARS of them in memory: the rest wait in a scratch
 * file (ScratchLines: unlinked as soon as it is open, gone when the queue is
 * closed or the process ends). Order: what is being read back from the
 * file, then the rest of the file, then what is in memory.
 */
export class SpillQueue {
  /** The newest entries, not yet in the file. */
  private tail: string[] = [];
  private tailChars = 0;
  private next = 0;
  private file?: ScratchLines;
  /** Lines being read back from the file, and where in the file the next reading starts. */
  private reading?: Generator<string>;
  private readAt = 0;
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
      if (this.reading) {
        const r = this.reading.next();
        if (!r.done) {
          this.size--;
          return r.value;
        }
        this.reading = undefined;
      }
      if (this.file && this.readAt < this.file.size) {
        this.reading = this.file.lines(this.readAt, this.file.size);
        this.readAt = this.file.size;
      } else if (this.next < this.tail.length) {
        const entry = this.tail[this.next++];
        this.size--;
        this.tailChars -= entry.length;
        // all taken: the array goes, not only its entries
        if (this.next === this.tail.length) [this.tail, this.next] = [[], 0];
        return entry;
      } else return undefined;
    }
  }

  close(): void {
    this.file?.close();
    this.file = this.reading = undefined;
    this.tail = [];
    this.size = 0;
  }

  private spill(): void {
    this.file ??= new ScratchLines("xccdf2rules", this.readBytes);
    for (let i = this.next; i < this.tail.length; i++) this.file.append(this.tail[i]);
    this.tail = [];
    this.next = 0;
    this.tailChars = 0;
  }
}
