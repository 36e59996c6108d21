import { PipeError } from "../errors.js";
import { runCli, type CommandSpec } from "../cli/run.js";
import { check } from "../services/mig-runner/check.js";
import { DEFAULT_RUNNER_CONFIG, loadConfigs } from "../services/mig-runner/config.js";
import { createLogger, streamLogger } from "../services/mig-runner/log.js";
import { MigRunner } from "../services/mig-runner/runner.js";

interface Args {
  config: string;
  job?: string;
}

export const spec: CommandSpec<Args> = {
  name: "mig-runner",
  usage:
    "$0 [-c runner.cfg]\n$0 check [-c runner.cfg]\n$0 run-once <job> [-c runner.cfg]\n\nRuns MIG actions on their cron schedules (runners/<job>/entity.cfg and action.json under [runner] directory), fetches their results when they expire, writes them to runners/<job>/results/<YYYYMMDD>/<action id>.json and pipes each into the job's plugin. A drop-in for MIG's mig-runner (same runner.cfg, ~/.migrc, directories and files) that keeps an action in flight until its results are written and its plugin succeeded.",
  examples: [
    ["$0 -c /etc/mig/runner.cfg", "the service (stop it with SIGTERM; in-flight actions are taken up at the next start)"],
    ["$0 check -c /etc/mig/runner.cfg", "check the configuration, the key and every job; one line per problem, exit 1 if any"],
    ["$0 run-once sysmediumlogs1", "launch that job now, wait for its results, run its plugin, print the results file"],
  ],
  options: (y) =>
    y
      .command("check", "check runner.cfg, the client configuration, the key and every job, then exit")
      .command("run-once <job>", "launch one job now, wait for its results and run its plugin", (c) => c.positional("job", { type: "string", describe: "a directory under runners/" }))
      .option("config", { alias: "c", type: "string", default: DEFAULT_RUNNER_CONFIG, describe: "runner.cfg (gcfg)" }) as never,
  async run(args, io) {
    const sub = args._[0] === undefined ? undefined : String(args._[0]);
    if (sub === "check") {
      const report = await check(args.config);
      for (const line of report.info) io.stdout.write(`${line}\n`);
      for (const p of report.problems) io.warn(p);
      if (report.problems.length) throw new PipeError("E_BAD_INPUT", `${report.problems.length} problem${report.problems.length > 1 ? "s" : ""} found`);
      io.stdout.write("no problems found\n");
      return;
    }
    const { runner, client } = loadConfigs(args.config);
    if (sub === "run-once") {
      const job = args.job ?? (args._[1] === undefined ? undefined : String(args._[1]));
      if (!job) throw new PipeError("E_USAGE", "run-once needs a job name (a directory under runners/)");
      const log = streamLogger(process.stderr, runner.logging.level);
      const file = await new MigRunner({ runner, client, log }).runOnce(job);
      io.stdout.write(`${file ?? "sent (sendonly: no results are fetched)"}\n`);
      return;
    }
    if (sub !== undefined) throw new PipeError("E_USAGE", `unknown command '${sub}': check, run-once <job>, or none for the service`);
    const log = createLogger(runner.logging);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
      await new MigRunner({ runner, client, log }).run(stop.signal);
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      await log.close();
    }
  },
};

export const main = () => runCli(spec);
