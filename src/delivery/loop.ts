import { readLines } from "../streams/lines.js";
import type { NamedInput } from "../streams/input.js";
import { DeadLetterFile, originalLine } from "./dead-letter.js";
import { failed, type Outcome } from "./outcome.js";
import { Spool, type SpoolId, type SpoolStats, type SpoolWarning } from "./spool.js";

export interface Where {
  record: number;
  source: string;
}

export interface LoopStats {
  read: number;
  sent: number;
  deadLettered: number;
  invalid: number;
  /** Records prepare() chose not to deliver (RuleResults that did not apply). */
  leftOut: number;
  /** Records left in the spool for the next run (interrupted); included in read. */
  kept: number;
  /** Records an earlier run left in the spool, sent first; included in read. */
  replayed: number;
}

export const emptyLoopStats = (): LoopStats => ({ read: 0, sent: 0, deadLettered: 0, invalid: 0, leftOut: 0, kept: 0, replayed: 0 });

export interface SpoolSettings {
  dir: string;
  maxBytes: number;
  onWarning(warning: SpoolWarning): void;
}

export interface DeliveryLoopOptions<T> {
  inputs: AsyncIterable<NamedInput>;
  /** Turns a line into what is delivered, or null to leave it out; throws (with the reason) for an invalid record. */
  prepare(line: string, where: Where): T | null;
  /** Items per delivery unit (a batch). */
  unitSize: number;
  /** Units in flight at once; reading pauses while all are busy. */
  concurrency: number;
  /** One outcome per item; a failure with a `line` dead-letters that line (the undelivered rest). */
  deliver(items: T[]): Promise<Outcome[]>;
  /** Where undelivered lines go; with none (dry run) they are only reported. */
  deadLetter: DeadLetterFile | null;
  onInvalid?: (where: Where, reason: string) => void;
  /** Aborted on SIGINT/SIGTERM: reading stops, what is in flight finishes. */
  stop: AbortSignal;
  /** Longest line taken; a longer one is dead-lettered (number and size) as it streams past, never held. */
  maxLineLength?: number;
  /**
   * A write-ahead log: each line read is spooled (durably) before it is
   * sent and marked done once delivered or dead-lettered; what an earlier
   * run left there goes first; a stop leaves what is not done there.
   */
  spool?: SpoolSettings;
  /**
   * Reading `name` stopped (SIGINT/SIGTERM) before its end: every byte before
   * `offset` was taken as whole lines. Return true to take over the part of
   * a line after it; otherwise that part is dead-lettered.
   */
  onCut?(name: string, offset: number): boolean;
  /** Counts kept up to date as the loop runs (for progress lines). */
  stats?: LoopStats;
}

interface Entry<T> {
  line: string;
  where: Where;
  item: T;
  id?: SpoolId;
}

/** What is read: a line, where it came from, and its spool id once spooled. */
interface Taken {
  raw: string;
  where: Where;
  id?: SpoolId;
}

/**
 * The loop every sender shares: read lines, prepare each (invalid ones go
 * to the dead-letter file), deliver in units with bounded concurrency, and
 * dead-letter whatever a unit could not deliver. Every record read ends up
 * delivered, dead-lettered, deliberately left out or (with a spool, when
 * interrupted) kept in the spool: read = sent + deadLettered + leftOut + kept.
 */
