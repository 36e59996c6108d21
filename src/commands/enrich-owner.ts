import { PipeError } from "../errors.js";
import { openInputs } from "../streams/input.js";
import { readLines } from "../streams/lines.js";
import { parseJsonObject } from "../streams/ndjson.js";
import { mapOrdered } from "../streams/ordered.js";
import { runCli, writeRecords, type CommandSpec } from "../cli/run.js";
import { Grouptest, type LookupFailure, type TeamAnswer } from "../readers/mig/grouptest.js";
import { configOption, loadRunnerComplianceConfig } from "../cli/runner-config.js";
import { goJson } from "../util/go-json.js";
import { programProblem } from "../scanners/scap-content.js";

export interface EnrichOwnerOptions {
  /** Looks teams up; null when no grouptest is configured (teams are then ""). */
  grouptest: Grouptest | null;
  /** Field naming the host; default: target, else hostname. */
  field?: string;
  /** Field holding addresses for ip: lookups. */
  addressField?: string;
  keepAddresses?: boolean;
  /** Also enrich records whose tags are null (the 2016 plugin left those alone). */
  all?: boolean;
  source?: string;
  /** Records looked at concurrently (output order is kept). */
  window?: number;
  /** A line that is not a JSON object: it is passed through as it is. */
  onBadLine?: (message: string) => void;
}

export const CARRIED_ADDRESSES = "agent_addresses";

