import { ScratchLines } from "../../util/scratch-lines.js";

/**
 * Results kept on disk until their scan's summary is known: a line of JSON
 * per result in a scratch file (ScratchLines: unlinked as soon as it is
 * open), and for each scan the byte ranges its results occupy. Memory holds
 * a write buffer and the ranges, whatever the number of results.
 */
export class ResultSpill<K> {
  private readonly file = new ScratchLines("compliance-pipes-spill");
  private readonly ranges = new Map<K, number[]>();

  /** Appends one result's JSON text (no newline in it: JSON.stringify's output) to `key`'s results. */
  add(key: K, text: string): void {
    const at = this.file.append(text);
    const end = this.file.size;
    const r = this.ranges.get(key);
    if (r && r[r.length - 1] === at) r[r.length - 1] = end;
    else if (r) r.push(at, end);
    else this.ranges.set(key, [at, end]);
  }

  /** `key`'s results, in the order they were added. */
  *texts(key: K): Generator<string> {
    const r = this.ranges.get(key) ?? [];
    for (let i = 0; i < r.length; i += 2) yield* this.file.lines(r[i], r[i + 1]);
  }

  /** Bytes of `key`'s results joined with commas (each stored line's newline stands for a comma, less the last). */
  joinedBytes(key: K): number {
    const r = this.ranges.get(key) ?? [];
    let n = 0;
    for (let i = 0; i < r.length; i += 2) n += r[i + 1] - r[i];
    return Math.max(n - 1, 0);
  }

  close(): void {
    this.file.close();
  }
}
