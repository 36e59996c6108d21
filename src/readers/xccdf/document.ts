import { XmlScanner } from "../../xml/scanner.js";
import { PipeError } from "../../errors.js";
import type { RuleResult } from "../../types.js";
import type { OutputBlocks } from "../../streams/byte-lines.js";
import { DEFAULT_MAX_FIELD, SKIPPED_SUBTREES, XccdfReader, type BatchContext } from "./reader.js";

export { DEFAULT_MAX_FIELD } from "./reader.js";
import type { BatchJob, BatchJobContext } from "./batches.js";
import { NotApplicableWatch } from "./applicability.js";
import { EvidenceHold } from "./evidence-hold.js";
import { DEFAULT_EVIDENCE_ITEMS, type EvidenceMode } from "./evidence.js";

export interface XccdfToRulesOptions {
  /** Name used in messages ("stdin" or a path). */
  source?: string;
  includeNotselected?: boolean;
  /** Bytes of text kept in each field (default DEFAULT_MAX_FIELD); the rest is dropped, with a marker and one warning. */
  maxField?: number;
  onWarning?: (message: string) => void;
  /**
   * Threads reading rule-results (default 1). With more than one, a large
   * TestResult is cut into batches read side by side.
   */
  jobs?: number;
  /** Characters of rule-results per batch. */
  batchChars?: number;
  /** The compiled worker script (tests running from sources point at dist/). */
  workerUrl?: URL;
  /** Which rule-results get OVAL evidence (default fail: failed and error ones); none keeps lines as they were. */
  evidence?: EvidenceMode;
  /** Collected items kept per test (default 10). */
  evidenceItems?: number;
  /** Bytes (UTF-8) of lines waiting for evidence kept in memory; beyond, they wait in a temporary file. */
  heldBytes?: number;
  /**
   * Rules kept as text and read only when a line names them (the default, see
   * KeptRule in reader.ts); false reads every Rule in place. Never with
   * --include-notselected (every Rule is named) or batches.
   */
  keepRules?: boolean;
  /**
   * Blocks for the lines, reused: the caller promises to `release` each
   * yielded part once it is written, and not to keep it after.
   */
  blocks?: OutputBlocks;
}

/**
 * One thread by default: since the quick path, a second one reads none of the
 * benchmark's reports faster (npm run bench, 2 cores), and its V8 heap adds
 * 15-30 MB of peak RSS.
 */
export const DEFAULT_JOBS = 1;
const BATCH_CHARS = 32 * 1024;
/** Batches waiting for a worker before the reader waits for them. */
const MAX_WAITING = 8;

/**
 * One XCCDF results / ARF document in, NDJSON RuleResult lines out in
 * document order, as parts that need not end at a line's end (see ByteLines.takeParts). Throws a PipeError (with
 * line and column) on bad input, after yielding every line completed before
 * the fault. Lines come as UTF-8 bytes, ready for stdout. A document read in
 * full whose every selected rule is notapplicable gets a warning.
 */
export async function* xccdfToNdjson(chunks: AsyncIterable<Buffer | string>, opts: XccdfToRulesOptions = {}): AsyncGenerator<Buffer> {
  const watch = new NotApplicableWatch();
  for await (const lines of readDocument(chunks, opts)) {
    watch.see(lines);
    yield lines;
  }
  const warning = watch.warning();
  if (warning) opts.onWarning?.(`${opts.source ?? "stdin"}: ${warning}`);
}

