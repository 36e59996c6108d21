/**
 * Which record ids are done, in memory that does not grow with the spool.
 *
 * Acks come nearly in order, so the set is a low-water mark (every id below
 * `lwm` is done) plus a bitmap of the ids above it. The bitmap holds one bit
 * per id from just under the mark to the highest id done, and slides up as
 * the mark rises: with in-order acks it stays a few bytes; with one record
 * held back while a million others are acked it is 125 KB.
 */
export class DoneSet {
  /** Every id below this is done. */
  lwm = 0;
  /** Id of the first bit in `bits`: a multiple of 8, never above `lwm`. */
  private base = 0;
  private bits = new Uint8Array(64);
  /** Highest id done, or -1. */
  private top = -1;

  has(id: number): boolean {
    if (id < this.lwm) return true;
    const i = id - this.base;
    return i < this.bits.length * 8 && (this.bits[i >> 3] & (1 << (i & 7))) !== 0;
  }

  /** Marks `id` done; false when it already was. */
  add(id: number): boolean {
    if (this.has(id)) return false;
    this.setBit(id);
    if (id > this.top) this.top = id;
    if (id === this.lwm) this.advance();
    return true;
  }

  /** Marks every id in [from, to) done. */
  addRange(from: number, to: number): void {
    if (to <= from) return;
    if (to - 1 > this.top) this.top = to - 1;
    if (from <= this.lwm) {
      if (to > this.lwm) {
        this.lwm = to;
        this.advance();
      }
      return;
    }
    for (let id = from; id < to; id++) this.setBit(id);
  }

  /** The highest id ever marked done, or -1. */
  get highest(): number {
    return Math.max(this.top, this.lwm - 1);
  }

  /** How many ids in [from, to) are done. */
  countDone(from: number, to: number): number {
    let n = Math.max(0, Math.min(to, this.lwm) - from);
    for (let id = Math.max(from, this.lwm); id < to && id <= this.top; id++) if (this.has(id)) n++;
    return n;
  }

  /** The done ids at or above the mark, as [from, to) runs in order. */
  *runsAboveMark(): Generator<[number, number]> {
    let start = -1;
    for (let id = this.lwm; id <= this.top + 1; id++) {
      const done = id <= this.top && this.has(id);
      if (done && start < 0) start = id;
      else if (!done && start >= 0) {
        yield [start, id];
        start = -1;
      }
    }
  }

  /** Bytes the bitmap takes (for tests of flat memory). */
  get footprint(): number {
    return this.bits.length;
  }

  private setBit(id: number): void {
    const i = id - this.base;
    if (i >= this.bits.length * 8) {
      let size = this.bits.length * 2;
      while (size * 8 <= i) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bits);
      this.bits = grown;
    }
    this.bits[i >> 3] |= 1 << (i & 7);
  }

  private advance(): void {
    // whole bytes of done ids first, then bit by bit
    for (;;) {
      const i = this.lwm - this.base;
      if (i >= this.bits.length * 8) break;
      if ((i & 7) === 0 && this.bits[i >> 3] === 0xff) this.lwm += 8;
      else if (this.bits[i >> 3] & (1 << (i & 7))) this.lwm++;
      else break;
    }
    this.slide();
  }

  /** Drops the bitmap bytes wholly under the mark, so it spans only the undecided window. */
  private slide(): void {
    const dead = (this.lwm - this.base) >> 3;
    if (dead === 0) return;
    if (this.top < this.lwm) {
      // nothing done above the mark: start afresh (and small) at the mark
      this.base = this.lwm - (this.lwm & 7);
      if (this.bits.length > 64) this.bits = new Uint8Array(64);
      else this.bits.fill(0);
      // the mark's own byte may hold done bits below it only; they are below lwm, so harmless
      return;
    }
    if (dead < this.bits.length / 2 && dead < 4096) return;
    this.bits.copyWithin(0, dead);
    this.bits.fill(0, this.bits.length - dead);
    this.base += dead * 8;
  }
}
