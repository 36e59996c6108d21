import { hostname } from "node:os";
import { machineId, osInfo } from "../../scanners/host-info.js";
import type { Capabilities } from "../../scanners/detect.js";
import type { Json } from "../../types.js";
import { patchmonHead, patchmonResult, specHead, type ScanGroup } from "./scans.js";
import { MAX_SLIM_LEVEL, slimResult, slimmedHow, type SlimLevel } from "./slim.js";
import type { ScoreWaived } from "../../rules/marks.js";

export type ScanFormat = "spec" | "patchmon";

export interface PayloadOptions {
  format: ScanFormat;
  /** scan-detect output, for PatchMon's scanner_info. */
  capabilities?: Record<string, unknown>;
  /** Waived failures (rules-waive) in the spec summary's score: left out of the total, or counted. */
  scoreWaived?: ScoreWaived;
  now?: string;
  /** PatchMon format: the largest body in bytes; a host's scans are cut into bodies under it. 0 = one body per host. */
  maxBody?: number;
  /** Says when a scan is slimmed to fit, or does not fit even so. */
  warn?: (message: string) => void;
}

/** Where a group's results come from: their JSON texts (in the payload's form), and the bytes of those texts joined with commas. */
export interface ResultTexts {
  texts(g: ScanGroup): Iterable<string>;
  joinedBytes(g: ScanGroup): number;
}

/** Results held in the groups themselves (ScanGroups without a spill); each group's are let go once written. */
function heldResults(format: ScanFormat): ResultTexts {
  const form = format === "patchmon" ? patchmonResult : (r: unknown) => r;
  return {
    *texts(g) {
      for (const r of g.results) yield JSON.stringify(form(r));
    },
    joinedBytes(g) {
      let n = Math.max(g.results.length - 1, 0);
      for (const r of g.results) n += Buffer.byteLength(JSON.stringify(form(r)));
      return n;
    },
  };
}

/** The payload lines of groups that hold their results, as text chunks. */
export function payloadText(groups: ScanGroup[], opts: PayloadOptions): Generator<string> {
  return payloadChunks(groups, heldResults(opts.format), opts, (g) => (g.results = []));
}

/** The payload lines as text chunks: one spec payload per group, or PatchMon bodies (one per host, or more under maxBody). */
export function* payloadChunks(groups: ScanGroup[], results: ResultTexts, opts: PayloadOptions, written: (g: ScanGroup) => void = () => undefined): Generator<string> {
  const now = opts.now ?? new Date().toISOString();
  if (opts.format === "spec") {
    for (const g of groups) {
      yield* objectWithResults(specHead(g, now, opts.scoreWaived), results.texts(g));
      yield "\n";
      written(g);
    }
    return;
  }
  const hosts = new Map<string, ScanGroup[]>();
  for (const g of groups) hosts.set(g.target, [...(hosts.get(g.target) ?? []), g]);
  for (const [host, scans] of hosts) yield* hostBodies(host, scans, results, { ...opts, now }, written);
}

/** `{"k":…,"results":[` + results + `]}`: results go out in slices, never as one big string. */
function* objectWithResults(head: object, texts: Iterable<string>): Generator<string> {
  yield resultsOpening(head);
  let parts: string[] = [];
  let length = 0;
  let first = true;
  for (const t of texts) {
    parts.push(t);
    length += t.length;
    if (length >= 1 << 16) {
      yield (first ? "" : ",") + parts.join(",");
      first = false;
      parts = [];
      length = 0;
    }
  }
  if (parts.length) yield (first ? "" : ",") + parts.join(",");
  yield "]}";
}

function resultsOpening(head: object): string {
  const open = JSON.stringify(head);
  return `${open.slice(0, -1)}${open.length > 2 ? "," : ""}"results":[`;
}

/**
 * One host's PatchMon bodies: its scans packed in order into bodies of at
 * most maxBody bytes; a scan over it alone goes in a body of its own,
 * slimmed (remediation, then descriptions, then rationales) just enough.
 * A scan is never cut in two: the server would store two partial scans.
 */
