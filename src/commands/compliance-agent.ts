import { PipeError } from "../errors.js";
import { runCli, type CommandSpec, type Io } from "../cli/run.js";
import { PATCHMON_CONFIG } from "../sinks/patchmon/settings.js";
import { loadConfig, type AgentConfig } from "../services/agent/config.js";
import { ComplianceAgent } from "../services/agent/agent.js";
import { resolveProfile } from "../services/agent/capabilities.js";
import { formatStatus, isAlive, progressLine, readStatus, scanKey, type ProgressEntry } from "../services/agent/status.js";
import type { ScanRequest } from "../services/agent/scan-runner.js";

interface Args {
  config?: string;
  credentials?: string;
  server?: string;
  profile?: string;
  json: boolean;
  follow: boolean;
}

function config(args: Args, needCredentials: boolean): AgentConfig {
  return loadConfig({ config: args.config, credentials: args.credentials, server: args.server, needCredentials });
}

/** Foreground service: logs on stderr; SIGTERM/SIGINT stop it cleanly (exit 0). */
async function runService(args: Args): Promise<void> {
  const agent = new ComplianceAgent(config(args, true));
  // handlers first: a SIGTERM during start-up still stops the agent cleanly
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const stop = (signal: NodeJS.Signals) => {
    process.stderr.write(`compliance-agent: ${signal}: stopping\n`);
    process.off("SIGTERM", stop);
    process.off("SIGINT", stop);
    agent.stop().then(stopped, stopped);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  await agent.start();
  await done;
}

async function scanNow(args: Args, io: Io): Promise<void> {
  const cfg = config(args, true);
  const agent = new ComplianceAgent(cfg);
  let req: ScanRequest = { scanner: "openscap", profile: cfg.openscap.profile, datastream: cfg.openscap.datastream, tailoring: cfg.openscap.tailoring };
  if (args.profile) {
    const r = resolveProfile(args.profile, null);
    if ("error" in r) throw new PipeError("E_USAGE", `--profile: ${r.error}`);
    req = r.scanner === "docker-bench" ? { scanner: "docker-bench", script: cfg.dockerBench.script, image: cfg.dockerBench.image } : { ...req, profile: r.profile };
  }
  const stop = () => agent.stop();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  const { end, pending, refused } = await agent.scanOnce(req, (pid) => io.warn(`an agent (pid ${pid}) sends from ${cfg.outboxDir}: the scan is left to it`));
  if (end.phase === "failed") throw new PipeError("E_IO", `scan failed: ${end.error}`);
  if (end.phase === "cancelled") throw new PipeError("E_IO", "scan cancelled", { exitCode: 143 });
  if (refused.length) throw new PipeError("E_LOST", `the server refused scan ${refused.join(", ")} for good: set aside in ${cfg.outboxDir}/rejected (see above)`);
  if (pending.length) throw new PipeError("E_LOST", `scan ${pending.join(", ")} is kept in the outbox ${cfg.outboxDir}: not sent yet (it goes when the server answers)`);
  io.warn(`scan ${end.ids.join(", ")} sent`);
}

async function showStatus(args: Args, io: Io): Promise<void> {
  const cfg = config(args, false);
  const read = () => readStatus(cfg.stateDir);
  const s = read();
  if (!s) throw new PipeError("E_IO", `no status in ${cfg.stateDir}: the agent has not run here (compliance_agent.state_dir)`);
  if (!args.follow) {
    io.stdout.write(args.json ? `${JSON.stringify({ ...s, running: isAlive(s.pid) && !s.stopped_at })}\n` : formatStatus(s, isAlive(s.pid)));
    return;
  }
  // follow the running scan (or the next one) to its end: its phase changes from the trail (none is
  // missed however late this reads), the per-rule messages as often as it reads
  let following = s.current ? scanKey(s.current) : null;
  let printed = 0;
  let seen = "";
  const show = (p: ProgressEntry) => {
    const line = progressLine(p);
    if (line !== seen) io.stdout.write(`${args.json ? JSON.stringify(p) : line}\n`);
    seen = line;
  };
  for (;;) {
    const now = read();
    if (!now || now.stopped_at || !isAlive(now.pid)) throw new PipeError("E_IO", "the agent is not running");
    following ??= now.current ? scanKey(now.current) : null;
    if (following) {
      const trail = now.trail_of === following ? (now.trail ?? []) : [];
      for (; printed < trail.length; printed++) show(trail[printed]);
      const running = now.current && scanKey(now.current) === following;
      if (running) show(now.current!);
      else return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

const defaults: Args = { json: false, follow: false };

export const spec: CommandSpec<Args> = {
  name: "compliance-agent",
  usage:
    "$0 run | scan [--profile P] | status [--follow]\n\nThe PatchMon agent's compliance runtime: runs OpenSCAP and Docker Bench scans on a schedule (cron or interval, from /etc/patchmon/config.yml) and when the server asks over the WebSocket, reports progress, and uploads each scan through a durable outbox (kept on disk until the server answers 200). Credentials come from credentials.yml or PATCHMON_API_ID/PATCHMON_API_KEY, never from the command line.",
  examples: [
    ["$0 run", "the service (systemd: examples/compliance-agent.service); logs on stderr, SIGTERM stops it"],
    ["$0 scan --profile anssi_np_nt28_high", "one scan now, through the outbox"],
    ["$0 status --follow", "follow the running scan, rule by rule"],
  ],
  extraExitCodes: ["3 scanner not available (scan)", "143 scan interrupted (scan)"],
  options: (y) =>
    y
      .command("run", "run as a service (foreground)")
      .command("scan", "one scan now, through the outbox")
      .command("status", "what the agent is doing: scan, schedules, outbox")
      .demandCommand(1, 1, "say what to do: run, scan or status")
      .option("config", { type: "string", describe: "PatchMon's config.yml", defaultDescription: PATCHMON_CONFIG })
      .option("credentials", { type: "string", describe: "YAML file with api_id and api_key (default: credentials_file of config.yml, else /etc/patchmon/credentials.yml)" })
      .option("server", { type: "string", describe: "PatchMon server URL (default: patchmon_server of config.yml)" })
      .option("profile", { type: "string", describe: "scan: OpenSCAP profile id, short name or title, or docker-bench" })
      .option("json", { type: "boolean", default: false, describe: "status: as JSON" })
      .option("follow", { type: "boolean", default: false, describe: "status: follow the running (or next) scan to its end" }),
  // `compliance-agent run`, as the systemd unit starts it, does not load yargs (~13 MB of an idle agent's 60)
  plainDefaults: defaults,
  async run(args, io) {
    const what = String(args._[0]);
    if (what === "run") return runService(args);
    if (what === "scan") return scanNow(args, io);
    if (what === "status") return showStatus(args, io);
    throw new PipeError("E_USAGE", `unknown subcommand '${what}': run, scan or status`);
  },
};

/**
 * `run` with nothing but --config/--credentials/--server FILE pairs: the
 * arguments without yargs, as for the unit's plain `run`.
 */
export function plainRun(argv: string[]): Args | null {
  if (argv[0] !== "run" || argv.length % 2 !== 1) return null;
  const args: Args = { ...defaults };
  for (let i = 1; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if ((flag !== "--config" && flag !== "--credentials" && flag !== "--server") || value.startsWith("-")) return null;
    args[flag.slice(2) as "config" | "credentials" | "server"] = value;
  }
  return args;
}

export const main = (argv = process.argv.slice(2)) => {
  const plain = plainRun(argv);
  return plain ? runCli({ ...spec, plainDefaults: plain }, ["run"]) : runCli(spec, argv);
};
