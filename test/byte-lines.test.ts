import { describe, expect, it } from "vitest";
import { ByteLines, OutputBlocks, utf8 } from "../src/streams/byte-lines.js";
import { seeded } from "./helpers/seeded.js";

/** Writes line `i`, of a size drawn from `sizes`, as bytes or as text at random; returns it with its line feed. */
function writeLine(out: ByteLines, random: () => number, sizes: number[], i: number): string {
  const size = sizes[Math.floor(random() * sizes.length)];
  const body = `${i}:${"é€x".repeat(Math.ceil(size / 3)).slice(0, size)}`;
  if (random() < 0.5) out.bytes(utf8(body));
  else out.text(body);
  out.endLine();
  return `${body}\n`;
}

describe("ByteLines", () => {
  it("hands out every line written, in order, across full blocks, shared pieces, takes and discards", () => {
    const random = seeded(14);
    // sizes around the 256 KB block and the 16 KB shared-piece threshold, and small ones
    const sizes = [1, 7, 300, 9_000, 16 * 1024 - 1, 16 * 1024, 70_000, 255 * 1024, 256 * 1024, 600_000];
    const out = new ByteLines();
    let expected = "";
    let pending = "";
    const got: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      pending += writeLine(out, random, sizes, i);
      const next = random();
      if (next < 0.2) {
        got.push(...out.takeParts());
        expected += pending;
        pending = "";
      } else if (next < 0.3) {
        got.push(out.take());
        expected += pending;
        pending = "";
      } else if (next < 0.35) {
        out.discard();
        pending = "";
      }
    }
    got.push(...out.takeParts());
    expected += pending;
    // parts handed out earlier must not have been overwritten by later lines
    expect(Buffer.concat(got).toString("utf8")).toBe(expected);
  });

  it("counts the lines written since the last take", () => {
    const out = new ByteLines();
    out.text("a");
    out.endLine();
    out.bytes(Buffer.alloc(300 * 1024, 0x61));
    out.endLine();
    expect(out.count).toBe(2);
    expect(Buffer.concat(out.takeParts()).length).toBe(2 + 300 * 1024 + 1);
    expect(out.count).toBe(0);
  });

  it("with OutputBlocks, reuses a block only once every part cut from it is released and it is no longer written to", () => {
    /** Writes lines and releases their parts lagging behind; returns the blocks (256 KB arrays) the parts came from. */
    const run = (blocks?: OutputBlocks) => {
      const random = seeded(15);
      const sizes = [1, 40, 900, 9_000, 9_000, 12_000, 16 * 1024 - 1, 16 * 1024, 255 * 1024];
      const out = new ByteLines(blocks);
      /** Parts handed out and not yet released, with a copy of their bytes when handed out. */
      const unreleased: { part: Buffer; copy: Buffer }[] = [];
      const arrays = new Set<ArrayBufferLike>();
      let expected = "";
      let pending = "";
      const got: Buffer[] = [];
      const release = (n: number) => {
        for (const { part, copy } of unreleased.splice(0, n)) {
          // later lines must not have been written over it while it waited
          expect(part.equals(copy)).toBe(true);
          got.push(copy);
          blocks?.release(part);
        }
      };
      const take = () => {
        for (const part of out.takeParts()) {
          unreleased.push({ part, copy: Buffer.from(part) });
          if (part.buffer.byteLength === 256 * 1024) arrays.add(part.buffer);
        }
      };
      for (let i = 0; i < 1500; i++) {
        pending += writeLine(out, random, sizes, i);
        const next = random();
        if (next < 0.3) {
          take();
          expected += pending;
          pending = "";
        } else if (next < 0.33) {
          out.discard();
          pending = "";
        }
        // the writer lags behind by a random number of parts
        if (random() < 0.4) release(Math.floor(random() * 4));
      }
      take();
      expected += pending;
      release(unreleased.length);
      expect(Buffer.concat(got).toString("utf8")).toBe(expected);
      return arrays.size;
    };
    const reused = run(new OutputBlocks());
    const fresh = run();
    expect(fresh).toBeGreaterThan(10);
    expect(reused).toBeGreaterThan(0);
    expect(reused).toBeLessThan(fresh / 2);
  });

  it("with OutputBlocks, never reuses a block whose parts are kept unreleased", () => {
    const blocks = new OutputBlocks();
    const out = new ByteLines(blocks);
    const kept: { part: Buffer; copy: Buffer }[] = [];
    for (let i = 0; i < 200; i++) {
      out.text(`${i}:${"x".repeat(10_000)}`);
      out.endLine();
      for (const part of out.takeParts()) kept.push({ part, copy: Buffer.from(part) });
    }
    for (const { part, copy } of kept) expect(part.equals(copy)).toBe(true);
  });
});
