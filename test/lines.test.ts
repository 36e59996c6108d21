import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { readLines, type OversizeLine } from "../src/streams/lines.js";
import { inSlices } from "./helpers/chunks.js";
import { ROOT } from "./helpers/paths.js";

async function collect(data: Buffer, size: number, opts: Parameters<typeof readLines>[1] = {}) {
  const out: { text: string; number: number }[] = [];
  for await (const line of readLines(inSlices(data, size), opts)) out.push(line);
  return out;
}

describe("readLines", () => {
  const text = 'first\r\nsecond ünïcødé 😀\n\nfourth\nlast without LF';
  const expected = ["first", "second ünïcødé 😀", "", "fourth", "last without LF"].map((t, i) => ({ text: t, number: i + 1 }));

  it("gives the same lines whatever the chunk size (UTF-8 split across chunks)", async () => {
    for (const size of [1, 2, 3, 5, 7, 64, 1 << 16]) expect(await collect(Buffer.from(text), size), `size ${size}`).toEqual(expected);
    expect(await collect(Buffer.from("a\nb\n"), 1)).toEqual([{ text: "a", number: 1 }, { text: "b", number: 2 }]);
  });

  it("copies what it holds: a source that reuses its buffer does not corrupt a line", async () => {
    async function* reusing() {
      const buf = Buffer.alloc(4);
      for (const piece of ["abcd", "efgh", "ij\nk", "lmn\n"]) {
        buf.write(piece);
        yield buf;
      }
    }
    const out = [];
    for await (const line of readLines(reusing())) out.push(line.text);
    expect(out).toEqual(["abcdefghij", "klmn"]);
  });

  it("a line over the limit is an error with its line number, raised as the limit is passed", async () => {
    const data = Buffer.from(`ok\n${"x".repeat(100)}\nnever read\n`);
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const line of readLines(inSlices(data, 7), { maxLength: 50, source: "in.ndjson" })) seen.push(line.text);
      })(),
    ).rejects.toMatchObject({ code: "E_BAD_INPUT", message: "line longer than 50 bytes", position: { source: "in.ndjson", line: 2 } });
    expect(seen).toEqual(["ok"]);
  });

  it("with onOversize, an over-long line is skipped (number and size reported) and reading goes on", async () => {
    const data = Buffer.from(`ok\n${"x".repeat(100)}\nafter\n${"y".repeat(60)}`);
    for (const size of [1, 7, 1000]) {
      const skipped: OversizeLine[] = [];
      const lines = await collect(data, size, { maxLength: 50, onOversize: (l) => skipped.push(l) });
      expect(lines).toEqual([{ text: "ok", number: 1 }, { text: "after", number: 3 }]);
      expect(skipped).toEqual([{ number: 2, bytes: 100 }, { number: 4, bytes: 60 }]);
    }
  });
});

describe("readLines on one huge line: linear time, the line's bytes not held when over the limit", () => {
  // 32 MB in one line took 11 s and 417 MB with a RegExp splitter; the ceilings are generous
  const script = (mode: string) => `
    const { readLines } = await import(${JSON.stringify(join(ROOT, "dist/streams/lines.js"))});
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    async function* input() { for (let i = 0; i < 800; i++) yield chunk; yield Buffer.from("\\nend\\n"); }
    const t = Date.now(); let n = 0, skipped = 0;
    const opts = ${mode === "skip" ? "{ maxLength: 1 << 20, onOversize: (l) => (skipped = l.bytes) }" : "{}"};
    for await (const line of readLines(input(), opts)) n += line.text.length;
    console.log(JSON.stringify({ ms: Date.now() - t, n, skipped, rss: process.memoryUsage().rss }));`;

  for (const mode of ["keep", "skip"]) {
    it(`50 MB line, ${mode}`, () => {
      const r = spawnSync(process.execPath, ["--input-type=module", "-e", script(mode)], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      const { ms, n, skipped, rss } = JSON.parse(r.stdout) as { ms: number; n: number; skipped: number; rss: number };
      expect(ms).toBeLessThan(5000);
      if (mode === "skip") {
        expect({ n, skipped }).toEqual({ n: 3, skipped: 800 * 64 * 1024 });
        expect(rss).toBeLessThan(120 * 1024 * 1024);
      } else {
        expect(n).toBe(800 * 64 * 1024 + 3);
        expect(rss).toBeLessThan(400 * 1024 * 1024);
      }
    });
  }
});
