import { afterEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN } from "./helpers/paths.js";
import { shAsync } from "./helpers/run.js";
import { until } from "./helpers/until.js";
import { closedPort, startServer, type Received, type TestServer } from "./helpers/http-server.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const event = (i: number, pad = 0) => JSON.stringify({ summary: `event ${i}`, details: { seq: i, pad: "x".repeat(pad) }, severity: "warning" });
const events = (n: number, pad = 0) => Array.from({ length: n }, (_, i) => event(i, pad)).join("\n") + "\n";
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const seqOf = (line: string) => (JSON.parse(line) as { details: { seq: number } }).details.seq;
const acceptedSeqs = (accepted: Received[]) => accepted.map((r) => seqOf(r.body)).sort((a, b) => a - b);

function workdir() {
  const dir = mkdtempSync(join(tmpdir(), "spoolwire-"));
  return { dir, dead: join(dir, "dead.ndjson"), spool: join(dir, "spool"), input: join(dir, "in.ndjson") };
}

function deadEntries(file: string): { dead_letter: { reason: string; record: number }; line: string }[] {
  return existsSync(file) && readFileSync(file, "utf8").trim() ? readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l)) : [];
}
const deadSeqs = (file: string) => deadEntries(file).map((e) => seqOf(e.line)).sort((a, b) => a - b);

/** Records written to the spool's segment files so far (whole lines). */
function spooledLines(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const name of readdirSync(dir).filter((f) => f.startsWith("seg-"))) {
    const text = readFileSync(join(dir, name));
    for (const byte of text) if (byte === 0x0a) n++;
  }
  return n;
}

describe("replaying the dead-letter file into the command that writes it", () => {
  for (const form of ["stdin", "argument"] as const) {
    it(`as ${form}, with the receiver down: each record is in the file exactly once afterwards, nothing else is left`, async () => {
      const url = `http://127.0.0.1:${await closedPort()}/events`;
      const w = workdir();
      writeFileSync(w.input, events(40));
      const first = await shAsync(`mozdef-send --url ${url} --retries 0 --dead-letter ${w.dead} ${w.input}`);
      expect(first.status).toBe(1);
      expect(deadSeqs(w.dead)).toEqual(range(40));
      const replay = await shAsync(`mozdef-send --url ${url} --retries 0 --stats --dead-letter ${w.dead} ${form === "stdin" ? `< ${w.dead}` : w.dead}`);
      expect(replay.status).toBe(1);
      expect(replay.stderr).toMatch(/read 40, sent 0, retried 0, dead-lettered 40/);
      expect(deadSeqs(w.dead)).toEqual(range(40));
      // refused, in the transport's words or the circuit's (the rest once the receiver is known to be down)
      expect(deadEntries(w.dead).every((e) => /ECONNREFUSED|connection refused/.test(e.dead_letter.reason))).toBe(true);
      expect(readdirSync(w.dir).sort()).toEqual(["dead.ndjson", "in.ndjson"]);
    });
  }

  it("syslog-send the same (stdin, the collector down)", async () => {
    const server = `tcp://127.0.0.1:${await closedPort()}`;
    const w = workdir();
    writeFileSync(w.input, events(10));
    expect((await shAsync(`syslog-send --server ${server} --retries 0 --dead-letter ${w.dead} ${w.input}`)).status).toBe(1);
    const replay = await shAsync(`syslog-send --server ${server} --retries 0 --dead-letter ${w.dead} < ${w.dead}`);
    expect(replay.status).toBe(1);
    expect(deadSeqs(w.dead)).toEqual(range(10));
    expect(readdirSync(w.dir).sort()).toEqual(["dead.ndjson", "in.ndjson"]);
  });

  it("interrupted by SIGTERM part way through a long file: what was not read goes back as it was, each record once", async () => {
    let hang = true;
    server = await startServer(() => (hang ? "hang" : "ok"));
    const url = `${server.url}/events`;
    const w = workdir();
    const n = 3000; // ~500 KB: several reads, and reading pauses while the one request hangs
    writeFileSync(w.input, events(n, 100));
    hang = false;
    const refused = `http://127.0.0.1:${await closedPort()}/events`;
    expect((await shAsync(`mozdef-send --url ${refused} --retries 0 --concurrency 8 --dead-letter ${w.dead} ${w.input}`)).status).toBe(1);
    expect(deadSeqs(w.dead)).toEqual(range(n));
    hang = true;
    let pid = 0;
    const run = shAsync(`exec mozdef-send --url ${url} --concurrency 1 --timeout 2 --stats --dead-letter ${w.dead} < ${w.dead}`, { onSpawn: (p) => (pid = p) });
    await until(() => server!.all.length >= 1, "the first request");
    process.kill(pid, "SIGTERM");
    const r = await run;
    expect(r.status).toBe(143);
    const read = Number(/read (\d+)/.exec(r.stderr)![1]);
    expect(read).toBeLessThan(n); // the rest was never read...
    expect(deadSeqs(w.dead)).toEqual(range(n)); // ...and is back in the file, with what was read and not sent
    expect(readdirSync(w.dir).filter((f) => f.includes("replaying"))).toEqual([]);
  });
});

