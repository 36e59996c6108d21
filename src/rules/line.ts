import { ruleResultProblem } from "../sinks/patchmon/scans.js";
import { readLines } from "../streams/lines.js";
import type { NamedInput } from "../streams/input.js";
import { goJson } from "../util/go-json.js";
import type { Json, RuleResult } from "../types.js";
import type { Change } from "./change.js";
import type { WaiverField } from "./waiver-field.js";

/** A RuleResult as rules-diff and rules-waive write it (rule-result.schema.json's optional fields). */
export type MarkedRuleResult = RuleResult & { change?: Change; previous_status?: string; waiver?: WaiverField };

/** A line parsed as a RuleResult, or why it is not one. */
export function parseRuleLine(text: string): { record: RuleResult } | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { problem: `not JSON (${(err as Error).message})` };
  }
  const problem = ruleResultProblem(parsed);
  return problem ? { problem: `not a RuleResult: ${problem}` } : { record: parsed as RuleResult };
}

/** A non-blank input line, with the RuleResult it holds or why it holds none. */
export type RuleLine = { text: string; source: string; number: number } & ({ record: RuleResult } | { problem: string });

/** Every non-blank line of the inputs, parsed as a RuleResult (or its problem), in order. */
export async function* readRuleLines(inputs: AsyncIterable<NamedInput> | Iterable<NamedInput>): AsyncGenerator<RuleLine> {
  for await (const input of inputs) {
    for await (const line of readLines(input.chunks, { source: input.name })) {
      if (!line.text.trim()) continue;
      yield { text: line.text, source: input.name, number: line.number, ...parseRuleLine(line.text) };
    }
  }
}

/**
 * The line with fields added at its end. The input's bytes are kept as they
 * were (escapes, key order); only a line that already has one of the fields
 * is written again whole. A field given as undefined is left out.
 */
export function withFields(text: string, record: Json, fields: Json): string {
  const added = Object.entries(fields).filter(([, v]) => v !== undefined);
  // a field given as undefined is one the line must not have (a stale previous_status from an earlier run)
  if (Object.keys(fields).some((k) => k in record)) {
    const rewritten: Json = { ...record, ...fields };
    for (const [k, v] of Object.entries(fields)) if (v === undefined) delete rewritten[k];
    return goJson(rewritten);
  }
  if (!added.length) return text;
  const body = text.trimEnd();
  const inner = body.slice(0, -1).trimEnd();
  return `${inner}${inner.endsWith("{") ? "" : ","}${added.map(([k, v]) => `${goJson(k)}:${goJson(v)}`).join(",")}}`;
}
