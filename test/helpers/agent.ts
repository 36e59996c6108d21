import { afterEach } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, ROOT } from "./paths.js";
import type { StandInServer } from "./patchmon-server.js";
import { shAsync } from "./run.js";

export const FAKE_PROFILE = "xccdf_org.ssgproject.content_profile_fake";

/** A data stream small enough to read at once: one profile selecting the five rules the fake oscap reports. */
const FAKE_DS = `<?xml version="1.0"?>
<ds:data-stream-collection xmlns:ds="http://scap.nist.gov/schema/scap/source/1.2" xmlns:xccdf-1.2="http://checklists.nist.gov/xccdf/1.2">
<xccdf-1.2:Benchmark id="xccdf_org.ssgproject.content_benchmark_FAKE">
<xccdf-1.2:Profile id="${FAKE_PROFILE}"><xccdf-1.2:title>Fake profile</xccdf-1.2:title>
${["a", "b", "c", "d", "e"].map((r) => `<xccdf-1.2:select idref="xccdf_org.ssgproject.content_rule_${r}" selected="true"/>`).join("\n")}
</xccdf-1.2:Profile>
${["a", "b", "c", "d", "e", "f"].map((r) => `<xccdf-1.2:Rule selected="false" id="xccdf_org.ssgproject.content_rule_${r}" severity="medium"><xccdf-1.2:title>Rule ${r}</xccdf-1.2:title></xccdf-1.2:Rule>`).join("\n")}
</xccdf-1.2:Benchmark>
</ds:data-stream-collection>
`;

export interface AgentHome {
  dir: string;
  config: string;
  stateDir: string;
  outboxDir: string;
  /** The agent's TMPDIR, where scans run (empty when none does). */
  tmp: string;
  /** PATH with the fake oscap first (when asked for). */
  path: string;
  datastream: string;
}

/**
 * A private config.yml, credentials.yml, state directory and (unless the
 * real one is wanted) a fake oscap on PATH, for an agent talking to `server`.
 */
export function agentHome(server: StandInServer, o: { yaml?: (datastream: string) => string; agentYaml?: string; realOscap?: boolean; datastream?: string; contentDirs?: string[]; apiKey?: string } = {}): AgentHome {
  const dir = mkdtempSync(join(tmpdir(), "cp-agent-"));
  const stateDir = join(dir, "state");
  const bin = join(dir, "bin");
  mkdirSync(bin);
  mkdirSync(join(dir, "tmp"));
  if (!o.realOscap) symlinkSync(join(ROOT, "test/helpers/fake-oscap.sh"), join(bin, "oscap"));
  const datastream = o.datastream ?? join(dir, "ssg-fake1-ds.xml");
  if (!o.datastream) writeFileSync(datastream, FAKE_DS);
  writeFileSync(join(dir, "credentials.yml"), `api_id: ${server.opts.apiId}\napi_key: ${o.apiKey ?? server.opts.apiKey}\n`, { mode: 0o600 });
  const config = join(dir, "config.yml");
  writeFileSync(
    config,
    [
      `patchmon_server: ${server.url}`,
      `credentials_file: ${join(dir, "credentials.yml")}`,
      "update_interval: 60",
      o.yaml?.(datastream) ?? `compliance:\n  openscap:\n    profile: ${FAKE_PROFILE}\n    datastream: ${datastream}`,
      "compliance_agent:",
      `  state_dir: ${stateDir}`,
      `  content_dirs: ${JSON.stringify(o.contentDirs?.map((d) => (d === "$HOME" ? dir : d)) ?? [])}`,
      ...(o.agentYaml ?? "").split("\n").filter(Boolean).map((l) => `  ${l}`),
      "",
    ].join("\n"),
  );
  return { dir, tmp: join(dir, "tmp"), config, stateDir, outboxDir: join(stateDir, "outbox"), path: `${bin}:${process.env.PATH}`, datastream };
}

export interface RunningAgent {
  child: ChildProcess;
  pid: number;
  /** stderr so far. */
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `compliance-agent <args>` as a child process (optionally in a wrapper such as the Debian 11 unshare). */
export function startAgent(home: AgentHome, args: string[] = ["run"], o: { wrap?: (command: string) => string; env?: Record<string, string>; server?: StandInServer } = {}): RunningAgent {
  const command = `exec node ${join(BIN, "compliance-agent")} ${args.join(" ")} --config ${home.config}`;
  const env: Record<string, string | undefined> = { ...process.env, PATH: home.path, TMPDIR: home.tmp, ...o.env };
  for (const k of ["PATCHMON_API_ID", "PATCHMON_API_KEY", "PATCHMON_SERVER"]) delete env[k];
  const child = spawn("sh", ["-c", o.wrap ? o.wrap(command) : command], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
    o.server?.poke();
  });
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      resolve({ code, signal });
      o.server?.poke();
    }),
  );
  return { child, pid: child.pid!, log: () => stderr, exited };
}

/** `compliance-agent scan` (one scan now) with the home's PATH and TMPDIR; resolves when it exits. */
export function scanOnce(home: AgentHome, env: Record<string, string> = {}, extra = "") {
  return shAsync(`compliance-agent scan ${extra} --config ${home.config}`, { env: { PATH: `${BIN}:${home.path}`, TMPDIR: home.tmp, ...env } });
}

/** Resolves once the agent has started (its signal handlers are in place, its outbox lock taken). */
export function started(a: RunningAgent, s: StandInServer): Promise<boolean> {
  return s.waitFor("the agent to start", () => {
    if (a.child.exitCode !== null) throw new Error(`the agent exited: ${a.log()}`);
    return a.log().includes("compliance-agent: started:");
  });
}

/** The agents and stand-in servers a test file starts: killed and stopped after each test. */
export function stoppedAfterEach(): { servers: StandInServer[]; agents: RunningAgent[] } {
  const servers: StandInServer[] = [];
  const agents: RunningAgent[] = [];
  afterEach(async () => {
    for (const a of agents.splice(0)) {
      a.child.kill("SIGKILL");
      await a.exited;
    }
    for (const s of servers.splice(0)) await s.stop().catch(() => undefined);
  });
  return { servers, agents };
}
