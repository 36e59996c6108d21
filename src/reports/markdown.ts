import { escapeMarkdown } from "./escape.js";
import { ByScan, SEVERITIES, isFailing, noCounts, score, severityRank, total, type Counts, type ReportRule, type ReportWriter } from "./model.js";

interface Listed {
  rule_ref: string;
  title: string;
  status: string;
  target: string;
  finding?: string;
  waiver?: string;
}

/**
 * A summary short enough for a pull-request comment: one table row per
 * scan, then the failing rules (fail, error) by severity, at most maxRules
 * of them. Only the rules that can still be listed are kept.
 */
export class MarkdownReport implements ReportWriter {
  private readonly scans = new ByScan<Counts>(() => noCounts());
  private readonly listed: Listed[][] = SEVERITIES.map(() => []);
  private readonly failing: number[] = SEVERITIES.map(() => 0);

  constructor(private readonly maxRules: number) {}

  add(r: ReportRule): void {
    this.scans.for(r)[r.status]++;
    if (!isFailing(r)) return;
    const rank = severityRank(r.severity);
    this.failing[rank]++;
    // the rules shown are the most severe, in input order: a severity's list never needs more than maxRules
    if (this.listed[rank].length < this.maxRules) {
      this.listed[rank].push({ rule_ref: r.rule_ref, title: r.title, status: r.status, target: r.target, finding: r.finding, waiver: r.waiver?.reason });
    }
  }

  *finish(): Generator<string> {
    const scans = this.scans.entries;
    const failing = this.failing.reduce((a, b) => a + b, 0);
    yield `## Compliance report\n\n`;
    yield `| Target | Scanner | Profile | Score | Pass | Fail | Error | Warn | Skip | N/A |\n|---|---|---|--:|--:|--:|--:|--:|--:|--:|\n`;
    for (const { key, value: c } of scans) {
      const s = score(c);
      yield `| ${[key.target || "—", key.scanner, key.profileTitle || key.profileId || "—"].map(escapeMarkdown).join(" | ")} | ${s === null ? "—" : `${s}%`} | ${c.pass} | ${c.fail} | ${c.error} | ${c.warn} | ${c.skip} | ${c.notapplicable} |\n`;
    }
    if (scans.length === 0) yield `| — | — | — | — | 0 | 0 | 0 | 0 | 0 | 0 |\n`;
    const rules = scans.reduce((n, { value }) => n + total(value), 0);
    yield `\n${rules} rule result(s), ${failing} failing (fail or error).\n`;
    if (!failing) return;
    yield `\n### Failing rules\n`;
    let room = this.maxRules;
    for (const [rank, list] of this.listed.entries()) {
      if (!this.failing[rank]) continue;
      const shown = list.slice(0, Math.max(room, 0));
      room -= shown.length;
      yield `\n#### ${SEVERITIES[rank]} (${this.failing[rank]})\n\n`;
      for (const r of shown) {
        const what = [r.status === "error" ? "**error**" : "", r.title ? escapeMarkdown(r.title) : "", `\`${r.rule_ref.replace(/`/g, "'")}\``, scans.length > 1 || !scans[0]?.key.target ? `on ${escapeMarkdown(r.target || "—")}` : ""].filter(Boolean).join(" ");
        const finding = r.finding ? ` — ${escapeMarkdown(r.finding.length > 200 ? `${r.finding.slice(0, 200)}…` : r.finding)}` : "";
        yield `- ${what}${finding}${r.waiver !== undefined ? ` _(waived: ${escapeMarkdown(r.waiver)})_` : ""}\n`;
      }
      if (shown.length < this.failing[rank]) yield `- … ${this.failing[rank] - shown.length} more\n`;
    }
  }
}
