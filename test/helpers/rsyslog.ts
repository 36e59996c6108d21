import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedPort } from "./http-server.js";

export const RSYSLOGD = "/usr/sbin/rsyslogd";
export const haveRsyslog = () => existsSync(RSYSLOGD);

export interface Rsyslog {
  udpPort: number;
  tcpPort: number;
  socket: string;
  /** Lines written so far: `pri|facility|severity|programname|rawmsg`. */
  lines(): string[];
  /** Waits until at least n lines arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<string[]>;
  stop(): Promise<void>;
}

/** A real rsyslogd with its own config and work directory, listening on loopback UDP/TCP and a private unix socket. */
export async function startRsyslog(): Promise<Rsyslog> {
  const dir = mkdtempSync(join(tmpdir(), "rsyslog-"));
  const udpPort = await closedPort();
  const tcpPort = await closedPort();
  const socket = join(dir, "log.sock");
  const out = join(dir, "out.log");
  writeFileSync(
    join(dir, "rsyslog.conf"),
    `global(workDirectory="${dir}" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="${socket}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="${udpPort}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="${tcpPort}")
template(name="raw" type="string" string="%pri%|%syslogfacility-text%|%syslogseverity-text%|%programname%|%rawmsg%\\n")
*.* action(type="omfile" file="${out}" template="raw")
`,
  );
  const child: ChildProcess = spawn(RSYSLOGD, ["-n", "-f", join(dir, "rsyslog.conf"), "-i", join(dir, "rsyslogd.pid")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += d));
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(tcpPort)) || !existsSync(socket)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`rsyslogd did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const lines = () => (existsSync(out) ? readFileSync(out, "utf8").split("\n").filter(Boolean) : []);
  return {
    udpPort,
    tcpPort,
    socket,
    lines,
    async waitFor(n, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      while (lines().length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      return lines();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** Whether something accepts a TCP connection on 127.0.0.1:port now. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}
