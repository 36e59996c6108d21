import { Worker } from "node:worker_threads";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { XmlScanner, type Ancestor, type Batch } from "../../xml/scanner.js";
import { PipeError } from "../../errors.js";
import { NotABatch, XccdfReader, type BatchContext } from "./reader.js";

/**
 * Reading a TestResult's rule-results on several threads. The document's
 * scanner cuts the TestResult's content into batches of whole rule-results
 * (see BatchCutter); each is read by a worker thread, or by the main thread
 * when the workers are busy, into the same lines the document's own reader
 * would write. A batch that holds anything else, or does not parse, comes
 * back as null and is read again in place, where its fault gets its position.
 */
export interface BatchJobContext {
  reader: BatchContext;
  /** The elements open around the batches (the TestResult last). */
  ancestors: Ancestor[];
}

/** Reads batches that share one context. */
export class BatchReader {
  private readonly reader: XccdfReader;

  constructor(private readonly context: BatchJobContext) {
    this.reader = new XccdfReader({}, context.reader);
  }

  /**
   * The batch's lines, or null if it must be read in place: it holds
   * something other than rule-results, or a fault (which the read in place
   * then reports at its position). Anything else thrown is a bug, not slower input.
   */
  read(text: string): Buffer | null {
    const scanner = XmlScanner.forBatch(this.reader, this.context.ancestors, "batch");
    this.reader.attach(scanner);
    try {
      scanner.write(text);
      scanner.endBatch();
      return this.reader.out.take();
    } catch (err) {
      if (!(err instanceof NotABatch || (err instanceof PipeError && err.code === "E_BAD_INPUT"))) throw err;
      this.reader.out.discard();
      this.reader.resetBatch();
      return null;
    }
  }
}

export interface BatchJob {
  batch: Batch;
  /** The batch's lines, or null when it must be read in place; rejected if the reading failed for a bug. */
  result: Promise<Buffer | null>;
  done: boolean;
}

export type WorkerRequest = { context: BatchJobContext } | { id: number; text: string };
export type WorkerReply = { id: number; bytes: Uint8Array | null };

/** Batches in flight per worker before the main thread reads one itself. */
const PER_WORKER = 2;
const WORKER_URL = new URL("./batch-worker.js", import.meta.url);

interface PoolWorker {
  worker: Worker;
  context?: BatchJobContext;
  /** Settles a batch in flight: its lines, null (read it in place) or the error that stopped the worker. */
  waiting: Map<number, (bytes: Buffer | null | Error) => void>;
  dead: boolean;
}

/** Hands batches to worker threads, or reads them on the main thread when all are busy. */
export class BatchPool {
  private readonly workers: PoolWorker[] = [];
  private readonly size: number;
  private inline?: { context: BatchJobContext; reader: BatchReader };
  private nextId = 0;

  /** `workers`: threads besides the main one (0: the main thread reads every batch). */
  constructor(workers: number, private readonly workerUrl: URL = WORKER_URL) {
    // the compiled worker script is missing when running from TypeScript sources
    this.size = existsSync(fileURLToPath(workerUrl)) ? workers : 0;
  }

  submit(batch: Batch, context: BatchJobContext): BatchJob {
    const pooled = this.freeWorker();
    if (!pooled) {
      if (this.inline?.context !== context) this.inline = { context, reader: new BatchReader(context) };
      const bytes = this.inline.reader.read(batch.text);
      return { batch, result: Promise.resolve(bytes), done: true };
    }
    if (pooled.context !== context) {
      pooled.worker.postMessage({ context } satisfies WorkerRequest);
      pooled.context = context;
    }
    const id = this.nextId++;
    const job: BatchJob = { batch, result: undefined as unknown as Promise<Buffer | null>, done: false };
    job.result = new Promise((resolve, reject) => {
      pooled.waiting.set(id, (bytes) => {
        job.done = true;
        if (bytes instanceof Error) reject(bytes);
        else resolve(bytes);
      });
    });
    // a rejection is seen when the job is awaited in turn (or not at all, once the run has failed)
    job.result.catch(() => {});
    if (pooled.waiting.size === 1) pooled.worker.ref();
    pooled.worker.postMessage({ id, text: batch.text } satisfies WorkerRequest);
    return job;
  }

  /** Stops the workers; batches still in flight come back as null. */
  close(): void {
    for (const pooled of this.workers) this.retire(pooled);
  }

  private freeWorker(): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    for (const pooled of this.workers) {
      if (!pooled.dead && pooled.waiting.size < PER_WORKER && (!best || pooled.waiting.size < best.waiting.size)) best = pooled;
    }
    if (best?.waiting.size === 0 || this.workers.length >= this.size) return best;
    return this.spawn() ?? best;
  }

  private spawn(): PoolWorker | undefined {
    let worker: Worker;
    try {
      // a small young generation, as the main thread's (bin/xccdf2rules), to keep peak RSS flat
      worker = new Worker(this.workerUrl, { resourceLimits: { maxYoungGenerationSizeMb: 12 } });
    } catch {
      return undefined;
    }
    const pooled: PoolWorker = { worker, waiting: new Map(), dead: false };
    worker.on("message", (reply: WorkerReply) => {
      const settle = pooled.waiting.get(reply.id);
      pooled.waiting.delete(reply.id);
      if (pooled.waiting.size === 0) worker.unref();
      settle?.(reply.bytes ? Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength) : null);
    });
    // an error thrown in the worker is a bug: its batches fail with it. A worker that stops
    // otherwise (terminated, out of its memory limit) hands them back, to be read in place
    worker.on("error", (err: Error & { code?: string }) => this.retire(pooled, err.code === "ERR_WORKER_OUT_OF_MEMORY" || err.code === "ERR_WORKER_INIT_FAILED" ? undefined : err));
    worker.on("exit", () => this.retire(pooled));
    worker.unref();
    this.workers.push(pooled);
    return pooled;
  }

  private retire(pooled: PoolWorker, error?: Error): void {
    if (!pooled.dead) {
      pooled.dead = true;
      void pooled.worker.terminate();
    }
    for (const settle of pooled.waiting.values()) settle(error ?? null);
    pooled.waiting.clear();
  }
}
