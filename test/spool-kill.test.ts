import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN } from "./helpers/paths.js";
import { startServer, type Received } from "./helpers/http-server.js";
import { decodeAckRange, segmentFirstId } from "../src/delivery/spool-format.js";
import { seeded } from "./helpers/seeded.js";


const event = (i: number) => JSON.stringify({ summary: `event ${i}`, details: { seq: i }, severity: "warning" });
const seqsOf = (r: Received): number[] => {
  const doc = JSON.parse(r.body) as { details: { seq: number } } | { details: { seq: number } }[];
  return (Array.isArray(doc) ? doc : [doc]).map((d) => d.details.seq);
};

/**
 * How many records the killed run had made durable: its ids are a sequence
 * from 0 in input order, so the highest one in a segment (whole lines only)
 * or in the ack log says how far into the input the spool reached.
 */
function durableCount(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const first = segmentFirstId(name);
    if (first === undefined) continue;
    const bytes = readFileSync(join(dir, name));
    let lines = 0;
    for (const b of bytes) if (b === 0x0a) lines++;
    n = Math.max(n, first + lines);
  }
  const acks = join(dir, "acks.log");
  if (existsSync(acks)) {
    for (const line of readFileSync(acks, "latin1").split("\n")) {
      const range = line ? decodeAckRange(Buffer.from(line, "latin1")) : undefined;
      if (range) n = Math.max(n, range[1]);
    }
  }
  return n;
}

function run(args: string[], onSpawn?: (pid: number) => void) {
  const child = spawn(join(BIN, "mozdef-send"), args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  if (child.pid) onSpawn?.(child.pid);
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stderr })));
}

describe("kill -9 with --spool: nothing lost", () => {
  const SEED = 0x5eed13;
  const ROUNDS = 24;
  const summary: string[] = [];
  let totalDuplicates = 0;

  for (let round = 0; round < ROUNDS; round++) {
    const batched = round % 2 === 1;
    it(`round ${round} (${batched ? "--batch 100" : "single posts"}): SIGKILL at a random request, restart with the same --spool`, async () => {
      const random = seeded(SEED + round);
      const n = batched ? 3000 : 200;
      const requests = batched ? n / 100 : n;
      const killAt = 1 + Math.floor(random() * requests);
      let pid = 0;
      let killing = true;
      // a few records refused for good (dead-lettered) and a few requests failing once (retried)
      const server = await startServer((req, count) => {
        if (killing && count === killAt) process.kill(pid, "SIGKILL");
        if (seqsOf(req).some((s) => s % 89 === 5)) return "400";
        return count % 13 === 0 ? "500" : "ok";
      });
      try {
        const dir = mkdtempSync(join(tmpdir(), "spool-kill-"));
        const spool = join(dir, "spool");
        const dead = join(dir, "dead.ndjson");
        const lines = Array.from({ length: n }, (_, i) => event(i));
        writeFileSync(join(dir, "in.ndjson"), lines.join("\n") + "\n");
        const url = batched ? `${server.url}/_bulk` : `${server.url}/events`;
        const common = ["--url", url, "--spool", spool, "--dead-letter", dead, "--retries", "3", "--stats", ...(batched ? ["--batch", "100", "--concurrency", "2"] : ["--concurrency", "4"])];

        const first = await run([...common, join(dir, "in.ndjson")], (p) => (pid = p));
        expect(first.signal, first.stderr).toBe("SIGKILL");
        killing = false;

        // the restart sends what the spool holds, then the input the killed run had not made durable
        const k = durableCount(spool);
        writeFileSync(join(dir, "rest.ndjson"), lines.slice(k).join("\n") + (k < n ? "\n" : ""));
        const second = await run([...common, join(dir, "rest.ndjson")]);
        expect(second.signal).toBe(null);
        expect([0, 1]).toContain(second.code);

        const accepted = new Map<number, number>();
        for (const r of server.accepted) for (const s of seqsOf(r)) accepted.set(s, (accepted.get(s) ?? 0) + 1);
        const deadSeqs = existsSync(dead) ? readFileSync(dead, "utf8").trim().split("\n").map((l) => seqsOf({ body: (JSON.parse(l) as { line: string }).line } as Received)[0]) : [];
        const deadCount = new Map<number, number>();
        for (const s of deadSeqs) deadCount.set(s, (deadCount.get(s) ?? 0) + 1);
        const lost = lines.map((_, i) => i).filter((i) => !accepted.has(i) && !deadCount.has(i));
        const duplicates = lines.map((_, i) => i).reduce((d, i) => d + Math.max(0, (accepted.get(i) ?? 0) + (deadCount.get(i) ?? 0) - 1), 0);
        totalDuplicates += duplicates;
        summary.push(`round ${round}: ${n} records, killed at request ${killAt}, ${k} durable, ${duplicates} duplicate(s), ${lost.length} lost`);
        expect(lost, `seed ${SEED + round}`).toEqual([]);
        // every record refused for good is in the dead-letter file
        for (let i = 0; i < n; i++) if (i % 89 === 5) expect(deadCount.has(i)).toBe(true);
        // the spool is empty afterwards
        expect(readdirSync(spool).filter((f) => f.startsWith("seg-"))).toEqual([]);
      } finally {
        await server.close();
      }
    });
  }

  it("reports the duplicates (at-least-once)", () => {
    console.log(`${summary.join("\n")}\ntotal duplicates over ${ROUNDS} rounds: ${totalDuplicates}`);
    expect(summary.length).toBe(ROUNDS);
  });
});
