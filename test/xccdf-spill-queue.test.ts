import { describe, expect, it } from "vitest";
import { SpillQueue } from "../src/readers/xccdf/spill-queue.js";
import { seeded } from "./helpers/seeded.js";

describe("SpillQueue", () => {
  it("gives back what it was given, in order, through its file, with pushes between shifts", () => {
    const queue = new SpillQueue(100);
    const given: string[] = [];
    const taken: string[] = [];
    let n = 0;
    const push = (count: number) => {
      for (let k = 0; k < count; k++) {
        const entry = `${n++} ${"é名😀".repeat(n % 7)} ${"x".repeat(n % 300)}`;
        given.push(entry);
        queue.push(entry);
      }
    };
    push(500);
    for (let k = 0; k < 200; k++) taken.push(queue.shift()!);
    push(300);
    expect(queue.size).toBe(600);
    for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) taken.push(entry);
    expect(taken).toEqual(given);
    expect(queue.size).toBe(0);
    push(3);
    expect([queue.shift(), queue.shift(), queue.shift(), queue.shift()]).toEqual([...given.slice(-3), undefined]);
    queue.close();
  });

  it("reads back an entry longer than its read size", () => {
    const queue = new SpillQueue(10, 16);
    const long = "y".repeat(1000);
    for (const entry of ["a", long, "b", long]) queue.push(entry);
    expect([queue.shift(), queue.shift(), queue.shift(), queue.shift(), queue.shift()]).toEqual(["a", long, "b", long, undefined]);
    queue.close();
  });

  it("keeps first-in first-out order through memory and file at any memory size, pushes and shifts mixed at random", () => {
    const next = seeded(12345);
    const random = (n: number) => Math.floor(next() * n);
    const pieces = ["a", "é", "名", "😀", " ", "\\u00e9", "{}"];
    for (const memoryBytes of [1, 7, 64, 300, 4096, 512 * 1024]) {
      const queue = new SpillQueue(memoryBytes, 1 + random(600));
      const expected: string[] = [];
      let n = 0;
      for (let step = 0; step < 3000; step++) {
        if (random(3) > 0) {
          let entry = `${n++}:`;
          for (let k = random(random(10) === 0 ? 2000 : 60); k > 0; k--) entry += pieces[random(pieces.length)];
          queue.push(entry);
          expected.push(entry);
        } else {
          expect(queue.shift(), `memory ${memoryBytes}, step ${step}`).toBe(expected.shift());
        }
        expect(queue.size).toBe(expected.length);
      }
      for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) expect(entry).toBe(expected.shift());
      expect(expected).toEqual([]);
      queue.close();
    }
  });
});
