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
  private buffer: Buffer = EMPTY;
  /** The current block's state, when blocks come from `blocks` (see OutputBlocks). */
  private block?: BlockState;
  /** Start of the lines not yet taken. */
  private start = 0;
  private length = 0;
  /** Taken-out parts before buffer[start, length): block slices and shared pieces. */
  private parts: Buffer[] = [];
  /** Lines written since the last take(). */
  count = 0;

  /** With `blocks`, a block is reused once every part cut from it has been written (see OutputBlocks). */
  constructor(private readonly blocks?: OutputBlocks) {}

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
    if (this.blocks) for (const part of this.parts) this.blocks.release(part);
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
      this.retire();
      this.buffer = EMPTY;
      this.start = 0;
      this.length = 0;
    }
    return parts.length ? parts : [EMPTY];
  }

  /** Ends the block's current part (before a shared piece). */
  private cut(): void {
    if (this.length > this.start) {
      this.parts.push(this.buffer.subarray(this.start, this.length));
      if (this.block) this.block.unwritten++;
    }
    this.start = this.length;
  }

  /** No more is written to the current block: it can be reused once its parts are written. */
  private retire(): void {
    if (this.block) this.blocks!.retire(this.block);
    this.block = undefined;
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
    this.retire();
    if (this.blocks && needed <= BLOCK) [this.buffer, this.block] = this.blocks.take();
    else this.buffer = Buffer.allocUnsafe(Math.max(BLOCK, needed));
    this.start = 0;
    this.length = 0;
  }
}

interface BlockState {
  readonly block: Buffer;
  /** Parts cut from the block and handed out, not yet written. */
  unwritten: number;
  retired: boolean;
}

/**
 * Blocks for ByteLines, reused once written. The writer (writeStdout) says
 * when it has written a part (`release`); a block no longer written to whose
 * parts have all been written is taken again. A part the writer keeps, or
 * never writes, only keeps its block from being reused.
 *
 * Why: a rule-heavy report's output is ~16x its input (each short
 * rule-result becomes a line carrying its Rule's texts), and a fresh block
 * for each 256 KB of it cost the memory's first touch and the GC's tracking
 * of external memory. Measured on the 150 MB rule-heavy-cis bench file
 * (fastest of 8, interleaved): 1.96 -> 1.42 s.
 */
export class OutputBlocks {
  private readonly free: BlockState[] = [];
  private readonly states = new WeakMap<ArrayBufferLike, BlockState>();

  /** A block of BLOCK bytes and its state. */
  take(): [Buffer, BlockState] {
    let state = this.free.pop();
    if (state) {
      state.retired = false;
    } else {
      // allocUnsafe gives a block this size its own ArrayBuffer (only small ones share Node's pool)
      state = { block: Buffer.allocUnsafe(BLOCK), unwritten: 0, retired: false };
      this.states.set(state.block.buffer, state);
    }
    return [state.block, state];
  }

  retire(state: BlockState): void {
    state.retired = true;
    this.reuseIfDone(state);
  }

  /** `part` has been written, or dropped (from any source: parts not cut from a block are ignored). */
  release(part: Uint8Array): void {
    const state = this.states.get(part.buffer);
    if (state && state.unwritten > 0) {
      state.unwritten--;
      this.reuseIfDone(state);
    }
  }

  private reuseIfDone(state: BlockState): void {
    if (state.retired && state.unwritten === 0 && this.free.length < MAX_FREE_BLOCKS) this.free.push(state);
  }
}

/** Blocks kept for reuse: more than the lines of one release of held lines (~600 KB, see EvidenceHold) need. */
const MAX_FREE_BLOCKS = 8;

// small blocks: a taken block stays alive until written, and several may be in flight
const BLOCK = 256 * 1024;
const NEWLINE = Buffer.from("\n");
const EMPTY = Buffer.alloc(0);
/** Pieces this long are shared between lines, not copied into each (see ByteLines). */
const SHARED_PIECE = 16 * 1024;

/** A string's UTF-8 bytes, for pieces copied into many lines. */
export const utf8 = (text: string): Buffer => Buffer.from(text, "utf8");
