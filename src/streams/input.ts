import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import { Readable } from "node:stream";
import { PipeError } from "./errors.js";

export interface NamedInput {
  /** "stdin" or the path given, for messages. */
  name: string;
  /** Decompressed bytes of the input. */
  stream: Readable;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Opens each path in turn (`-` or no paths at all means stdin). Gzip is
 * recognised by its magic bytes, whatever the file is called, and unpacked
 * on the fly.
 */
export async function* openInputs(paths: readonly string[], stdin: Readable, highWaterMark = 256 * 1024): AsyncGenerator<NamedInput> {
  const list = paths.length ? paths : ["-"];
  for (const path of list) {
    const raw = path === "-" ? stdin : createReadStream(path, { highWaterMark });
    const name = path === "-" ? "stdin" : path;
    yield { name, stream: await gunzipIfNeeded(raw, name) };
  }
}

async function gunzipIfNeeded(raw: Readable, name: string): Promise<Readable> {
  const iterator = raw[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  try {
    while (head.length < GZIP_MAGIC.length) {
      const next = await iterator.next();
      if (next.done) break;
      head = Buffer.concat([head, toBuffer(next.value)]);
    }
  } catch (cause) {
    throw new PipeError("E_IO", `cannot read input: ${(cause as Error).message}`, { position: { source: name }, cause });
  }
  const replay = Readable.from(
    (async function* () {
      if (head.length) yield head;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield toBuffer(next.value);
      }
    })(),
    { objectMode: false },
  );
  const gzipped = head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  if (!gzipped) return replay;
  const gunzip = createGunzip();
  replay.on("error", (e) => gunzip.destroy(e));
  return replay.pipe(gunzip);
}

function toBuffer(chunk: unknown): Buffer {
  return typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
}

/** The input's chunks; a read or gunzip failure becomes a PipeError naming the input. */
export async function* chunksOf(input: NamedInput): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of input.stream) yield chunk as Buffer;
  } catch (cause) {
    if (cause instanceof PipeError) throw cause;
    const why = (cause as NodeJS.ErrnoException).code === "Z_BUF_ERROR" ? "truncated gzip data" : (cause as Error).message;
    throw new PipeError("E_IO", `cannot read input: ${why}`, { position: { source: input.name }, cause });
  }
}
