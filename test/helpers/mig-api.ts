import { createServer, type IncomingMessage, type ServerResponse, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gpgVerify } from "./gnupg.js";

/**
 * A stand-in MIG API on 127.0.0.1, written for the tests from the spec page
 * (../shared/spec/mig-runner.md §3-5) and MIG's mig-api sources, not from
 * the runner's code:
 * - every request must carry a valid `X-PGPAUTHORIZATION: 1;<time>;<nonce>;<sig>`
 *   (sig over `1;<time>;<nonce>\n`, checked with real GnuPG), else 401;
 * - `POST action/create/` (form field `action`) runs MIG's Validate() and
 *   checks each signature with `gpg --verify` over the action's
 *   stringified form, then answers 202 with the Collection+JSON document;
 * - `GET search?type=command&limit=&offset=&actionid=` serves the
 *   commands set for the action, a page at a time, then the 404
 *   `no results found`.
 */
export interface MigApiStandIn {
  /** `http://127.0.0.1:<port>/api/v1/` */
  url: string;
  /** Actions created, as received (parsed JSON) with the id given. */
  actions: Record<string, unknown>[];
  /** Raw POST bodies of action/create/. */
  createBodies: string[];
  /** Every request: method, path+query, status answered. */
  log: { method: string; path: string; status: number; headers: IncomingMessage["headers"] }[];
  /** Commands to serve for an action id (default: none). */
  commands: (actionId: string, action: Record<string, unknown>) => unknown[];
  /** While set, requests are answered by dropping the connection (the API is down). */
  down: boolean;
  /** While set, search requests are held unanswered (released by `release()`). */
  holdSearches: boolean;
  release(): void;
  close(): Promise<void>;
}

/** Go's json.Marshal of a free-form value: sorted keys, <>& escaped. */
function goAny(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goAny).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${goStr(k)}:${goAny(o[k])}`).join(",")}}`;
  }
  return typeof v === "string" ? goStr(v) : JSON.stringify(v ?? null);
}
const goStr = (s: string) => JSON.stringify(s).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");

/** mig.Action.String(), the text investigators sign. */
export function migActionString(a: Record<string, unknown>): string {
  const ops = a.operations as Record<string, unknown>[] | null;
  const opsJson =
    ops === null || ops === undefined
      ? "null"
      : `[${ops
          .map((op) => `{"module":${goStr(String(op.module ?? ""))},"parameters":${goAny(op.parameters ?? null)}${op.is_compressed ? ',"is_compressed":true' : ""}${op.want_compressed ? ',"want_compressed":true' : ""}}`)
          .join(",")}]`;
  const unix = (t: unknown) => Math.floor(Date.parse(String(t)) / 1000);
  return `name=${a.name};target=${a.target};validfrom=${unix(a.validfrom)};expireafter=%!s(int64=${unix(a.expireafter)});operations=${opsJson};`;
}

function cljs(href: string, items: { name: string; value: unknown }[], error?: string) {
  return JSON.stringify({
    collection: {
      version: "1.0",
      href,
      ...(items.length ? { items: items.map((d) => ({ href, data: [d] })) } : {}),
      template: {},
      error: error ? { code: "6115472790658567000", message: error } : {},
    },
  });
}

export async function startMigApi(o: { apiHome: string; fingerprint: string; now?: () => number }): Promise<MigApiStandIn> {
  const now = o.now ?? (() => Date.now());
  const verifiedTokens = new Set<string>();
  let nextId = 5553641062400;
  const held: (() => void)[] = [];
  let server: Server;

  const api: MigApiStandIn = {
    url: "",
    actions: [],
    createBodies: [],
    log: [],
    commands: () => [],
    down: false,
    holdSearches: false,
    release: () => held.splice(0).forEach((go) => go()),
    close: async () => {
      api.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  function authorized(header: string | undefined): boolean {
    if (!header) return false;
    if (verifiedTokens.has(header)) return true;
    const parts = header.split(";");
    if (parts.length !== 4 || parts[0] !== "1" || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(parts[1])) return false;
    // the API's window (Authentication.TokenDuration, 10 minutes in MIG's sample config)
    if (Math.abs(Date.parse(parts[1]) - now()) > 10 * 60_000) return false;
    if (gpgVerify(o.apiHome, `${parts[0]};${parts[1]};${parts[2]}\n`, parts[3]) !== o.fingerprint) return false;
    verifiedTokens.add(header);
    return true;
  }

  function createAction(body: string, href: string): [number, string] {
    const form = new URLSearchParams(body);
    const action = JSON.parse(form.get("action") ?? "null") as Record<string, unknown> | null;
    if (!action) return [500, cljs(href, [], "no action")];
    // Action.Validate()
    const problem =
      !action.name ? "action name is empty"
      : !action.target ? "action target is empty"
      : action.syntaxversion !== 2 ? "wring syntax version, expected 2"
      : Date.parse(String(action.validfrom)) > Date.parse(String(action.expireafter)) ? "action expireafter is set before action validfrom"
      : now() > Date.parse(String(action.expireafter)) ? "action expireafter is in the past"
      : !action.operations ? "action operations is empty"
      : !Array.isArray(action.pgpsignatures) || action.pgpsignatures.length < 1 ? "action pgpsignatures is empty"
      : null;
    if (problem) return [500, cljs(href, [], problem)];
    const text = migActionString(action);
    for (const sig of action.pgpsignatures as string[]) if (gpgVerify(o.apiHome, text, sig) !== o.fingerprint) return [500, cljs(href, [], "invalid PGP Signature")];
    const id = nextId++;
    const created = { ...action, id, status: "pending", starttime: "0011-01-11T11:11:11.000000011Z", finishtime: "9998-01-11T11:11:11.000000011Z", lastupdatetime: "0011-01-11T11:11:11.000000011Z" };
    api.actions.push(created);
    return [202, cljs(href, [{ name: `action ID ${id}`, value: created }])];
  }

  function search(query: URLSearchParams, href: string): [number, string] {
    const id = query.get("actionid") ?? "";
    const limit = Number(query.get("limit") ?? 100);
    const offset = Number(query.get("offset") ?? 0);
    const action = api.actions.find((a) => String(a.id) === id);
    const all = action ? api.commands(id, action) : [];
    const page = all.slice(offset, offset + limit);
    if (query.get("type") !== "command" || !page.length) return [404, cljs(href, [{ name: "search parameters", value: Object.fromEntries(query) }], "no results found")];
    return [200, cljs(href, [...page.map((c) => ({ name: "command", value: c })), { name: "search parameters", value: Object.fromEntries(query) }])];
  }

  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const answer = (status: number, text: string) => {
      api.log.push({ method: req.method ?? "", path: `${url.pathname}${url.search}`, status, headers: req.headers });
      res.writeHead(status, { "content-type": "application/json" }).end(text);
    };
    if (!authorized(req.headers["x-pgpauthorization"] as string | undefined)) return answer(401, cljs(url.href, [], "authorization verification failed"));
    if (req.method === "POST" && url.pathname === "/api/v1/action/create/") {
      api.createBodies.push(body);
      return answer(...createAction(body, url.href));
    }
    if (req.method === "GET" && url.pathname === "/api/v1/search") {
      if (api.holdSearches) {
        held.push(() => answer(...search(url.searchParams, url.href)));
        api.log.push({ method: "GET", path: `${url.pathname}${url.search}`, status: 0, headers: req.headers });
        return;
      }
      return answer(...search(url.searchParams, url.href));
    }
    answer(404, cljs(url.href, [], "not found"));
  };

  server = createServer((req, res) => {
    if (api.down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/`;
  return api;
}
