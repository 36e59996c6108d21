import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { encodeFrame, followingTxnr, RelpClient, RelpParser, RELP_MAX_TXNR, type RelpFrame } from "../src/sinks/syslog/relp.js";
import { PipeError } from "../src/errors.js";
import { haveImrelp, startRelpRsyslog, type RelpRsyslog } from "./helpers/rsyslog-relp.js";
import { startRelpPeer, type RelpPeer } from "./helpers/relp-peer.js";
import { makePki } from "./helpers/tls.js";

const syslogLine = (i: number) => `<134>1 2026-01-02T03:04:05Z relp-test.example.net relp.test - - - line ${i}`;
const lineNumber = (line: string) => Number(/ line (\d+)$/.exec(line)?.[1] ?? NaN);
const text = (f: RelpFrame) => `${f.txnr} ${f.command} ${f.data.toString()}`;

describe("RELP framing", () => {
  it("encodes a frame with data, and one without (no space before the trailer)", () => {
    expect(encodeFrame(7, "syslog", Buffer.from("héllo")).toString()).toBe("7 syslog 6 héllo\n");
    expect(encodeFrame(0, "serverclose", Buffer.alloc(0)).toString()).toBe("0 serverclose 0\n");
  });

  it("parses frames split anywhere, binary-safe, LFs inside data included", () => {
    const wire = Buffer.concat([
      encodeFrame(1, "rsp", Buffer.from("200 OK\nrelp_version=0\ncommands=syslog\n")),
      encodeFrame(2, "rsp", Buffer.from("500 bad\u00e9")),
      encodeFrame(0, "serverclose", Buffer.alloc(0)),
    ]);
    const parser = new RelpParser();
    const frames: RelpFrame[] = [];
    for (let i = 0; i < wire.length; i++) frames.push(...parser.push(wire.subarray(i, i + 1)));
    expect(frames.map(text)).toEqual(["1 rsp 200 OK\nrelp_version=0\ncommands=syslog\n", "2 rsp 500 badé", "0 serverclose "]);
  });

  it("rejects what is not RELP framing", () => {
    expect(() => new RelpParser().push(Buffer.from("HTTP/1.1 400 Bad Request\r\n"))).toThrow(/bad RELP header/);
    expect(() => new RelpParser().push(Buffer.from("3 rsp 6 200 OKX"))).toThrow(/no LF after its data/);
    expect(() => new RelpParser().push(Buffer.from("x".repeat(80)))).toThrow(/no RELP header/);
  });
});