export async function runDeliveryLoop<T>(opts: DeliveryLoopOptions<T>): Promise<LoopStats & { interrupted: boolean; spool?: SpoolStats }> {
  const stats: LoopStats = opts.stats ?? emptyLoopStats();
  const inflight = new Set<Promise<void>>();
  let unit: Entry<T>[] = [];
  const spool = opts.spool
    ? await Spool.open({ dir: opts.spool.dir, maxBytes: opts.spool.maxBytes, onWarning: opts.spool.onWarning, onBlocked: () => void flush() })
    : null;
  // a record is done once delivered or dead-lettered: the spool may let it go
  const done = (id: SpoolId | undefined) => {
    if (spool && id !== undefined) void spool.ack(id);
  };

  const bury = (line: string, where: Where, reason: string, id?: SpoolId) => {
    stats.deadLettered++;
    opts.deadLetter?.write(line, where, reason);
    done(id);
  };

  const dispatch = async (entries: Entry<T>[]) => {
    let outcomes: Outcome[];
    if (opts.stop.aborted) {
      // with a spool they stay there for the next run
      if (!spool) for (const e of entries) bury(e.line, e.where, "not sent: interrupted");
      return;
    }
    try {
      outcomes = await opts.deliver(entries.map((e) => e.item));
    } catch (err) {
      outcomes = entries.map(() => failed(`delivery failed: ${(err as Error).message}`));
    }
    entries.forEach((e, i) => {
      const outcome = outcomes[i];
      if (outcome === null) {
        stats.sent++;
        done(e.id);
      } else if (!(spool && opts.stop.aborted)) {
        bury(outcome.line ?? e.line, e.where, outcome.reason, e.id);
      }
    });
  };

  // a unit waiting for a slot waits for one dispatch to end, not a race over all of them: a race
  // hung a reaction on every unit in flight per call, which kept them alive and fed the old generation
  const slotWaiters: (() => void)[] = [];
  let broken: { error: unknown } | undefined;
  async function flush() {
    if (!unit.length) return;
    const entries = unit;
    unit = [];
    while (inflight.size >= opts.concurrency) await new Promise<void>((wake) => slotWaiters.push(wake));
    if (broken) throw broken.error;
    const p: Promise<void> = dispatch(entries)
      .catch((error: unknown) => void (broken ??= { error }))
      .finally(() => {
        inflight.delete(p);
        slotWaiters.shift()?.();
      });
    inflight.add(p);
  }

  const take = async ({ raw, where, id }: Taken) => {
    const line = originalLine(raw);
    let item: T | null;
    try {
      item = opts.prepare(line, where);
    } catch (err) {
      stats.invalid++;
      const reason = `invalid record: ${(err as Error).message}`;
      opts.onInvalid?.(where, reason);
      bury(line, where, reason, id);
      return;
    }
    if (item === null) {
      stats.leftOut++;
      done(id);
      return;
    }
    unit.push({ line, where, item, id });
    if (unit.length >= opts.unitSize) await flush();
  };

  let failure: unknown;
  try {
    if (spool) await readThroughSpool(spool);
    else for await (const t of readInputs(opts, stats, (line, where, reason) => bury(line, where, reason))) await take(t);
  } catch (err) {
    failure = err;
  }
  // what was read is delivered or dead-lettered (or kept in the spool), even when reading failed
  try {
    await flush();
    while (inflight.size) await Promise.race(inflight);
    if (broken) throw broken.error;
  } finally {
    if (spool) {
      stats.kept = stats.read - stats.sent - stats.deadLettered - stats.leftOut;
      const closing = spool.close();
      if (!failure) await closing;
      else await closing.catch(() => undefined);
    }
  }
  if (failure) throw failure;
  return { ...stats, interrupted: opts.stop.aborted, spool: spool?.stats() };

  async function readThroughSpool(spool: Spool) {
    for await (const { id, line } of spool.replay()) {
      if (opts.stop.aborted) return;
      const t = decodeSpooled(line);
      stats.read++;
      stats.replayed++;
      await take({ ...t, id });
    }
    if (opts.stop.aborted) return;
    // lines still coming out of the reader after a stop are appended here; close() writes them
    const leftovers = (line: string, where: Where) => void spool.append(encodeSpooled({ raw: line, where }));
    const source = readInputs(opts, stats, (line, where, reason) => bury(line, where, reason), leftovers);
    const fed = spool.feedBatches(source, encodeSpooled)[Symbol.asyncIterator]();
    // a stop must not wait for a record that waits for room in a full spool (close() writes it):
    // the signal wakes the wait in progress, one listener for all of them
    let wake: ((v: "stop") => void) | null = null;
    const onAbort = () => wake?.("stop");
    opts.stop.addEventListener("abort", onAbort, { once: true });
    try {
      reading: for (;;) {
        const next = await new Promise<IteratorResult<{ id: SpoolId; item: Taken }[]> | "stop">((resolve, reject) => {
          if (opts.stop.aborted) return resolve("stop");
          wake = resolve;
          fed.next().then(resolve, reject);
        });
        wake = null;
        if (next === "stop" || next.done) break;
        for (const { id, item } of next.value) {
          // the rest of the batch is durable and not done: it stays for the next run
          if (opts.stop.aborted) break reading;
          item.id = id;
          await take(item);
        }
      }
    } finally {
      opts.stop.removeEventListener("abort", onAbort);
    }
    if (opts.stop.aborted) await source.return(undefined); // the reader spools what it had read, then ends
  }
}

/**
 * The non-blank lines of every input, counted as read. After a stop, lines
 * already read from an input (the rest of its last chunk) go to `leftover`
 * when given, else are dead-lettered as not sent; nothing read is dropped.
 */
