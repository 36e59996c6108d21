import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FLUSH_AT = 1024 * 1024;

/**
 * Text put aside on disk while the input streams past, read back once, in
 * order: a report whose head needs the totals keeps its body here instead of
 * in memory. The file is unlinked as soon as it is open, so nothing is left
 * behind whatever happens to the process.
 */
export class Spool {
  private readonly fd: number;
  private pending: string[] = [];
  private pendingSize = 0;
  private written = 0;

  constructor() {
    const dir = mkdtempSync(join(tmpdir(), "rules-report-"));
    try {
      this.fd = openSync(join(dir, "spool"), "w+", 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  append(text: string): void {
    this.pending.push(text);
    this.pendingSize += text.length;
    if (this.pendingSize >= FLUSH_AT) this.flush();
  }

  private flush(): void {
    if (!this.pending.length) return;
    const bytes = Buffer.from(this.pending.join(""), "utf8");
    let at = 0;
    while (at < bytes.length) at += writeSync(this.fd, bytes, at, bytes.length - at, this.written + at);
    this.written += bytes.length;
    this.pending = [];
    this.pendingSize = 0;
  }

  /** Everything appended, as bytes, then the file is closed. */
  *drain(): Generator<Buffer> {
    this.flush();
    try {
      for (let at = 0; at < this.written; ) {
        const chunk = Buffer.allocUnsafe(Math.min(FLUSH_AT, this.written - at));
        const n = readSync(this.fd, chunk, 0, chunk.length, at);
        if (n <= 0) throw new Error("report spool: file ended early");
        at += n;
        yield n === chunk.length ? chunk : chunk.subarray(0, n);
      }
    } finally {
      closeSync(this.fd);
    }
  }
}
