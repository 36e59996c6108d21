import { escapeXml } from "./escape.js";
import { ByScan, noCounts, scanLabel, type Counts, type ReportRule, type ReportWriter } from "./model.js";

interface Suite {
  counts: Counts;
  cases: string[];
  timestamp?: string;
  benchmark?: string;
}

const attr = (name: string, value: string | number | undefined): string => (value === undefined || value === "" ? "" : ` ${name}="${escapeXml(String(value))}"`);

/** What a CI server shows for a fail or error: the finding, the actual and expected values, the remediation. */
function detailText(r: ReportRule): string {
  const parts: string[] = [];
  if (r.finding) parts.push(r.finding);
  if (r.actual !== undefined || r.expected !== undefined) parts.push(`actual: ${r.actual ?? ""}\nexpected: ${r.expected ?? ""}`);
  if (r.waiver?.reason) parts.push(`waived: ${r.waiver.reason}${r.waiver.expires ? ` (until ${r.waiver.expires})` : ""}${r.waiver.ticket ? ` [${r.waiver.ticket}]` : ""}`);
  if (r.remediation) parts.push(`remediation:\n${r.remediation}`);
  return parts.join("\n\n");
}

function testcase(r: ReportRule): string {
  const head = `<testcase${attr("classname", r.section || r.scanner)}${attr("name", r.title ? `${r.rule_ref}: ${r.title}` : r.rule_ref)}`;
  const message = (r.waiver ? "[waived] " : "") + (r.finding || r.title || r.rule_ref);
  const severity = r.severity ?? "unknown";
  switch (r.status) {
    case "fail":
      return `${head}><failure${attr("type", severity)}${attr("message", message)}>${escapeXml(detailText(r))}</failure></testcase>`;
    case "error":
      return `${head}><error${attr("type", severity)}${attr("message", message)}>${escapeXml(detailText(r))}</error></testcase>`;
    case "skip":
    case "notapplicable":
      return `${head}><skipped${attr("message", r.status === "skip" ? r.raw_status || "not checked" : "not applicable")}/></testcase>`;
    case "warn":
      return `${head}><system-out>${escapeXml(`warn: ${r.finding || r.title || ""}`)}</system-out></testcase>`;
    default:
      return `${head}/>`;
  }
}

/** JUnit XML: one testsuite per (target, scanner, profile), one testcase per rule. */
export class JunitReport implements ReportWriter {
  private readonly suites = new ByScan<Suite>(() => ({ counts: noCounts(), cases: [] }));

  add(r: ReportRule): void {
    const s = this.suites.for(r);
    s.counts[r.status]++;
    s.cases.push(testcase(r));
    if (r.started_at && (!s.timestamp || r.started_at < s.timestamp)) s.timestamp = r.started_at;
    s.benchmark ??= r.benchmark?.title ? `${r.benchmark.title}${r.benchmark.version ? ` ${r.benchmark.version}` : ""}` : undefined;
  }

  *finish(): Generator<string> {
    const all = noCounts();
    let tests = 0;
    for (const { value } of this.suites.entries) {
      for (const k of Object.keys(all) as (keyof Counts)[]) all[k] += value.counts[k];
      tests += value.cases.length;
    }
    yield `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${attr("name", "rules-report")}${attr("tests", tests)}${attr("failures", all.fail)}${attr("errors", all.error)}>\n`;
    for (const [i, { key, value }] of this.suites.entries.entries()) {
      const c = value.counts;
      yield `<testsuite${attr("name", scanLabel(key))}${attr("id", i)}${attr("tests", value.cases.length)}${attr("failures", c.fail)}${attr("errors", c.error)}${attr("skipped", c.skip + c.notapplicable)}${attr("hostname", key.target)}${attr("timestamp", value.timestamp)}>\n`;
      yield `<properties>${[
        ["target", key.target],
        ["scanner", key.scanner],
        ["profile", key.profileId],
        ["benchmark", value.benchmark],
      ]
        .filter(([, v]) => v)
        .map(([n, v]) => `<property${attr("name", n)}${attr("value", v)}/>`)
        .join("")}</properties>\n`;
      for (let j = 0; j < value.cases.length; j += 500) yield value.cases.slice(j, j + 500).join("\n") + "\n";
      value.cases = [];
      yield "</testsuite>\n";
    }
    yield "</testsuites>\n";
  }
}
