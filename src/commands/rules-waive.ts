import { PipeError } from "../errors.js";
import { openInputs, type NamedInput } from "../streams/input.js";
import { runCli, writeRecords, type CommandSpec } from "../cli/run.js";
import { readRuleLines, withFields } from "../rules/line.js";
import { WaiverBook, isDate, loadWaivers, parseDays, waiverField } from "../rules/waivers.js";
import { WAIVABLE } from "../rules/waiver-field.js";

export interface WaiveOptions {
  onBadLine?: (message: string) => void;
}

/**
 * RuleResult lines in, the same lines out; a failure (fail, warn, error)
 * that an active waiver matches gets `waiver`, its status kept. A line that
 * is not a RuleResult goes out unchanged and is reported; the generator then
 * throws E_BAD_INPUT at the end.
 */
export async function* waiveRules(inputs: AsyncIterable<NamedInput>, book: WaiverBook, opts: WaiveOptions = {}): AsyncGenerator<string> {
  let bad = 0;
  for await (const line of readRuleLines(inputs)) {
    if ("problem" in line) {
      bad++;
      opts.onBadLine?.(`${line.source}: line ${line.number}: ${line.problem}; passed through unchanged`);
      yield line.text;
      continue;
    }
    const r = line.record;
    const waiver = WAIVABLE.has(r.status) ? book.match(r.rule_ref, r.target) : undefined;
    yield waiver ? withFields(line.text, r as never, { waiver: waiverField(waiver) }) : line.text;
  }
  if (bad) throw new PipeError("E_BAD_INPUT", `${bad} line(s) were not RuleResults: passed through without a waiver`);
}

interface Args {
  waivers?: string;
  "warn-expiring"?: string;
  today?: string;
}

export const spec: CommandSpec<Args> = {
  name: "rules-waive",
  usage:
    "$0 --waivers FILE [FILE...]\n\nAttaches accepted exceptions to RuleResult lines: a failed (fail, warn, error) rule that a waiver in FILE matches gets `waiver` {reason, expires, ticket, source}; its status is kept. FILE is YAML or JSON, a list of entries {rule: id or glob, hosts: [globs] (default all), reason, expires: YYYY-MM-DD or never, ticket}. An expired waiver is not applied and is said on stderr.",
  examples: [
    ["xccdf2rules results.arf | $0 --waivers /etc/compliance-pipes/waivers.yaml | rules2scan", "waived failures counted apart, out of the score"],
    ["$0 --waivers waivers.yaml --warn-expiring 14d < rules.ndjson > waived.ndjson", "also say which waivers end in the next two weeks"],
  ],
  options: (y) =>
    y
      .option("waivers", { type: "string", demandOption: true, describe: "the waivers file (YAML or JSON)" })
      .option("warn-expiring", { type: "string", describe: "say on stderr which waivers expire within this time (14d, 2w)" })
      .option("today", { type: "string", hidden: true, describe: "the date taken as today (YYYY-MM-DD), for tests" }),
  async run(args, io) {
    const today = args.today ?? new Date().toISOString().slice(0, 10);
    if (!isDate(today)) throw new PipeError("E_USAGE", `--today must be YYYY-MM-DD, not ${today}`);
    const days = args["warn-expiring"] === undefined ? null : parseDays(args["warn-expiring"]);
    if (args["warn-expiring"] !== undefined && days === null) throw new PipeError("E_USAGE", `--warn-expiring must be days (14d) or weeks (2w), not ${args["warn-expiring"]}`);
    const book = new WaiverBook(await loadWaivers(args.waivers!), today);
    for (const w of book.expired) io.warn(`${w.source}: waiver for ${w.rule} expired on ${w.expires}: not applied`);
    if (days !== null) for (const w of book.expiringWithin(days)) io.warn(`${w.source}: waiver for ${w.rule} expires on ${w.expires}`);
    await writeRecords(waiveRules(openInputs(args._.map(String)), book, { onBadLine: io.warn }), io.stdout);
  },
};

export const main = () => runCli(spec);
