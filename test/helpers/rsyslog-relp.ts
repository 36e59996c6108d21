import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedPort } from "./http-server.js";
import { RSYSLOGD, canConnect } from "./rsyslog.js";

const IMRELP = ["/usr/lib/x86_64-linux-gnu/rsyslog/imrelp.so", "/usr/lib/aarch64-linux-gnu/rsyslog/imrelp.so", "/usr/lib/rsyslog/imrelp.so"];
export const haveImrelp = () => existsSync(RSYSLOGD) && IMRELP.some((p) => existsSync(p));

export interface RelpRsyslog {
  port: number;
  dir: string;
  /** Every line rsyslog wrote so far (the raw message of each frame it took), across restarts. */
  lines(): string[];
  /** Starts rsyslogd (again) on the same port and waits until it accepts connections. */
  start(): Promise<void>;
  /** SIGTERM, then waits until rsyslogd has exited. */
  stop(): Promise<void>;
  /** What rsyslogd said on stderr, all runs. */
  stderr(): string;
  /** Stops rsyslogd and removes its directory. */
  dispose(): Promise<void>;
}

export interface RelpRsyslogOptions {
  /**
   * rsyslog's main queue. "direct": a frame is acknowledged only after the action wrote it (nothing can be
   * left in a queue at shutdown); "memory": rsyslog's default in-memory queue.
   */
  mainQueue?: "direct" | "memory";
  /** imrelp tls="on", clients must show a certificate signed by caFile (authMode certvalid). */
  tls?: { caFile: string; certFile: string; keyFile: string };
}

/**
 * A real rsyslogd with imrelp on a loopback port, its own config, work directory and pid file, run in the
 * foreground as our child (works as root, touches nothing of the system's rsyslog). The raw message of
 * every frame it receives on the RELP input is appended to one file, one a line.
 */
export async function startRelpRsyslog(opts: RelpRsyslogOptions = {}): Promise<RelpRsyslog> {
  const dir = mkdtempSync(join(tmpdir(), "rsyslog-relp-"));
  const port = await closedPort();
  const out = join(dir, "received.log");
  const conf = join(dir, "rsyslog.conf");
  const queue = opts.mainQueue === "memory" ? "" : `main_queue(queue.type="Direct")\n`;
  const tls = opts.tls
    ? ` tls="on" tls.caCert="${opts.tls.caFile}" tls.myCert="${opts.tls.certFile}" tls.myPrivKey="${opts.tls.keyFile}" tls.authMode="certvalid"`
    : "";
  writeFileSync(
    conf,
    `global(workDirectory="${dir}")
${queue}module(load="imrelp")
input(type="imrelp" address="127.0.0.1" port="${port}" ruleset="relp"${tls})
template(name="rawOnly" type="string" string="%rawmsg%\\n")
ruleset(name="relp") {
  action(type="omfile" file="${out}" template="rawOnly")
}
`,
  );
  let child: ChildProcess | null = null;
  let stderr = "";

  const start = async () => {
    if (child && child.exitCode === null) throw new Error("rsyslogd is already running");
    const c = spawn(RSYSLOGD, ["-n", "-f", conf, "-i", join(dir, "rsyslogd.pid")], { stdio: ["ignore", "ignore", "pipe"] });
    child = c;
    c.stderr?.on("data", (d) => (stderr += d));
    const deadline = Date.now() + 15_000;
    while (!(await canConnect(port))) {
      if (Date.now() > deadline || c.exitCode !== null) throw new Error(`rsyslogd (imrelp) did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once("exit", () => resolve());
      c.kill("SIGTERM");
    });

  await start();
  return {
    port,
    dir,
    lines: () => (existsSync(out) ? readFileSync(out, "utf8").split("\n").slice(0, -1) : []),
    start,
    stop,
    stderr: () => stderr,
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
