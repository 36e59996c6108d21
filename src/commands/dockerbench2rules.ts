import { hostname } from "node:os";
import { openInputs } from "../streams/input.js";
import { runCli, writeRecords, type CommandSpec } from "../cli/run.js";
import { dockerbenchToRules } from "../readers/dockerbench/document.js";

export { dockerbenchToRules, type DockerBenchToRulesOptions } from "../readers/dockerbench/document.js";

interface Args {
  target?: string;
}

export const spec: CommandSpec<Args> = {
  name: "dockerbench2rules",
  usage: "$0 [FILE...]\n\nReads Docker Bench for Security's JSON log (any version; also its [WARN]/[PASS] text output) from FILEs or stdin ('-') and writes one RuleResult JSON line per check. WARN maps to fail, INFO to warn, NOTE to skip.",
  examples: [
    ["$0 --target web-01 < log/docker-bench-security.log.json", "convert a saved log"],
    ["$0 docker-bench-security.sh.log.json | grep '\"status\":\"fail\"'", "only the failed checks"],
  ],
  options: (y) => y.option("target", { type: "string", describe: "host the checks ran on (default: this host's name)" }),
  plainDefaults: {},
  async run(args, io) {
    const paths = args._.map(String);
    const target = args.target ?? hostname();
    async function* all() {
      for await (const input of openInputs(paths)) {
        yield* dockerbenchToRules(input.chunks, { source: input.name, target, onWarning: io.warn });
      }
    }
    await writeRecords(all(), io.stdout);
  },
};

export const main = (argv?: string[]) => runCli(spec, argv);
