// The idle compliance-agent: connected to a stand-in server (real keep-alive: pings every 30 s,
// 90 s read deadline), nothing to scan. Samples the agent's peak RSS (VmHWM) and CPU time from
// /proc for DURATION seconds and checks them against the targets: peak RSS <= 60 MB, ~0 % CPU.
import { readFileSync } from "node:fs";
import { StandInServer } from "../test/helpers/patchmon-server.ts";
import { agentHome, startAgent, started } from "../test/helpers/agent.ts";

const duration = Number(process.env.DURATION ?? 600);
const ticks = 100; // USER_HZ on Linux
const s = await new StandInServer().start();
const home = agentHome(s, { realOscap: true });
const a = startAgent(home, ["run"], { server: s });
await started(a, s);
await s.waitFor("the WebSocket", () => s.connected);
// start-up (scan-detect, first ping) is not idle: measure from here
await new Promise((r) => setTimeout(r, 3000));
const cpu = () => {
  const f = readFileSync(`/proc/${a.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / ticks;
};
const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${a.pid}/status`, "utf8"))![1]);
const cpu0 = cpu();
const t0 = Date.now();
await new Promise((r) => setTimeout(r, duration * 1000));
const seconds = (Date.now() - t0) / 1000;
const used = cpu() - cpu0;
const peak = kb("VmHWM") / 1024;
const rss = kb("VmRSS") / 1024;
const percent = (100 * used) / seconds;
const connections = s.wsConnections.length;
a.child.kill("SIGTERM");
const exit = await a.exited;
await s.stop();
const ok = peak <= 60 && percent < 0.5 && connections === 1 && exit.code === 0;
console.log(`idle ${seconds.toFixed(0)} s: peak RSS ${peak.toFixed(1)} MB (now ${rss.toFixed(1)} MB; target <= 60), CPU ${used.toFixed(2)} s = ${percent.toFixed(3)} % (target ~0), WebSocket connections ${connections} (1 = never dropped), SIGTERM exit ${exit.code} ${ok ? "OK" : "MISSED"}`);
process.exit(ok ? 0 : 1);
