import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer as createNet, type Server, type Socket } from "node:net";
import { createServer as createTls } from "node:tls";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES } from "./helpers/paths.js";
import { shAsync } from "./helpers/run.js";
import { haveRsyslog, startRsyslog, type Rsyslog } from "./helpers/rsyslog.js";
import { closedPort, startServer } from "./helpers/http-server.js";
import { makePki } from "./helpers/tls.js";
import { readFrames } from "./helpers/syslog-frames.js";

const captured = readFileSync(join(FIXTURES, "mig/syslog.datagrams.captured.ndjson"), "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l).datagram as string);

// the event mozdef_client was driven with for the capture
const MOZDEF_CLIENT_EVENT = {
  timestamp: "2026-11-24T01:32:20.111445+00:00",
  processid: 17971,
  processname: "drive_mdc.py",
  hostname: "mozdef-client1.example.net",
  category: "event",
  source: null,
  details: { one: 1, two: "two" },
  summary: "a test event",
  tags: ["generic", "test"],
  severity: "CRITICAL",
};
const MOZDEF_LIB_EVENT = { summary: "new test msg", category: "authentication", tags: ["bro", "auth"], details: { uid: 0, username: "kang" } };

const DATE = /^(<\d+>)[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d /;
const sameButDate = (line: string) => line.replace(DATE, "$1DATE ");

describe.skipIf(!haveRsyslog())("syslog-send into a real rsyslog", () => {
  let rs: Rsyslog;
  beforeAll(async () => {
    rs = await startRsyslog();
  });
  afterAll(async () => {
    await rs?.stop();
  });
  const rawOf = (line: string) => line.split("|").slice(4).join("|");

  it("local socket, json style: mozdef_client's line byte for byte, with the real severity", async () => {
    const before = rs.lines().length;
    const r = await shAsync(`syslog-send --server unix://${rs.socket} --facility local0 --ident drive_mdc.py`, { input: `${JSON.stringify(MOZDEF_CLIENT_EVENT)}\n` });
    expect(r.status, r.stderr).toBe(0);
    const [line] = (await rs.waitFor(before + 1)).slice(before);
    // mozdef_client always logged at INFO (<134> = local0.info); CRITICAL is local0.crit (<130>)
    expect(line.split("|").slice(0, 4)).toEqual(["130", "local0", "crit", "drive_mdc.py"]);
    expect(sameButDate(rawOf(line))).toBe(sameButDate(captured[0].replace("<134>", "<130>")));
  });

  it("UDP, flat style: mozdef_lib's flattening byte for byte", async () => {
    const before = rs.lines().length;
    const r = await shAsync(`syslog-send --server udp://127.0.0.1:${rs.udpPort} --style flat --ident drive_mdlib.py`, { input: `${JSON.stringify(MOZDEF_LIB_EVENT)}\n` });
    expect(r.status, r.stderr).toBe(0);
    const [line] = (await rs.waitFor(before + 1)).slice(before);
    expect(line.split("|").slice(0, 4)).toEqual(["14", "user", "info", "drive_mdlib.py"]);
    // over the network the RFC 3164 header also carries the host name; the message is the same bytes
    const body = (l: string) => l.slice(l.indexOf("drive_mdlib.py: "));
    expect(rawOf(line)).toMatch(/^<14>\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ drive_mdlib\.py: /);
    expect(body(rawOf(line))).toBe(body(captured[1]));
  });

  it("TCP with octet counting and RFC 5424: every line, in order, severities mapped", async () => {
    const before = rs.lines().length;
    const sev = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
    const input = Array.from({ length: 100 }, (_, i) => JSON.stringify({ summary: `tcp ${i}`, severity: sev[i % 5].toLowerCase() })).join("\n");
    const r = await shAsync(`syslog-send --server tcp://127.0.0.1:${rs.tcpPort} --format 5424 --facility auth --stats`, { input });
    expect(r.status, r.stderr).toBe(0);
    const lines = (await rs.waitFor(before + 100)).slice(before);
    expect(lines.length).toBe(100);
    expect(lines.map((l) => JSON.parse(rawOf(l).replace(/^<\d+>1 \S+ \S+ syslog-send \d+ - - /, "")).summary)).toEqual(Array.from({ length: 100 }, (_, i) => `tcp ${i}`));
    expect(lines.slice(0, 5).map((l) => l.split("|").slice(0, 3).join("|"))).toEqual(["39|auth|debug", "38|auth|info", "36|auth|warning", "35|auth|err", "34|auth|crit"]);
  });

  it("mozdef-send --also-syslog sends to MozDef and syslog; --only-syslog skips HTTP", async () => {
    const server = await startServer();
    const before = rs.lines().length;
    const also = await shAsync(`mozdef-send --url ${server.url}/events --also-syslog --syslog-server udp://127.0.0.1:${rs.udpPort}`, { input: '{"summary":"both"}\n' });
    const only = await shAsync(`mozdef-send --only-syslog --syslog-server udp://127.0.0.1:${rs.udpPort}`, { input: '{"summary":"syslog only"}\n' });
    expect(also.status, also.stderr).toBe(0);
    expect(only.status, only.stderr).toBe(0);
    expect(server.accepted.map((q) => JSON.parse(q.body).summary)).toEqual(["both"]);
    const got = (await rs.waitFor(before + 2)).slice(before).map((l) => JSON.parse(rawOf(l).replace(/^.*?mozdef-send: /, "")).summary);
    expect(got.sort()).toEqual(["both", "syslog only"]);
    await server.close();
  });

  it("mozdef-send's --syslog-style, --syslog-format and --facility reach the line", async () => {
    const before = rs.lines().length;
    const r = await shAsync(`mozdef-send --only-syslog --syslog-server tcp://127.0.0.1:${rs.tcpPort} --syslog-style flat --syslog-format 5424 --facility local3`, { input: `${JSON.stringify(MOZDEF_LIB_EVENT)}\n` });
    expect(r.status, r.stderr).toBe(0);
    const [line] = (await rs.waitFor(before + 1)).slice(before);
    expect(line.split("|").slice(0, 4)).toEqual(["158", "local3", "info", "mozdef-send"]);
    expect(rawOf(line)).toMatch(/^<158>1 \S+ \S+ mozdef-send \d+ - - summary: 'new test msg' category: 'authentication' tags: /);
  });

  it("a line over --max-size is cut visibly, counted, and still delivered", async () => {
    const before = rs.lines().length;
    const r = await shAsync(`syslog-send --server udp://127.0.0.1:${rs.udpPort} --max-size 400 --stats`, { input: `${JSON.stringify({ summary: "big", details: { blob: "é".repeat(400) } })}\n` });
    expect(r.status, r.stderr).toBe(0);
    const [line] = (await rs.waitFor(before + 1)).slice(before);
    expect(Buffer.byteLength(rawOf(line))).toBeLessThanOrEqual(400);
    expect(rawOf(line)).toMatch(/ \[truncated \d+ bytes\]$/);
    expect(r.stderr).toMatch(/1 line\(s\) longer than --max-size 400 were truncated/);
    expect(r.stderr).toMatch(/truncated 1/);
  });
});

/** A connection handler that hands each frame to onFrame. */
function frames(onFrame: (f: string) => void) {
  return (socket: Socket) => readFrames(socket, onFrame);
}

describe("syslog-send without a collector", () => {
  it("--dry-run prints the lines it would send; --kind overrides the shape", async () => {
    const r = await shAsync(`syslog-send --dry-run --facility local0 --ident drive_mdc.py --server unix:///nonexistent/log`, { input: `${JSON.stringify(MOZDEF_CLIENT_EVENT)}\n` });
    expect(r.status, r.stderr).toBe(0);
    // the local form: logger adds the date and ident, so only <PRI> and the message are ours
    expect(r.stdout).toBe(`<130>${captured[0].slice(captured[0].indexOf("{"))}\n`);
    const udp = await shAsync(`syslog-send --dry-run --server udp://127.0.0.1:9 --ident x`, { input: '{"summary":"s"}\n' });
    expect(udp.stdout).toMatch(/^<14>\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ x: \{"timestamp": /);
    const kind = await shAsync(`syslog-send --dry-run --kind hint`, { input: '{"summary":"s"}\n' });
    expect(kind.status).toBe(1);
    expect(kind.stderr.split("\n")[0]).toBe("syslog-send: stdin: line 1: invalid record: asset hint: details must not be empty");
  });
});

describe.skipIf(spawnSync("script", ["--version"]).status !== 0)("syslog-send on a terminal (util-linux script gives it one)", () => {
  it("with no input says so, with no stray escape sequence before the message", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sls-"));
    const r = await shAsync(`script -qec "syslog-send --dead-letter ${dir}/d" /dev/null`);
    expect(r.stdout).toMatch(/^syslog-send: stdin is a terminal: give a FILE or pipe the input in/);
    expect(r.stdout).not.toContain("\x1b");
  });
});

describe("syslog-send over TCP and TLS: reconnects and dead letters", () => {
  it("keeps trying while the collector is down, delivers once it is up", async () => {
    const port = await closedPort();
    const got: string[] = [];
    let server: Server | undefined;
    setTimeout(() => {
      server = createNet(frames((f) => got.push(f)));
      server.listen(port, "127.0.0.1");
    }, 700);
    const input = Array.from({ length: 5 }, (_, i) => JSON.stringify({ summary: `r${i}` })).join("\n");
    const r = await shAsync(`syslog-send --server tcp://127.0.0.1:${port} --retries 6 --stats`, { input });
    expect(r.status, r.stderr).toBe(0);
    await new Promise((res) => setTimeout(res, 200));
    expect(got.map((f) => JSON.parse(f.replace(/^.*?syslog-send: /, "")).summary)).toEqual(["r0", "r1", "r2", "r3", "r4"]);
    server?.close();
  });

  it("a collector that never comes: every line in the dead-letter file, exit 1", async () => {
    const port = await closedPort();
    const dir = mkdtempSync(join(tmpdir(), "sls-"));
    const dead = join(dir, "dead.ndjson");
    const r = await shAsync(`syslog-send --server tcp://127.0.0.1:${port} --retries 1 --dead-letter ${dead}`, { input: '{"summary":"a"}\n{"summary":"b"}\n' });
    expect(r.status).toBe(1);
    const lines = readFileSync(dead, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => JSON.parse(l.line).summary)).toEqual(["a", "b"]);
    expect(lines[0].dead_letter.reason).toMatch(/ECONNREFUSED/);
    expect(r.stderr.trim().split("\n")).toEqual([
      `syslog-send: tcp 127.0.0.1:${port}: connection refused; retrying (1 of 1)`,
      `syslog-send: 2 of 2 records not delivered; kept in ${dead}; reasons: tcp 127.0.0.1:${port}: connection refused (2)`,
    ]);
  });

  it("TLS (RFC 5425): verified against --ca, refused without it", async () => {
    const pki = makePki();
    const got: string[] = [];
    const server = createTls({ key: pki.serverKey, cert: pki.serverCert }, frames((f) => got.push(f)));
    await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
    const port = (server.address() as { port: number }).port;
    const ok = await shAsync(`syslog-send --server tls://127.0.0.1:${port} --ca ${pki.caFile}`, { input: '{"summary":"over tls"}\n' });
    expect(ok.status, ok.stderr).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), "sls-"));
    const bad = await shAsync(`syslog-send --server tls://127.0.0.1:${port} --retries 0 --dead-letter ${dir}/d`, { input: '{"summary":"refused"}\n' });
    expect(bad.status).toBe(1);
    expect(existsSync(`${dir}/d`)).toBe(true);
    await new Promise((res) => setTimeout(res, 200));
    expect(got.map((f) => JSON.parse(f.replace(/^.*?syslog-send: /, "")).summary)).toEqual(["over tls"]);
    server.close();
  });
});