function* hostBodies(host: string, scans: ScanGroup[], results: ResultTexts, opts: PayloadOptions & { now: string }, written: (g: ScanGroup) => void): Generator<string> {
  const local = hostname();
  const head = {
    hostname: host,
    machine_id: host === local || host === local.split(".")[0] ? machineId() : "",
    agent_version: "compliance-pipes/0.1.0",
    os_info: osInfo(),
    ...(opts.capabilities ? { scanner_info: scannerInfo(opts.capabilities) } : {}),
  };
  const open = JSON.stringify(head);
  const prefix = `${open.slice(0, -1)},"scans":[`;
  const heads = new Map(scans.map((g) => [g, patchmonHead(g, opts.now)]));
  function* body(list: { g: ScanGroup; level: SlimLevel }[]): Generator<string> {
    yield prefix;
    for (const [i, { g, level }] of list.entries()) {
      yield* objectWithResults(heads.get(g)!, level ? slimmed(results.texts(g), level) : results.texts(g));
      written(g);
      if (i < list.length - 1) yield ",";
    }
    yield "]}\n";
  }
  const max = opts.maxBody || Infinity;
  if (max === Infinity) return yield* body(scans.map((g) => ({ g, level: 0 })));
  const fixed = Buffer.byteLength(prefix) + 2;
  const scanBytes = (g: ScanGroup, joined: number) => Buffer.byteLength(resultsOpening(heads.get(g)!)) + joined + 2;
  let pending: ScanGroup[] = [];
  let size = fixed;
  for (const g of scans) {
    const bytes = scanBytes(g, results.joinedBytes(g));
    if (fixed + bytes > max) {
      if (pending.length) yield* body(pending.map((p) => ({ g: p, level: 0 })));
      pending = [];
      size = fixed;
      const fit = slimLevel(g, results, (joined) => fixed + scanBytes(g, joined) <= max);
      const now = fixed + scanBytes(g, fit.joined);
      opts.warn?.(`${host}: scan '${heads.get(g)!.profile_name}' is ${fixed + bytes} bytes alone, over --max-body ${max}: written ${slimmedHow(fit.level, 2)} (${now} bytes)${fit.fits ? "" : ", still over the limit: the server will refuse it"}`);
      yield* body([{ g, level: fit.level }]);
      continue;
    }
    if (pending.length && size + 1 + bytes > max) {
      yield* body(pending.map((p) => ({ g: p, level: 0 })));
      pending = [];
      size = fixed;
    }
    size += (pending.length ? 1 : 0) + bytes;
    pending.push(g);
  }
  if (pending.length) yield* body(pending.map((p) => ({ g: p, level: 0 })));
}

/** The least slimming level (from remediation on: these scans have no raw_output) under which a scan's results fit. */
function slimLevel(g: ScanGroup, results: ResultTexts, fits: (joined: number) => boolean): { level: SlimLevel; joined: number; fits: boolean } {
  const levels: SlimLevel[] = [2, 3, 4, 5];
  const joined = levels.map(() => -1);
  for (const t of results.texts(g)) {
    const r = JSON.parse(t) as Json;
    levels.forEach((level, i) => (joined[i] += Buffer.byteLength(JSON.stringify(slimResult(r, level))) + 1));
  }
  const i = levels.findIndex((_, k) => fits(Math.max(joined[k], 0)));
  const k = i < 0 ? levels.length - 1 : i;
  return { level: levels[k] ?? MAX_SLIM_LEVEL, joined: Math.max(joined[k], 0), fits: i >= 0 };
}

function* slimmed(texts: Iterable<string>, level: SlimLevel): Generator<string> {
  for (const t of texts) yield JSON.stringify(slimResult(JSON.parse(t) as Json, level));
}

/**
 * PatchMon's scanner_info, each field read from scan-detect's answer for
 * it: Docker Bench is available when scan-run has a way to run it (an
 * installed engine that does not run is none), oscap-docker when the
 * program is there and the engine runs.
 */
export function scannerInfo(cap: Record<string, unknown>): Record<string, unknown> {
  const o = (cap.openscap ?? {}) as Partial<Capabilities["openscap"]>;
  const d = (cap.docker_bench ?? {}) as Partial<Capabilities["docker_bench"]>;
  return {
    openscap_available: Boolean(o.installed),
    openscap_version: o.version ?? "",
    docker_bench_available: d.docker_bench_method !== undefined && d.docker_bench_method !== "none",
    oscap_docker_available: Boolean(o.oscap_docker_path) && Boolean(d.docker_running),
    available_profiles: [...new Set((o.available_profiles ?? []).map((p) => p.id))],
  };
}
