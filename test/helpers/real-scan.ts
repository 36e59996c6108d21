import { sh } from "./run.js";
import { ROOT } from "./paths.js";
import type { RuleResult } from "../../src/types.js";

/** The RuleResults of the bundled real scan (examples/data), through xccdf2rules. */
export function bundledRules(): RuleResult[] {
  const r = sh(`xccdf2rules ${ROOT}/examples/data/*.arf.gz 2>/dev/null`);
  if (r.status !== 0) throw new Error(`xccdf2rules failed: ${r.stderr}`);
  return r.stdout.trim().split("\n").map((l) => JSON.parse(l) as RuleResult);
}

/**
 * `n` real-shaped RuleResults with distinct rule ids, made from the bundled
 * scan's rules. A real SSG CIS scan carries several fix systems per rule
 * (1,911 rules are 7.0 MB as a PatchMon body, ~80 % of it remediation); the
 * bundled scan keeps one, so each remediation here is the rule's own followed
 * by the next `fixes - 1` rules' ones.
 */
export function realShapedRules(n: number, opts: { fixes?: number; target?: string } = {}): RuleResult[] {
  const base = bundledRules();
  const fixes = base.map((r) => r.remediation).filter((f): f is string => Boolean(f));
  const per = opts.fixes ?? 5;
  return Array.from({ length: n }, (_, i) => {
    const r = base[i % base.length];
    const remediation = Array.from({ length: per }, (_, k) => fixes[(i + k) % fixes.length]).join("\n\n");
    return { ...r, rule_ref: `${r.rule_ref}_${i}`, remediation, ...(opts.target ? { target: opts.target } : {}) };
  });
}
