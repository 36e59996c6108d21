import { PipeError } from "../errors.js";
import { openInputs } from "../streams/input.js";
import { runCli, writeRecords, type CommandSpec } from "../cli/run.js";
import { diffRules, readPrevious } from "../rules/diff.js";
import { PreviousFile, StateDir, type PreviousScans } from "../rules/state.js";

interface Args {
  state?: string;
  all: boolean;
}

const defaults: Args = { all: false };

export const spec: CommandSpec<Args> = {
  name: "rules-diff",
  usage:
    "$0 --state DIR [FILE...]\n$0 OLD NEW\n\nCompares RuleResult lines with the previous scan of the same target, scanner, profile and rule, and writes the lines that changed with `change` (new-failure, fixed, regressed, new-rule, removed) and `previous_status`. With --state the previous scan is read from DIR (one file per target) and the new one recorded there, only when the whole input was read without error. With two files, OLD is the previous scan and nothing is recorded.",
  examples: [
    ["xccdf2rules results.arf | $0 --state /var/lib/compliance-pipes/state | mozdef-send --url https://mozdef.example.net/events", "send only what changed since the last scan"],
    ["$0 --all monday.ndjson tuesday.ndjson", "every rule of tuesday's scan, marked with how it moved"],
  ],
  options: (y) =>
    y
      .option("state", { type: "string", describe: "directory keeping each target's last results (created when missing)" })
      .option("all", { type: "boolean", default: defaults.all, describe: "write every line, unchanged ones marked unchanged or still-failing" }),
  plainDefaults: defaults,
  async run(args, io) {
    const paths = args._.map(String);
    let store: PreviousScans;
    let inputs: string[];
    if (args.state !== undefined) {
      store = await StateDir.open(args.state);
      inputs = paths;
    } else {
      if (paths.length !== 2) throw new PipeError("E_USAGE", "give --state DIR, or two files: OLD NEW");
      let old: PreviousScans | undefined;
      for await (const input of openInputs([paths[0]])) old = new PreviousFile(await readPrevious(input));
      store = old!;
      inputs = [paths[1]];
    }
    try {
      await writeRecords(diffRules(openInputs(inputs), store, { all: args.all, onBadLine: io.warn }), io.stdout);
    } catch (err) {
      await store.abort();
      throw err;
    }
    await store.commit();
  },
};

export const main = () => runCli(spec);
