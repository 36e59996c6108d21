import { readLines } from "../streams/lines.js";
import type { NamedInput } from "../streams/input.js";
import { DeadLetterFile, unwrapDeadLetter } from "./dead-letter.js";
import { failed, type Outcome } from "./outcome.js";

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
  /** Longest line accepted before it is an input error. */
  maxLineLength?: number;
  /** Counts kept up to date as the loop runs (for progress lines). */
  stats?: LoopStats;
}

interface Entry<T> {
  line: string;
  where: Where;
  item: T;
}

/**
 * The loop every sender shares: read lines, prepare each (invalid ones go
 * to the dead-letter file), deliver in units with bounded concurrency, and
 * dead-letter whatever a unit could not deliver. Every record read ends up
 * delivered, dead-lettered or deliberately left out: read = sent + deadLettered + leftOut.
 */
export async function runDeliveryLoop<T>(opts: DeliveryLoopOptions<T>): Promise<LoopStats & { interrupted: boolean }> {
  const stats: LoopStats = opts.stats ?? { read: 0, sent: 0, deadLettered: 0, invalid: 0, leftOut: 0 };
  const inflight = new Set<Promise<void>>();
  let unit: Entry<T>[] = [];
  // Racing every read against one long-lived "stopped" promise would pile a reaction (and the
  // line it resolves with) onto it per record; instead the signal wakes only the read in progress.
  let wake: ((v: "stop") => void) | null = null;
  const onAbort = () => wake?.("stop");
  opts.stop.addEventListener("abort", onAbort, { once: true });
  const nextOrStop = <R>(it: AsyncIterator<R>) =>
    new Promise<IteratorResult<R> | "stop">((resolve, reject) => {
      if (opts.stop.aborted) return resolve("stop");
      wake = resolve;
      it.next().then(resolve, reject);
    }).finally(() => (wake = null));

  const bury = (line: string, where: Where, reason: string) => {
    stats.deadLettered++;
    opts.deadLetter?.write(line, where, reason);
  };

  const dispatch = async (entries: Entry<T>[]) => {
    let outcomes: Outcome[];
    if (opts.stop.aborted) {
      for (const e of entries) bury(e.line, e.where, "not sent: interrupted");
      return;
    }
    try {
      outcomes = await opts.deliver(entries.map((e) => e.item));
    } catch (err) {
      outcomes = entries.map(() => failed(`delivery failed: ${(err as Error).message}`));
    }
    entries.forEach((e, i) => {
      const outcome = outcomes[i];
      if (outcome === null) stats.sent++;
      else bury(outcome.line ?? e.line, e.where, outcome.reason);
    });
  };

  const flush = async () => {
    if (!unit.length) return;
    const entries = unit;
    unit = [];
    while (inflight.size >= opts.concurrency) await Promise.race(inflight);
    const p = dispatch(entries).finally(() => inflight.delete(p));
    inflight.add(p);
  };

  let interrupted = false;
  try {
    interrupted = await readAll();
  } finally {
    // what was read is delivered or dead-lettered, even when reading failed
    await flush();
    while (inflight.size) await Promise.race(inflight);
    opts.stop.removeEventListener("abort", onAbort);
  }
  return { ...stats, interrupted: interrupted || opts.stop.aborted };

  async function readAll(): Promise<boolean> {
    for await (const input of opts.inputs) {
      const lines = readLines(input.chunks, { source: input.name, maxLength: opts.maxLineLength })[Symbol.asyncIterator]();
      for (;;) {
        const next = await nextOrStop(lines);
        if (next === "stop") {
          void lines.return?.(undefined);
          return true;
        }
        if (next.done) break;
        const raw = next.value.text;
        if (!raw.trim()) continue;
        stats.read++;
        const where = { record: next.value.number, source: input.name };
        let line = raw;
        try {
          line = unwrapDeadLetter(JSON.parse(raw)) ?? raw;
        } catch {
          // not JSON: prepare() says so
        }
        let item: T | null;
        try {
          item = opts.prepare(line, where);
        } catch (err) {
          stats.invalid++;
          const reason = `invalid record: ${(err as Error).message}`;
          opts.onInvalid?.(where, reason);
          bury(line, where, reason);
          continue;
        }
        if (item === null) {
          stats.leftOut++;
          continue;
        }
        unit.push({ line, where, item });
        if (unit.length >= opts.unitSize) await flush();
      }
    }
    return false;
  }
}
