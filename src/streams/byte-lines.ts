/**
 * NDJSON output assembled as bytes. A command whose lines repeat large
 * pieces (a Rule's text on every rule-result line) encodes each piece once
 * and copies its bytes per line, instead of concatenating strings that must
 * then be flattened and UTF-8 encoded again on their way to stdout.
 */
export class ByteLines {
  private buffer = Buffer.allocUnsafe(BLOCK);
  /** Start of the lines not yet taken. */
  private start = 0;
  private length = 0;
  /** Lines written since the last take(). */
  count = 0;

  bytes(piece: Uint8Array): void {
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
    this.count = 0;
  }

  /**
   * The lines written since the last take. The bytes are handed out, not
   * copied: later lines go after them in the same block, or in a new one.
   */
  take(): Buffer {
    const out = this.buffer.subarray(this.start, this.length);
    this.start = this.length;
    this.count = 0;
    if (this.buffer.length - this.length < BLOCK / 4) this.grow(0);
    return out;
  }

  /** Moves the untaken bytes to a new block with room for `needed` more. */
  private grow(needed: number): void {
    const pending = this.length - this.start;
    const next = Buffer.allocUnsafe(Math.max(BLOCK, 2 * (pending + needed)));
    this.buffer.copy(next, 0, this.start, this.length);
    this.buffer = next;
    this.start = 0;
    this.length = pending;
  }
}

// small blocks: a taken block stays alive until written, and several may be in flight
const BLOCK = 256 * 1024;
const NEWLINE = Buffer.from("\n");

/** A string's UTF-8 bytes, for pieces copied into many lines. */
export const utf8 = (text: string): Buffer => Buffer.from(text, "utf8");
