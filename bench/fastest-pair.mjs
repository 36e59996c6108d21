// Fastest wall time of each of two command lines over N rounds, run in turn (A, B, A, B, ...), so that
// both meet the same machine: run one after the other, whatever changed the machine's speed between the
// two halves (load, clock) went into the ratio. Prints "A_SECONDS B_SECONDS".
// usage: node bench/fastest-pair.mjs N COMMAND_A... -- COMMAND_B...
import { spawnSync } from "node:child_process";

const [rounds, ...rest] = process.argv.slice(2);
const cut = rest.indexOf("--");
if (!(Number(rounds) > 0) || cut < 1 || cut === rest.length - 1) {
  console.error("usage: node bench/fastest-pair.mjs N COMMAND_A... -- COMMAND_B...");
  process.exit(2);
}
const commands = [rest.slice(0, cut), rest.slice(cut + 1)];
const best = [Infinity, Infinity];
for (let round = 0; round < Number(rounds); round++) {
  commands.forEach(([file, ...args], i) => {
    const started = process.hrtime.bigint();
    const run = spawnSync(file, args, { stdio: "ignore" });
    if (run.status !== 0) throw new Error(`${[file, ...args].join(" ")}: exit ${run.status ?? run.signal}`);
    best[i] = Math.min(best[i], Number(process.hrtime.bigint() - started) / 1e9);
  });
}
console.log(best.map((s) => s.toFixed(4)).join(" "));
