import { spawn } from "node:child_process";
import { Limiter } from "../../util/limiter.js";

export type LookupAnswer = { ok: true; team: string } | { ok: false; why: string; expected?: boolean };

/** A lookup that gave no team; `expected` ones (vmintgr's ip: answer) are not worth a warning. */
export interface LookupFailure {
  query: string;
  why: string;
  expected?: boolean;
}

export interface TeamAnswer {
  team: string;
  failure?: LookupFailure;
}

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
  private readonly reported = new Set<string>();
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
        if (!a.ok) this.failures++;
        return a;
      });
      this.cache.set(query, answer);
    }
    return answer;
  }

  /**
   * The original's getTeam: host first, then each address, stopping at the
   * first team that is not "default"; any failed lookup ends it with "" and
   * is returned, for the caller to report in its own order.
   */
  async team(host: string, addresses: readonly string[]): Promise<TeamAnswer> {
    for (const query of [`host:${host}`, ...addresses.map((a) => `ip:${a}`)]) {
      const answer = await this.lookup(query);
      if (!answer.ok) return { team: "", failure: { query, why: answer.why, expected: answer.expected } };
      if (answer.team !== "default") return { team: answer.team };
    }
    return { team: "default" };
  }

  /**
   * Warns about a failed lookup, once per query. Lookups run concurrently
   * and finish in any order; reporting from the caller keeps warnings in
   * input order.
   */
  report(failure: LookupFailure): void {
    if (failure.expected || this.reported.has(failure.query)) return;
    this.reported.add(failure.query);
    this.opts.onWarning?.(`grouptest ${failure.query}: ${failure.why}; team left empty`);
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
