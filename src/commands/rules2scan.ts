import { readFileSync } from "node:fs";
import { PipeError } from "../errors.js";
import { openInputs } from "../streams/input.js";
import { readLines } from "../streams/lines.js";
import { runCli, writeText, type CommandSpec } from "../cli/run.js";
import { ScanGroups, patchmonResult, ruleResultProblem, type ScanGroup } from "../sinks/patchmon/scans.js";
import { payloadChunks, type ScanFormat } from "../sinks/patchmon/payloads.js";
import { ResultSpill } from "../sinks/patchmon/spill.js";
import type { RuleResult, ScanResult } from "../types.js";
import type { ScoreWaived } from "../rules/marks.js";

export { payloadText, scannerInfo, type ScanFormat } from "../sinks/patchmon/payloads.js";

/**
 * Reads RuleResult lines into groups; bad lines are reported and counted.
 * With `keep`, each group's results go there rather than into the group.
 */
export async function readGroups(inputs: AsyncIterable<{ name: string; chunks: AsyncIterable<Buffer> }>, onBadLine: (m: string) => void, keep?: (g: ScanGroup, r: ScanResult) => void): Promise<{ groups: ScanGroup[]; bad: number }> {
  const groups = new ScanGroups(keep);
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

interface Args {
  format: ScanFormat;
  capabilities?: string;
  "max-body": number;
  "score-waived": ScoreWaived;
}

const defaults: Args = { format: "spec", "max-body": 5 * 1000 * 1000, "score-waived": "exclude" };

export const spec: CommandSpec<Args> = {
  name: "rules2scan",
  usage:
    "$0 [FILE...]\n\nGroups RuleResult lines (xccdf2rules, dockerbench2rules) by target, scanner, profile and TestResult, and writes scan payloads for POST /api/v1/compliance/scans: the PatchMon compliance spec's (--format spec, one per group) or the real PatchMon server's (--format patchmon, one per host with its scans, cut into bodies under --max-body). Results wait in a temporary file until their scan's summary is known, so memory stays flat.",
  examples: [
    ["xccdf2rules results.arf | $0", "one spec payload per scan"],
    ["scan-run openscap --profile cis_level1_server | xccdf2rules | $0 --format patchmon --capabilities caps.json | patchmon-send", "the PatchMon agent's job"],
  ],
  options: (y) =>
    y
      .option("format", { type: "string", choices: ["spec", "patchmon"] as const, default: defaults.format, describe: "payload shape" })
      .option("capabilities", { type: "string", describe: "scan-detect output (JSON file) for PatchMon's scanner_info" })
      .option("score-waived", { type: "string", choices: ["exclude", "include"] as const, default: defaults["score-waived"], describe: "waived failures (rules-waive) in the spec summary's score: left out, or counted as failures" })
      .option("max-body", {
        type: "number",
        default: defaults["max-body"],
        describe: "--format patchmon: largest body in bytes (the server's JSON_BODY_LIMIT); a host's scans are cut into several bodies, a scan too big alone is slimmed (remediation to its first line, then descriptions, then rationales trimmed); 0 = one body per host",
      }),
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
    if (!(args["max-body"] >= 0)) throw new PipeError("E_USAGE", "--max-body must be a number of bytes ≥ 0");
    const spill = new ResultSpill<ScanGroup>();
    try {
      const form = args.format === "patchmon" ? patchmonResult : (r: ScanResult) => r;
      const { groups, bad } = await readGroups(openInputs(args._.map(String)), io.warn, (g, r) => spill.add(g, JSON.stringify(form(r))));
      if (!groups.length && !bad) throw new PipeError("E_BAD_INPUT", "empty input: no RuleResult lines");
      await writeText(payloadChunks(groups, spill, { format: args.format, capabilities, scoreWaived: args["score-waived"], maxBody: args["max-body"], warn: io.warn }), io.stdout);
      if (bad) throw new PipeError("E_BAD_INPUT", `${bad} line(s) were not RuleResults and are not in any payload (see above)`);
    } finally {
      spill.close();
    }
  },
};

export const main = () => runCli(spec);
