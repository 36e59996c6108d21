import { PipeError } from "../errors.js";
import { goJson } from "../util/go-json.js";
import type { NamedInput } from "../streams/input.js";
import type { RuleResult, Severity } from "../types.js";
import { classify, isReported, profileOf } from "./change.js";
import { readRuleLines, withFields, type MarkedRuleResult } from "./line.js";
import { entryKey, type PreviousScans, type StateEntry } from "./state.js";

export interface DiffOptions {
  /** Write every line, unchanged ones marked too. */
  all?: boolean;
  onBadLine?: (message: string) => void;
}

function entryOf(r: RuleResult): StateEntry {
  return { scanner: r.scanner, profile: profileOf(r), rule_ref: r.rule_ref, status: r.status, severity: r.severity ?? "unknown", title: r.title ?? "" };
}

/**
 * The line for a rule the previous scan had and this one has not: not
 * checked (skip), with what it was, at the time of the scan that left it out.
 */
export function removedLine(target: string, e: StateEntry, completedAt?: string): string {
  const r: MarkedRuleResult = {
    rule_ref: e.rule_ref,
    title: e.title,
    severity: e.severity as Severity,
    status: "skip",
    scanner: e.scanner as RuleResult["scanner"],
    target,
    ...(e.profile ? { profile: { id: e.profile } } : {}),
    ...(completedAt ? { completed_at: completedAt } : {}),
    change: "removed",
    previous_status: e.status,
  };
  return goJson(r);
}

interface TargetRun {
  target: string;
  previous: Map<string, StateEntry>;
  now: Map<string, StateEntry>;
  scanners: Set<string>;
  /** The latest time the target's lines carry. */
  completedAt?: string;
}

/**
 * RuleResult lines in, the lines that changed out (each with `change` and
 * `previous_status`), each target's `removed` lines after its last line.
 * A target's lines must come together: its previous results are held only
 * while they are read, then its new results are handed to the store. A run
 * replaces the state of the scanners it has lines for on a target; another
 * scanner's results there are kept as they were. Bad lines are reported and
 * left out; the generator then throws E_BAD_INPUT at the end (the caller
 * must not commit).
 */
export async function* diffRules(inputs: AsyncIterable<NamedInput>, store: PreviousScans, opts: DiffOptions = {}): AsyncGenerator<string> {
  let bad = 0;
  let run = null as TargetRun | null;
  const finished = new Set<string>();

  async function* finish(r: TargetRun): AsyncGenerator<string> {
    const carried: StateEntry[] = [];
    for (const [key, e] of r.previous) {
      if (r.now.has(key)) continue;
      if (r.scanners.has(e.scanner)) yield removedLine(r.target, e, r.completedAt);
      else carried.push(e);
    }
    await store.record(r.target, [...r.now.values(), ...carried]);
    finished.add(r.target);
  }

  for await (const line of readRuleLines(inputs)) {
    if ("problem" in line) {
      bad++;
      opts.onBadLine?.(`${line.source}: line ${line.number}: ${line.problem}; left out`);
      continue;
    }
    const r = line.record;
    if (run?.target !== r.target) {
      if (run) yield* finish(run);
      if (finished.has(r.target))
        throw new PipeError("E_BAD_INPUT", `target ${JSON.stringify(r.target)} comes again after other targets' lines: give each target's lines together`, { position: { source: line.source, line: line.number } });
      run = { target: r.target, previous: await store.previous(r.target), now: new Map(), scanners: new Set() };
    }
    const entry = entryOf(r);
    const key = entryKey(entry);
    const before = run.now.get(key) ?? run.previous.get(key);
    const change = classify(before?.status, r.status);
    run.now.set(key, entry);
    run.scanners.add(r.scanner);
    const when = r.completed_at ?? r.started_at;
    if (when && (!run.completedAt || Date.parse(when) > Date.parse(run.completedAt))) run.completedAt = when;
    if (opts.all || isReported(change)) yield withFields(line.text, r as never, { change, previous_status: before?.status });
  }
  if (run) yield* finish(run);
  if (bad) throw new PipeError("E_BAD_INPUT", `${bad} line(s) were not RuleResults: left out, state not written`);
}

/** `rules-diff OLD NEW`: OLD's lines by target, as the previous results. */
export async function readPrevious(input: NamedInput): Promise<Map<string, Map<string, StateEntry>>> {
  const byTarget = new Map<string, Map<string, StateEntry>>();
  for await (const line of readRuleLines([input])) {
    if ("problem" in line) throw new PipeError("E_BAD_INPUT", line.problem, { position: { source: line.source, line: line.number } });
    const e = entryOf(line.record);
    let entries = byTarget.get(line.record.target);
    if (!entries) byTarget.set(line.record.target, (entries = new Map()));
    entries.set(entryKey(e), e);
  }
  return byTarget;
}
