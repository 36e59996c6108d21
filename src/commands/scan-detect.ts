import { runCli, writeText, type CommandSpec } from "../cli/run.js";
import { detect } from "../scanners/detect.js";
export type { Capabilities } from "../scanners/detect.js";
import { CONTENT_DIRS } from "../scanners/scap-content.js";

interface Args {
  "content-dir"?: string[];
  concurrency: number;
  compact: boolean;
}

export const spec: CommandSpec<Args> = {
  name: "scan-detect",
  usage:
    "$0\n\nPrints one JSON object (indented on a terminal) saying what this host can scan with: OpenSCAP (oscap path and version, SCAP Security Guide data streams and their profiles with their descriptions, those matching this host flagged matches_host) and Docker Bench (docker, and the method scan-run would use).",
  examples: [
    ["$0 > caps.json", "save the capabilities for rules2scan --capabilities"],
    ["$0 --content-dir /srv/scap | jq '.openscap.available_profiles[] | select(.matches_host) | .id'", "the profiles that apply to this host"],
  ],
  options: (y) =>
    y
      .option("content-dir", { type: "string", array: true, describe: `more directories to search for ssg-*-ds.xml (besides ${CONTENT_DIRS.join(", ")})` })
      .option("concurrency", { type: "number", default: 2, describe: "oscap info runs at once" })
      .option("compact", { type: "boolean", default: false, describe: "one line of JSON even on a terminal (where it is indented)" }),
  async run(args, io) {
    const caps = await detect({ contentDirs: [...CONTENT_DIRS, ...(args["content-dir"] ?? [])], concurrency: Math.max(1, args.concurrency), onWarning: io.warn });
    const pretty = !args.compact && Boolean((io.stdout as NodeJS.WriteStream).isTTY);
    await writeText([`${JSON.stringify(caps, null, pretty ? 2 : undefined)}\n`], io.stdout);
  },
};

export const main = () => runCli(spec);
