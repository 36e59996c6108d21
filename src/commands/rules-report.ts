import { createWriteStream } from "node:fs";
import { PipeError } from "../errors.js";
import { openInputs, type NamedInput } from "../streams/input.js";
import { readLines } from "../streams/lines.js";
import { parseJsonObject } from "../streams/ndjson.js";
import { runCli, writeText, type CommandSpec } from "../cli/run.js";
import { ruleResultProblem } from "../sinks/patchmon/scans.js";
import { SEVERITIES, isFailing, isWaived, severityRank, type ReportRule, type ReportWriter } from "../reports/model.js";
import { HtmlReport } from "../reports/html.js";
import { JunitReport } from "../reports/junit.js";
import { SarifReport } from "../reports/sarif.js";
import { MarkdownReport } from "../reports/markdown.js";

export const FORMATS = ["html", "junit", "sarif", "markdown"] as const;
export type ReportFormat = (typeof FORMATS)[number];

export interface RulesReportOptions {
  format: ReportFormat;
  /** --fail-on: the least severity whose unwaived fail or error fails the run; "none" never. */
  failOn?: string;
  maxRules?: number;
  title?: string;
  onBadLine?: (message: string) => void;
}

export interface RulesReportOutcome {
  /** The report, in chunks; read it whole before looking at the rest. */
  text: Iterable<string | Buffer>;
  rules: number;
  bad: number;
  /** Unwaived fail/error rules at or above --fail-on. */
  gated: number;
}

export function reportWriter(opts: RulesReportOptions): ReportWriter {
  switch (opts.format) {
    case "html":
      return new HtmlReport(opts.title);
    case "junit":
      return new JunitReport();
    case "sarif":
      return new SarifReport();
    case "markdown":
      return new MarkdownReport(opts.maxRules ?? 50);
  }
}

/**
 * Reads RuleResult lines from each input, feeding them to the format's
 * writer as they stream past (a writer keeps only what its report shows);
 * lines that are not RuleResults are reported and counted.
 */
export async function buildReport(inputs: AsyncIterable<NamedInput>, opts: RulesReportOptions): Promise<RulesReportOutcome> {
  const writer = reportWriter(opts);
  const gate = opts.failOn && opts.failOn !== "none" ? severityRank(opts.failOn) : -1;
  let rules = 0;
  let bad = 0;
  let gated = 0;
  for await (const input of inputs) {
    for await (const line of readLines(input.chunks, { source: input.name })) {
      if (!line.text.trim()) continue;
      let rule: ReportRule;
      try {
        const parsed = parseJsonObject(line.text);
        const problem = ruleResultProblem(parsed);
        if (problem) throw new Error(problem);
        rule = parsed as unknown as ReportRule;
      } catch (err) {
        bad++;
        opts.onBadLine?.(`${input.name}: line ${line.number}: not a RuleResult: ${(err as Error).message}`);
        continue;
      }
      rules++;
      if (gate >= 0 && isFailing(rule) && !isWaived(rule) && severityRank(rule.severity) <= gate) gated++;
      writer.add(rule);
    }
  }
  return { text: writer.finish(), rules, bad, gated };
}

interface Args {
  format: ReportFormat;
  output?: string;
  "fail-on": string;
  "max-rules": number;
  title?: string;
}

export const spec: CommandSpec<Args> = {
  name: "rules-report",
  usage:
    "$0 --format html|junit|sarif|markdown [--output FILE] [FILE...]\n\nRuleResult lines (xccdf2rules, dockerbench2rules; several targets and profiles in one stream) → one report: a self-contained HTML page to read, JUnit XML or SARIF 2.1.0 for CI servers and code scanning, or a Markdown summary for a pull request. With --fail-on SEVERITY it exits 1, after writing the report, when an unwaived fail or error at or above that severity is present.",
  examples: [
    ["xccdf2rules results.arf | $0 --format html --output report.html", "a page to open in a browser (works offline)"],
    ["dockerbench2rules bench.json | $0 --format junit --output junit.xml --fail-on high", "a CI test report; exit 1 on an unwaived high or critical failure"],
    ["xccdf2rules results.arf | $0 --format sarif > results.sarif", "for GitHub code scanning (upload-sarif)"],
    ["xccdf2rules results.arf | $0 --format markdown --max-rules 20", "a short summary for a PR comment"],
  ],
  extraExitCodes: ["1 also: --fail-on found a failing rule at or above its severity (the report is written)"],
  options: (y) =>
    y
      .option("format", { alias: "f", choices: FORMATS, demandOption: true, describe: "the report's format" })
      .option("output", { alias: "o", type: "string", describe: "write the report to FILE instead of stdout" })
      .option("fail-on", { choices: ["none", ...SEVERITIES], default: "none", describe: "exit 1 when an unwaived fail/error of this severity or above is present" })
      .option("max-rules", { type: "number", default: 50, describe: "markdown: failing rules listed at most" })
      .option("title", { type: "string", describe: "html: the page's title", defaultDescription: "Compliance report" }),
  async run(args, io) {
    if (!(args["max-rules"] >= 0)) throw new PipeError("E_USAGE", "--max-rules must be ≥ 0");
    const outcome = await buildReport(openInputs(args._.map(String)), { format: args.format, failOn: args["fail-on"], maxRules: args["max-rules"], title: args.title, onBadLine: io.warn });
    const out = args.output ? createWriteStream(args.output) : io.stdout;
    try {
      await writeText(outcome.text, out);
    } catch (cause) {
      if (!args.output) throw cause;
      throw new PipeError("E_IO", `cannot write the report: ${(cause as Error).message}`, { position: { source: args.output }, cause });
    }
    if (outcome.bad) throw new PipeError("E_BAD_INPUT", `${outcome.bad} line(s) were not RuleResults: left out of the report`);
    if (outcome.gated) throw new PipeError("E_BAD_INPUT", `--fail-on ${args["fail-on"]}: ${outcome.gated} unwaived failing rule(s) at or above ${args["fail-on"]}`);
  },
};

export const main = () => runCli(spec);
