import { constants } from "node:fs";
import { syncDirectory } from "../util/durable-file.js";
import { access, mkdir, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { PipeError } from "../errors.js";
import type { RuleStatus } from "../types.js";

/** One rule's last result, as the state keeps it (enough to write a `removed` line). */
export interface StateEntry {
  scanner: string;
  profile: string;
  rule_ref: string;
  status: RuleStatus;
  severity: string;
  title: string;
}

export const entryKey = (e: Pick<StateEntry, "scanner" | "profile" | "rule_ref">) => JSON.stringify([e.scanner, e.profile, e.rule_ref]);

/** Where the previous results come from and where the new ones go. */
export interface PreviousScans {
  /** One target's previous results by entryKey (empty when it has none). */
  previous(target: string): Promise<Map<string, StateEntry>>;
  /** One target's new results, kept aside until commit(). */
  record(target: string, entries: Iterable<StateEntry>): Promise<void>;
  /** Makes every recorded target the state; called only when the whole input was read without error. */
  commit(): Promise<void>;
  /** Drops what was recorded: the old state stays. */
  abort(): Promise<void>;
}

const FORMAT = "compliance_pipes_state";
const SUFFIX = ".state.ndjson";
const STATUSES = new Set(["pass", "fail", "warn", "skip", "notapplicable", "error"]);

/** The file name for a target: percent-encoded, never hidden, `%` alone for the empty name. */
export function stateFileName(target: string): string {
  return `${encodeURIComponent(target).replace(/^\./, "%2E") || "%"}${SUFFIX}`;
}

/** The lines of a state file: a header naming the target, then one compact array per rule. */
export function stateText(target: string, entries: Iterable<StateEntry>): string {
  let text = `${JSON.stringify({ [FORMAT]: 1, target })}\n`;
  for (const e of entries) text += `${JSON.stringify([e.scanner, e.profile, e.rule_ref, e.status, e.severity, e.title])}\n`;
  return text;
}

/** Reads a state file's text; throws a PipeError naming the file and line when it is not one. */
export function parseState(text: string, source: string, target?: string): Map<string, StateEntry> {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const fault = (line: number, what: string) => new PipeError("E_BAD_INPUT", `not a rules-diff state file: ${what}`, { position: { source, line } });
  let header: unknown;
  try {
    header = JSON.parse(lines[0] ?? "");
  } catch {
    throw fault(1, "no header line");
  }
  const h = header as Record<string, unknown>;
  if (h === null || typeof h !== "object" || h[FORMAT] !== 1 || typeof h.target !== "string") throw fault(1, `header must be {"${FORMAT}":1,"target":…}`);
  if (target !== undefined && h.target !== target) throw fault(1, `it holds target ${JSON.stringify(h.target)}, not ${JSON.stringify(target)}`);
  const entries = new Map<string, StateEntry>();
  for (let i = 1; i < lines.length; i++) {
    let row: unknown;
    try {
      row = JSON.parse(lines[i]);
    } catch {
      throw fault(i + 1, "a line is not JSON");
    }
    if (!Array.isArray(row) || row.length !== 6 || !row.every((x) => typeof x === "string") || !STATUSES.has(row[3])) throw fault(i + 1, "a rule line must be [scanner, profile, rule, status, severity, title]");
    const [scanner, profile, rule_ref, status, severity, title] = row as string[];
    const e: StateEntry = { scanner, profile, rule_ref, status: status as RuleStatus, severity, title };
    entries.set(entryKey(e), e);
  }
  return entries;
}

/**
 * The state directory: one file per target, so that one target's state is
 * in memory at a time. New files are written beside the old ones under
 * temporary names and renamed over them by commit().
 */
export class StateDir implements PreviousScans {
  private readonly staged: [temporary: string, final: string][] = [];

  private constructor(readonly dir: string) {}

  /**
   * Creates the directory when missing; checks that it is a writable
   * directory and that every state file in it reads, before anything is
   * written, so a malformed state fails the run at once.
   */
  static async open(dir: string): Promise<StateDir> {
    const fault = (what: string) => new PipeError("E_BAD_INPUT", `--state ${dir}: ${what}`);
    try {
      await mkdir(dir, { recursive: true });
      if (!(await stat(dir)).isDirectory()) throw fault("not a directory");
      await access(dir, constants.W_OK | constants.R_OK);
    } catch (err) {
      if (err instanceof PipeError) throw err;
      throw fault((err as NodeJS.ErrnoException).code === "EEXIST" || (err as NodeJS.ErrnoException).code === "ENOTDIR" ? "not a directory" : (err as Error).message);
    }
    for (const name of (await readdir(dir)).sort()) {
      const leftover = /^\..*\.(\d+)\.\d+\.tmp$/.exec(name);
      // a run that was killed before commit() or abort() left it
      if (leftover && !isRunning(Number(leftover[1]))) await unlink(join(dir, name)).catch(() => undefined);
      if (!name.endsWith(SUFFIX) || name.startsWith(".")) continue;
      let target: string;
      try {
        target = decodeURIComponent(name.slice(0, -SUFFIX.length).replace(/^%$/, ""));
      } catch {
        throw fault(`${name}: not a state file name`);
      }
      parseState(await readFile(join(dir, name), "utf8"), join(dir, name), target);
    }
    return new StateDir(dir);
  }

  async previous(target: string): Promise<Map<string, StateEntry>> {
    const file = join(this.dir, stateFileName(target));
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return new Map();
      throw new PipeError("E_IO", (err as Error).message, { position: { source: file } });
    }
    return parseState(text, file, target);
  }

  async record(target: string, entries: Iterable<StateEntry>): Promise<void> {
    const final = join(this.dir, stateFileName(target));
    const temporary = join(this.dir, `.${stateFileName(target)}.${process.pid}.${this.staged.length}.tmp`);
    this.staged.push([temporary, final]);
    const handle = await open(temporary, "w");
    try {
      await handle.writeFile(stateText(target, entries));
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async commit(): Promise<void> {
    const renamed = this.staged.splice(0);
    for (const [temporary, final] of renamed) await rename(temporary, final);
    if (renamed.length) await syncDirectory(this.dir);
  }

  async abort(): Promise<void> {
    for (const [temporary] of this.staged.splice(0)) await unlink(temporary).catch(() => undefined);
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** `rules-diff OLD NEW`: the previous results are a file of RuleResult lines, read whole; nothing is recorded. */
export class PreviousFile implements PreviousScans {
  constructor(private readonly byTarget: Map<string, Map<string, StateEntry>>) {}
  async previous(target: string): Promise<Map<string, StateEntry>> {
    return this.byTarget.get(target) ?? new Map();
  }
  async record(): Promise<void> {}
  async commit(): Promise<void> {}
  async abort(): Promise<void> {}
}
