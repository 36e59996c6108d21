import { XmlScanner } from "../streams/xml.js";
import { XccdfReader } from "../lib/xccdf-reader.js";
import { PipeError } from "../streams/errors.js";
import { openInputs } from "../streams/input.js";
import { runCli, writeText, type CommandSpec } from "../streams/cli.js";
import type { RuleResult } from "../types.js";

export interface XccdfToRulesOptions {
  /** Name used in messages ("stdin" or a path). */
  source?: string;
  includeNotselected?: boolean;
  onWarning?: (message: string) => void;
}

/**
 * One XCCDF results / ARF document in, NDJSON RuleResult lines out in
 * document order, a batch of lines per input chunk. Throws a PipeError (with
 * line and column) on bad input, after yielding every line completed before
 * the fault. Lines come as UTF-8 bytes, ready for stdout.
 */
export async function* xccdfToNdjson(chunks: AsyncIterable<Buffer | string>, opts: XccdfToRulesOptions = {}): AsyncGenerator<Buffer> {
  const source = opts.source ?? "stdin";
  const reader = new XccdfReader({ includeNotselected: opts.includeNotselected });
  const scanner = new XmlScanner(reader, { source, quick: ["TestResult"] });
  reader.attach(scanner);
  let reported = false;
  const reportLeading = () => {
    if (!reported && scanner.inDocument && scanner.leadingBytes > 0) opts.onWarning?.(`${source}: skipped ${scanner.leadingBytes} bytes of non-XML text before the document`);
    reported = true;
  };
  let failure: unknown;
  try {
    for await (const chunk of chunks) {
      scanner.write(chunk);
      if (reader.out.count) {
        if (!reported && scanner.leadingBytes > 0) reportLeading();
        yield reader.out.take();
      }
    }
    scanner.end();
    if (scanner.trailingText) opts.onWarning?.(`${source}: ignored non-XML text after the end of the document`);
  } catch (err) {
    failure = err;
  }
  reportLeading();
  if (reader.out.count) yield reader.out.take();
  if (failure !== undefined) throw failure;
  if (reader.testResults === 0) {
    throw new PipeError("E_BAD_INPUT", "no TestResult found: this is not a results document (run oscap xccdf eval with --results or --results-arf)", { position: { source } });
  }
}

/** xccdfToNdjson's lines as RuleResult objects. */
export async function* xccdfToRules(chunks: AsyncIterable<Buffer | string>, opts: XccdfToRulesOptions = {}): AsyncGenerator<RuleResult> {
  for await (const text of xccdfToNdjson(chunks, opts)) {
    for (const line of text.toString("utf8").split("\n")) if (line) yield JSON.parse(line) as RuleResult;
  }
}

interface Args {
  "include-notselected": boolean;
}

export const spec: CommandSpec<Args> = {
  name: "xccdf2rules",
  usage: "$0 [FILE...]\n\nReads OpenSCAP results (XCCDF 1.1/1.2 --results, ARF --results-arf, plain or gzipped) from FILEs or stdin ('-') and writes one RuleResult JSON line per rule-result, in document order, enriched from the Benchmark in the same document.",
  examples: [
    ["oscap xccdf eval --profile P --results-arf /dev/stdout DS.xml | $0", "convert a scan as it runs (oscap's text lines before the XML are skipped)"],
    ["$0 results.xml.gz > rules.ndjson", "convert a saved, gzipped report"],
    ["$0 --include-notselected arf.xml", "also emit rules outside the profile (status notapplicable)"],
  ],
  options: (y) =>
    y.option("include-notselected", {
      type: "boolean",
      default: false,
      describe: "emit notselected rule-results too (as notapplicable); they are not part of the profile",
    }),
  async run(args, io) {
    const paths = args._.map(String);
    async function* all() {
      for await (const input of openInputs(paths)) {
        yield* xccdfToNdjson(input.chunks, { source: input.name, includeNotselected: args["include-notselected"], onWarning: io.warn });
      }
    }
    await writeText(all(), io.stdout);
  },
};

export const main = (argv?: string[]) => runCli(spec, argv);
