import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { encodeFrame, RelpParser, type RelpFrame } from "../../src/sinks/syslog/relp.js";

/** The `open` answer rsyslog 8 (librelp 1.11) gives. */
export const RSYSLOG_OPEN_OK = "200 OK\nrelp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n";

export interface PeerConnection {
  /** 0 for the first connection, then 1, 2, ... */
  index: number;
  frames: RelpFrame[];
  socket: Socket;
  rsp(txnr: number, text: string): void;
  /** The server's hint, then the end of the connection (what rsyslog does when it stops). */
  serverclose(): void;
}

/** What the peer does with a frame: `"ok"` answers 200 OK (open: rsyslog's offers), a string is the rsp text, null is no answer. */
export type PeerScript = (frame: RelpFrame, conn: PeerConnection) => "ok" | string | null;

export interface RelpPeer {
  port: number;
  connections: PeerConnection[];
  close(): Promise<void>;
}

/** A scripted RELP server on loopback, for the answers a real rsyslog cannot be made to give on demand. */
export async function startRelpPeer(script: PeerScript): Promise<RelpPeer> {
  const connections: PeerConnection[] = [];
  const server: Server = createServer((socket) => {
    const parser = new RelpParser();
    const conn: PeerConnection = {
      index: connections.length,
      frames: [],
      socket,
      rsp: (txnr, text) => socket.write(encodeFrame(txnr, "rsp", Buffer.from(text))),
      serverclose: () => {
        socket.write(encodeFrame(0, "serverclose", Buffer.alloc(0)));
        socket.end();
      },
    };
    connections.push(conn);
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      for (const frame of parser.push(chunk)) {
        conn.frames.push(frame);
        const answer = script(frame, conn);
        if (answer === null || socket.destroyed || socket.writableEnded) continue;
        const ok = frame.command === "open" ? RSYSLOG_OPEN_OK : "200 OK";
        conn.rsp(frame.txnr, answer === "ok" ? ok : answer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.socket.destroy();
        server.close(() => resolve());
      }),
  };
}
