import { createServer as createHttp, type IncomingMessage, type ServerResponse, type Server } from "node:http";
import { createServer as createHttps } from "node:https";
import type { AddressInfo } from "node:net";

export type Fault = "ok" | "500" | "429" | "400" | "413" | "401" | "hang" | "close-mid-response" | "reset";

export interface Received {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface TestServer {
  url: string;
  port: number;
  /** Requests answered 2xx, in arrival order. */
  accepted: Received[];
  /** Every request, whatever the answer. */
  all: Received[];
  close(): Promise<void>;
}

/**
 * A real HTTP(S) server on 127.0.0.1 that fails on demand: `fault` decides
 * each request's fate from the request and its 1-based arrival number.
 */
export async function startServer(
  fault: (req: Received, n: number) => Fault | { status: number; headers?: Record<string, string>; body?: string } = () => "ok",
  tls?: { key: Buffer; cert: Buffer; ca?: Buffer; requestCert?: boolean },
): Promise<TestServer> {
  const accepted: Received[] = [];
  const all: Received[] = [];
  let n = 0;
  const hanging = new Set<ServerResponse>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: Received = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() };
      all.push(r);
      const f = fault(r, ++n);
      if (typeof f === "object") {
        if (f.status >= 200 && f.status < 300) accepted.push(r);
        res.writeHead(f.status, f.headers).end(f.body ?? "");
        return;
      }
      switch (f) {
        case "ok":
          accepted.push(r);
          res.writeHead(200).end();
          return;
        case "429":
          res.writeHead(429, { "retry-after": "1" }).end();
          return;
        case "hang":
          hanging.add(res);
          return;
        case "close-mid-response":
          res.writeHead(200, { "content-length": "100" });
          res.write("partial");
          setTimeout(() => res.socket?.destroy(), 20);
          return;
        case "reset":
          req.socket.destroy();
          return;
        default:
          res.writeHead(Number(f)).end();
      }
    });
  };
  const server: Server = tls ? createHttps({ key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: tls.requestCert, rejectUnauthorized: tls.requestCert ?? false }, handler) : createHttp(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    accepted,
    all,
    close: async () => {
      for (const res of hanging) res.socket?.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (connections are refused). */
export async function closedPort(): Promise<number> {
  const s = createHttp();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
