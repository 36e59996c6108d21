import { readFileSync } from "node:fs";

/**
 * Answers `--version` and `--help` before a command's modules are loaded.
 * The help text is the one yargs makes (parseArgs), written to dist/help/ at
 * build time (scripts/build-help.mjs) for the default width of 100 columns.
 * Measured: `mozdef-send --help` 362 ms through yargs and the command's
 * imports, ~90 ms from the cache (node alone: ~85 ms). A terminal narrower
 * than 100 columns gets yargs's help, wrapped to fit.
 * Returns true when it answered.
 */
export function answeredEarly(name: string, argv: readonly string[] = process.argv.slice(2)): boolean {
  const dashdash = argv.indexOf("--");
  const asked = dashdash < 0 ? argv : argv.slice(0, dashdash);
  if (asked.includes("--version") || asked.includes("-V")) {
    process.stdout.write(`${name} ${packageVersion()}\n`);
    return true;
  }
  if (!(asked.includes("--help") || asked.includes("-h"))) return false;
  if (process.stdout.isTTY && (process.stdout.columns ?? 100) < 100) return false;
  let help: string;
  try {
    help = readFileSync(new URL(`../help/${name}.txt`, import.meta.url), "utf8");
  } catch {
    return false;
  }
  process.stdout.write(help);
  return true;
}

let version: string | undefined;
/** The package's version, read once from its package.json (two folders up from both src/cli and dist/cli). */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  return version;
}
