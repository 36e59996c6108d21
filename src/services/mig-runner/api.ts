/**
 * The MIG API calls the runner makes (MIG client/client.go): every request
 * carries `X-PGPAUTHORIZATION: 1;<time>;<nonce>;<signature>` (or
 * `X-MIGAPIKEY`) and is sent once more with a fresh token on a 401.
 */
import { request } from "undici";
import { ACTION, COMMAND, decodeGo, type Action } from "./go-struct.js";
import { actionJson, goQueryEscape } from "./action.js";
import { goIdString } from "../../util/go-json.js";
import type { Signer } from "./pgp.js";

/** The API could not be reached or did not do what was asked (the runner tries again later either way). */
export class ApiError extends Error {}

export interface ApiOptions {
  url: string;
  signer?: Signer;
  apiKey?: string;
  /** Milliseconds since the epoch (an injectable clock). */
  now: () => number;
  /** Per request, for the answer's headers and body (default 60 s). */
  timeoutMs?: number;
}

/** MIG's GenID: seconds since 2013-04-29 18:00 UTC shifted left 16 bits, then counted up. */
let lastId = 0;
export function genId(now: number): number {
  const base = (Math.floor(now / 1000 - 1367258400) + 1) * 65536;
  lastId = Math.max(base, lastId + 1);
  return lastId;
}

/** RFC 3339 without a fraction, the only form the API's token check parses. */
const tokenTime = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

/** The X-PGPAUTHORIZATION token: the signature is over `1;<time>;<nonce>\n`. */
export async function signedToken(signer: Signer, now: number): Promise<string> {
  const text = `1;${tokenTime(now)};${goIdString(genId(now))}`;
  return `${text};${await signer.sign(`${text}\n`)}`;
}

interface Collection {
  collection?: { items?: { data?: { name?: string; value?: unknown }[] }[]; error?: { code?: string; message?: string } };
}

export class MigApi {
  private token?: string;

  constructor(private readonly o: ApiOptions) {}

  private async authHeaders(fresh: boolean): Promise<Record<string, string>> {
    if (this.o.apiKey) return { "x-migapikey": this.o.apiKey };
    if (fresh || !this.token) this.token = await signedToken(this.o.signer!, this.o.now());
    return { "x-pgpauthorization": this.token };
  }

  /**
   * One call; a 401 is tried once more with a fresh token. Returns the
   * status and the body parsed (if JSON). `agent` ends the User-Agent as
   * the Go runner's does: "mig-runner" at launch, "mig-runner-results" when fetching.
   */
  private async call(method: "GET" | "POST", path: string, agent: string, body?: string): Promise<{ status: number; doc: Collection | undefined; text: string }> {
    const url = this.o.url + path;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { "user-agent": `MIG Client ${agent}`, ...(await this.authHeaders(attempt > 0)) };
      if (body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
      let status: number;
      let text: string;
      try {
        const res = await request(url, { method, headers, body, headersTimeout: this.o.timeoutMs ?? 60_000, bodyTimeout: this.o.timeoutMs ?? 60_000 });
        status = res.statusCode;
        text = await res.body.text();
      } catch (err) {
        throw new ApiError(`${method} ${url}: ${(err as Error).message}`);
      }
      if (status === 401 && attempt === 0 && !this.o.apiKey) continue;
      let doc: Collection | undefined;
      try {
        doc = text.length > 1 ? (JSON.parse(text) as Collection) : undefined;
      } catch {
        doc = undefined;
      }
      return { status, doc, text };
    }
  }

  private static failure(what: string, r: { status: number; doc: Collection | undefined }): ApiError {
    const said = r.doc?.collection?.error?.message;
    return new ApiError(`${what}: HTTP ${r.status}${said ? `: ${said}` : ""}`);
  }

  /** POST action/create/; the API answers 202 with the action it created (with its id). */
  async createAction(action: Action): Promise<Action> {
    const r = await this.call("POST", "action/create/", "mig-runner", `action=${goQueryEscape(actionJson(action))}`);
    if (r.status !== 202) throw MigApi.failure("action creation failed", r);
    const value = r.doc?.collection?.items?.[0]?.data?.[0]?.value;
    if (!value || typeof value !== "object") throw new ApiError("action creation: the answer holds no action");
    return decodeGo(value, ACTION) as Action;
  }

  /**
   * The commands of an action, page by page (37 a page, as the Go client
   * asks), until the API says `no results found` or a page holds none.
   */
  async fetchCommands(actionId: number): Promise<unknown[]> {
    const limit = 37;
    const commands: unknown[] = [];
    for (let offset = 0; ; offset += limit) {
      const r = await this.call("GET", `search?type=command&limit=${limit}&offset=${offset}&actionid=${goIdString(actionId)}`, "mig-runner-results");
      if (r.doc?.collection?.error?.message === "no results found") break;
      if (r.status !== 200) throw MigApi.failure(`fetching results of ${goIdString(actionId)}`, r);
      let count = 0;
      for (const item of r.doc?.collection?.items ?? [])
        for (const data of item.data ?? [])
          if (data.name === "command") {
            commands.push(decodeGo(data.value, COMMAND));
            count++;
          }
      if (count === 0) break;
    }
    return commands;
  }
}
