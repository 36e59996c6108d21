import { describe, expect, it } from "vitest";
import { StringDecoder } from "node:string_decoder";
import { Utf8Decoder } from "../src/streams/utf8-decoder.js";
import { seeded } from "./helpers/seeded.js";

/** Decodes `bytes` cut at `cuts` with `decoder`, end included. */
function decodeInPieces(decoder: { write(b: Buffer): string; end(): string }, bytes: Buffer, cuts: number[]): string {
  let text = "";
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    text += decoder.write(bytes.subarray(from, cut));
    from = cut;
  }
  return text + decoder.end();
}

describe("Utf8Decoder", () => {
  it("gives the text of the whole input, and StringDecoder's, however it is cut: valid characters of 1 to 4 bytes, invalid bytes, unfinished characters at the end", () => {
    const next = seeded(20261204);
    const random = (n: number) => Math.floor(next() * n);
    // pieces that make valid and invalid UTF-8 (overlong, surrogates, stray continuation bytes, leads of nothing)
    const pieces = ["a", "<", ">", "é", "名", "😀", "\u0800", "\uffff"].map((s) => Buffer.from(s));
    const raw = [[0x80], [0xbf], [0xc0, 0x80], [0xc1], [0xe0, 0x80], [0xed, 0xa0, 0x80], [0xf0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf8], [0xff], [0xe2, 0x82], [0xf0, 0x9f, 0x98]].map((b) => Buffer.from(b));
    for (let round = 0; round < 3000; round++) {
      const parts: Buffer[] = [];
      for (let k = random(12); k >= 0; k--) parts.push(next() < 0.7 ? pieces[random(pieces.length)] : raw[random(raw.length)]);
      const bytes = Buffer.concat(parts);
      const cuts = [...new Set(Array.from({ length: random(5) }, () => random(bytes.length + 1)))].sort((a, b) => a - b);
      const whole = bytes.toString("utf8");
      const ours = decodeInPieces(new Utf8Decoder(), bytes, cuts);
      expect({ round, ours }).toEqual({ round, ours: whole });
      expect({ round, ours }).toEqual({ round, ours: decodeInPieces(new StringDecoder("utf8"), bytes, cuts) });
    }
  });

  it("does not keep a reference to the caller's buffer for what it holds", () => {
    const decoder = new Utf8Decoder();
    const chunk = Buffer.from("ab\xe2\x82", "latin1");
    expect(decoder.write(chunk)).toBe("ab");
    chunk.fill(0);
    expect(decoder.write(Buffer.from([0xac]))).toBe("€");
    expect(decoder.end()).toBe("");
  });
});