describe("RELP client against a scripted server", () => {
  let peer: RelpPeer | undefined;
  afterAll(async () => peer?.close());

  it("a 500 rsp rejects that line with the server's text; the others are acknowledged", async () => {
    peer = await startRelpPeer((f) => (f.data.toString() === "bad" ? "500 message rejected by policy" : "ok"));
    const client = new RelpClient({ host: "127.0.0.1", port: peer.port, window: 4 });
    const results = await Promise.allSettled(["a", "b", "bad", "c", "d"].map((l) => client.send(l)));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"]);
    const err = (results[2] as PromiseRejectedResult).reason;
    expect(err).toBeInstanceOf(PipeError);
    expect(err.message).toBe(`relp://127.0.0.1:${peer.port} refused the line: 500 message rejected by policy`);
    await client.close();
    expect(client.stats()).toEqual({ sent: 5, acked: 4, refused: 1, resent: 0, reconnects: 0, failed: 0 });
    // one session: open is txnr 1, the lines 2..6, close 7; the refused line was not re-sent
    expect(peer.connections.map((c) => c.frames.map((f) => `${f.txnr} ${f.command}`))).toEqual([
      ["1 open", "2 syslog", "3 syslog", "4 syslog", "5 syslog", "6 syslog", "7 close"],
    ]);
    expect(peer.connections[0].frames[0].data.toString()).toMatch(/^relp_version=0\nrelp_software=compliance-pipes\ncommands=syslog$/);
    await peer.close();
  });

  it("a refused session (rsyslog's answer to an open without the syslog command) fails every waiting line, without retrying", async () => {
    peer = await startRelpPeer((f) => (f.command === "open" ? "500 required command not supported by client" : "ok"));
    const client = new RelpClient({ host: "127.0.0.1", port: peer.port });
    const results = await Promise.allSettled([client.send("a"), client.send("b")]);
    expect(results.map((r) => r.status === "rejected" && r.reason.message)).toEqual([
      `relp://127.0.0.1:${peer.port} refused the session: 500 required command not supported by client`,
      `relp://127.0.0.1:${peer.port} refused the session: 500 required command not supported by client`,
    ]);
    expect(client.stats()).toMatchObject({ sent: 0, failed: 2, reconnects: 0 });
    expect(peer.connections.length).toBe(1);
    await client.close();
    await peer.close();
  });

  it("serverclose with lines unanswered: reconnects, a new session from txnr 1, the unanswered lines written again first", async () => {
    // first connection: answers open and the first two lines, takes two more without answering, then closes
    peer = await startRelpPeer((f, conn) => {
      if (conn.index > 0 || f.command === "open") return "ok";
      const syslogFrames = conn.frames.filter((x) => x.command === "syslog").length;
      if (syslogFrames <= 2) return "ok";
      if (syslogFrames === 4) conn.serverclose();
      return null;
    });
    const warnings: string[] = [];
    const client = new RelpClient({ host: "127.0.0.1", port: peer.port, window: 8, initialBackoffMs: 1, onWarning: (w) => warnings.push(w) });
    await Promise.all(["l0", "l1", "l2", "l3"].map((l) => client.send(l)));
    await client.close();
    const lines = (c: number) => peer!.connections[c].frames.filter((f) => f.command === "syslog").map((f) => `${f.txnr}:${f.data}`);
    expect(lines(0)).toEqual(["2:l0", "3:l1", "4:l2", "5:l3"]);
    expect(text(peer.connections[1].frames[0])).toMatch(/^1 open relp_version=0\n/);
    expect(lines(1)).toEqual(["2:l2", "3:l3"]);
    expect(client.stats()).toEqual({ sent: 4, acked: 4, refused: 0, resent: 2, reconnects: 1, failed: 0 });
    expect(warnings.join("\n")).toMatch(/serverclose.*2 lines written and not acknowledged/);
    await peer.close();
  });

  it("never more frames in flight than the window", async () => {
    // the peer answers only when it holds 3 unanswered lines, so a 4th line before an rsp would show here
    let mostUnanswered = 0;
    const unanswered: number[] = [];
    peer = await startRelpPeer((f, conn) => {
      if (f.command !== "syslog") return "ok";
      unanswered.push(f.txnr);
      mostUnanswered = Math.max(mostUnanswered, unanswered.length);
      if (unanswered.length === 3) for (const txnr of unanswered.splice(0)) conn.rsp(txnr, "200 OK");
      return null;
    });
    const client = new RelpClient({ host: "127.0.0.1", port: peer.port, window: 3 });
    await Promise.all(Array.from({ length: 9 }, (_, i) => client.send(`w${i}`)));
    await client.close();
    expect(mostUnanswered).toBe(3);
    expect(client.stats()).toMatchObject({ sent: 9, acked: 9 });
    await peer.close();
  });

  it("no rsp within timeoutMs: the connection is dropped and the line written again on a new one", async () => {
    peer = await startRelpPeer((f, conn) => (conn.index === 0 && f.command === "syslog" ? null : "ok"));
    const client = new RelpClient({ host: "127.0.0.1", port: peer.port, timeoutMs: 200, initialBackoffMs: 1 });
    await client.send("silent at first");
    await client.close();
    expect(peer.connections.map((c) => c.frames.filter((f) => f.command === "syslog").length)).toEqual([1, 1]);
    expect(client.stats()).toMatchObject({ sent: 1, acked: 1, resent: 1, reconnects: 1 });
    await peer.close();
  });

  it("an unreachable server: waiting lines are rejected after giveUpAfterMs, with the reason", async () => {
    peer = await startRelpPeer(() => "ok");
    const port = peer.port;
    await peer.close();
    peer = undefined;
    const client = new RelpClient({ host: "127.0.0.1", port, initialBackoffMs: 5, maxBackoffMs: 20, giveUpAfterMs: 300 });
    const err = await client.send("nowhere").catch((e: Error) => e);
    expect(err).toBeInstanceOf(PipeError);
    expect((err as Error).message).toMatch(new RegExp(`^relp://127.0.0.1:${port}: nothing acknowledged for \\d+ s; last problem: .*ECONNREFUSED`));
    expect(client.stats()).toMatchObject({ sent: 0, acked: 0, failed: 1 });
    await client.close();
  });

  it("too big a line is refused before it is sent (imrelp would abort the session on it)", async () => {
    const client = new RelpClient({ host: "127.0.0.1", port: 9, maxDataBytes: 10 });
    await expect(client.send("12345678901")).rejects.toThrow(/line of 11 bytes is over RELP's 10-byte frame limit/);
    await client.close();
    expect(client.stats().sent).toBe(0);
  });

  it("txnr wraps from 999999999 to 1", () => {
    expect(RELP_MAX_TXNR).toBe(999_999_999);
    expect([1, 41, RELP_MAX_TXNR - 1, RELP_MAX_TXNR].map(followingTxnr)).toEqual([2, 42, RELP_MAX_TXNR, 1]);
  });
});

describe.skipIf(!haveImrelp())("RELP client against a real rsyslogd (imrelp)", () => {
  let rs: RelpRsyslog;
  beforeAll(async () => {
    rs = await startRelpRsyslog();
  });
  afterAll(async () => {
    await rs?.dispose();
  });

  it("delivers every line, acknowledged, in order, byte for byte; close() ends the session", async () => {
    const client = new RelpClient({ host: "127.0.0.1", port: rs.port, window: 32 });
    const lines = [...Array.from({ length: 500 }, (_, i) => syslogLine(i)), "<134>1 - h app - - - unicode: é ✓ 日本", ""];
    await Promise.all(lines.map((l) => client.send(l)));
    expect(client.stats()).toEqual({ sent: 502, acked: 502, refused: 0, resent: 0, reconnects: 0, failed: 0 });
    await client.close();
    expect(rs.lines()).toEqual(lines);
  });

  it("refuses a session whose open does not offer the syslog command (what the scripted 500 above mirrors)", async () => {
    const socket = connect({ host: "127.0.0.1", port: rs.port });
    const parser = new RelpParser();
    const frames: RelpFrame[] = [];
    const offer = Buffer.from("relp_version=0\nrelp_software=test");
    socket.write(encodeFrame(1, "open", offer));
    await new Promise<void>((resolve) => {
      socket.on("data", (d: Buffer) => frames.push(...parser.push(d)));
      socket.on("close", () => resolve());
    });
    expect(frames.map(text)).toEqual(["1 rsp 500 required command not supported by client", "0 serverclose "]);
  });
});

describe.skipIf(!haveImrelp())("RELP over TLS to a real rsyslogd (imrelp tls=on, client certificates)", () => {
  it("delivers and acknowledges every line", async () => {
    const pki = makePki();
    const rs = await startRelpRsyslog({ tls: { caFile: pki.caFile, certFile: join(pki.dir, "server.pem"), keyFile: join(pki.dir, "server.key") } });
    try {
      const tls = { ca: pki.ca, cert: readFileSync(pki.clientCertFile), key: readFileSync(pki.clientKeyFile) };
      const client = new RelpClient({ host: "127.0.0.1", port: rs.port, tls });
      const lines = Array.from({ length: 50 }, (_, i) => syslogLine(i));
      await Promise.all(lines.map((l) => client.send(l)));
      await client.close();
      expect(client.stats()).toMatchObject({ sent: 50, acked: 50, resent: 0 });
      expect(rs.lines()).toEqual(lines);
    } finally {
      await rs.dispose();
      rmSync(pki.dir, { recursive: true, force: true });
    }
  });
});

/**
 * The case: lines sent while rsyslogd is stopped (SIGTERM) and started again on the same port.
 * Restart k is set off by the k-th multiple of restartEvery acknowledged lines, never by a clock: the producer
 * keeps up to `outstanding` lines handed to the client and hands over no new one from a trigger until rsyslogd
 * runs again, so (with outstanding < restartEvery) restarts never overlap and each comes with lines to go.
 */
async function throughRestarts(rs: RelpRsyslog, opts: { total: number; restartEvery: number; restarts: number; outstanding: number }) {
  const client = new RelpClient({
    host: "127.0.0.1",
    port: rs.port,
    window: 128,
    initialBackoffMs: 20,
    maxBackoffMs: 500,
    onWarning: (w) => events.push(w),
  });
  const started = Date.now();
  const events: string[] = [];
  let next = 0;
  let handedOver = 0;
  let acked = 0;
  let restartsBegun = 0;
  let paused = false;
  let restarting: Promise<void> | null = null;
  await new Promise<void>((done, fail) => {
    const restartIfDue = () => {
      if (restarting || restartsBegun >= opts.restarts || acked < (restartsBegun + 1) * opts.restartEvery) return;
      restartsBegun++;
      paused = true;
      events.push(`restart ${restartsBegun} at ${acked} acked, ${handedOver} handed over, stats ${JSON.stringify(client.stats())}`);
      restarting = rs
        .stop()
        .then(() => {
          events.push(`stopped; stats ${JSON.stringify(client.stats())}`);
          return rs.start();
        })
        .then(() => {
          restarting = null;
          paused = false;
          feed();
        }, fail);
    };
    const feed = () => {
      while (!paused && next < opts.total && handedOver - acked < opts.outstanding) {
        handedOver++;
        client.send(syslogLine(next++)).then(() => {
          acked++;
          restartIfDue();
          feed();
          if (acked === opts.total) done();
        }, fail);
      }
    };
    feed();
  });
  await restarting;
  await client.close();
  await rs.stop();
  const counts = new Map<number, number>();
  for (const line of rs.lines()) counts.set(lineNumber(line), (counts.get(lineNumber(line)) ?? 0) + 1);
  return {
    stats: client.stats(),
    restarts: restartsBegun,
    missing: Array.from({ length: opts.total }, (_, i) => i).filter((i) => !counts.has(i)),
    duplicates: [...counts.values()].reduce((sum, n) => sum + n - 1, 0),
    foreign: [...counts.keys()].filter((k) => !(k >= 0 && k < opts.total)),
    ms: Date.now() - started,
    events,
  };
}

describe.skipIf(!haveImrelp())("RELP through rsyslogd restarts", () => {
  it("10,000 lines through 5 restarts of rsyslogd: every line delivered, duplicates counted", async () => {
    const rs = await startRelpRsyslog({ mainQueue: "direct" });
    const r = await throughRestarts(rs, { total: 10_000, restartEvery: 1_500, restarts: 5, outstanding: 512 }).finally(() => rs.dispose());
    console.log(`RELP restart test: ${JSON.stringify({ ...r, missing: r.missing.length, events: undefined })}`);
    expect(r.restarts).toBe(5);
    expect(r.stats.reconnects, r.events.join("\n")).toBeGreaterThanOrEqual(5);
    expect(r.missing).toEqual([]);
    expect(r.foreign).toEqual([]);
    expect(r.stats).toMatchObject({ sent: 10_000, acked: 10_000, refused: 0, failed: 0 });
    // a line can only arrive twice if it was written twice
    expect(r.duplicates).toBeLessThanOrEqual(r.stats.resent);
  });
});
