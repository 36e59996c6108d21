import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FLUSH_AT = 1 << 20;
const READ_SIZE = 1 << 20;

/**
 * Results kept on disk until their scan's summary is known: one temporary
 * file, unlinked as soon as it is open (nothing is left behind, even after a
 * crash), a line of JSON per result, and for each scan the byte ranges its
 * results occupy. Memory holds a write buffer and the ranges, whatever the
 * number of results.
 */
export class ResultSpill<K> {
  private readonly fd: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  private size = 0;
  private written = 0;
  private readonly ranges = new Map<K, number[]>();

  constructor() {
    const dir = mkdtempSync(join(tmpdir(), "compliance-pipes-spill-"));
    const path = join(dir, "results.ndjson");
    this.fd = openSync(path, "w+", 0o600);
    rmSync(dir, { recursive: true });
  }

  /** Appends one result's JSON text (no newline in it: JSON.stringify's output) to `key`'s results. */
  add(key: K, text: string): void {
    const bytes = Buffer.byteLength(text) + 1;
    const r = this.ranges.get(key);
    if (r && r[r.length - 1] === this.size) r[r.length - 1] += bytes;
    else if (r) r.push(this.size, this.size + bytes);
    else this.ranges.set(key, [this.size, this.size + bytes]);
    this.size += bytes;
    this.pending.push(text, "\n");
    this.pendingBytes += bytes;
    if (this.pendingBytes >= FLUSH_AT) this.flush();
  }

  /** `key`'s results, in the order they were added. */
  *texts(key: K): Generator<string> {
    this.flush();
    const r = this.ranges.get(key) ?? [];
    const buf = Buffer.allocUnsafe(READ_SIZE);
    for (let i = 0; i < r.length; i += 2) {
      // a result longer than a read is carried as bytes, so no character is cut in two
      let carry: Buffer[] = [];
      for (let at = r[i]; at < r[i + 1]; ) {
        const n = readSync(this.fd, buf, 0, Math.min(READ_SIZE, r[i + 1] - at), at);
        if (n <= 0) throw new Error(`spill file ended early at byte ${at}`);
        at += n;
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
  }

  /** Bytes of `key`'s results joined with commas (each stored line's newline stands for a comma, less the last). */
  joinedBytes(key: K): number {
    const r = this.ranges.get(key) ?? [];
    let n = 0;
    for (let i = 0; i < r.length; i += 2) n += r[i + 1] - r[i];
    return Math.max(n - 1, 0);
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
