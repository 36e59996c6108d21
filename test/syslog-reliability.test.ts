import { afterAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN } from "./helpers/paths.js";
import { haveImrelp, startRelpRsyslog, type RelpRsyslog } from "./helpers/rsyslog-relp.js";
import { makePki } from "./helpers/tls.js";
import { shAsync } from "./helpers/run.js";
import { readFrames } from "./helpers/syslog-frames.js";

/** syslog-send over RELP (acknowledged) and what --stats says of plain tcp (issue 13, section 2). */

const record = (i: number) => `${JSON.stringify({ summary: `line ${i}`, details: { seq: i } })}\n`;
const seqOf = (line: string) => Number(/"seq": ?(\d+)/.exec(line)?.[1] ?? NaN);

/** syslog-send with its stdin held open, so that the test decides when each part of the input arrives. */
function startSender(args: string[]) {
  const child = spawn(join(BIN, "syslog-send"), args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.stdin.on("error", () => undefined);
  const ended = new Promise<{ status: number | null; stderr: string }>((resolve) => child.on("close", (status) => resolve({ status, stderr })));
  return { write: (text: string) => child.stdin.write(text), end: () => child.stdin.end(), ended };
}

async function until(what: string, cond: () => boolean, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function statsNote(stderr: string) {
  const m = /read (\d+), sent (\d+), retried (\d+), dead-lettered (\d+) \(invalid \d+\), reconnects (\d+), (unconfirmed|possible duplicates) (\d+)/.exec(stderr);
  if (!m) throw new Error(`no stats in: ${stderr}`);
  return { read: +m[1], sent: +m[2], retried: +m[3], dead: +m[4], reconnects: +m[5], [m[6]]: +m[7] } as Record<string, number>;
}

describe.skipIf(!haveImrelp())("syslog-send relp:// into a real rsyslogd (imrelp)", () => {
  let rs: RelpRsyslog | undefined;
  afterAll(async () => rs?.dispose());

  it("delivers every line through a restart of rsyslog mid-run; --stats counts reconnects and possible duplicates", async () => {
    rs = await startRelpRsyslog();
    const dead = join(mkdtempSync(join(tmpdir(), "relp-send-")), "dead.ndjson");
    const total = 3000;
    const sender = startSender(["--server", `relp://127.0.0.1:${rs.port}`, "--wait-for-receiver", "60s", "--stats", "--dead-letter", dead]);
    for (let i = 0; i < 1000; i++) sender.write(record(i));
    // the restart comes once rsyslog took the first part, never by a clock
    await until("the first 1000 lines", () => rs!.lines().length >= 1000);
    await rs.stop();
    for (let i = 1000; i < 2000; i++) sender.write(record(i));
    await rs.start();
    for (let i = 2000; i < total; i++) sender.write(record(i));
    sender.end();
    const r = await sender.ended;
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(dead)).toBe(false);
    const got = rs.lines().map(seqOf);
    expect([...new Set(got)].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
    const s = statsNote(r.stderr);
    expect(s).toMatchObject({ read: total, sent: total, dead: 0 });
    expect(s.reconnects).toBeGreaterThanOrEqual(1);
    // every duplicate rsyslog wrote is one the stats announced
    expect(got.length - total).toBeLessThanOrEqual(s["possible duplicates"]);
  }, 120_000);
});

describe.skipIf(!haveImrelp())("relp+tls:// and mozdef-send's --only-syslog relp://", () => {
  it("syslog-send relp+tls:// with a client certificate: every line acknowledged", async () => {
    const pki = makePki();
    const rs = await startRelpRsyslog({ tls: { caFile: pki.caFile, certFile: join(pki.dir, "server.pem"), keyFile: join(pki.dir, "server.key") } });
    try {
      const input = Array.from({ length: 30 }, (_, i) => record(i)).join("");
      const r = await shAsync(`syslog-send --server relp+tls://127.0.0.1:${rs.port} --ca ${pki.caFile} --cert ${pki.clientCertFile} --key ${pki.clientKeyFile} --stats`, { input });
      expect(r.status, r.stderr).toBe(0);
      expect(rs.lines().map(seqOf)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(r.stderr).toBe("syslog-send: read 30, sent 30, retried 0, dead-lettered 0 (invalid 0), reconnects 0, possible duplicates 0\n");
    } finally {
      await rs.dispose();
    }
  }, 60_000);

  it("mozdef-send --only-syslog --syslog-server relp://", async () => {
    const rs = await startRelpRsyslog();
    try {
      const input = Array.from({ length: 10 }, (_, i) => record(i)).join("");
      const r = await shAsync(`mozdef-send --only-syslog --syslog-server relp://127.0.0.1:${rs.port} --stats`, { input });
      expect(r.status, r.stderr).toBe(0);
      expect(rs.lines().map(seqOf)).toEqual(Array.from({ length: 10 }, (_, i) => i));
      expect(r.stderr).toMatch(/read 10, sent 10, .*reconnects 0, possible duplicates 0\n$/);
    } finally {
      await rs.dispose();
    }
  }, 60_000);
});

describe("syslog-send over plain tcp: --stats says what may be lost", () => {
  it("a collector that drops the connection: a reconnect, and the lines written on the broken connection counted as unconfirmed", async () => {
    const got: number[] = [];
    let connections = 0;
    const server = createServer((socket: Socket) => {
      const first = connections++ === 0;
      readFrames(socket, (frame) => {
        got.push(seqOf(frame));
        // a restart: the first connection ends after 50 lines
        if (first && got.length === 50) {
          socket.destroy();
          return false;
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const sender = startSender(["--server", `tcp://127.0.0.1:${port}`, "--stats", "--dead-letter", "/dev/null"]);
      for (let i = 0; i < 50; i++) sender.write(record(i));
      await until("50 lines and the first connection's end", () => got.length >= 50);
      for (let i = 50; i < 100; i++) sender.write(record(i));
      sender.end();
      const r = await sender.ended;
      expect(r.status, r.stderr).toBe(0);
      const s = statsNote(r.stderr);
      expect(s).toMatchObject({ read: 100, sent: 100, dead: 0 });
      expect(s.reconnects).toBeGreaterThanOrEqual(1);
      expect(s.unconfirmed).toBeGreaterThanOrEqual(50);
      // what the collector never got is among the unconfirmed lines
      expect(100 - new Set(got).size).toBeLessThanOrEqual(s.unconfirmed);
      expect(connections).toBe(s.reconnects + 1);
    } finally {
      server.close();
    }
  }, 60_000);

  it("a clean run: no reconnects, nothing unconfirmed (the collector closing after our end confirms the last connection)", async () => {
    const server = createServer((socket: Socket) => {
      socket.on("error", () => undefined);
      socket.resume();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const sender = startSender(["--server", `tcp://127.0.0.1:${port}`, "--stats"]);
      for (let i = 0; i < 20; i++) sender.write(record(i));
      sender.end();
      const r = await sender.ended;
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe("syslog-send: read 20, sent 20, retried 0, dead-lettered 0 (invalid 0), reconnects 0, unconfirmed 0\n");
    } finally {
      server.close();
    }
  });
});
