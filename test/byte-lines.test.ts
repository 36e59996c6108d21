import { describe, expect, it } from "vitest";
import { ByteLines, utf8 } from "../src/streams/byte-lines.js";
import { seeded } from "./helpers/seeded.js";

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
      const size = sizes[Math.floor(random() * sizes.length)];
      const body = `${i}:${"é€x".repeat(Math.ceil(size / 3)).slice(0, size)}`;
      if (random() < 0.5) out.bytes(utf8(body));
      else out.text(body);
      out.endLine();
      pending += `${body}\n`;
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
});
