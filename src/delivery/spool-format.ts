import { crc32 } from "node:zlib";
import { open } from "node:fs/promises";

/*
 * The spool's on-disk lines. A segment line is `CCCCCCCC RECORD\n`, where
 * CCCCCCCC is the CRC-32 (8 lower-case hex digits) of `ID:` followed by the
 * record's bytes: a line whose bytes were damaged, or which sits at another
 * place than it was written (so would carry another id), fails its check.
 * An ack-log line is `CCCCCCCC FROM-TO\n`: ids FROM to TO-1 are done, the
 * checksum covering `FROM-TO`.
 */

const SEGMENT = /^seg-(\d{16})\.log$/;

export function segmentName(firstId: number): string {
  return `seg-${String(firstId).padStart(16, "0")}.log`;
}

/** The first id of a segment file, or undefined for any other file. */
export function segmentFirstId(name: string): number | undefined {
  const m = SEGMENT.exec(name);
  return m ? Number(m[1]) : undefined;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function recordCrc(id: number, record: Buffer | string): number {
  return crc32(record, crc32(`${id}:`));
}

/** Segment lines for records, one after another in one buffer of `total` bytes (the sum of their framed lengths). */
export function frameRecords(records: readonly { id: number; line: string }[], total: number): Buffer {
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const { id, line } of records) {
    at += out.write(hex8(recordCrc(id, line)), at, "latin1");
    out[at++] = 0x20;
    at += out.write(line, at, "utf8");
    out[at++] = 0x0a;
  }
  return out;
}

/** Bytes a record takes in a segment. */
export function framedLength(record: string): number {
  return 9 + Buffer.byteLength(record, "utf8") + 1;
}

/** The record in a segment line (without its newline), or undefined when the line fails its check. */
export function decodeRecord(id: number, line: Buffer): string | undefined {
  if (line.length < 9 || line[8] !== 0x20) return undefined;
  const body = line.subarray(9);
  if (line.toString("latin1", 0, 8) !== hex8(recordCrc(id, body))) return undefined;
  return body.toString("utf8");
}

export function encodeAckRange(from: number, to: number): string {
  const body = `${from}-${to}`;
  return `${hex8(crc32(body))} ${body}\n`;
}

/** The [from, to) range of an ack-log line, or undefined when it fails its check. */
export function decodeAckRange(line: Buffer): [number, number] | undefined {
  const text = line.toString("latin1");
  const m = /^([0-9a-f]{8}) ((\d+)-(\d+))$/.exec(text);
  if (!m || m[1] !== hex8(crc32(m[2]))) return undefined;
  const from = Number(m[3]);
  const to = Number(m[4]);
  return to >= from ? [from, to] : undefined;
}

export interface FileLine {
  /** The line's bytes, without the newline. Valid until the next line is asked for. */
  bytes: Buffer;
  /** Byte offset of the line's start in the file. */
  offset: number;
}

export interface FileLines {
  lines: AsyncGenerator<FileLine>;
  /** After `lines` is done: bytes after the last newline (a torn last line), and where they start. */
  tail(): { offset: number; bytes: number };
}

const CHUNK = 1 << 20;

/**
 * Reads a file's newline-ended lines one at a time with one reused chunk
 * buffer; only a line longer than the chunk is put together in a buffer of
 * its own. Bytes after the last newline are not a line: `tail()` says how many.
 */
export function readFileLines(path: string): FileLines {
  let tailOffset = 0;
  let tailBytes = 0;
  async function* lines(): AsyncGenerator<FileLine> {
    const handle = await open(path, "r");
    try {
      const chunk = Buffer.allocUnsafe(CHUNK);
      let parts: Buffer[] = [];
      let partBytes = 0;
      let fileOffset = 0;
      let lineStart = 0;
      for (;;) {
        const { bytesRead } = await handle.read(chunk, 0, CHUNK, fileOffset);
        if (bytesRead === 0) break;
        let from = 0;
        for (;;) {
          const nl = chunk.indexOf(0x0a, from);
          if (nl < 0 || nl >= bytesRead) break;
          let bytes = chunk.subarray(from, nl);
          if (parts.length) {
            parts.push(bytes);
            bytes = Buffer.concat(parts, partBytes + bytes.length);
            parts = [];
            partBytes = 0;
          }
          yield { bytes, offset: lineStart };
          lineStart = fileOffset + nl + 1;
          from = nl + 1;
        }
        if (from < bytesRead) {
          parts.push(Buffer.from(chunk.subarray(from, bytesRead)));
          partBytes += bytesRead - from;
        }
        fileOffset += bytesRead;
      }
      tailOffset = lineStart;
      tailBytes = fileOffset - lineStart;
    } finally {
      await handle.close();
    }
  }
  return { lines: lines(), tail: () => ({ offset: tailOffset, bytes: tailBytes }) };
}
