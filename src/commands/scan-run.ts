import { PipeError } from "../errors.js";
import { runCli, type CommandSpec } from "../cli/run.js";
import { DOCKER_BENCH_IMAGE, runOpenscap, runDockerBench } from "../scanners/run.js";

interface Args {
  profile?: string;
  datastream?: string;
  "tailoring-file"?: string;
  rule?: string[];
  script?: string;
  image: string;
}

export const spec: CommandSpec<Args> = {
  name: "scan-run",
  usage:
    "$0 openscap --profile ID|NAME [--datastream FILE] [--tailoring-file F] [--rule R]...\n$0 docker-bench [--script docker-bench-security.sh]\n\nRuns a scanner and streams its result document to stdout: OpenSCAP's ARF (oscap exit 2, some rules failed, is success) or Docker Bench's JSON log. Results are written to a private temporary directory that is always removed.",
  examples: [
    ["$0 openscap --profile cis_level1_server | xccdf2rules | rules2scan | patchmon-send", "the PatchMon agent's OpenSCAP scan"],
    ["$0 docker-bench | dockerbench2rules | rules2scan | patchmon-send", "the Docker Bench scan"],
  ],
  extraExitCodes: ["3 scanner not available", "130/143 interrupted (SIGINT/SIGTERM)"],
  options: (y) =>
    y
      .command("openscap", "run oscap xccdf eval")
      .command("docker-bench", "run Docker Bench for Security")
      .demandCommand(1, 1, "say which scanner: openscap or docker-bench")
      .option("profile", { type: "string", describe: "openscap: profile id, or its short name (cis_level1_server)" })
      .option("datastream", { type: "string", describe: "openscap: SCAP data stream (default: the SSG content matching this host)" })
      .option("tailoring-file", { type: "string", describe: "openscap: XCCDF tailoring file" })
      .option("rule", { type: "string", array: true, describe: "openscap: evaluate only this rule (repeatable)" })
      .option("script", { type: "string", describe: "docker-bench: run this docker-bench-security.sh instead of the container" })
      .option("image", { type: "string", default: DOCKER_BENCH_IMAGE, describe: "docker-bench: container image" }),
  async run(args, io) {
    const scanner = String(args._[0]);
    if (scanner === "openscap") {
      if (!args.profile) throw new PipeError("E_USAGE", "openscap needs --profile ID|NAME (scan-detect lists them)");
      await runOpenscap({ profile: args.profile, datastream: args.datastream, tailoring: args["tailoring-file"], rules: args.rule ?? [], io });
    } else if (scanner === "docker-bench") {
      await runDockerBench({ script: args.script, image: args.image, io });
    } else throw new PipeError("E_USAGE", `unknown scanner '${scanner}': openscap or docker-bench`);
  },
};

export const main = () => runCli(spec);
