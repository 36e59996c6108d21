import { spawn } from "node:child_process";
import { Limiter } from "../../util/limiter.js";

export type LookupAnswer = { ok: true; team: string } | { ok: false; why: string; expected?: boolean };

export interface GrouptestOptions {
  bin: string;
  timeoutMs: number;
  concurrency: number;
  onWarning?: (message: string) => void;
}

/**
 * Runs vmintgr's `grouptest` the way MIG's plugin did: one argument
 * (`host:<name>` or `ip:<cidr>`), no shell, JSON `{"team": …}` on stdout.
 * Answers are cached per query for the life of the object, and at most
 * `concurrency` programs run at once.
 */
export class Grouptest {
  private readonly cache = new Map<string, Promise<LookupAnswer>>();
  private readonly limiter: Limiter;
  runs = 0;
  failures = 0;

  constructor(private readonly opts: GrouptestOptions) {
    this.limiter = new Limiter(opts.concurrency);
  }

  lookup(query: string): Promise<LookupAnswer> {
    let answer = this.cache.get(query);
    if (!answer) {
      answer = this.limiter.run(() => this.exec(query)).then((a) => {
        if (!a.ok) {
          this.failures++;
          if (!a.expected) this.opts.onWarning?.(`grouptest ${query}: ${a.why}; team left empty`);
        }
        return a;
      });
      this.cache.set(query, answer);
    }
    return answer;
  }

  /**
   * The original's getTeam: host first, then each address, stopping at the
   * first team that is not "default"; any failed lookup ends it with "".
   */
  async team(host: string, addresses: readonly string[]): Promise<string> {
    for (const query of [`host:${host}`, ...addresses.map((a) => `ip:${a}`)]) {
      const answer = await this.lookup(query);
      if (!answer.ok) return "";
      if (answer.team !== "default") return answer.team;
    }
    return "default";
  }

  private exec(query: string): Promise<LookupAnswer> {
    this.runs++;
    return new Promise((resolve) => {
      let stdout = "";
      let stderr = "";
      let timedOut = false;
      const child = spawn(this.opts.bin, [query], { stdio: ["ignore", "pipe", "pipe"] });
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, this.opts.timeoutMs);
      // an answer is a few dozen bytes: stop collecting past 1 MiB
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        if (stdout.length < 1 << 20) stdout += d;
      });
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-500)));
      child.on("error", (err) => {
        clearTimeout(timer);
        resolve({ ok: false, why: `cannot run ${this.opts.bin}: ${err.message}` });
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (timedOut) return resolve({ ok: false, why: `no answer within ${this.opts.timeoutMs} ms (killed)` });
        if (code !== 0) {
          const said = stderr.trim().split("\n").pop();
          // vmintgr since 2016-08 answers every ip: lookup this way
          const expected = code === 1 && query.startsWith("ip:");
          return resolve({ ok: false, expected, why: `exit ${code ?? signal}${said ? ` (${said})` : ""}` });
        }
        resolve(parseAnswer(stdout));
      });
    });
  }
}

function parseAnswer(stdout: string): LookupAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    return { ok: false, why: `answer is not JSON: ${JSON.stringify(stdout.slice(0, 60))}` };
  }
  const team = (parsed as { team?: unknown })?.team;
  if (typeof team !== "string") return { ok: false, why: "answer has no team" };
  return { ok: true, team };
}