async function* readDocument(chunks: AsyncIterable<Buffer | string>, opts: XccdfToRulesOptions): AsyncGenerator<Buffer> {
  const source = opts.source ?? "stdin";
  let truncated = false;
  const maxField = opts.maxField ?? DEFAULT_MAX_FIELD;
  const onTruncated = (what: string) => {
    if (truncated) return;
    truncated = true;
    opts.onWarning?.(`${source}: a field (${what}) is longer than --max-field ${maxField} bytes: kept its first ${maxField} bytes, marked [truncated N bytes] (further truncations are not reported)`);
  };
  const mode = opts.evidence ?? "fail";
  const evidence = mode === "none" ? undefined : new EvidenceHold(mode, opts.evidenceItems ?? DEFAULT_EVIDENCE_ITEMS, opts.heldBytes);
  const jobs = opts.jobs ?? DEFAULT_JOBS;
  // Rules kept as text, read when named (see KeptRule): not when every Rule is named anyway, nor with
  // batches, whose context carries read Rules
  const keepRules = (opts.keepRules ?? true) && !opts.includeNotselected && jobs <= 1;
  const reader = new XccdfReader({ includeNotselected: opts.includeNotselected, evidence, maxField, onTruncated, keepRules, dropRuleTexts: jobs <= 1, blocks: opts.blocks });
  // loaded only when asked for: worker_threads and the pool cost a plain run's start-up ~10 ms
  const pool = jobs > 1 ? new (await import("./batches.js")).BatchPool(jobs - 1, opts.workerUrl) : undefined;
  /** Lines and batches, in document order. */
  const queue: (Buffer | BatchJob)[] = [];
  let context: BatchJobContext | undefined;
  let contextOf: BatchContext | undefined;
  const scanner = new XmlScanner(reader, {
    source,
    // tokenised by string search (see quick-path.ts) rather than by saxes: the Benchmark (most of a real
    // ARF's bytes are the data stream's copy of it), the TestResult, and the OVAL report read for evidence,
    // whose definitions are each read in one step (OvalReportReader.readWhole); a Benchmark's Groups and
    // Profiles too, so that their Values and selections are offered to XccdfReader.readFromStart. And an
    // ARF's root, so that saxes does not read what lies between those (relationships, report requests,
    // assets: ~6 KB of a small ARF, ~1 ms of a small file's run, as saxes reads it cold). There as in the
    // others, markup is checked, and text that no field takes is not (a bare '&' in an asset's address)
    quick: ["asset-report-collection", "Benchmark", "Group", "Profile", "TestResult", ...(evidence ? ["oval_results", "definitions"] : [])],
    // the roots oscap writes (an ARF's, or a results document's): a report that begins as oscap writes it
    // is read without saxes (XmlScanner.startWithoutSaxes)
    plainRoots: ["asset-report-collection", "Benchmark", "TestResult"],
    // saxes stops where the reader skips (with no evidence wanted, oval_results is skipped too)
    saxesStops: evidence ? SKIPPED_SUBTREES : [...SKIPPED_SUBTREES, "oval_results"],
    batches: pool && {
      local: "rule-result",
      minChars: opts.batchChars ?? BATCH_CHARS,
      take(batch) {
        if (reader.out.count) queue.push(...reader.out.takeParts());
        const of = reader.batchContext();
        // outside an XCCDF TestResult there is nothing to batch: read it in place
        if (!of) return void queue.push({ batch, result: Promise.resolve(null), done: true });
        if (of !== contextOf) [contextOf, context] = [of, { reader: of, ancestors: scanner.openAncestors() }];
        queue.push(pool.submit(batch, context!));
      },
    },
  });
  reader.attach(scanner);
  let reported = false;
  const reportLeading = () => {
    if (!reported && scanner.inDocument && scanner.leadingBytes > 0) opts.onWarning?.(`${source}: skipped ${scanner.leadingBytes} bytes of non-XML text before the document`);
    reported = true;
  };

  /** Yields the queue's head while it is ready; with `all`, waits for every batch. */
  async function* flush(all: boolean): AsyncGenerator<Buffer> {
    if (reader.out.count) queue.push(...reader.out.takeParts());
    if (queue.length && !reported) reportLeading();
    while (queue.length) {
      const head = queue[0];
      if (head instanceof Uint8Array) {
        yield queue.shift() as Buffer;
        continue;
      }
      if (!head.done && !all && queue.length <= MAX_WAITING) return;
      const lines = await head.result;
      queue.shift();
      if (lines) {
        yield lines;
        continue;
      }
      // the batch did not read as a run of rule-results: read it, and all after it, in place
      const later = queue.splice(0) as BatchJob[];
      scanner.replay(head.batch, later.map((job) => job.batch));
      if (reader.out.count) queue.push(...reader.out.takeParts());
    }
  }

  /** Settles the batches and reads the input held back behind them, until nothing is held. */
  async function* settle(): AsyncGenerator<Buffer> {
    do {
      yield* flush(true);
      scanner.resume();
    } while (queue.length || scanner.waiting);
  }

  let failure: unknown;
  try {
    try {
      for await (const chunk of chunks) {
        scanner.write(chunk);
        yield* scanner.waiting ? settle() : flush(false);
        // lines whose evidence has been read, a slice at a time, passed on before more input is read
        while (reader.releaseSome()) yield* flush(false);
      }
      yield* settle();
      scanner.end();
      reader.releaseHeld();
      while (reader.releaseSome()) yield* flush(true);
      if (scanner.trailingText) opts.onWarning?.(`${source}: ignored non-XML text after the end of the document`);
    } catch (err) {
      failure = err;
    }
    reportLeading();
    // what was read before the failure: lines, and batches read in full
    for (const entry of queue) {
      const lines = entry instanceof Uint8Array ? entry : await entry.result;
      if (!lines) break;
      yield lines;
    }
    reader.releaseHeld();
    while (reader.releaseSome()) if (reader.out.count) yield* reader.out.takeParts();
    if (reader.out.count) yield* reader.out.takeParts();
  } finally {
    pool?.close();
    evidence?.close();
  }
  if (failure !== undefined) throw failure;
  if (reader.testResults === 0) {
    throw new PipeError("E_BAD_INPUT", "no TestResult found: this is not a results document (run oscap xccdf eval with --results or --results-arf)", { position: { source } });
  }
}

/** xccdfToNdjson's lines as RuleResult objects. */
export async function* xccdfToRules(chunks: AsyncIterable<Buffer | string>, opts: XccdfToRulesOptions = {}): AsyncGenerator<RuleResult> {
  // a part need not end at a line's end (see ByteLines.takeParts)
  let partial: Buffer[] = [];
  for await (const part of xccdfToNdjson(chunks, opts)) {
    const last = part.lastIndexOf(10);
    if (last < 0) {
      partial.push(part);
      continue;
    }
    const text = Buffer.concat([...partial, part.subarray(0, last)]).toString("utf8");
    partial = [part.subarray(last + 1)];
    for (const line of text.split("\n")) if (line) yield JSON.parse(line) as RuleResult;
  }
}