function getPath(record: Record<string, unknown>, path: string): unknown {
  let v: unknown = record;
  for (const part of path.split(".")) v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

/**
 * NDJSON lines in, the same records out with tags {operator, team} set as
 * the 2015-2017 runner-compliance plugin did. A line that is not a JSON
 * object comes out unchanged, as a string (nothing is lost), and is reported;
 * the generator then throws E_BAD_INPUT at the end.
 */
export async function* enrichOwner(chunks: AsyncIterable<Buffer | string>, opts: EnrichOwnerOptions): AsyncGenerator<Record<string, unknown> | string> {
  const addressField = opts.addressField ?? CARRIED_ADDRESSES;
  let bad = 0;
  async function* records() {
    for await (const line of readLines(chunks, { source: opts.source })) {
      if (!line.text.trim()) continue;
      let record: Record<string, unknown> | string;
      try {
        record = parseJsonObject(line.text);
      } catch (problem) {
        bad++;
        opts.onBadLine?.(`${opts.source ?? "stdin"}: line ${line.number}: ${(problem as Error).message}; passed through unchanged`);
        record = line.text;
      }
      yield record;
    }
  }
  const enrich = async (record: Record<string, unknown> | string): Promise<{ out: Record<string, unknown> | string; failure?: LookupFailure }> => {
    if (typeof record === "string") return { out: record };
    const tags = record.tags;
    const addressValue = getPath(record, addressField);
    const addresses = Array.isArray(addressValue) ? addressValue.map(String) : typeof addressValue === "string" ? [addressValue] : [];
    if (!opts.keepAddresses && addressField === CARRIED_ADDRESSES) delete record[CARRIED_ADDRESSES];
    if (tags === null && !opts.all) return { out: record };
    const host = opts.field ? getPath(record, opts.field) : (record.target ?? record.hostname);
    let answer: TeamAnswer = { team: "" };
    if (typeof host === "string" && host && opts.grouptest) answer = await opts.grouptest.team(host, addresses);
    const old = tags !== null && typeof tags === "object" && !Array.isArray(tags) ? (tags as Record<string, unknown>) : {};
    record.tags = { ...old, operator: typeof old.operator === "string" ? old.operator : "", team: answer.team };
    return { out: record, failure: answer.failure };
  };
  for await (const { out, failure } of mapOrdered(records(), enrich, opts.window ?? 512)) {
    // reported as the record goes out, so warnings follow the input's order
    if (failure) opts.grouptest?.report(failure);
    yield out;
  }
  if (bad) throw new PipeError("E_BAD_INPUT", `${bad} line(s) were not JSON objects: passed through without an owner`, { position: { source: opts.source } });
}

interface Args {
  bin?: string;
  config?: string;
  field?: string;
  "address-field"?: string;
  "keep-addresses": boolean;
  all: boolean;
  timeout: number;
  concurrency: number;
  stats: boolean;
}

const defaults: Args = { "keep-addresses": false, all: false, timeout: 10, concurrency: 4, stats: false };

export const spec: CommandSpec<Args> = {
  name: "enrich-owner",
  usage:
    "$0 [FILE...]\n\nAdds the owning team to each compliance item (or any record with a target/hostname field) by asking vmintgr's grouptest program: host:<name> first, then ip:<address> for each address the item carries, stopping at the first team that is not 'default'. Sets tags {operator, team} as MIG's 2015-2017 runner-compliance plugin did; items whose tags are null (agent had no tags) are passed through unless --all. Lookups are cached for the run.",
  examples: [
    ["runner2compliance --with-addresses < result.json | $0 --bin /opt/vmintgr/bin/grouptest", "items with their team"],
    ["$0 --all --field hostname --bin ./grouptest < events.ndjson", "any record with a hostname field"],
  ],
  options: (y) =>
    y
      .option("bin", { type: "string", describe: "the grouptest program (default: [vmintgr] bin of the config)" })
      .option("config", configOption())
      .option("field", { type: "string", describe: "field holding the host name (dots for nested fields)", defaultDescription: "target, else hostname" })
      .option("address-field", { type: "string", describe: "field holding addresses for ip: lookups", defaultDescription: CARRIED_ADDRESSES })
      .option("keep-addresses", { type: "boolean", default: defaults["keep-addresses"], describe: `keep the ${CARRIED_ADDRESSES} field runner2compliance --with-addresses adds` })
      .option("all", { type: "boolean", default: defaults.all, describe: "also look up records whose tags are null" })
      .option("timeout", { type: "number", default: defaults.timeout, describe: "seconds a grouptest run may take before it is killed" })
      .option("concurrency", { type: "number", default: defaults.concurrency, describe: "grouptest programs running at once" })
      .option("stats", { type: "boolean", default: defaults.stats, describe: "print lookup counts on stderr at the end" }),
  plainDefaults: defaults,
  async run(args, io) {
    if (!(args.concurrency >= 1) || !(args.timeout > 0)) throw new PipeError("E_USAGE", "--concurrency must be ≥ 1 and --timeout > 0");
    const cfg = loadRunnerComplianceConfig(args.config);
    const bin = args.bin ?? cfg.vmintgrBin;
    if (!bin) io.warn("no grouptest program (--bin or [vmintgr] bin): teams will be empty");
    // checked before any input is read: a program that cannot run would only leave every team empty
    const problem = bin ? programProblem(bin) : null;
    if (problem) throw new PipeError("E_USAGE", `${args.bin ? `--bin ${bin}` : `[vmintgr] bin of ${cfg.file} (${bin})`}: ${problem}`);
    const grouptest = bin ? new Grouptest({ bin, timeoutMs: args.timeout * 1000, concurrency: args.concurrency, onWarning: io.warn }) : null;
    const paths = args._.map(String);
    async function* all() {
      for await (const input of openInputs(paths)) {
        const opts = { grouptest, field: args.field, addressField: args["address-field"], keepAddresses: args["keep-addresses"], all: args.all, source: input.name, onBadLine: io.warn };
        for await (const record of enrichOwner(input.chunks, opts)) yield typeof record === "string" ? record : goJson(record);
      }
    }
    try {
      await writeRecords(all(), io.stdout);
    } finally {
      if (args.stats && grouptest) io.warn(`grouptest runs ${grouptest.runs}, failed lookups ${grouptest.failures}`);
    }
  },
};

export const main = () => runCli(spec);
