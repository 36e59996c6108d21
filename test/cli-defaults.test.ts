import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs, type CommandSpec } from "../src/cli/run.js";
import { ROOT } from "./helpers/paths.js";

/** The options yargs gives, without `_`, `$0`, camelCase copies, one-letter aliases and unset options. */
function declared(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) {
    if (key === "_" || key === "$0" || key.length === 1 || value === undefined) continue;
    if (/[A-Z]/.test(key) && key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`) in args) continue;
    out[key] = value;
  }
  return out;
}

describe("commands run with only file names skip yargs", () => {
  const commands = readdirSync(join(ROOT, "src/commands")).filter((f) => f.endsWith(".ts"));

  it("with the very defaults yargs would have given", async () => {
    let checked = 0;
    for (const file of commands) {
      const { spec } = (await import(join(ROOT, "src/commands", file))) as { spec: CommandSpec<Record<string, unknown>> };
      if (!spec.plainDefaults) continue;
      const parsed = await parseArgs(spec, ["-"]);
      expect(declared(parsed), spec.name).toEqual(declared({ ...spec.plainDefaults }));
      expect(parsed._, spec.name).toEqual(["-"]);
      checked++;
    }
    // the converters at the head and middle of pipelines, usually run with no options at all
    expect(checked).toBeGreaterThanOrEqual(5);
  });
});
