import type { FileHandle } from "node:fs/promises";
import { closeSync, openSync, read as readCallback, readSync } from "node:fs";
import { PipeError } from "../errors.js";
import { builtin } from "../util/builtin.js";

export interface NamedInput {
  /** "stdin" or the path given, for messages. */
  name: string;
  /**
   * The input's decompressed bytes. A chunk may be overwritten by the next
   * one (plain input reuses one buffer): use or copy it before asking for more.
   */
  chunks: AsyncIterable<Buffer>;
}

const GZIP_MAGIC = [0x1f, 0x8b];
// under V8's large-object size, so the decoded strings die young instead of waiting for a full GC
const CHUNK = 64 * 1024;

/**
 * Opens each path in turn (`-` or no paths at all means stdin, fd 0). Gzip is
 * recognised by its magic bytes, whatever the file is called, and unpacked
 * on the fly. `blocking`: reads block the thread (faster), for a command
 * that does nothing else meanwhile (no timers, no network).
 */
export async function* openInputs(paths: readonly string[], opts: { blocking?: boolean } = {}): AsyncGenerator<NamedInput> {
  const list = paths.length ? paths : ["-"];
  for (const path of list) {
    const name = path === "-" ? "stdin" : path;
    if (path === "-" && builtin<typeof import("node:tty")>("node:tty").isatty(0)) {
      throw new PipeError("E_USAGE", "stdin is a terminal: give a FILE or pipe the input in (see --help)");
    }
    const blocking = opts.blocking ?? false;
    let file: OpenFile | undefined;
    if (path !== "-") {
      try {
        file = blocking ? openNow(path) : await openLater(path);
      } catch (cause) {
        throw new PipeError("E_IO", `cannot read input: ${(cause as Error).message}`, { position: { source: name }, cause });
      }
    }
    try {
      yield { name, chunks: wrapErrors(decompressIfGzip(readFd(file?.fd ?? 0, blocking)), name) };
    } finally {
      await file?.close();
    }
  }
}

interface OpenFile {
  fd: number;
  close(): unknown;
}

/** Opened on this thread, for blocking reads (nothing else is under way). */
function openNow(path: string): OpenFile {
  const fd = openSync(path, "r");
  return { fd, close: () => closeSync(fd) };
}

async function openLater(path: string): Promise<OpenFile> {
  const { open } = builtin<typeof import("node:fs/promises")>("node:fs/promises");
  const handle: FileHandle = await open(path, "r");
  return { fd: handle.fd, close: () => handle.close() };
}

/**
 * Reads a file descriptor into two buffers used in turn: the next read is
 * under way while the caller works on the current chunk. Fresh buffers per
 * read would pile up as external memory until V8's next collection (tens of
 * MB at these read rates); two reused ones keep the footprint flat.
 * `blocking`: each read is made on this thread, at once (see openInputs).
 */
async function* readFd(fd: number, blocking: boolean): AsyncGenerator<Buffer> {
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  let turn = 0;
  const readSome = blocking ? readNow : readLater;
  let next = readSome(fd, buffers[turn]);
  for (;;) {
    const bytesRead = await next;
    if (bytesRead === 0) return;
    const current = buffers[turn];
    turn ^= 1;
    // the caller has finished with the other buffer: it asked for this chunk
    next = readSome(fd, buffers[turn]);
    next.catch(() => {}); // surfaced by the await above if the caller asks for more
    yield current.subarray(0, bytesRead);
  }
}

/**
 * A read made at once, blocking this thread: for a command with nothing else
 * to do meanwhile. Measured: xccdf2rules on a 60 MB file, 1.57-1.69 s with
 * reads on libuv's pool, 1.05-1.27 s so (each 64 KB read's round trip to a
 * pool thread, on a busy 2-core machine, left the main thread waiting).
 */
function readNow(fd: number, buffer: Buffer): Promise<number> {
  try {
    return Promise.resolve(readSync(fd, buffer, 0, buffer.length, null));
  } catch (err) {
    // a non-blocking pipe with nothing yet: wait for it
    if ((err as NodeJS.ErrnoException).code === "EAGAIN") return readLater(fd, buffer);
    return Promise.reject(err as Error);
  }
}

function readLater(fd: number, buffer: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const attempt = () =>
      readCallback(fd, buffer, 0, buffer.length, null, (err, bytesRead) => {
        // a non-blocking pipe (set so by another process sharing it) has nothing yet: wait for it
        if (err && (err as NodeJS.ErrnoException).code === "EAGAIN") setTimeout(attempt, 2);
        else if (err) reject(err);
        else resolve(bytesRead);
      });
    attempt();
  });
}

async function* decompressIfGzip(raw: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const iterator = raw[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const gzipped = first.value.length >= 2 && first.value[0] === GZIP_MAGIC[0] && first.value[1] === GZIP_MAGIC[1];
  if (!gzipped) {
    yield first.value;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    return;
  }
  // zlib holds on to what it is given, so it gets copies of the reused buffer
  const { Readable } = builtin<typeof import("node:stream")>("node:stream");
  const compressed = Readable.from(
    (async function* () {
      yield Buffer.from(first.value);
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield Buffer.from(next.value);
    })(),
    { objectMode: false },
  );
  const gunzip = builtin<typeof import("node:zlib")>("node:zlib").createGunzip();
  compressed.on("error", (e) => gunzip.destroy(e));
  yield* compressed.pipe(gunzip);
}

async function* wrapErrors(chunks: AsyncIterable<Buffer>, name: string): AsyncGenerator<Buffer> {
  try {
    yield* chunks;
  } catch (cause) {
    if (cause instanceof PipeError) throw cause;
    const why = (cause as NodeJS.ErrnoException).code === "Z_BUF_ERROR" ? "truncated gzip data" : (cause as Error).message;
    throw new PipeError("E_IO", `cannot read input: ${why}`, { position: { source: name }, cause });
  }
}