describe("--spool", () => {
  it("SIGTERM leaves what was read in the spool, not the dead-letter file; the next run with the same --spool delivers it", async () => {
    let hang = true;
    server = await startServer(() => (hang ? "hang" : "ok"));
    const w = workdir();
    const n = 1000;
    const child = spawn(join(BIN, "mozdef-send"), ["--url", `${server.url}/events`, "--concurrency", "2", "--timeout", "2", "--stats", "--spool", w.spool, "--dead-letter", w.dead]);
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
    child.stdin.write(events(n)); // the pipe stays open: a producer still running
    await until(() => server!.all.length >= 2 && spooledLines(w.spool) >= n, "two requests and every line spooled");
    child.kill("SIGTERM");
    // its read of the still open pipe cannot be cancelled: it ends by the signal's default action once it has reported
    const { code, signal } = await exited;
    child.stdin.destroy();
    expect(code === 143 || signal === "SIGTERM").toBe(true);
    expect(stderr).toMatch(new RegExp(`read ${n}, sent 0, retried 0, dead-lettered 0 \\(invalid 0\\), kept in the spool ${n}`));
    expect(stderr).toMatch(/1000 kept in the spool .* \(sent first by the next run with --spool/);
    expect(existsSync(w.dead)).toBe(false);

    hang = false;
    const again = await shAsync(`mozdef-send --url ${server.url}/events --stats --spool ${w.spool} --dead-letter ${w.dead} < /dev/null`);
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`read ${n}, sent ${n}, .*from the spool ${n}`));
    expect(acceptedSeqs(server.accepted)).toEqual(range(n));
    expect(readdirSync(w.spool).filter((f) => f.startsWith("seg-"))).toEqual([]);
  });

  it("records dead-lettered are done: a restart sends nothing again", async () => {
    server = await startServer((req) => (seqOf(req.body) % 3 === 0 ? "400" : "ok"));
    const w = workdir();
    writeFileSync(w.input, events(30));
    const r = await shAsync(`mozdef-send --url ${server.url}/events --spool ${w.spool} --dead-letter ${w.dead} ${w.input}`);
    expect(r.status).toBe(1);
    expect(deadSeqs(w.dead)).toEqual(range(30).filter((i) => i % 3 === 0));
    const again = await shAsync(`mozdef-send --url ${server.url}/events --stats --spool ${w.spool} --dead-letter ${w.dead} < /dev/null`);
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/read 0, sent 0/);
    expect(server.all.length).toBe(30);
  });

  it("a second sender on the same spool is a usage error", async () => {
    const w = workdir();
    let hang = true;
    server = await startServer(() => (hang ? "hang" : "ok"));
    let pid = 0;
    writeFileSync(w.input, events(5));
    const first = shAsync(`exec mozdef-send --url ${server.url}/events --timeout 2 --retries 0 --spool ${w.spool} --dead-letter ${w.dead} ${w.input}`, { onSpawn: (p) => (pid = p) });
    await until(() => server!.all.length >= 1, "the first request");
    const second = await shAsync(`mozdef-send --url ${server.url}/events --spool ${w.spool} --dead-letter ${w.dead} < /dev/null`);
    expect(second.status).toBe(2);
    expect(second.stderr).toMatch(/spool/);
    hang = false;
    process.kill(pid, "SIGTERM");
    await first;
  });
});

describe("over-long lines", () => {
  it("a line over twice --max-size is dead-lettered with its number and size, not held; the others go", async () => {
    server = await startServer();
    const w = workdir();
    writeFileSync(w.input, `${event(0)}\n${event(1, 200_000)}\n${event(2)}\n`);
    const r = await shAsync(`mozdef-send --url ${server.url}/events --max-size 10000 --dead-letter ${w.dead} ${w.input}`);
    expect(r.status).toBe(1);
    expect(acceptedSeqs(server.accepted)).toEqual([0, 2]);
    const [entry] = deadEntries(w.dead);
    expect(entry.dead_letter.record).toBe(2);
    expect(entry.dead_letter.reason).toMatch(/a line of 2000\d\d bytes, longer than the 85536 bytes taken; its bytes were not kept/);
    expect(entry.line).toBe("");
  });
});
