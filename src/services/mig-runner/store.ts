/**
 * What the runner keeps on disk, in the Go runner's layout and formats so
 * that either runner can pick up the other's work:
 *   runners/<job>/inflight/<id>.json            RunnerResult without commands, until the action is done
 *   runners/<job>/results/<YYYYMMDD UTC>/<id>.json   the RunnerResult with its commands
 *   runners/<job>/failed/<id>.json              an in-flight record given up on (this runner only)
 * Files are written to a temporary name beside them and renamed, so that a
 * crash never leaves half a file where a whole one is expected; temporary
 * names start with a dot and sit outside inflight/ (the Go runner reads
 * every file in there).
 */
import { existsSync, readdirSync } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileDurably } from "../../util/durable-file.js";
import { goIdString } from "../../util/go-json.js";
import { decodeGo, encodeGo, RUNNER_RESULT, type RunnerResult } from "./go-struct.js";
import { processAlive } from "../../util/process-alive.js";

export interface InflightRecord {
  job: string;
  id: number;
  file: string;
  result: RunnerResult;
}

/** What a launch note holds: enough to find the action in MIG by hand. */
export interface LaunchNote {
  job: string;
  name: string;
  validfrom: string;
  expireafter: string;
  pid: number;
}

const LAUNCHING = ".launching-";

export const idName = (id: number) => `${goIdString(id)}.json`;

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, "");

async function writeAtomically(dir: string, name: string, text: string, tmpDir = dir): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return writeFileDurably(dir, name, text, { tmpDir });
}

export class Store {
  constructor(readonly runnersDir: string) {}

  private jobDir(job: string) {
    return join(this.runnersDir, job);
  }

  inflightFile(job: string, id: number): string {
    return join(this.jobDir(job), "inflight", idName(id));
  }

  /** The Go runner's in-flight record: the RunnerResult, `"commands":null`. */
  async writeInflight(result: RunnerResult): Promise<string> {
    await mkdir(this.jobDir(result.name), { recursive: true });
    return writeAtomically(join(this.jobDir(result.name), "inflight"), idName(result.action.id), encodeGo({ ...result, commands: null }, RUNNER_RESULT), this.jobDir(result.name));
  }

  /** Every in-flight record under runners/*\/inflight/, and the files that could not be read. */
  async listInflight(): Promise<{ records: InflightRecord[]; unreadable: { file: string; reason: string }[] }> {
    const records: InflightRecord[] = [];
    const unreadable: { file: string; reason: string }[] = [];
    let jobs: string[];
    try {
      jobs = readdirSync(this.runnersDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return { records, unreadable };
    }
    for (const job of jobs.sort()) {
      const dir = join(this.jobDir(job), "inflight");
      if (!existsSync(dir)) continue;
      for (const name of (await readdir(dir)).sort()) {
        const file = join(dir, name);
        try {
          const result = decodeGo(JSON.parse(await readFile(file, "utf8")), RUNNER_RESULT) as RunnerResult;
          if (!result.action.id) throw new Error("no action id");
          // the directory names the job, whatever the record says
          records.push({ job, id: result.action.id, file, result: { ...result, name: result.name || job } });
        } catch (err) {
          unreadable.push({ file, reason: (err as Error).message });
        }
      }
    }
    return { records, unreadable };
  }

  async isInflight(job: string, id: number): Promise<boolean> {
    return existsSync(this.inflightFile(job, id));
  }

  /** An action's results file if one was written (on any day). */
  async findResults(job: string, id: number): Promise<string | null> {
    const dir = join(this.jobDir(job), "results");
    if (!existsSync(dir)) return null;
    for (const day of (await readdir(dir)).sort().reverse()) {
      const file = join(dir, day, idName(id));
      if (existsSync(file)) return file;
    }
    return null;
  }

  /** results/<YYYYMMDD UTC>/<id>.json: the RunnerResult, compact, no newline; directories 0700. */
  async writeResults(result: RunnerResult, now: number): Promise<string> {
    const resultsDir = join(this.jobDir(result.name), "results");
    await mkdir(resultsDir, { recursive: true, mode: 0o700 });
    return writeAtomically(join(resultsDir, utcDay(now)), idName(result.action.id), encodeGo(result, RUNNER_RESULT), resultsDir);
  }

  /** Done: the in-flight record goes. */
  async complete(job: string, id: number): Promise<void> {
    await rm(this.inflightFile(job, id), { force: true });
  }

  /**
   * Written durably before an action is sent to the API and removed once it
   * is recorded in flight (or the API refused it). One left behind says the
   * runner stopped between the two (kill -9, power cut): the action may be
   * running in MIG with nobody fetching its results.
   */
  async writeLaunching(job: string, note: LaunchNote): Promise<string> {
    // a dot file beside the lock files: the job directory keeps the Go runner's layout
    await mkdir(this.jobDir(job), { recursive: true });
    return writeFileDurably(this.jobDir(job), `${LAUNCHING}${Date.parse(note.validfrom) || 0}-${process.pid}.json`, `${JSON.stringify(note)}\n`);
  }

  async clearLaunching(file: string): Promise<void> {
    await rm(file, { force: true });
  }

  /** Launch notes left by an earlier process, with the job each is in. */
  async listLaunching(): Promise<{ job: string; file: string; note: LaunchNote | null }[]> {
    if (!existsSync(this.runnersDir)) return [];
    const found: { job: string; file: string; note: LaunchNote | null }[] = [];
    for (const job of readdirSync(this.runnersDir).sort()) {
      const dir = this.jobDir(job);
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names.sort()) {
        if (!name.startsWith(LAUNCHING) || !name.endsWith(".json")) continue;
        const file = join(dir, name);
        const note = await readFile(file, "utf8").then((t) => JSON.parse(t) as LaunchNote, () => null);
        found.push({ job, file, note });
      }
    }
    return found;
  }

  /** A launch note said and dealt with: kept in failed/ with the reason, for a person to look at. */
  async parkLaunching(job: string, file: string, reason: string): Promise<string> {
    const dir = join(this.jobDir(job), "failed");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const target = join(dir, file.split("/").pop()!.slice(1));
    await rename(file, target);
    await writeFile(`${target.slice(0, -".json".length)}.reason`, `${reason}\n`);
    return target;
  }

  /** Given up: the in-flight record moves to failed/, with the reason beside it. */
  async giveUp(job: string, id: number, reason: string): Promise<string> {
    const dir = join(this.jobDir(job), "failed");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const target = join(dir, idName(id));
    await rename(this.inflightFile(job, id), target);
    await writeFile(join(dir, `${goIdString(id)}.reason`), `${reason}\n`);
    return target;
  }

  /**
   * Keeps two runner processes (the service and a `run-once`) off the same
   * action: `runners/<job>/.<id>.lock` holds the owner's pid. A lock whose
   * owner is gone (kill -9) is taken over.
   */
  async lock(job: string, id: number): Promise<boolean> {
    const file = join(this.jobDir(job), `.${goIdString(id)}.lock`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(file, String(process.pid), { flag: "wx" });
        return true;
      } catch {
        const owner = Number((await readFile(file, "utf8").catch(() => "")).trim());
        if (owner === process.pid) return true;
        if (owner > 0 && processAlive(owner)) return false;
        await rm(file, { force: true });
      }
    }
    return false;
  }

  async unlock(job: string, id: number): Promise<void> {
    await rm(join(this.jobDir(job), `.${goIdString(id)}.lock`), { force: true });
  }
}

