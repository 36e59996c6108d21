import { createReadStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { PipeError } from "../errors.js";
import { runCli, type CommandSpec, type Io } from "../cli/run.js";
import { CONTENT_DIRS, allNotApplicableMessage } from "../scanners/scap-content.js";
import { DOCKER_BENCH_IMAGE, ResultWords, ScanStopped, runDockerBench, runOpenscap } from "../scanners/run.js";

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
    const copyTo = (file: string) => pipeline(createReadStream(file), io.stdout, { end: false });
    if (scanner === "openscap") {
      if (!args.profile) throw new PipeError("E_USAGE", "openscap needs --profile ID|NAME (scan-detect lists them)");
      const profile = args.profile;
      const progress = oscapProgress(io);
      try {
        await untilInterrupted((signal) =>
          runOpenscap({ profile, datastream: args.datastream, contentDirs: CONTENT_DIRS, datastreamHint: "give --datastream FILE (scan-detect lists what there is)", tailoring: args["tailoring-file"], rules: args.rule ?? [], progress: io.stderrIsTTY, signal, onLine: progress.see }, async (results) => {
            progress.finish();
            progress.warnIfAllNotApplicable();
            await copyTo(results);
          }),
        );
      } finally {
        progress.finish();
      }
    } else if (scanner === "docker-bench") {
      await untilInterrupted((signal) => runDockerBench({ script: args.script, image: args.image, scriptHint: "or give --script docker-bench-security.sh", signal }, copyTo));
    } else throw new PipeError("E_USAGE", `unknown scanner '${scanner}': openscap or docker-bench`);
  },
};

/**
 * oscap's per-rule lines: counted (a scan whose every rule is notapplicable
 * is warned about) and, on a terminal, shown on one line of stderr until
 * oscap is done.
 */
function oscapProgress(io: Io) {
  const words = new ResultWords();
  let n = 0;
  let shown = false;
  return {
    see: (line: string) => {
      words.see(line);
      if (!io.stderrIsTTY || !line.includes(":")) return;
      n++;
      shown = true;
      process.stderr.write(`\rscan-run: rule ${n}: ${line.slice(0, 100)}\x1b[K`);
    },
    finish: () => {
      if (shown) process.stderr.write("\r\x1b[K");
      shown = false;
    },
    warnIfAllNotApplicable: () => {
      if (words.total > 0 && words.notapplicable === words.total) io.warn(allNotApplicableMessage(words.total));
    },
  };
}

/** SIGINT and SIGTERM stop the scan (its temp files removed) and end the command with 130/143. */
async function untilInterrupted(work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const ctrl = new AbortController();
  const onSignal = (s: NodeJS.Signals) => ctrl.abort(s);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await work(ctrl.signal);
  } catch (err) {
    if (!(err instanceof ScanStopped)) throw err;
    const s = ctrl.signal.reason as NodeJS.Signals;
    throw new PipeError("E_IO", `interrupted by ${s}; scan abandoned, temporary files removed`, { exitCode: s === "SIGINT" ? 130 : 143 });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

export const main = () => runCli(spec);
