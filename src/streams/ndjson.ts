import type { Transform } from "node:stream";
import type { Json } from "../types.js";
import { builtin } from "../util/builtin.js";

/**
 * Objects in, NDJSON text out. Used as a pipeline stage in front of stdout, so
 * backpressure from a slow reader pauses the producer instead of growing
 * memory. Lines are gathered into chunks of up to 64 KiB to keep the number
 * of writes to the pipe low.
 */
export function ndjsonWriter(): Transform {
  let pending: string[] = [];
  let size = 0;
  const { Transform } = builtin<typeof import("node:stream")>("node:stream");
  return new Transform({
    writableObjectMode: true,
    writableHighWaterMark: 64,
    readableHighWaterMark: 256 * 1024,
    transform(record: unknown, _enc, callback) {
      const line = typeof record === "string" ? record : JSON.stringify(record);
      pending.push(line, "\n");
      size += line.length + 1;
      if (size >= 64 * 1024) {
        const chunk = pending.join("");
        pending = [];
        size = 0;
        callback(null, chunk);
      } else callback();
    },
    flush(callback) {
      callback(null, pending.length ? pending.join("") : undefined);
    },
  });
}

/**
 * One NDJSON line as the object it must be; throws an Error saying what it is
 * instead (`not JSON (…)`, `not a JSON object (an array)`).
 */
export function parseJsonObject(line: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    throw new Error(`not JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error(`not a JSON object (${Array.isArray(parsed) ? "an array" : parsed === null ? "null" : typeof parsed})`);
  return parsed as Json;
}
