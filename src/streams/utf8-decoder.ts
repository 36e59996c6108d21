/**
 * UTF-8 bytes to text, chunk by chunk: a character cut by a chunk's end is
 * held until the next chunk, as node:string_decoder's StringDecoder holds it.
 * Written here for xccdf2rules's start-up: loading node:string_decoder and
 * its first write cost ~0.35 ms, against ~6.5 ms for the whole of a small
 * file's run after Node's own start (in-process, fastest of 5).
 *
 * The text is what decoding all the bytes at once would give, invalid bytes
 * included (each becomes U+FFFD as V8 decodes them): bytes are held only
 * from a byte that is not a continuation byte, where V8's decoder begins a
 * new character whatever came before, and are decoded with what follows.
 */
export class Utf8Decoder {
  /** The bytes of a character cut by the last chunk's end (1 to 3). */
  private held: Buffer | undefined;

  /** The text of `bytes`, with what was held in front; a character they leave unfinished is held. */
  write(bytes: Buffer): string {
    if (this.held) {
      bytes = Buffer.concat([this.held, bytes]);
      this.held = undefined;
    }
    const end = completeEnd(bytes);
    // a copy: the caller may reuse its buffer
    if (end < bytes.length) this.held = Buffer.from(bytes.subarray(end));
    return bytes.toString("utf8", 0, end);
  }

  /** The text of the bytes still held (U+FFFD for an unfinished character), and nothing held after. */
  end(): string {
    const held = this.held;
    this.held = undefined;
    return held ? held.toString("utf8") : "";
  }
}

/** Where an unfinished character at the end of `bytes` begins, or bytes.length if none is. */
function completeEnd(bytes: Buffer): number {
  const n = bytes.length;
  for (let i = n - 1; i >= 0 && i >= n - 3; i--) {
    const byte = bytes[i];
    // a continuation byte: look further back for its lead
    if ((byte & 0xc0) === 0x80) continue;
    // the lead of a character of 2, 3 or 4 bytes (as StringDecoder reads leads), or ASCII or a byte that leads nothing
    const length = (byte & 0xe0) === 0xc0 ? 2 : (byte & 0xf0) === 0xe0 ? 3 : (byte & 0xf8) === 0xf0 ? 4 : 1;
    return n - i < length ? i : n;
  }
  return n;
}
