import { PipeError } from "../../errors.js";
import { readLines } from "../../streams/lines.js";
import { DockerBenchJsonReader, toRuleResult, type DockerBenchCheck } from "./reader.js";
import { DockerBenchSalvage } from "./salvage.js";
import { DockerBenchTextReader } from "./text.js";
import type { RuleResult } from "../../types.js";

export interface DockerBenchToRulesOptions {
  source?: string;
  /** Host the checks ran on. */
  target: string;
  onWarning?: (message: string) => void;
}

const WORST_FIRST = ["WARN", "NOTE", "INFO", "PASS"];

/**
 * A Docker Bench log (JSON of any generation, or its text output) in,
 * RuleResults out. Broken JSON is salvaged line by line; if any check
 * cannot be recovered the generator throws E_LOST after yielding the rest.
 */
export async function* dockerbenchToRules(chunks: AsyncIterable<Buffer | string>, opts: DockerBenchToRulesOptions): AsyncGenerator<RuleResult> {
  const source = opts.source ?? "stdin";
  const warn = (message: string) => opts.onWarning?.(`${source}: ${message}`);
  let mode: "unknown" | "json" | "salvage" | "text" = "unknown";
  const json = new DockerBenchJsonReader();
  const text = new DockerBenchTextReader();
  let salvage: DockerBenchSalvage | null = null;
  let held: DockerBenchCheck | null = null;
  /** The held check's details, one per merged check, joined when it is released (joining on each merge was quadratic). */
  let heldDetails: string[] = [];
  let emitted = 0;
  let lastLine = 0;

  function* release(): Generator<RuleResult> {
    if (!held) return;
    const details = heldDetails.join("\n");
    if (details !== (held.details ?? "")) held = { ...held, details };
    heldDetails = [];
    emitted++;
    yield toRuleResult(held, { target: opts.target, startedAt: json.startedAt });
    held = null;
  }

  // Gen 0 logs repeat a key once per offending item: one line per check, items merged
  function* take(ready: DockerBenchCheck[]): Generator<RuleResult> {
    for (const check of ready) {
      if (held && held.id === check.id && held.group === check.group) {
        held = mergeChecks(held, check);
        if (check.details) heldDetails.push(check.details);
        continue;
      }
      yield* release();
      held = check;
      if (check.details) heldDetails.push(check.details);
    }
    ready.length = 0;
  }

  for await (const line of readLines(chunks, { source })) {
    lastLine = line.number;
    if (mode === "unknown") {
      const t = line.text.trim();
      if (!t) continue;
      mode = t.startsWith("{") ? "json" : "text";
    }
    if (mode === "json") {
      try {
        json.writeLine(line.text);
      } catch (err) {
        warn(`line ${line.number}: invalid JSON (${(err as Error).message}); reading the remaining checks line by line`);
        mode = "salvage";
        salvage = DockerBenchSalvage.takeOver(json, line.number);
      }
      if (json.ready.length) yield* take(json.ready);
    } else if (mode === "salvage") {
      salvage!.writeLine(line.text, line.number);
    } else text.writeLine(line.text);
    // a generator made for each line cost more than reading it (2M blank lines: ~2 s of 5)
    if (salvage?.ready.length) yield* take(salvage.ready);
    if (mode === "text" && text.ready.length) yield* take(text.ready);
  }

  let truncated = false;
  if (mode === "json" && json.depth > 0) {
    truncated = true;
    if (json.insideCheck) salvage = DockerBenchSalvage.takeOver(json, lastLine);
  }
  salvage?.end(lastLine);
  text.end();
  if (salvage) yield* take(salvage.ready);
  yield* take(text.ready);
  yield* release();

  if (mode === "unknown") throw new PipeError("E_BAD_INPUT", "empty input: no Docker Bench log", { position: { source } });
  if (mode === "text" && text.checksSeen === 0) throw new PipeError("E_BAD_INPUT", "not a Docker Bench log: neither JSON nor lines like '[WARN] 1.1 - ...'", { position: { source, line: 1 } });
  const lost = salvage?.lost ?? [];
  for (const l of lost) warn(`${l.firstLine === l.lastLine ? `line ${l.firstLine}` : `lines ${l.firstLine}-${l.lastLine}`}: check lost: ${l.why}`);
  if (json.declaredChecks !== undefined && mode !== "text" && emitted < json.declaredChecks && !lost.length) {
    warn(`the log declares ${json.declaredChecks} checks but ${emitted} were found`);
  }
  if (truncated) throw new PipeError("E_BAD_INPUT", `log ends before its JSON is complete (interrupted run?); ${emitted} checks read`, { position: { source, line: lastLine } });
  if (lost.length) throw new PipeError("E_LOST", `${lost.length} check(s) could not be recovered from invalid JSON; ${emitted} checks written`, { position: { source } });
}

/** The worse result of two checks of one id (their details are gathered apart, in heldDetails). */
function mergeChecks(a: DockerBenchCheck, b: DockerBenchCheck): DockerBenchCheck {
  const rank = (r?: string) => (WORST_FIRST.indexOf(r ?? "") + 5) % 5;
  return rank(a.result) <= rank(b.result) ? a : { ...a, result: b.result };
}
