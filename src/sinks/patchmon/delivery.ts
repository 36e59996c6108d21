import { HttpSender } from "../../delivery/http.js";
import { DELIVERED, failed, httpOutcome, type Failure, type Outcome } from "../../delivery/outcome.js";
import { parseJsonObject } from "../../streams/ndjson.js";
import { jsonObjectMembers, type JsonMember } from "../../streams/json-members.js";
import type { Json } from "../../types.js";
import { scanJsonBytes, slimScan, slimToFit, slimmedHow } from "./slim.js";

/**
 * A line of patchmon-send's input: the real server's body (scans[]) or the
 * spec's single-scan payload. Only the line is kept (and a PatchMon body's
 * head); its scans are parsed again only when it must be split or slimmed.
 */
export type PatchmonItem = { kind: "patchmon"; head: Json; scanCount: number; line: string } | { kind: "spec"; line: string };

export function parsePayloadLine(line: string): PatchmonItem {
  // the members are found without building the scans (megabytes of objects to let go at once);
  // a line that is not a JSON object is parsed, which says why
  const members = jsonObjectMembers(line);
  return payloadItem(members ? membersView(line, members) : objectView(parseJsonObject(line)), line);
}

/** The top level of a payload line, read however it was. */
interface PayloadView {
  keys(): string[];
  value(key: string): unknown;
  isArray(key: string): boolean;
  arrayLength(key: string): number;
}

function payloadItem(p: PayloadView, line: string): PatchmonItem {
  if (p.isArray("scans")) {
    const hostname = p.value("hostname");
    if (typeof hostname !== "string" || !hostname) throw new Error("PatchMon payload without hostname");
    const head = Object.fromEntries(p.keys().filter((k) => k !== "scans").map((k) => [k, p.value(k)])) as Json;
    return { kind: "patchmon", head, scanCount: p.arrayLength("scans"), line };
  }
  if (p.value("profile") && p.isArray("results") && p.value("summary")) return { kind: "spec", line };
  throw new Error("neither a PatchMon payload (hostname, scans[]) nor a spec scan payload (profile, summary, results[])");
}

/** A line's members (the last of a repeated key wins, as in JSON.parse), each value parsed only when asked for. */
function membersView(line: string, members: JsonMember[]): PayloadView {
  const last = new Map(members.map((m) => [m.key, m]));
  return {
    keys: () => [...last.keys()],
    value: (key) => {
      const m = last.get(key);
      return m ? JSON.parse(line.slice(m.start, m.end)) : undefined;
    },
    isArray: (key) => line.charCodeAt(last.get(key)?.start ?? -1) === 0x5b,
    arrayLength: (key) => last.get(key)?.elements ?? 0,
  };
}

function objectView(o: Json): PayloadView {
  return { keys: () => Object.keys(o), value: (key) => o[key], isArray: (key) => Array.isArray(o[key]), arrayLength: (key) => (o[key] as unknown[]).length };
}

/** A scan small enough to go alone: no raw_output, remediation cut to its first line, descriptions and rationales trimmed. */
export function shrinkScan(scan: Json): Json {
  return slimScan(scan, 4);
}

export interface PatchmonDeliveryOptions {
  sender: HttpSender;
  path: string;
  /** Largest body sent; the server's default limit is 5 MB. */
  maxBody: number;
  /** Requests allowed per minute (the server allows 10 per API id); 0 = no pacing. */
  perMinute: number;
  warn(message: string): void;
}

/** A scan to send, where it came from, and the bytes of its JSON once weighed. */
type ScanRef = { item: number; scan: number; data: Json; bytes?: number };

/** Bytes of the body `{...head, "scans":[…]}` of these scans, weighed scan by scan (see scanJsonBytes). */
function bodyBytes(head: Json, refs: ScanRef[]): number {
  let bytes = Buffer.byteLength(JSON.stringify({ ...head, scans: [] })) + Math.max(refs.length - 1, 0);
  for (const ref of refs) bytes += ref.bytes ??= scanJsonBytes(ref.data);
  return bytes;
}

/**
 * Packs the scans of consecutive payloads for one host into as few requests
 * as fit the body limit, splits them again when the server says 413 (or
 * 400 "Invalid JSON body"), and sends an oversized single scan slimmed
 * down, saying so. A 401 stops all sending: it is a configuration error.
 */
export class PatchmonDelivery {
  authFailed: string | null = null;
  private readonly sentAt: number[] = [];

  constructor(private readonly opts: PatchmonDeliveryOptions) {}

  async deliver(items: PatchmonItem[]): Promise<Outcome[]> {
    const failures = items.map(() => new Map<number, Failure>());
    for (let i = 0; i < items.length; ) {
      const it = items[i];
      if (it.kind === "spec") {
        const r = await this.sendSpec(it.line);
        if (r) failures[i].set(0, r);
        i++;
        continue;
      }
      // a payload that fits goes as it came: no second copy of it is made
      if ((i + 1 === items.length || !sameHost(it, items[i + 1])) && Buffer.byteLength(it.line) <= this.opts.maxBody) {
        const r = await this.post(it.line);
        if (r !== "too-big") {
          if (r) for (let k = 0; k < it.scanCount; k++) failures[i].set(k, r);
          i++;
          continue;
        }
        this.opts.maxBody = Math.min(this.opts.maxBody, Buffer.byteLength(it.line) - 1);
      }
      // consecutive payloads for the same host go out together
      const refs: ScanRef[] = [];
      let j = i;
      while (j < items.length && items[j].kind === "patchmon" && sameHost(items[j] as Extract<PatchmonItem, { kind: "patchmon" }>, it)) {
        scansOf(items[j]).forEach((data, scan) => refs.push({ item: j, scan, data }));
        j++;
      }
      await this.sendScans(it.head, refs, (ref, reason) => failures[ref.item].set(ref.scan, reason));
      i = j;
    }
    return items.map((it, i) => {
      const lost = failures[i];
      if (!lost.size) return DELIVERED;
      const distinct = [...new Map([...lost.values()].map((f) => [f.reason, f])).values()];
      const outcome = failed(distinct.map((f) => f.reason).join("; "), distinct.map((f) => f.kind).join("; "));
      if (it.kind === "spec" || lost.size === it.scanCount) return outcome;
      // part went through: keep only what did not, so a replay sends no duplicates
      return { ...outcome, line: JSON.stringify({ ...it.head, scans: scansOf(it).filter((_, k) => lost.has(k)) }) };
    });
  }

