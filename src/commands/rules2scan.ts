import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { PipeError } from "../errors.js";
import { openInputs } from "../streams/input.js";
import { readLines } from "../streams/lines.js";
import { runCli, writeText, type CommandSpec } from "../cli/run.js";
import { ScanGroups, patchmonHead, patchmonResult, ruleResultProblem, specHead, type ScanGroup } from "../sinks/patchmon/scans.js";
import { machineId, osInfo } from "../scanners/host-info.js";
import type { RuleResult } from "../types.js";
import type { Capabilities } from "./scan-detect.js";
import type { ScoreWaived } from "../rules/marks.js";

export type ScanFormat = "spec" | "patchmon";

export interface RulesToScanOptions {
  format: ScanFormat;
  /** scan-detect output, for PatchMon's scanner_info. */
  capabilities?: Record<string, unknown>;
  /** Waived failures (rules-waive) in the spec summary's score: left out of the total, or counted. */
  scoreWaived?: ScoreWaived;
  now?: string;
  onBadLine?: (message: string) => void;
}

/** Reads RuleResult lines into groups; bad lines are reported and counted. */
export async function readGroups(inputs: AsyncIterable<{ name: string; chunks: AsyncIterable<Buffer> }>, onBadLine: (m: string) => void): Promise<{ groups: ScanGroup[]; bad: number }> {
  const groups = new ScanGroups();
  let bad = 0;
  for await (const input of inputs) {
    for await (const line of readLines(input.chunks, { source: input.name })) {
      if (!line.text.trim()) continue;
      let parsed: unknown;
      let problem: string | null;
      try {
        parsed = JSON.parse(line.text);
        problem = ruleResultProblem(parsed);
      } catch (err) {
        problem = `not JSON (${(err as Error).message})`;
      }
      if (problem) {
        bad++;
        onBadLine(`${input.name}: line ${line.number}: not a RuleResult: ${problem}`);
        continue;
      }
      groups.add(parsed as RuleResult);
    }
  }
  return { groups: groups.groups, bad };
}

/** `{"k":…,"results":[` + results + `]}`: results go out in slices, never as one big string. */
function* objectWithResults(head: object, results: unknown[], map: (r: never) => unknown = (r) => r): Generator<string> {
  const open = JSON.stringify(head);
  yield `${open.slice(0, -1)}${open.length > 2 ? "," : ""}"results":[`;
  for (let i = 0; i < results.length; i += 500) {
    yield results
      .slice(i, i + 500)
      .map((r) => JSON.stringify(map(r as never)))
      .join(",") + (i + 500 < results.length ? "," : "");
  }
  yield "]}";
}

/** The payload lines, as text chunks: one spec payload per group, or one PatchMon payload per host. */
export function* payloadText(groups: ScanGroup[], opts: RulesToScanOptions): Generator<string> {
  const now = opts.now ?? new Date().toISOString();
  if (opts.format === "spec") {
    for (const g of groups) {
      yield* objectWithResults(specHead(g, now, opts.scoreWaived), g.results);
      yield "\n";
      g.results = [];
    }
    return;
  }
  const hosts = new Map<string, ScanGroup[]>();
  for (const g of groups) hosts.set(g.target, [...(hosts.get(g.target) ?? []), g]);
  const local = hostname();
  for (const [host, scans] of hosts) {
    const head = {
      hostname: host,
      machine_id: host === local || host === local.split(".")[0] ? machineId() : "",
      agent_version: "compliance-pipes/0.1.0",
      os_info: osInfo(),
      ...(opts.capabilities ? { scanner_info: scannerInfo(opts.capabilities) } : {}),
    };
    const open = JSON.stringify(head);
    yield `${open.slice(0, -1)},"scans":[`;
    for (const [i, g] of scans.entries()) {
      yield* objectWithResults(patchmonHead(g, now), g.results, patchmonResult);
      g.results = [];
      if (i < scans.length - 1) yield ",";
    }
    yield "]}\n";
  }
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

interface Args {
  format: ScanFormat;
  capabilities?: string;
  "score-waived": ScoreWaived;
}

const defaults: Args = { format: "spec", "score-waived": "exclude" };

export const spec: CommandSpec<Args> = {
  name: "rules2scan",
  usage:
    "$0 [FILE...]\n\nGroups RuleResult lines (xccdf2rules, dockerbench2rules) by target, scanner, profile and TestResult, and writes scan payloads for POST /api/v1/compliance/scans: the PatchMon compliance spec's (--format spec, one per group) or the real PatchMon server's (--format patchmon, one per host with its scans).",
  examples: [
    ["xccdf2rules results.arf | $0", "one spec payload per scan"],
    ["scan-run openscap --profile cis_level1_server | xccdf2rules | $0 --format patchmon --capabilities caps.json | patchmon-send", "the PatchMon agent's job"],
  ],
  options: (y) =>
    y
      .option("format", { type: "string", choices: ["spec", "patchmon"] as const, default: defaults.format, describe: "payload shape" })
      .option("capabilities", { type: "string", describe: "scan-detect output (JSON file) for PatchMon's scanner_info" })
      .option("score-waived", { type: "string", choices: ["exclude", "include"] as const, default: defaults["score-waived"], describe: "waived failures (rules-waive) in the spec summary's score: left out, or counted as failures" }),
  plainDefaults: defaults,
  async run(args, io) {
    let capabilities: Record<string, unknown> | undefined;
    if (args.capabilities) {
      try {
        capabilities = JSON.parse(readFileSync(args.capabilities, "utf8"));
      } catch (cause) {
        throw new PipeError("E_USAGE", `cannot read --capabilities: ${(cause as Error).message}`, { position: { source: args.capabilities }, cause });
      }
    }
    const { groups, bad } = await readGroups(openInputs(args._.map(String)), io.warn);
    if (!groups.length && !bad) throw new PipeError("E_BAD_INPUT", "empty input: no RuleResult lines");
    await writeText(payloadText(groups, { format: args.format, capabilities, scoreWaived: args["score-waived"] }), io.stdout);
    if (bad) throw new PipeError("E_BAD_INPUT", `${bad} line(s) were not RuleResults and are not in any payload (see above)`);
  },
};

export const main = () => runCli(spec);
