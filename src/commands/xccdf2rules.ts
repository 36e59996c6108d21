import { openInputs } from "../streams/input.js";
import { runCli, writeStdout, type CommandSpec } from "../cli/run.js";

// for bin/xccdf2rules's bundled run, once main has resolved
export { exitIfDone } from "../cli/run.js";
import { DEFAULT_JOBS, DEFAULT_MAX_FIELD, xccdfToNdjson } from "../readers/xccdf/document.js";
import { OutputBlocks } from "../streams/byte-lines.js";
import { DEFAULT_EVIDENCE_ITEMS, EVIDENCE_MODES, type EvidenceMode } from "../readers/xccdf/evidence.js";

interface Args {
  "include-notselected": boolean;
  jobs: number;
  evidence: EvidenceMode;
  "evidence-items": number;
  "max-field": number;
}

const defaults: Args = { "include-notselected": false, jobs: DEFAULT_JOBS, evidence: "fail", "evidence-items": DEFAULT_EVIDENCE_ITEMS, "max-field": DEFAULT_MAX_FIELD };

export const spec: CommandSpec<Args> = {
  name: "xccdf2rules",
  usage: "$0 [FILE...]\n\nReads OpenSCAP results (XCCDF 1.1/1.2 --results, ARF --results-arf, plain or gzipped) from FILEs or stdin ('-') and writes one RuleResult JSON line per rule-result, in document order, enriched from the Benchmark in the same document.",
  examples: [
    ["oscap xccdf eval --profile P --results-arf /dev/stdout DS.xml | $0", "convert a scan as it runs (oscap's text lines before the XML are skipped)"],
    ["$0 results.xml.gz > rules.ndjson", "convert a saved, gzipped report"],
    ["$0 --include-notselected arf.xml", "also emit rules outside the profile (status notapplicable)"],
    ["$0 --evidence none arf.xml", "no OVAL evidence: every line in document order, as before"],
  ],
  options: (y) =>
    y
      .option("include-notselected", {
        type: "boolean",
        default: defaults["include-notselected"],
        describe: "emit notselected rule-results too (as notapplicable); they are not part of the profile",
      })
      .option("jobs", {
        alias: "j",
        type: "number",
        default: defaults.jobs,
        describe: "threads reading a large TestResult's rule-results side by side; measured on 2 cores, 2 is no faster than 1 on the benchmark's reports (one thread's quick path keeps up), at 15-30 MB more peak RSS; a batch holding a rule-result that waits for evidence is read on the main thread",
      })
      .option("evidence", {
        type: "string",
        choices: EVIDENCE_MODES,
        default: defaults.evidence,
        describe: "in an ARF, explain rule-results from the embedded OVAL results (evidence, and finding/actual/expected when there is no message): fail = failed and error rules, all = every rule, none = off. Lines with evidence come after the OVAL report they point to",
      })
      .option("evidence-items", {
        type: "number",
        default: defaults["evidence-items"],
        describe: "collected items kept per OVAL test in evidence (items_total says how many there were)",
      })
      .option("max-field", {
        type: "number",
        default: defaults["max-field"],
        describe: "bytes of text kept in each field (a title, a message, the target); the rest is dropped, marked [truncated N bytes], with one warning",
      })
      .check((args) => {
        if (!Number.isInteger(args.jobs) || args.jobs < 1) throw new Error("--jobs must be a whole number, 1 or more");
        if (!Number.isInteger(args["evidence-items"]) || args["evidence-items"] < 0) throw new Error("--evidence-items must be a whole number, 0 or more");
        if (!Number.isInteger(args["max-field"]) || args["max-field"] < 1) throw new Error("--max-field must be a whole number of bytes, 1 or more");
        return true;
      }),
  plainDefaults: defaults,
  async run(args, io) {
    const paths = args._.map(String);
    // the lines' blocks are reused once written (see OutputBlocks)
    const blocks = new OutputBlocks();
    async function* all() {
      // nothing else to do while a read is under way: reads block (~30% faster, see readNow)
      for await (const input of openInputs(paths, { blocking: true })) {
        yield* xccdfToNdjson(input.chunks, { source: input.name, includeNotselected: args["include-notselected"], jobs: args.jobs, evidence: args.evidence, evidenceItems: args["evidence-items"], maxField: args["max-field"], onWarning: io.warn, blocks });
      }
    }
    // and writes block too (writeStdout)
    await writeStdout(all(), io, (part) => blocks.release(part));
  },
};

export const main = (argv?: string[]) => runCli(spec, argv);
