// The spool on its own: records/s appended (group fsync) and acked, for small
// records and for scan-sized ones, with RSS before and after.
// Run after `npm run build`: node bench/spool.mjs [records]
// (or from the sources: node --import tsx bench/spool.mjs)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const { Spool } = await import("../dist/delivery/spool.js").catch(() => import("../src/delivery/spool.ts"));

const n = Number(process.argv[2] ?? 300_000);
const mb = (b) => `${(b / 1024 / 1024).toFixed(0)} MB`;

async function* records(count, size) {
  const pad = "x".repeat(size);
  for (let i = 0; i < count; i++) yield `{"seq":${i},"pad":"${pad}"}`;
}

async function run(label, count, size, opts = {}) {
  const root = mkdtempSync(join(tmpdir(), "spool-bench-"));
  const spool = await Spool.open({ dir: join(root, "spool"), ...opts });
  const rss0 = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  let acks = [];
  for await (const { id } of spool.feed(records(count, size), (l) => l)) {
    acks.push(spool.ack(id));
    if (acks.length >= 4096) {
      await Promise.all(acks);
      acks = [];
    }
  }
  await Promise.all(acks);
  await spool.close();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${label}: ${count} records of ~${size} B appended+acked in ${s.toFixed(2)} s = ${Math.round(count / s)} records/s, ${(count * size) / s / 1e6 > 1 ? `${((count * size) / s / 1e6).toFixed(0)} MB/s, ` : ""}RSS ${mb(rss0)} -> ${mb(process.memoryUsage().rss)}`);
  rmSync(root, { recursive: true, force: true });
}

await run("small records, group fsync", n, 200);
await run("small records, fsync every 64", Math.min(n, 50_000), 200, { syncEveryRecords: 64 });
await run("scan-sized records", 200, 5 * 1024 * 1024, { maxBytes: 256 * 1024 * 1024 });
