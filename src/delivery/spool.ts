/**
 * A durable spool: a write-ahead log of records in a directory, so a record
 * a sender has read survives kill -9, an OOM kill or a power cut until it is
 * delivered or dead-lettered. Delivery through it is at-least-once: after a
 * crash a record can come out again (its id says so), never go missing.
 *
 * ## API
 *
 *   Spool.open(opts: SpoolOptions): Promise<Spool>       // mkdir -p, lock, recover; PipeError E_USAGE if DIR is in use
 *   spool.replay(): AsyncGenerator<{ id, line }>         // what earlier runs left not done (once)
 *   spool.feed<T>(source: AsyncIterable<T>, toLine: (item: T) => string): AsyncGenerator<{ id, item: T }>
 *   spool.append(line: string): Promise<SpoolId>         // resolves when durable; waits while full
 *   spool.ack(id: SpoolId): Promise<void>                // done; resolves when durable
 *   spool.stats(): SpoolStats                            // recovered, appended, acked, pending, bytes, segments, blocked, warnings
 *   spool.close(): Promise<void>                         // writes all handed to it, unlocks
 *   SpoolOptions: { dir, maxBytes? (1 GiB), segmentBytes?, syncEveryRecords? (1024), syncEveryMs? (5),
 *                   readAhead?, onWarning?(w: SpoolWarning), onBlocked?() }
 *
 * ## Use (what a sender wires in)
 *
 *   const spool = await Spool.open({ dir, maxBytes, onWarning: (w) => warn(w.message), onBlocked: () => flushPartialBatch() });
 *   for await (const r of spool.replay()) { deliver(r.line); spool.ack(r.id); }      // what an earlier run left
 *   for await (const { id, item } of spool.feed(lines, (l) => l.text)) { deliver(item); spool.ack(id); }
 *   await spool.close();
 *
 * - `replay()` yields every record an earlier run left not done, reading the
 *   segments as a stream (a million records take no more memory than one).
 * - `feed(source, toLine)` appends each item's line and yields it once the
 *   line is durable; it reads ahead (up to `readAhead` items) so appends are
 *   fsync'd in groups, and it stops pulling from `source` while the spool is
 *   full. When the consumer stops early (SIGTERM), the items already
 *   appended stay in the spool (not done) for the next run; an item the
 *   source was still producing is not taken (a pipe's lines still buffered
 *   in a line splitter are the caller's to spool). `append(line)` is the same for
 *   one line: it resolves with the record's id once the line is durable.
 * - `ack(id)` marks a record done: call it when the record was delivered OR
 *   dead-lettered. Not calling it (e.g. on SIGTERM) leaves the record for the
 *   next run. The returned promise resolves once the ack is durable; callers
 *   may ignore it (a failure also rejects the next append and close()).
 * - `onBlocked` is called when an append has to wait for space. A caller that
 *   gathers records into batches must send its partial batch then: the
 *   space is freed only by acks, and a batch that waits to fill up would
 *   wait forever.
 * - `onWarning` receives what recovery found damaged (a torn last line, a
 *   line failing its checksum, a stale lock): printed by the sender, those
 *   lines are never yielded.
 * - The directory is locked (DIR/lock holds the pid); a second process gets
 *   a usage error (PipeError E_USAGE); a lock left by a dead process is taken over.
 *
 * ## On disk
 *
 *   DIR/seg-<first id, 16 digits>.log  records, one a line: `CRC32 RECORD\n`
 *   DIR/acks.log                       done ids, one range a line: `CRC32 FROM-TO\n`
 *   DIR/lock                           the pid of the process using DIR
 *
 * Ids are a sequence: the n-th line of segment seg-F holds id F+n-1, and a
 * new segment starts at the id after the last one. The CRC-32 of a record
 * line covers its id and its bytes, so a damaged line or one read at the
 * wrong place fails; the CRC of an ack line covers the range. Appends go to
 * the newest segment, a group at a time (`syncEveryRecords` records or
 * `syncEveryMs` ms, whichever comes first, then one writev and one
 * fdatasync); a segment is closed when it reaches `segmentBytes`. Acks go to
 * acks.log the same way, as ranges, so in-order acks cost a line per group;
 * when the log passes 1 MiB it is rewritten (temp file, fsync, rename) as
 * one range below the low-water mark plus the runs above it. A segment is
 * deleted once every id in it is durably acked; deleting only whole
 * segments, in order, keeps done-tracking to a low-water mark plus a bitmap
 * of the ids above it (see DoneSet). Opening a spool reads acks.log, counts
 * the lines of the newest segment (a torn last line, bytes after the last
 * newline, is reported and cut off: its append never resolved), deletes
 * segments already done, and starts a new segment for new records. Disk use
 * (segments plus records not yet written) is kept under `maxBytes`: an
 * append that does not fit waits until acks let whole segments go; a record
 * larger than `maxBytes` is refused.
 *
 * ## What was taken from Vector and Fluent Bit (design only)
 *
 * Vector's disk buffer v2: records in size-capped data files, written
 * sequentially and never spanning two files; a checksum per record; record
 * ids from a monotonic counter; a separate ledger for the reader's and
 * writer's positions; whole data files deleted once all their records are
 * acknowledged; the writer waiting for space instead of dropping; on start,
 * validating the last write before appending. Fluent Bit's filesystem
 * storage: data in chunk files that are the backlog a restarted process
 * sends first; a CRC32 check and the notion of an irrecoverable chunk that
 * is reported and skipped rather than sent; a total size limit per output
 * (Fluent Bit drops the oldest chunk there, which a spool must not do, so
 * here the writer waits). Differences: the ledger here is an append-only
 * ack log (the writer's position is derived from the newest segment), and
 * acks may come out of order (concurrent batches), hence the bitmap.
 */
