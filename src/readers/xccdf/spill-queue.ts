import { ScratchLines } from "../../util/scratch-lines.js";

/** Bytes of entries held in memory before they go to the file. */
const MEMORY_BYTES = 512 * 1024;
/** Bytes read back from the file at a time (more when one entry is longer). */
const READ_BYTES = 256 * 1024;
/** The memory buffer's first size: most ARFs hold a few lines. */
const FIRST_BYTES = 16 * 1024;

/**
 * A first-in first-out queue of one-line strings (no line feed in them) that
 * keeps at most ~MEMORY_BYTES of them in memory: the rest wait in a scratch
 * file (ScratchLines: unlinked as soon as it is open, gone when the queue is
 * closed or the process ends). Order: what is being read back from the
 * file, then the rest of the file, then what is in memory.
 *
 * Entries are held as UTF-8 lines in a buffer, in memory as in the file,
 * not as strings: held strings outlived the young generation and were
 * copied twice by V8 (see ScratchLines for the measurement).
 */
export class SpillQueue {
  /** The newest entries, not yet in the file: bytes [memStart, memEnd) of mem, each line with its line feed. */
  private mem: Buffer = EMPTY;
  private memStart = 0;
  private memEnd = 0;
  private file?: ScratchLines;
  /** Lines being read back from the file, and where in the file the next reading starts. */
  private reading?: Generator<string>;
  private readAt = 0;
  /** Entries in the queue. */
  size = 0;

  constructor(
    private readonly memoryBytes = MEMORY_BYTES,
    private readonly readBytes = READ_BYTES,
  ) {}

  push(entry: string): void {
    this.size++;
    const bytes = Buffer.byteLength(entry) + 1;
    if (this.memEnd + bytes > this.mem.length && !this.makeRoom(bytes)) {
      // longer than memory may hold: after what is there, into the file
      this.spill();
      this.scratch().append(entry);
      return;
    }
    this.memEnd += this.mem.write(entry, this.memEnd, "utf8");
    this.mem[this.memEnd++] = 0x0a;
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
      } else if (this.memStart < this.memEnd) {
        const end = this.mem.indexOf(0x0a, this.memStart);
        const entry = this.mem.toString("utf8", this.memStart, end);
        this.memStart = end + 1;
        if (this.memStart === this.memEnd) this.memStart = this.memEnd = 0;
        this.size--;
        return entry;
      } else return undefined;
    }
  }

  close(): void {
    this.file?.close();
    this.file = this.reading = undefined;
    this.mem = EMPTY;
    this.memStart = this.memEnd = 0;
    this.size = 0;
  }

  /**
   * Room for `bytes` more at the memory buffer's end: its entries moved to
   * its start, a bigger buffer, or (over memoryBytes) all of them moved to
   * the file. False if `bytes` alone is more than memory may hold.
   */
  private makeRoom(bytes: number): boolean {
    const held = this.memEnd - this.memStart;
    if (held + bytes > this.memoryBytes) {
      this.spill();
      if (bytes > this.memoryBytes) return false;
    } else if (this.memStart > 0) {
      this.mem.copyWithin(0, this.memStart, this.memEnd);
      this.memStart = 0;
      this.memEnd = held;
    }
    if (this.memEnd + bytes > this.mem.length) {
      let size = Math.max(this.mem.length, FIRST_BYTES);
      while (size < this.memEnd + bytes) size *= 2;
      const bigger = Buffer.allocUnsafe(Math.min(size, this.memoryBytes));
      this.mem.copy(bigger, 0, 0, this.memEnd);
      this.mem = bigger;
    }
    return true;
  }

  /** Moves the entries in memory to the end of the file. */
  private spill(): void {
    if (this.memEnd === this.memStart) return;
    this.scratch().appendLines(this.mem.subarray(this.memStart, this.memEnd));
    this.memStart = this.memEnd = 0;
  }

  private scratch(): ScratchLines {
    return (this.file ??= new ScratchLines("xccdf2rules", this.readBytes));
  }
}

const EMPTY = Buffer.alloc(0);