async function* readInputs(
  opts: Pick<DeliveryLoopOptions<unknown>, "inputs" | "stop" | "maxLineLength" | "onCut">,
  stats: LoopStats,
  bury: (line: string, where: Where, reason: string) => void,
  leftover: (line: string, where: Where) => void = (line, where) => bury(originalLine(line), where, "not sent: interrupted"),
): AsyncGenerator<Taken> {
  for await (const input of opts.inputs) {
    const cut = { passed: 0, sinceLf: 0, cut: false };
    const lines = readLines(untilStopped(input.chunks, opts.stop, cut), {
      source: input.name,
      maxLength: opts.maxLineLength,
      onOversize: ({ number, bytes }) => {
        stats.read++;
        stats.invalid++;
        bury("", { record: number, source: input.name }, `invalid record: a line of ${bytes} bytes, longer than the ${opts.maxLineLength} bytes taken; its bytes were not kept`);
      },
    });
    let partial: Taken | null = null;
    // lines are pulled by hand: a return() from the consumer must not close them before they are drained
    const pull = async (): Promise<Taken | null> => {
      for (;;) {
        const next = await lines.next();
        if (next.done) return null;
        const { text, number } = next.value;
        if (!text.trim()) continue;
        const where = { record: number, source: input.name };
        // after a cut, readLines ends with the start of a line whose rest was never read
        if (cut.cut && cut.sinceLf > 0) partial = { raw: text, where };
        else {
          stats.read++;
          return { raw: text, where };
        }
      }
    };
    try {
      for (let t = await pull(); t; t = await pull()) {
        if (opts.stop.aborted) leftover(t.raw, t.where);
        else yield t;
      }
    } finally {
      // the consumer's return() after a stop: what this input had read still goes somewhere
      if (opts.stop.aborted) for (let t = await pull(); t; t = await pull()) leftover(t.raw, t.where);
    }
    if (cut.cut) {
      const handled = opts.onCut?.(input.name, cut.passed - cut.sinceLf) ?? false;
      if (partial && !handled) {
        const { raw, where } = partial as Taken;
        stats.read++;
        bury(raw, where, `not sent: interrupted while the line was being read (${cut.sinceLf} bytes of it)`);
      }
      return;
    }
    if (opts.stop.aborted) return;
  }
}

/**
 * An input's chunks until a stop; after it, only the chunk whose read was
 * under way, if it completes at once. Counts the bytes passed on and those after the
 * last LF, so a cut is known to the byte.
 */
async function* untilStopped(chunks: AsyncIterable<Buffer>, stop: AbortSignal, state: { passed: number; sinceLf: number; cut: boolean }): AsyncGenerator<Buffer> {
  const it = chunks[Symbol.asyncIterator]();
  let afterStop = 0;
  for (;;) {
    // the read under way when the stop came is the last one taken (it may have read already)
    const r = stop.aborted && afterStop++ > 0 ? "stop" : await orStop(stop, it.next());
    if (r === "stop") {
      state.cut = true;
      return;
    }
    if (r.done) return;
    const chunk = r.value;
    state.passed += chunk.length;
    const lf = chunk.lastIndexOf(0x0a);
    state.sinceLf = lf < 0 ? state.sinceLf + chunk.length : chunk.length - lf - 1;
    yield chunk;
  }
}

/**
 * `p`, or "stop" a turn of the event loop after `stop` is aborted (so a read
 * already completed still wins). One listener a call, removed when `p`
 * settles: nothing piles up on the signal.
 */
function orStop<R>(stop: AbortSignal, p: Promise<R>): Promise<R | "stop"> {
  return new Promise((resolve, reject) => {
    const onAbort = () => setImmediate(() => resolve("stop"));
    if (stop.aborted) onAbort();
    else stop.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => stop.removeEventListener("abort", onAbort));
  });
}

/** A spool record: `RECORD<TAB>"SOURCE"<TAB>LINE` (the source as a JSON string, which holds no raw tab; the line as it is). */
function encodeSpooled(t: Taken): string {
  return `${t.where.record}\t${JSON.stringify(t.where.source)}\t${t.raw}`;
}

function decodeSpooled(line: string): Taken {
  const a = line.indexOf("\t");
  const b = line.indexOf("\t", a + 1);
  return { raw: line.slice(b + 1), where: { record: Number(line.slice(0, a)), source: JSON.parse(line.slice(a + 1, b)) as string } };
}