  private async sendScans(head: Json, refs: ScanRef[], fail: (ref: ScanRef, why: Failure) => void): Promise<void> {
    if (!refs.length) return;
    // weighed before it is made: a body over the limit is never made whole
    const size = bodyBytes(head, refs);
    if (size > this.opts.maxBody) return this.tooBig(head, refs, fail, size);
    const r = await this.post(JSON.stringify({ ...head, scans: refs.map((ref) => ref.data) }));
    if (r === "too-big") {
      this.opts.maxBody = Math.min(this.opts.maxBody, size - 1);
      return this.tooBig(head, refs, fail, size);
    }
    if (r) for (const ref of refs) fail(ref, r);
  }

  private async tooBig(head: Json, refs: ScanRef[], fail: (ref: ScanRef, why: Failure) => void, size: number): Promise<void> {
    if (refs.length > 1) {
      const half = Math.ceil(refs.length / 2);
      await this.sendScans(head, refs.slice(0, half), fail);
      await this.sendScans(head, refs.slice(half), fail);
      return;
    }
    const [ref] = refs;
    const headBytes = size - (ref.bytes ??= scanJsonBytes(ref.data));
    const slim = slimToFit(ref.data, (bytes) => headBytes + bytes <= this.opts.maxBody);
    if (!slim.fits) {
      fail(ref, failed(`scan '${String(ref.data.profile_name)}' is ${size} bytes, over the server's body limit even alone and slimmed down (${headBytes + slim.bytes} bytes)`, "scan over the server's body limit"));
      return;
    }
    this.opts.warn(`${String(head.hostname)}: scan '${String(ref.data.profile_name)}' (${size} bytes) is over the body limit alone: sending it ${slimmedHow(slim.level)} (${headBytes + slim.bytes} bytes)`);
    await this.sendScans(head, [{ ...ref, data: slim.scan, bytes: slim.bytes }], fail);
  }

  private async sendSpec(line: string): Promise<Failure | null> {
    let body = line;
    const size = Buffer.byteLength(body);
    if (size > this.opts.maxBody) {
      const payload = parseJsonObject(line);
      const slim = slimToFit(payload, (bytes) => bytes <= this.opts.maxBody);
      this.opts.warn(`scan '${String((payload.profile as Json)?.name)}' (${size} bytes) is over the body limit: sending it ${slimmedHow(slim.level)} (${slim.bytes} bytes)`);
      body = JSON.stringify(slim.scan);
    }
    const r = await this.post(body);
    return r === "too-big" ? failed(`scan of ${Buffer.byteLength(body)} bytes refused as too large even slimmed down (413)`, "scan refused as too large (413)") : r;
  }

  /** null when accepted, "too-big" on 413 / 400 "Invalid JSON body", else why it failed. */
  private async post(body: string): Promise<Failure | null | "too-big"> {
    if (this.authFailed) return failed(`not sent: ${this.authFailed}`);
    // a request not sent (the server found down) takes no place in the minute
    const r = await this.opts.sender.send({ body, path: this.opts.path, noRetry: new Set([401, 413]), beforeFirstAttempt: (wait) => this.pace(wait) });
    if (r.ok) return null;
    if (r.status === 413 || (r.status === 400 && /Invalid JSON body/i.test(r.body ?? ""))) return "too-big";
    if (r.status === 401) {
      this.authFailed = `credentials refused (HTTP 401${r.body ? `: ${r.body.trim().slice(0, 100)}` : ""})`;
      return failed(this.authFailed);
    }
    return httpOutcome(r) as Failure;
  }

  /**
   * The server takes 10 submissions a minute per API id: wait rather than
   * collect 429s. The wait is the sender's, which a stop (SIGTERM) cuts
   * short: false then, and the request is not sent.
   */
  private async pace(wait: (ms: number) => Promise<boolean>): Promise<boolean> {
    const n = this.opts.perMinute;
    if (n <= 0) return true;
    const now = Date.now();
    while (this.sentAt.length && now - this.sentAt[0] >= 60_000) this.sentAt.shift();
    if (this.sentAt.length >= n && !(await wait(60_000 - (now - this.sentAt[0])))) return false;
    this.sentAt.push(Date.now());
    return true;
  }
}

function scansOf(it: PatchmonItem): Json[] {
  return (parseJsonObject(it.line).scans as Json[]) ?? [];
}

function sameHost(a: Extract<PatchmonItem, { kind: "patchmon" }>, b: PatchmonItem): boolean {
  return b.kind === "patchmon" && a.head.hostname === b.head.hostname && a.head.machine_id === b.head.machine_id;
}