import { mkdir, open, readdir, stat, truncate, unlink, rename, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { PipeError } from "../errors.js";
import { DoneSet } from "./spool-done.js";
import { decodeAckRange, decodeRecord, encodeAckRange, frameRecords, framedLength, readFileLines, segmentFirstId, segmentName } from "./spool-format.js";
import { lockSpoolDir } from "./spool-lock.js";

export type SpoolId = number;

export const DEFAULT_SPOOL_MAX_BYTES = 1024 ** 3;

export interface SpoolOptions {
  dir: string;
  /** Disk use ceiling; appends wait while it would be passed. Default 1 GiB. */
  maxBytes?: number;
  /** Size at which a segment is closed and a new one started. Default maxBytes/8, between 4 KiB and 64 MiB. */
  segmentBytes?: number;
  /** A group is written and fsync'd once it has this many records... (default 1024) */
  syncEveryRecords?: number;
  /** ...or this many ms after its first record (default 5). */
  syncEveryMs?: number;
  /** What `feed` appends ahead of its consumer, at most (default 2 × syncEveryRecords). */
  readAhead?: number;
  onWarning?: (warning: SpoolWarning) => void;
  onBlocked?: () => void;
}

export interface SpoolWarning {
  kind: "torn" | "corrupt" | "ack-log" | "stale-lock";
  message: string;
  file?: string;
  offset?: number;
  bytes?: number;
  id?: SpoolId;
}

export interface SpoolRecord {
  id: SpoolId;
  line: string;
}

export interface SpoolStats {
  /** Records found not done when the spool was opened. */
  recovered: number;
  appended: number;
  acked: number;
  /** Records appended or recovered and not done yet. */
  pending: number;
  /** Bytes in segment files and in records admitted but not yet written. */
  bytes: number;
  segments: number;
  /** Times an append had to wait for space. */
  blocked: number;
  warnings: number;
}

const ACK_LOG = "acks.log";
const ACK_LOG_COMPACT_BYTES = 1 << 20;
const GROUP_MAX_BYTES = 4 << 20;
const FEED_AHEAD_BYTES = 16 << 20;

interface Segment {
  firstId: number;
  /** One past its last id. */
  end: number;
  bytes: number;
  closed: boolean;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // a caller may ignore it; the failure also surfaces elsewhere
  return { promise, resolve, reject };
}

/**
 * A record handed to the spool, from the wait for room to its write. The
 * same object goes from `waiting` to a group; `feed` watches `state` rather
 * than holding a promise a record (a promise and an await a record were a
 * third of a spooled sender's time, with the garbage they made).
 */
interface Pending {
  line: string;
  /** Its framed length in a segment. */
  bytes: number;
  /** Given when it enters a group (-1 until then). */
  id: SpoolId;
  state: "pending" | "durable" | "failed";
  failure?: Error;
  /** Only for append(): resolved with the id once durable. */
  done?: Deferred<SpoolId>;
}

interface AckBatch {
  ids: SpoolId[];
  done: Deferred<void>;
}

export class Spool {
  readonly dir: string;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly syncEveryRecords: number;
  private readonly syncEveryMs: number;
  private readonly readAhead: number;

  private readonly done = new DoneSet();
  /** Acks known to be on disk cover every id below this. */
  private durableLwm = 0;
  private nextId = 0;
  private segments: Segment[] = [];
  private active: { seg: Segment; fh: FileHandle } | null = null;
  private rollRequested = false;
  private ackLog: FileHandle | null = null;
  private ackLogBytes = 0;
  private diskBytes = 0;

  private waiting: Pending[] = [];
  private group: Pending[] = [];
  /** Called after each group is written (or the spool fails): feed's consumers look again. */
  private readonly onSettled = new Set<() => void>();
  private groupBytes = 0;
  private acks: AckBatch = { ids: [], done: deferred() };
  /** The batch being written, if any. */
  private writingAcks: Promise<void> | null = null;

  private pumping: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private blocked = false;
  private closing = false;
  private failed: Error | null = null;
  private replaySegments: Segment[] = [];
  private replayed = false;
  private readonly counts = { recovered: 0, appended: 0, acked: 0, pending: 0, blocked: 0, warnings: 0 };

  private constructor(
    private readonly opts: SpoolOptions,
    private readonly unlock: () => void,
  ) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes ?? DEFAULT_SPOOL_MAX_BYTES;
    this.segmentBytes = opts.segmentBytes ?? Math.min(64 << 20, Math.max(4096, Math.floor(this.maxBytes / 8)));
    this.syncEveryRecords = opts.syncEveryRecords ?? 1024;
    this.syncEveryMs = opts.syncEveryMs ?? 5;
    this.readAhead = opts.readAhead ?? 2 * this.syncEveryRecords;
  }

  /** Creates DIR if need be, locks it, and finds what an earlier run left not done. */
  static async open(opts: SpoolOptions): Promise<Spool> {
    if (opts.maxBytes !== undefined && !(opts.maxBytes > 0)) throw new PipeError("E_USAGE", `spool max bytes must be positive, not ${opts.maxBytes}`);
    try {
      await mkdir(opts.dir, { recursive: true });
    } catch (cause) {
      throw new PipeError("E_IO", `cannot create spool directory: ${(cause as Error).message}`, { position: { source: opts.dir }, cause });
    }
    let spool: Spool | undefined;
    const unlock = lockSpoolDir(opts.dir, (pid) =>
      spool
        ? undefined
        : opts.onWarning?.({ kind: "stale-lock", message: `spool ${opts.dir}: took over the lock of process ${pid ?? "(unknown)"}, which is no longer running` }),
    );
    spool = new Spool(opts, unlock);
    try {
      await spool.recover();
    } catch (err) {
      unlock();
      throw err instanceof PipeError ? err : ioError(opts.dir, "cannot recover spool", err);
    }
    return spool;
  }

  /** Yields, once, every record an earlier run left not done. */
  async *replay(): AsyncGenerator<SpoolRecord> {
    if (this.replayed) return;
    this.replayed = true;
    for (const seg of this.replaySegments) {
      const file = join(this.dir, segmentName(seg.firstId));
      const reader = readFileLines(file);
      let id = seg.firstId;
      try {
        for await (const { bytes, offset } of reader.lines) {
          if (id >= seg.end) {
            this.warn({ kind: "corrupt", file, offset, message: `spool segment ${file}: more lines than ids at byte ${offset}; the rest is not sent` });
            break;
          }
          if (!this.done.has(id)) {
            const line = decodeRecord(id, bytes);
            if (line === undefined) {
              this.warn({ kind: "corrupt", file, offset, bytes: bytes.length + 1, id, message: `spool segment ${file}: record ${id} at byte ${offset} fails its checksum; not sent` });
              void this.ack(id);
            } else {
              yield { id, line };
            }
          }
          id++;
        }
      } catch (err) {
        // acked to the end and deleted before it was read: nothing left in it
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw ioError(this.dir, `cannot read spool segment ${file}`, err);
      }
      const tail = reader.tail();
      if (tail.bytes) this.warnTorn(file, tail.offset, tail.bytes);
      if (id < seg.end) {
        this.warn({ kind: "corrupt", file, message: `spool segment ${file}: records ${id} to ${seg.end - 1} are missing from it` });
        for (; id < seg.end; id++) void this.ack(id);
      }
    }
  }

  /** Appends one record (a line without a newline); resolves with its id once it is durable. */
  append(line: string): Promise<SpoolId> {
    let record: Pending;
    try {
      record = this.enqueue(line, deferred<SpoolId>());
    } catch (err) {
      return Promise.reject(err);
    }
    return record.done!.promise;
  }

  /** Hands a line to the writer; throws when it cannot be taken. */
  private enqueue(line: string, done?: Deferred<SpoolId>): Pending {
    if (this.failed) throw this.failed;
    if (this.closing) throw new Error("spool is closed");
    if (line.includes("\n")) throw new Error("a spool record cannot contain a newline");
    const bytes = framedLength(line);
    if (bytes > this.maxBytes) {
      throw new PipeError("E_USAGE", `a record of ${bytes} bytes is larger than the spool's maximum of ${this.maxBytes} bytes`, { position: { source: this.dir } });
    }
    const record: Pending = { line, bytes, id: -1, state: "pending", done };
    this.waiting.push(record);
    this.admit();
    this.kick();
    return record;
  }

  /**
   * Appends `toLine(item)` for each item of `source` and yields each item
   * with its id once its line is durable, in order. Reads ahead of its
   * consumer (up to `readAhead` items or 16 MiB) so appends share fsyncs.
   */
  async *feed<T>(source: AsyncIterable<T>, toLine: (item: T) => string): AsyncGenerator<{ id: SpoolId; item: T }> {
    for await (const batch of this.feedBatches(source, toLine)) yield* batch;
  }

  /**
   * `feed`, a batch at a time: each batch is the items whose lines became
   * durable together (up to a group), so a consumer pays one await a batch.
   */
  async *feedBatches<T>(source: AsyncIterable<T>, toLine: (item: T) => string): AsyncGenerator<{ id: SpoolId; item: T }[]> {
    // a reader task keeps up to readAhead items appended ahead of the consumer
    const ahead: { item: T; record: Pending }[] = [];
    let aheadBytes = 0;
    let ended = false;
    let stopped = false;
    let failure: unknown;
    let wakeConsumer: (() => void) | null = null;
    let wakeReader: (() => void) | null = null;
    const signal = (wake: (() => void) | null) => wake?.();
    const onSettled = () => signal(wakeConsumer);
    this.onSettled.add(onSettled);
    void (async () => {
      const it = source[Symbol.asyncIterator]();
      try {
        for (;;) {
          while (!stopped && (ahead.length >= this.readAhead || aheadBytes >= FEED_AHEAD_BYTES)) await new Promise<void>((r) => (wakeReader = r));
          if (stopped) break;
          const next = await it.next();
          if (next.done || stopped) break;
          const record = this.enqueue(toLine(next.value));
          ahead.push({ item: next.value, record });
          aheadBytes += record.bytes;
        }
        if (stopped) await it.return?.();
      } catch (err) {
        failure = err;
      } finally {
        ended = true;
        signal(wakeConsumer);
      }
    })();
    try {
      for (;;) {
        let n = 0;
        while (n < ahead.length && ahead[n].record.state === "durable") n++;
        if (n) {
          const batch = ahead.splice(0, n).map(({ item, record }) => {
            aheadBytes -= record.bytes;
            return { id: record.id, item };
          });
          signal(wakeReader);
          yield batch;
          continue;
        }
        if (ahead.length && ahead[0].record.state === "failed") throw ahead[0].record.failure;
        if (!ahead.length && ended) {
          if (failure) throw failure;
          return;
        }
        await new Promise<void>((r) => (wakeConsumer = r));
        wakeConsumer = null;
      }
    } finally {
      stopped = true;
      signal(wakeReader);
      // what was appended stays in the spool for the next run: make sure it is on disk (when the
      // spool is full, the records waiting for room are written by close() instead)
      if (!this.blocked) while (ahead.some((e) => e.record.state === "pending")) await new Promise<void>((r) => (wakeConsumer = r));
      this.onSettled.delete(onSettled);
    }
  }

  /**
   * Marks a record done (delivered or dead-lettered). Resolves once the ack
   * is durable; acking a record twice is harmless.
   */
  ack(id: SpoolId): Promise<void> {
    if (this.failed) return rejected(this.failed);
    if (this.closing) return rejected(new Error("spool is closed"));
    if (!Number.isSafeInteger(id) || id < 0 || id >= this.nextId) return rejected(new Error(`no spool record has id ${id}`));
    if (!this.done.add(id)) {
      // acked before: durable once the batch it is in is written, whichever that is
      if (this.acks.ids.length) return this.acks.done.promise;
      return this.writingAcks ?? Promise.resolve();
    }
    this.counts.acked++;
    this.counts.pending--;
    this.acks.ids.push(id);
    this.kick();
    return this.acks.done.promise;
  }

  stats(): SpoolStats {
    return { ...this.counts, bytes: this.usedBytes(), segments: this.segments.length };
  }

  /**
   * Writes every record handed to append, fsyncs, closes the files and
   * unlocks DIR. Records still waiting for room are written too, past
   * maxBytes if need be (by no more than was in flight): a record read is
   * never dropped.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    try {
      while (this.pumping) await this.pumping;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      await this.pump();
      if (this.failed) throw this.failed;
      if (this.active) {
        await this.active.fh.close();
        this.active.seg.closed = true;
        this.active = null;
      }
      await this.freeSegments();
      if (this.ackLogBytes > 4096) await this.compactAckLog();
      await this.ackLog?.close();
      this.ackLog = null;
    } finally {
      this.unlock();
    }
  }

  // --- recovery ---

  private async recover(): Promise<void> {
    const ackPath = join(this.dir, ACK_LOG);
    await this.readAckLog(ackPath);
    const names = await readdir(this.dir);
    if (names.includes(`${ACK_LOG}.tmp`)) await unlink(join(this.dir, `${ACK_LOG}.tmp`));
    const firstIds = names.map(segmentFirstId).filter((n): n is number => n !== undefined).sort((a, b) => a - b);
    const segs: Segment[] = [];
    for (let i = 0; i < firstIds.length; i++) {
      const firstId = firstIds[i];
      const file = join(this.dir, segmentName(firstId));
      let end: number;
      if (i + 1 < firstIds.length) end = firstIds[i + 1];
      else end = firstId + (await this.countLinesCuttingTornTail(file));
      const { size } = await stat(file);
      segs.push({ firstId, end, bytes: size, closed: true });
    }
    const last = segs.at(-1);
    this.nextId = Math.max(last?.end ?? 0, this.done.highest + 1);
    // ids no segment holds can never be acked; marked done (and logged, as a later open could not tell) so they hold nothing up
    const unheld: [number, number][] = [];
    if (last && last.end < this.nextId) unheld.push([last.end, this.nextId]);
    if (segs.length && segs[0].firstId > this.done.lwm) unheld.push([this.done.lwm, segs[0].firstId]);
    for (const [from, to] of unheld) this.done.addRange(from, to);
    this.durableLwm = this.done.lwm;
    for (const seg of segs) {
      if (seg.end <= this.done.lwm || seg.bytes === 0) {
        await unlink(join(this.dir, segmentName(seg.firstId)));
        continue;
      }
      this.segments.push(seg);
      this.diskBytes += seg.bytes;
      this.counts.recovered += seg.end - seg.firstId - this.done.countDone(seg.firstId, seg.end);
    }
    this.counts.pending = this.counts.recovered;
    this.replaySegments = [...this.segments];
    this.ackLog = await open(ackPath, "a");
    this.ackLogBytes = (await this.ackLog.stat()).size;
    if (unheld.length) await this.appendAckLog(unheld.map(([from, to]) => encodeAckRange(from, to)).join(""));
  }

  private async readAckLog(path: string): Promise<void> {
    const reader = readFileLines(path);
    let bad = 0;
    try {
      for await (const { bytes } of reader.lines) {
        const range = decodeAckRange(bytes);
        if (range) this.done.addRange(range[0], range[1]);
        else bad++;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    if (bad) this.warn({ kind: "ack-log", file: path, message: `spool ack log ${path}: ${bad} damaged line(s) ignored; the records they marked done may be sent again` });
    const tail = reader.tail();
    if (tail.bytes) {
      this.warn({ kind: "ack-log", file: path, offset: tail.offset, bytes: tail.bytes, message: `spool ack log ${path}: torn last line (${tail.bytes} bytes) cut off; the records it marked done may be sent again` });
      await truncate(path, tail.offset);
    }
  }

  /** Lines in the newest segment; a torn last line is reported and cut off (its append never resolved). */
  private async countLinesCuttingTornTail(file: string): Promise<number> {
    const reader = readFileLines(file);
    let n = 0;
    for await (const _ of reader.lines) n++;
    const tail = reader.tail();
    if (tail.bytes) {
      this.warnTorn(file, tail.offset, tail.bytes);
      await truncate(file, tail.offset);
    }
    return n;
  }

  private warnTorn(file: string, offset: number, bytes: number): void {
    this.warn({ kind: "torn", file, offset, bytes, message: `spool segment ${file}: torn last line (${bytes} bytes at byte ${offset}) from an interrupted write; not sent` });
  }

  private warn(w: SpoolWarning): void {
    this.counts.warnings++;
    this.opts.onWarning?.(w);
  }

  // --- writing ---

  private usedBytes(): number {
    return this.diskBytes + this.groupBytes;
  }

  /** Moves waiting appends into the group, in order, while they fit. */
  private admit(): void {
    let admitted = false;
    while (this.waiting.length) {
      const { bytes } = this.waiting[0];
      if (this.usedBytes() + bytes > this.maxBytes && !this.closing) {
        if (!this.blocked || admitted) {
          if (!this.blocked) this.counts.blocked++;
          this.blocked = true;
          // the segment being written can only be deleted once it is closed
          this.rollRequested = true;
          this.opts.onBlocked?.();
        }
        return;
      }
      admitted = true;
      const record = this.waiting.shift()!;
      record.id = this.nextId++;
      this.group.push(record);
      this.groupBytes += bytes;
      this.counts.appended++;
      this.counts.pending++;
    }
    this.blocked = false;
  }

  private urgent(): boolean {
    return (
      this.group.length >= this.syncEveryRecords ||
      this.groupBytes >= GROUP_MAX_BYTES ||
      this.acks.ids.length >= this.syncEveryRecords ||
      ((this.blocked || this.closing) && (this.group.length > 0 || this.acks.ids.length > 0 || this.rollRequested))
    );
  }

  /** Starts a write now when a group is full (or the spool is blocked), else within syncEveryMs. */
  private kick(): void {
    if (this.pumping) return; // it looks again when done
    if (this.urgent()) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      void this.pump();
    } else if (!this.timer && (this.group.length || this.acks.ids.length)) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.pump();
      }, this.syncEveryMs);
    }
  }

  private pump(): Promise<void> {
    if (this.pumping) return this.pumping;
    this.pumping = (async () => {
      try {
        do {
          await this.writeOnce();
          this.admit();
        } while (this.urgent() && !this.failed);
      } catch (err) {
        this.fail(err);
      } finally {
        this.pumping = null;
      }
      if (!this.failed && !this.closing) this.kick();
    })();
    return this.pumping;
  }

  private async writeOnce(): Promise<void> {
    const group = this.group;
    const acks = this.acks;
    this.group = [];
    this.acks = { ids: [], done: deferred() };
    this.writingAcks = acks.done.promise;
    const lwm = this.done.lwm;
    try {
      if (group.length) await this.writeGroup(group);
      if (this.rollRequested && this.active) {
        await this.active.fh.close();
        this.active.seg.closed = true;
        this.active = null;
      }
      this.rollRequested = false;
      if (acks.ids.length) {
        await this.writeAcks(acks.ids);
        this.durableLwm = Math.max(this.durableLwm, lwm);
        if (this.ackLogBytes > ACK_LOG_COMPACT_BYTES) await this.compactAckLog();
      }
      await this.freeSegments();
    } catch (err) {
      acks.done.reject(err instanceof PipeError ? err : ioError(this.dir, "cannot write spool", err));
      throw err;
    } finally {
      this.writingAcks = null;
    }
    // resolved once the segments it let go are gone, so their space is free
    acks.done.resolve();
  }

  private async writeGroup(group: Pending[]): Promise<void> {
    const bytes = group.reduce((n, a) => n + a.bytes, 0);
    try {
      let fresh = false;
      if (!this.active) {
        const seg: Segment = { firstId: group[0].id, end: group[0].id, bytes: 0, closed: false };
        const fh = await open(join(this.dir, segmentName(seg.firstId)), "wx");
        this.active = { seg, fh };
        this.segments.push(seg);
        fresh = true;
      }
      const { seg, fh } = this.active;
      await writeAll(fh, [frameRecords(group, bytes)]);
      await fh.datasync();
      if (fresh) await syncDir(this.dir);
      seg.bytes += bytes;
      seg.end = group[group.length - 1].id + 1;
      this.diskBytes += bytes;
      this.groupBytes -= bytes;
      if (seg.bytes >= this.segmentBytes) this.rollRequested = true;
    } catch (err) {
      const failure = ioError(this.dir, "cannot write spool segment", err);
      this.settle(group, failure);
      throw failure;
    }
    this.settle(group);
  }

  /** Records written (or failed): their promises, if any, and feed's consumers are told. */
  private settle(records: Pending[], failure?: Error): void {
    for (const r of records) {
      if (failure) {
        r.state = "failed";
        r.failure = failure;
        r.done?.reject(failure);
      } else {
        r.state = "durable";
        r.done?.resolve(r.id);
      }
    }
    for (const tell of this.onSettled) tell();
  }

  private async writeAcks(ids: SpoolId[]): Promise<void> {
    ids.sort((a, b) => a - b);
    let text = "";
    let from = ids[0];
    for (let i = 1; i <= ids.length; i++) {
      if (i < ids.length && ids[i] === ids[i - 1] + 1) continue;
      text += encodeAckRange(from, ids[i - 1] + 1);
      from = ids[i];
    }
    await this.appendAckLog(text);
  }

  private async appendAckLog(text: string): Promise<void> {
    const log = this.ackLog!;
    await writeAll(log, [Buffer.from(text, "latin1")]);
    await log.datasync();
    this.ackLogBytes += text.length;
  }

  /** Rewrites acks.log as what it amounts to: one range under the low-water mark and the runs above. */
  private async compactAckLog(): Promise<void> {
    const path = join(this.dir, ACK_LOG);
    const tmp = `${path}.tmp`;
    const lwm = this.done.lwm;
    let text = lwm > 0 ? encodeAckRange(0, lwm) : "";
    for (const [from, to] of this.done.runsAboveMark()) text += encodeAckRange(from, to);
    const fh = await open(tmp, "w");
    try {
      await writeAll(fh, [Buffer.from(text, "latin1")]);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await syncDir(this.dir);
    await this.ackLog!.close();
    this.ackLog = await open(path, "a");
    this.ackLogBytes = text.length;
    this.durableLwm = Math.max(this.durableLwm, lwm);
  }

  /** Deletes the oldest segments while every id in them is durably done. */
  private async freeSegments(): Promise<void> {
    let freed = false;
    while (this.segments.length) {
      const seg = this.segments[0];
      if (!seg.closed || seg.end > this.durableLwm) break;
      await unlink(join(this.dir, segmentName(seg.firstId))).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
      this.segments.shift();
      this.diskBytes -= seg.bytes;
      freed = true;
    }
    if (freed) this.admit();
  }

  private fail(err: unknown): void {
    this.failed = err instanceof PipeError ? err : ioError(this.dir, "spool failed", err);
    this.settle([...this.group.splice(0), ...this.waiting.splice(0)], this.failed);
    this.acks.done.reject(this.failed);
  }
}

function noop(): void {}

function rejected(err: Error): Promise<never> {
  const p = Promise.reject(err);
  p.catch(noop);
  return p;
}

function ioError(dir: string, what: string, cause: unknown): PipeError {
  return new PipeError("E_IO", `${what}: ${(cause as Error).message}`, { position: { source: dir }, cause });
}

async function writeAll(fh: FileHandle, buffers: Buffer[]): Promise<void> {
  let rest = buffers;
  while (rest.length) {
    const { bytesWritten } = await fh.writev(rest);
    let skip = bytesWritten;
    let i = 0;
    while (i < rest.length && skip >= rest[i].length) skip -= rest[i++].length;
    rest = rest.slice(i);
    if (skip && rest.length) rest[0] = rest[0].subarray(skip);
  }
}

/** Makes a new or renamed file's directory entry durable. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
