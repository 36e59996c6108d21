import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { Writable } from "node:stream";
import { Answered, parseArgs, type CommandSpec } from "../src/cli/run.js";
import { sh } from "./helpers/run.js";
import { ROOT } from "./helpers/paths.js";

const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
/** The commands package.json installs (bin/ also holds its package.json). */
const commands = Object.keys((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string> }).bin);

describe("every command", () => {
  it("answers --version and -V with the package version, exit 0", () => {
    expect(commands.length).toBeGreaterThanOrEqual(10);
    for (const name of commands) {
      for (const flag of ["--version", "-V"]) {
        const r = sh(`${name} ${flag}`);
        expect({ name, flag, ...r }).toEqual({ name, flag, stdout: `${name} ${version}\n`, stderr: "", status: 0 });
      }
    }
  });

  it("prints each --help example's command whole on one line, so it can be copied", async () => {
    for (const name of commands) {
      const { spec } = (await import(join(ROOT, "src/commands", `${name}.ts`))) as { spec: CommandSpec<unknown> };
      const help = sh(`COLUMNS=60 ${name} --help`);
      expect(help.status, name).toBe(0);
      const lines = help.stdout.split("\n").map((l) => l.trim());
      expect(spec.examples.length, name).toBeGreaterThan(0);
      for (const [cmd] of spec.examples) expect(lines, name).toContain(cmd.replace(/\$0/g, name));
      // the shim answers from the text cached at build time: it must be what yargs says now
      let live = "";
      const out = new Writable({ write: (chunk, _enc, done) => ((live += chunk), done()) });
      await expect(parseArgs(spec, ["--help"], out)).rejects.toBeInstanceOf(Answered);
      expect(help.stdout, name).toBe(live);
    }
  });
});

describe("installed as the README says", () => {
  it("puts every command on PATH by name (npm pack, then npm install -g into a prefix)", () => {
    const dir = mkdtempSync(join(tmpdir(), "cp-install-"));
    try {
      const pack = spawnSync("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8" });
      expect(pack.status, pack.stderr).toBe(0);
      const tarball = join(dir, pack.stdout.trim().split("\n").pop()!);
      const prefix = join(dir, "prefix");
      const install = spawnSync("npm", ["install", "-g", "--prefer-offline", "--no-audit", "--no-fund", "--prefix", prefix, tarball], { encoding: "utf8" });
      expect(install.status, install.stderr).toBe(0);
      const env = { ...process.env, PATH: `${join(prefix, "bin")}:/usr/bin:/bin` };
      for (const name of commands) {
        const r = spawnSync(name, ["--version"], { env, encoding: "utf8" });
        expect(r.stdout, name).toBe(`${name} ${version}\n`);
      }
      const demo = spawnSync("bash", ["-c", `gzip -dc ${join(ROOT, "examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz")} | xccdf2rules | wc -l`], { env, encoding: "utf8" });
      expect(Number(demo.stdout.trim())).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
