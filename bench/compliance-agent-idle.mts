// The idle compliance-agent (issue 16): connected to a stand-in server (real keep-alive: pings every
// 30 s, 90 s read deadline), nothing to scan. Started as the systemd unit starts it (the bin shim run
// directly, so its #! node flags apply) and with this host's SCAP content, so start-up's scan-detect
// sees what a real host has. Samples the agent's peak RSS (VmHWM, from its start) and CPU time from
// /proc over DURATION seconds (600 by default: the target's 10 minutes) and checks them: peak RSS
// <= 60 MB, ~0 % CPU (< 0.1 %) over the window. The reference, in the same run: node alone, idle.
// Then, when oscap and SSG's Debian 11 content are here (SCAN=0 skips it), one real scan through the
// same agent (Debian 11 ANSSI high, in a namespace where this host reads as Debian 11): its peak RSS,
// the scan's parsing included, against xccdf2rules's target (<= 100 MB).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { StandInServer } from "../test/helpers/patchmon-server.ts";
import { agentHome, startAgent, started } from "../test/helpers/agent.ts";
import { ANSSI_HIGH, SSG_DEBIAN11, asDebian11, haveOscap } from "../test/helpers/oscap.ts";
import { CONTENT_DIRS } from "../src/scanners/scap-content.ts";

const duration = Number(process.env.DURATION ?? 600);
const withScan = process.env.SCAN !== "0" && haveOscap() && existsSync(SSG_DEBIAN11);
const ticks = 100; // USER_HZ on Linux
const status = (pid: number) => readFileSync(`/proc/${pid}/status`, "utf8");
const mb = (pid: number, key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status(pid))![1]) / 1024;
const cpuSeconds = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / ticks;
};
/** The node process under `root` (the shell, or the unshare wrapper when scanning). */
const nodeUnder = (root: number): number => {
  const children = (pid: number) =>
    readdirSync("/proc")
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1].split(" ")[1] === String(pid);
        } catch {
          return false;
        }
      })
      .map(Number);
  for (let todo = [root]; todo.length; ) {
    const pid = todo.shift()!;
    if (status(pid).startsWith("Name:\tnode")) return pid;
    todo.push(...children(pid));
  }
  throw new Error(`no node process under ${root}`);
};

const reference = Number(execFileSync(process.execPath, ["-e", "setTimeout(() => console.log(/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]), 2000)"], { encoding: "utf8" })) / 1024;

const s = await new StandInServer().start();
const home = agentHome(s, {
  realOscap: true,
  contentDirs: CONTENT_DIRS,
  ...(withScan ? { datastream: SSG_DEBIAN11, yaml: (ds: string) => `compliance:\n  openscap:\n    profile: ${ANSSI_HIGH}\n    datastream: ${ds}` } : {}),
});
// as ExecStart= runs it: the shim itself, not `node shim`
const direct = (command: string) => command.replace(/^exec node /, "exec ");
const a = startAgent(home, ["run"], { server: s, wrap: (c) => (withScan ? asDebian11(direct(c)) : direct(c)) });
await started(a, s);
await s.waitFor("the WebSocket", () => s.connected);
const pid = nodeUnder(a.pid);
// start-up (scan-detect, first ping) is not idle: the CPU window starts here; the peak counts from the start
await new Promise((r) => setTimeout(r, 3000));
const cpu0 = cpuSeconds(pid);
const t0 = Date.now();
await new Promise((r) => setTimeout(r, duration * 1000));
const seconds = (Date.now() - t0) / 1000;
const used = cpuSeconds(pid) - cpu0;
const peak = mb(pid, "VmHWM");
const rss = mb(pid, "VmRSS");
const percent = (100 * used) / seconds;
const connections = s.wsConnections.length;
const idleOk = peak <= 60 && percent < 0.1 && connections === 1;
const window = seconds >= 599 ? `${seconds.toFixed(0)} s` : `${seconds.toFixed(0)} s (shorter than the target's 10 minutes: DURATION=600)`;
console.log(`idle ${window}: peak RSS ${peak.toFixed(1)} MB (now ${rss.toFixed(1)} MB; node alone ${reference.toFixed(1)} MB; target <= 60), CPU ${used.toFixed(2)} s = ${percent.toFixed(3)} % (target ~0: < 0.1 %), WebSocket connections ${connections} (1 = never dropped) ${idleOk ? "met" : "MISSED"}`);

let scanOk = true;
if (withScan) {
  s.send({ type: "compliance_scan", profile_type: "openscap", profile_id: ANSSI_HIGH });
  await s.waitFor("the scan's upload", () => {
    if (a.child.exitCode !== null) throw new Error(`the agent exited during the scan: ${a.log().slice(-2000)}`);
    return s.uploads.length === 1;
  }, 300_000);
  const results = (s.uploads[0].payload.scans[0] as { results: unknown[] }).results.length;
  const scanPeak = mb(pid, "VmHWM");
  scanOk = scanPeak <= 100 && results > 0;
  console.log(`one real scan (Debian 11 ANSSI high, ${results} rules, its ARF parsed in the agent): peak RSS ${scanPeak.toFixed(1)} MB (xccdf2rules's target <= 100) ${scanOk ? "met" : "MISSED"}`);
} else console.log("real scan row skipped (SCAN=0, or no oscap / SSG Debian 11 content)");

process.kill(pid, "SIGTERM");
const exit = await a.exited;
await s.stop();
if (exit.code !== 0) console.log(`SIGTERM: the agent exited ${exit.code ?? exit.signal} (expected 0) MISSED`);
process.exit(idleOk && scanOk && exit.code === 0 ? 0 : 1);
