import { describe, expect, it } from "vitest";
import { ScratchLines } from "../src/util/scratch-lines.js";

describe("ScratchLines", () => {
  it("gives back lines by the byte ranges append returned: short, multi-byte, longer than its write buffer, and appended as bytes", () => {
    const file = new ScratchLines("compliance-pipes-test", 16, 32);
    const lines = ["a", "é名😀", "x".repeat(100), "", "b", "ü".repeat(40)];
    const starts = [file.append(lines[0]), file.append(lines[1]), file.append(lines[2])];
    starts.push(file.appendLines(Buffer.from(`${lines[3]}\n${lines[4]}\n`)));
    starts.push(file.append(lines[5]));
    expect(file.size).toBe(Buffer.byteLength(`${lines.join("\n")}\n`));
    expect([...file.lines(0, file.size)]).toEqual(lines);
    expect([...file.lines(starts[2], starts[3])]).toEqual([lines[2]]);
    expect([...file.lines(starts[1], starts[4])]).toEqual(lines.slice(1, 5));
    expect([...file.lines(starts[3], starts[4])]).toEqual(lines.slice(3, 5));
    expect([...file.lines(starts[4], file.size)]).toEqual([lines[5]]);
    file.close();
  });
});
