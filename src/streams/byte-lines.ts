/**
 * NDJSON output assembled as bytes. A command whose lines repeat large
 * pieces (a Rule's text on every rule-result line) encodes each piece once
 * and copies its bytes per line, instead of concatenating strings that must
 * then be flattened and UTF-8 encoded again on their way to stdout.
 *
 * A piece of SHARED_PIECE bytes or more is not copied but handed out by
 * reference (see takeParts): the lines of one input chunk then cost their
 * count × SHARED_PIECE at most, not their count × their length (a 1 MB
 * Benchmark title on each of a thousand short rule-results).
 */
export class ByteLines {
  /** Allocated on the first write: a reader that writes no line (a kept Rule's, see reader.ts) costs no block. */
  private buffer = EMPTY;
  /** Start of the lines not yet taken. */
  private start = 0;
  private length = 0;
  /** Taken-out parts before buffer[start, length): block slices and shared pieces. */
  private parts: Buffer[] = [];
  /** Lines written since the last take(). */
  count = 0;

  bytes(piece: Uint8Array): void {
    if (piece.length >= SHARED_PIECE) {
      this.cut();
      this.parts.push(Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
      return;
    }
    if (this.length + piece.length > this.buffer.length) this.grow(piece.length);
    this.buffer.set(piece, this.length);
    this.length += piece.length;
  }

  text(piece: string): void {
    if (this.length + piece.length * 3 > this.buffer.length) this.grow(piece.length * 3);
    this.length += this.buffer.write(piece, this.length, "utf8");
  }

  /** Ends a line, with its last piece if that holds the line feed. */
  endLine(lastPiece: Uint8Array = NEWLINE): void {
    this.bytes(lastPiece);
    this.count++;
  }

  /** Drops the lines written since the last take. */
  discard(): void {
    this.length = this.start;
    this.parts = [];
    this.count = 0;
  }

  /** The lines written since the last take, as one buffer (copied if they are in parts). */
  take(): Buffer {
    const parts = this.takeParts();
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /**
   * The lines written since the last take, in order, as parts that need not
   * end at a line's end. The bytes are handed out, not copied: later lines
   * go after them in the same block, or in a new one.
   */
  takeParts(): Buffer[] {
    this.cut();
    const parts = this.parts;
    this.parts = [];
    this.count = 0;
    // little room left: the next write starts a new block
    if (this.buffer.length - this.length < BLOCK / 4) {
      this.buffer = EMPTY;
      this.start = 0;
      this.length = 0;
    }
    return parts.length ? parts : [EMPTY];
  }

  /** Ends the block's current part (before a shared piece). */
  private cut(): void {
    if (this.length > this.start) this.parts.push(this.buffer.subarray(this.start, this.length));
    this.start = this.length;
  }

  /**
   * Ends the block's current part and starts a new block with room for
   * `needed` more bytes. The untaken bytes stay where they are, as a part:
   * moving them into a bigger block copied each input chunk's lines up to
   * twice more (measured on a real Ubuntu 22.04 CIS scan, output 16x its
   * input: ~5 % of the run in that copy, plus the GC work of the big blocks).
   */
  private grow(needed: number): void {
    this.cut();
    this.buffer = Buffer.allocUnsafe(Math.max(BLOCK, needed));
    this.start = 0;
    this.length = 0;
  }
}

// small blocks: a taken block stays alive until written, and several may be in flight
const BLOCK = 256 * 1024;
const NEWLINE = Buffer.from("\n");
const EMPTY = Buffer.alloc(0);
/** Pieces this long are shared between lines, not copied into each (see ByteLines). */
const SHARED_PIECE = 16 * 1024;

/** A string's UTF-8 bytes, for pieces copied into many lines. */
export const utf8 = (text: string): Buffer => Buffer.from(text, "utf8");
