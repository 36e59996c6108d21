import { PipeError } from "../errors.js";
import { openInputs } from "../streams/input.js";
import { JsonPicker } from "../streams/json-picker.js";
import { runCli, writeRecords, type CommandSpec } from "../cli/run.js";
import { commandToItems, type KeyOrder } from "../readers/mig/items.js";
import { configOption, loadRunnerComplianceConfig, missingSettingText } from "../cli/runner-config.js";
import { goIdString, goJson } from "../util/go-json.js";
import { nowEpochMs, rfc3339Nano } from "../util/time.js";
import type { ComplianceItem, MigCommand } from "../types.js";

export interface RunnerToComplianceOptions {
  migApi: string;
  keyOrder?: KeyOrder;
  withAddresses?: boolean;
  source?: string;
  /** "now" (the plugin: one time per command) or "finish" (the command's finishtime, as MIG's compliance report API did). */
  timestamp?: "now" | "finish";
  /** Clock for "now". */
  now?: () => number;
  onProblem?: (message: string) => void;
}

export interface RunnerStats {
  documents: number;
  commands: number;
  items: number;
  commandsWithoutResults: number;
  otherModuleResults: number;
  commandsWithProblems: number;
}

/**
 * mig-runner RunnerResult documents in (one or several, concatenated),
 * compliance items out. Commands are read one at a time. A command with
 * problems is reported and the others still converted; the generator then
 * throws E_BAD_INPUT at the end.
 */
export async function* runnerToCompliance(chunks: AsyncIterable<Buffer | string>, opts: RunnerToComplianceOptions, stats: RunnerStats = newStats()): AsyncGenerator<ComplianceItem> {
  const picker = new JsonPicker((path) => path.length === 2 && path[0] === "commands" && typeof path[1] === "number", opts.source, 2);
  const now = opts.now ?? nowEpochMs;
  const convert = (value: unknown): ComplianceItem[] => {
    stats.commands++;
    const cmd = value as MigCommand;
    if (typeof cmd !== "object" || cmd === null || Array.isArray(cmd)) {
      stats.commandsWithProblems++;
      opts.onProblem?.(`command #${stats.commands}: not an object`);
      return [];
    }
    if (cmd.results === null || cmd.results === undefined) stats.commandsWithoutResults++;
    const utctimestamp = opts.timestamp === "finish" && typeof cmd.finishtime === "string" ? cmd.finishtime : rfc3339Nano(now());
    const outcome = commandToItems(cmd, { migApi: opts.migApi, utctimestamp, keyOrder: opts.keyOrder ?? "current", withAddresses: opts.withAddresses ?? false });
    stats.otherModuleResults += outcome.skippedResults;
    stats.items += outcome.items.length;
    if (outcome.problems.length) {
      stats.commandsWithProblems++;
      const id = cmd.id === undefined ? `#${stats.commands}` : goIdString(cmd.id);
      for (const p of outcome.problems) opts.onProblem?.(`command ${id} (${cmd.agent?.name ?? "no agent"}): ${p}`);
    }
    return outcome.items;
  };
  for await (const chunk of chunks) {
    for (const picked of picker.write(chunk)) yield* convert(picked.value);
  }
  for (const picked of picker.end()) yield* convert(picked.value);
  stats.documents = picker.documents;
  if (picker.documents === 0) throw new PipeError("E_BAD_INPUT", "empty input: no RunnerResult", { position: { source: opts.source } });
  if (stats.commandsWithProblems) {
    throw new PipeError("E_BAD_INPUT", `${stats.commandsWithProblems} command(s) had errors (reported above); ${stats.items} items written`, { position: { source: opts.source } });
  }
}

export function newStats(): RunnerStats {
  return { documents: 0, commands: 0, items: 0, commandsWithoutResults: 0, otherModuleResults: 0, commandsWithProblems: 0 };
}

interface Args {
  "mig-api"?: string;
  config?: string;
  "key-order": KeyOrder;
  "with-addresses": boolean;
  timestamp: "now" | "finish";
  stats: boolean;
}

const defaults: Args = { "key-order": "current", "with-addresses": false, timestamp: "now", stats: false };

export const spec: CommandSpec<Args> = {
  name: "runner2compliance",
  usage:
    "$0 [FILE...]\n\nReads mig-runner results (mig.RunnerResult JSON, one or several) from FILEs or stdin ('-') and writes one MozDef compliance item per line: one per command, file-module search label and matched-file entry, field for field as MIG's runner-compliance plugin builds them.",
  examples: [
    ["$0 --mig-api https://mig.example.net/api/v1 < results/20160105/5553641062400.json", "convert a saved runner result"],
    ["$0 --with-addresses | enrich-owner | mozdef-send", "the runner-compliance plugin as a pipeline (config from /etc/mig/runner-compliance.conf)"],
  ],
  options: (y) =>
    y
      .option("mig-api", { type: "string", describe: "MIG API base URL for the item links (default: [mig] api of the config)" })
      .option("config", configOption())
      .option("key-order", { type: "string", choices: ["current", "2016"] as const, default: defaults["key-order"], describe: "item key order: today's plugin, or the 2015-2017 one" })
      .option("with-addresses", { type: "boolean", default: defaults["with-addresses"], describe: "carry the agent's addresses in the item (for enrich-owner's ip: lookups)" })
      .option("timestamp", { type: "string", choices: ["now", "finish"] as const, default: defaults.timestamp, describe: "utctimestamp: conversion time (the plugin) or the command's finish time (MIG's compliance API)" })
      .option("stats", { type: "boolean", default: defaults.stats, describe: "print counts on stderr at the end" }),
  plainDefaults: defaults,
  async run(args, io) {
    const cfg = loadRunnerComplianceConfig(args.config);
    // the API URL only makes the links: without it the items are still worth sending
    const migApi = args["mig-api"] ?? cfg.migApi ?? "";
    if (!migApi) io.warn(`${missingSettingText("--mig-api", "[mig] api", args.config, cfg)}; links are relative (/command?commandid=…), as the plugin's with an empty api`);
    const stats = newStats();
    const paths = args._.map(String);
    async function* all() {
      for await (const input of openInputs(paths)) {
        const items = runnerToCompliance(input.chunks, { migApi, keyOrder: args["key-order"], withAddresses: args["with-addresses"], timestamp: args.timestamp, source: input.name, onProblem: io.warn }, stats);
        // Go's escaping, byte for byte as the plugin wrote it
        for await (const item of items) yield goJson(item);
      }
    }
    try {
      await writeRecords(all(), io.stdout);
    } finally {
      if (args.stats) {
        io.warn(
          `documents ${stats.documents}, commands ${stats.commands}, items ${stats.items}, commands without results ${stats.commandsWithoutResults}, results of other modules ${stats.otherModuleResults}, commands with errors ${stats.commandsWithProblems}`,
        );
      }
    }
  },
};

export const main = () => runCli(spec);
