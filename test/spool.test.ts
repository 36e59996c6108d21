import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Spool, type SpoolWarning } from "../src/delivery/spool.js";
import { DoneSet } from "../src/delivery/spool-done.js";
import { PipeError } from "../src/errors.js";
import { ROOT } from "./helpers/paths.js";
import { seeded } from "./helpers/seeded.js";

const SPOOL_MODULE = join(ROOT, "src/delivery/spool.ts");

function tempDir(): string {
  return join(mkdtempSync(join(tmpdir(), "spool-test-")), "spool");
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith("seg-")).sort();
}


function shuffle<T>(items: T[], rnd: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

async function replayAll(spool: Spool) {
  const out: { id: number; line: string }[] = [];
  for await (const r of spool.replay()) out.push(r);
  return out;
}

async function* lines(n: number, make = (i: number) => JSON.stringify({ n: i })) {
  for (let i = 0; i < n; i++) yield make(i);
}

describe("spool", () => {
  it("appends, acks and, reopened, yields exactly what was not acked, in order", async () => {
    const dir = tempDir();
    const spool = await Spool.open({ dir });
    const ids = await Promise.all(Array.from({ length: 100 }, (_, i) => spool.append(`{"n":${i}}`)));
    expect(ids).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await Promise.all(ids.filter((id) => id % 3 === 0).map((id) => spool.ack(id)));
    await spool.close();

    const again = await Spool.open({ dir });
    expect(again.stats().recovered).toBe(66);
    const replayed = await replayAll(again);
    expect(replayed).toEqual(ids.filter((id) => id % 3 !== 0).map((id) => ({ id, line: `{"n":${id}}` })));
    // new records get new ids, after the recovered ones
    expect(await again.append("new")).toBe(100);
    await Promise.all([...replayed.map((r) => again.ack(r.id)), again.ack(100)]);
    await again.close();

    const last = await Spool.open({ dir });
    expect(last.stats().recovered).toBe(0);
    expect(await replayAll(last)).toEqual([]);
    await last.close();
    expect(segmentFiles(dir)).toEqual([]);
  });

  it("feed yields every line once it is spooled, in order, and keeps those not acked for the next run", async () => {
    const dir = tempDir();
    const spool = await Spool.open({ dir, syncEveryRecords: 64 });
    let seen = 0;
    for await (const { id, item } of spool.feed(lines(5000), (l) => l)) {
      expect(JSON.parse(item).n).toBe(seen);
      expect(id).toBe(seen);
      if (seen % 1000 !== 7) void spool.ack(id);
      seen++;
    }
    expect(seen).toBe(5000);
    await spool.close();
    const again = await Spool.open({ dir });
    expect((await replayAll(again)).map((r) => r.id)).toEqual([7, 1007, 2007, 3007, 4007]);
    await again.close();
  });

  it("feedBatches hands over what became durable together, in order, and a line it cannot take ends it after the lines before it", async () => {
    const dir = tempDir();
    // groups written only when full (no timer in play): what a batch holds does not depend on timing
    const spool = await Spool.open({ dir, syncEveryRecords: 100, syncEveryMs: 3_600_000, maxBytes: 64 * 1024 });
    const big = "x".repeat(70 * 1024);
    const ids: number[] = [];
    const sizes: number[] = [];
    const run = async () => {
      for await (const batch of spool.feedBatches(lines(1000, (i) => (i === 700 ? big : `{"n":${i}}`)), (l) => l)) {
        sizes.push(batch.length);
        for (const { id, item } of batch) {
          expect(JSON.parse(item).n).toBe(id);
          ids.push(id);
          void spool.ack(id);
        }
      }
    };
    await expect(run()).rejects.toThrow(/larger than the spool's maximum/);
    expect(ids).toEqual(Array.from({ length: 700 }, (_, i) => i));
    // a group (or more) at a time, not a record at a time
    expect(sizes.every((n) => n > 0 && n % 100 === 0)).toBe(true);
    await spool.close();
  });

  it("a consumer that stops early leaves what feed read ahead in the spool", async () => {
    const dir = tempDir();
    const spool = await Spool.open({ dir, syncEveryRecords: 16, readAhead: 100 });
    let taken = 0;
    for await (const { id } of spool.feed(lines(1000), (l) => l)) {
      void spool.ack(id);
      if (++taken === 10) break;
    }
    const appended = spool.stats().appended;
    expect(appended).toBeGreaterThan(10);
    await spool.close();
    const again = await Spool.open({ dir });
    const rest = await replayAll(again);
    expect(rest.map((r) => r.id)).toEqual(Array.from({ length: appended - 10 }, (_, i) => i + 10));
    await again.close();
  });

  it("reports a torn last line and a damaged line, yields neither, and goes on after them", async () => {
    const dir = tempDir();
    const spool = await Spool.open({ dir });
    for (let i = 0; i < 5; i++) await spool.append(`{"n":${i}}`);
    await spool.close();
    const [seg] = segmentFiles(dir);
    const path = join(dir, seg);
    // a damaged byte in record 2, and half a line (an interrupted write) at the end
    const text = readFileSync(path, "latin1").replace('{"n":2}', '{"n":9}');
    writeFileSync(path, `${text}0badf00d {"n":`, "latin1");

    const warnings: SpoolWarning[] = [];
    const again = await Spool.open({ dir, onWarning: (w) => warnings.push(w) });
    expect(warnings.map((w) => w.kind)).toEqual(["torn"]);
    expect(warnings[0]).toMatchObject({ file: path, offset: text.length, bytes: 14 });
    const replayed = await replayAll(again);
    expect(replayed.map((r) => r.line)).toEqual(['{"n":0}', '{"n":1}', '{"n":3}', '{"n":4}']);
    expect(warnings.map((w) => w.kind)).toEqual(["torn", "corrupt"]);
    expect(warnings[1].id).toBe(2);
    // the torn bytes are cut off, so the next record starts a clean line
    expect(readFileSync(path, "latin1")).toBe(text);
    expect(await again.append("after")).toBe(5);
    await again.close();

    const third = await Spool.open({ dir, onWarning: (w) => warnings.push(w) });
    expect((await replayAll(third)).map((r) => r.line)).toEqual(['{"n":0}', '{"n":1}', '{"n":3}', '{"n":4}', "after"]);
    expect(warnings).toHaveLength(2); // the damaged record was counted done when reported
    await third.close();
  });

  it("deletes a segment once all its records are acked, and only then", async () => {
    const dir = tempDir();
    const spool = await Spool.open({ dir, segmentBytes: 4096, syncEveryRecords: 8 });
    const record = "x".repeat(500);
    const ids: number[] = [];
    for (let i = 0; i < 40; i++) ids.push(await spool.append(record));
    const before = segmentFiles(dir);
    expect(before.length).toBeGreaterThanOrEqual(4);
    // every record but the last of the first segment: nothing can go
    const firstSegmentEnds = Number(before[1].slice(4, 20));
    await Promise.all(ids.slice(0, firstSegmentEnds - 1).map((id) => spool.ack(id)));
    expect(segmentFiles(dir)).toEqual(before);
    await spool.ack(firstSegmentEnds - 1);
    expect(segmentFiles(dir)).toEqual(before.slice(1));
    await Promise.all(ids.map((id) => spool.ack(id)));
    await spool.close();
    expect(segmentFiles(dir)).toEqual([]);
  });

  it("makes an append wait when the spool is full, until acks free a segment; it drops nothing", async () => {
    const dir = tempDir();
    let blockedCalls = 0;
    const spool = await Spool.open({ dir, maxBytes: 16384, segmentBytes: 4096, syncEveryRecords: 4, onBlocked: () => blockedCalls++ });
    const record = "y".repeat(990); // 1000 bytes a line
    const ids: number[] = [];
    let waiting: Promise<number> | undefined;
    for (let i = 0; i < 100 && !waiting; i++) {
      const p = spool.append(`${record}${i % 10}`);
      if (spool.stats().blocked) waiting = p;
      else ids.push(await p);
    }
    expect(waiting).toBeDefined();
    expect(blockedCalls).toBe(1);
    expect(ids.length).toBeGreaterThanOrEqual(12);
    expect(spool.stats().bytes).toBeLessThanOrEqual(16384);
    let resolved = false;
    void waiting!.then(() => (resolved = true));
    // acking the newest records frees nothing: the oldest segment still holds records not done
    await Promise.all(ids.slice(4).map((id) => spool.ack(id)));
    await spool.ack(ids[ids.length - 1]);
    expect(resolved).toBe(false);
    const late = spool.append("later"); // queued behind the waiting one, never ahead of it
    await Promise.all(ids.slice(0, 4).map((id) => spool.ack(id)));
    const id = await waiting!;
    expect(id).toBe(ids.length);
    expect(await late).toBe(ids.length + 1);
    expect(spool.stats().bytes).toBeLessThanOrEqual(16384);
    await expect(spool.append("z".repeat(20000))).rejects.toThrow(/larger than the spool's maximum/);
    await spool.close();
    const again = await Spool.open({ dir, maxBytes: 16384 });
    expect((await replayAll(again)).map((r) => r.id)).toEqual([id, id + 1]);
    await again.close();
  });

  it("closing a full spool still writes the records waiting for room: nothing handed to it is dropped", async () => {
    const dir = tempDir();
    const spool = await Spool.open({ dir, maxBytes: 8192, segmentBytes: 4096 });
    const appends: Promise<number>[] = [];
    for (let i = 0; !spool.stats().blocked; i++) {
      const p = spool.append(`${"w".repeat(900)}${i}`);
      appends.push(p);
      if (!spool.stats().blocked) await p;
    }
    await spool.close();
    expect(await Promise.all(appends)).toEqual(appends.map((_, i) => i));
    const again = await Spool.open({ dir, maxBytes: 8192 });
    expect((await replayAll(again)).map((r) => r.id)).toEqual(appends.map((_, i) => i));
    await again.close();
  });

  it("takes acks in any order, and remembers them compactly", async () => {
    const dir = tempDir();
    const rnd = seeded(7);
    const spool = await Spool.open({ dir, syncEveryRecords: 32 });
    const ids = await Promise.all(Array.from({ length: 3000 }, (_, i) => spool.append(`r${i}`)));
    const held = new Set(shuffle([...ids], rnd).slice(0, 50));
    const order = shuffle(ids.filter((id) => !held.has(id)), rnd);
    await Promise.all(order.map((id) => spool.ack(id)));
    await Promise.all(order.slice(0, 100).map((id) => spool.ack(id))); // twice is harmless
    expect(spool.stats().pending).toBe(50);
    await spool.close();
    const again = await Spool.open({ dir });
    expect((await replayAll(again)).map((r) => r.id)).toEqual([...held].sort((a, b) => a - b));
    await again.close();
  });

  it("DoneSet: a low-water mark plus a bitmap that slides up with it", () => {
    const rnd = seeded(11);
    const set = new DoneSet();
    const n = 200_000;
    // acks arrive out of order within a window of 1000, as concurrent batches would
    const ids = Array.from({ length: n }, (_, i) => i);
    for (let from = 0; from < n; from += 1000) shuffle(ids.slice(from, from + 1000), rnd).forEach((id, k) => (ids[from + k] = id));
    expect(ids.filter((id) => set.add(id))).toHaveLength(n);
    expect(set.add(5)).toBe(false);
    expect(set.lwm).toBe(n);
    expect(set.footprint).toBeLessThanOrEqual(8192);
    set.add(n + 10);
    expect([set.has(n), set.has(n + 10), set.has(n + 11)]).toEqual([false, true, false]);
    expect([...set.runsAboveMark()]).toEqual([[n + 10, n + 11]]);
    expect(set.countDone(n - 5, n + 20)).toBe(6);
  });

  it("locks its directory: a second user is refused, a dead holder's lock is taken over", async () => {
    const dir = tempDir();
    const spool = await Spool.open({ dir });
    const second = Spool.open({ dir });
    await expect(second).rejects.toThrow(/in use by process \d+/);
    await expect(second).rejects.toBeInstanceOf(PipeError);
    await spool.close();
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
    writeFileSync(join(dir, "lock"), `${dead}\n`);
    const warnings: SpoolWarning[] = [];
    const third = await Spool.open({ dir, onWarning: (w) => warnings.push(w) });
    expect(warnings.map((w) => w.kind)).toEqual(["stale-lock"]);
    expect(readFileSync(join(dir, "lock"), "utf8")).toBe(`${process.pid}\n`);
    await third.close();
    expect(existsSync(join(dir, "lock"))).toBe(false);
  });

  it("survives SIGKILL at random points: acked records never come back, appended ones are never lost", async () => {
    const dir = tempDir();
    const ROUNDS = 24;
    const rnd = seeded(2024);
    const appended = new Map<number, string>(); // id -> "round:k", from append resolutions the child reported
    const ackIssued = new Set<number>();
    const ackDurable = new Set<number>();
    let duplicates = 0;
    let torn = 0;
    let fullReplays = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const killAfter = Math.floor(rnd() * 2500);
      const out = await runCrashChild(dir, round, Math.floor(rnd() * 2 ** 31), killAfter);
      const replayed = new Set<number>();
      // the report is in the order things happened: replay (R), its end (RD), then appends and acks
      for (const line of out.split("\n")) {
        const [tag, idText, key] = line.split(" ");
        const id = Number(idText);
        if (tag === "R") {
          expect(replayed.has(id)).toBe(false);
          replayed.add(id);
          expect(ackDurable.has(id), `record ${id} was acked before a kill yet came back`).toBe(false);
          if (appended.has(id)) expect(key).toBe(appended.get(id));
          else appended.set(id, key); // durable though the kill came before the child could say so
          if (ackIssued.has(id)) {
            duplicates++;
            ackIssued.delete(id); // acked in memory only: pending again
          }
        } else if (tag === "RD") {
          fullReplays++;
          // every record appended in an earlier round and never acked is yielded: nothing durable went missing
          for (const id of appended.keys()) if (!ackIssued.has(id) && !ackDurable.has(id)) expect(replayed.has(id), `record ${id} is missing`).toBe(true);
        } else if (tag === "A") appended.set(id, key);
        else if (tag === "a") ackIssued.add(id);
        else if (tag === "K") ackDurable.add(id);
        else if (tag === "W") torn += idText === "torn" ? 1 : 0;
      }
    }
    // the last word: this process opens the spool, and what it yields is exactly what is still owed
    const spool = await Spool.open({ dir, onWarning: (w) => (torn += w.kind === "torn" ? 1 : 0) });
    const final = await replayAll(spool);
    const finalIds = new Set(final.map((r) => r.id));
    for (const r of final) {
      expect(ackDurable.has(r.id)).toBe(false);
      const key = `${JSON.parse(r.line).r}:${JSON.parse(r.line).k}`;
      if (appended.has(r.id)) expect(key).toBe(appended.get(r.id));
    }
    for (const id of appended.keys()) if (!ackIssued.has(id) && !ackDurable.has(id)) expect(finalIds.has(id), `record ${id} is missing`).toBe(true);
    await Promise.all(final.map((r) => spool.ack(r.id)));
    await spool.close();
    expect(segmentFiles(dir)).toEqual([]);
    expect(fullReplays).toBeGreaterThan(ROUNDS / 2);
    expect(appended.size).toBeGreaterThan(ROUNDS * 100);
    console.log(`spool crash test: ${ROUNDS} kills, ${appended.size} records appended, ${ackDurable.size} acks durable, ${duplicates} yielded again after an ack lost in a kill, ${torn} torn lines reported`);
  });

  it("keeps memory flat through a million records appended and acked, and a million replayed", async () => {
    const code = `
      import { Spool } from ${JSON.stringify(SPOOL_MODULE)};
      const dir = process.argv[1];
      const mem = () => { globalThis.gc(); const m = process.memoryUsage(); return { heap: m.heapUsed, rss: m.rss }; };
      async function* lines(n) { for (let i = 0; i < n; i++) yield '{"event":"e","seq":' + i + ',"pad":"0123456789abcdef"}'; }
      const N = 1_000_000;
      const samples = {};
      let spool = await Spool.open({ dir, maxBytes: 256 * 1024 * 1024 });
      const t0 = Date.now();
      let n = 0;
      for await (const { id } of spool.feed(lines(N), (l) => l)) {
        void spool.ack(id);
        if (++n === 100_000) samples.fed100k = mem();
      }
      samples.fed1m = mem();
      const fedMs = Date.now() - t0;
      await spool.close();
      // a million records left not done, then replayed
      spool = await Spool.open({ dir, maxBytes: 256 * 1024 * 1024 });
      n = 0;
      for await (const _ of spool.feed(lines(N), (l) => l)) if (++n === 100_000) samples.kept100k = mem();
      await spool.close();
      spool = await Spool.open({ dir, maxBytes: 256 * 1024 * 1024 });
      const recovered = spool.stats().recovered;
      n = 0;
      for await (const r of spool.replay()) {
        void spool.ack(r.id);
        if (++n === 100_000) samples.replay100k = mem();
      }
      samples.replay1m = mem();
      await spool.close();
      console.log(JSON.stringify({ samples, fedMs, recovered, replayed: n }));
    `;
    const r = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", "--input-type=module", "-e", code, tempDir()], { cwd: ROOT, encoding: "utf8" });
    expect(r.stderr).toBe("");
    const { samples, fedMs, recovered, replayed } = JSON.parse(r.stdout);
    expect(recovered).toBe(1_000_000);
    expect(replayed).toBe(1_000_000);
    const MB = 1024 * 1024;
    expect(samples.fed1m.heap - samples.fed100k.heap).toBeLessThan(16 * MB);
    expect(samples.fed1m.rss - samples.fed100k.rss).toBeLessThan(64 * MB);
    expect(samples.replay1m.heap - samples.replay100k.heap).toBeLessThan(16 * MB);
    expect(samples.replay1m.rss - samples.replay100k.rss).toBeLessThan(64 * MB);
    console.log(`spool memory: ${JSON.stringify(samples)}; 1M appended+acked in ${fedMs} ms (${Math.round(1e6 / (fedMs / 1000))} records/s)`);
  });
});

/**
 * A child that replays what the spool holds, then appends and acks records
 * until it is killed with SIGKILL after `killAfter` lines of its report. It
 * reports, synchronously and in order: `R id r:k` for each record replayed,
 * `RD` when replay is over, `A id r:k` once an append resolved, `a id` just
 * before an ack, `K id` once the ack resolved, `W kind` for a warning.
 */
function runCrashChild(dir: string, round: number, seed: number, killAfter: number): Promise<string> {
  const code = `
    import { Spool } from ${JSON.stringify(SPOOL_MODULE)};
    import { writeSync } from "node:fs";
    const [dir, round, seed] = process.argv.slice(1);
    let a = Number(seed) >>> 0;
    const rnd = () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
    const say = (s) => {
      const b = Buffer.from(s + "\\n");
      // the pipe is non-blocking: wait for the parent to read rather than lose a line
      for (let at = 0; at < b.length; ) try { at += writeSync(1, b, at); } catch (e) { if (e.code !== "EAGAIN") throw e; }
    };
    const held = [];
    const leftover = [];
    const ack = (id) => { say("a " + id); spool.ack(id).then(() => say("K " + id)); };
    const spool = await Spool.open({
      dir, maxBytes: 8 * 1024 * 1024, segmentBytes: 64 * 1024, syncEveryRecords: 1 + Math.floor(rnd() * 64), syncEveryMs: 1 + Math.floor(rnd() * 4),
      onWarning: (w) => say("W " + w.kind),
      onBlocked: () => { for (const id of held.splice(0)) ack(id); for (const id of leftover.splice(0)) ack(id); },
    });
    for await (const r of spool.replay()) {
      const o = JSON.parse(r.line);
      say("R " + r.id + " " + o.r + ":" + o.k);
      if (rnd() < 0.8) ack(r.id);
      else leftover.push(r.id);
    }
    say("RD");
    const inflight = new Set();
    for (let k = 0; ; k++) {
      // now and then a scan-sized record, so a kill can land in the middle of writing one
      const size = rnd() < 0.02 ? 200_000 + Math.floor(rnd() * 800_000) : Math.floor(rnd() * 1500);
      const line = JSON.stringify({ r: Number(round), k, pad: "p".repeat(size) });
      const p = spool.append(line).then((id) => {
        say("A " + id + " " + round + ":" + k);
        const x = rnd();
        if (x < 0.6) ack(id);
        else held.push(id);
        if (held.length > 40) ack(held.splice(Math.floor(rnd() * held.length), 1)[0]);
      });
      inflight.add(p);
      p.finally(() => inflight.delete(p));
      if (inflight.size >= 32) await Promise.race(inflight);
    }
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code, dir, String(round), String(seed)], { cwd: ROOT });
    let out = "";
    let lines = 0;
    let err = "";
    const kill = () => child.kill("SIGKILL");
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      for (const c of d) if (c === "\n") lines++;
      if (lines >= killAfter) kill();
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("close", (status, signal) => {
      if (signal === "SIGKILL") resolve(out);
      else reject(new Error(`crash child ended by itself (${status}): ${err}`));
    });
  });
}
