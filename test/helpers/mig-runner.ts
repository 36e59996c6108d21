import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock } from "../../src/services/mig-runner/clock.js";
import { FIXTURES } from "./paths.js";
import type { TestKey } from "./gnupg.js";

export const MIG = join(FIXTURES, "mig");
export const ACTIONS = ["endpoints_with_high_uptime", "example_v2", "glibc_ubuntu_cve-2015-0235", "sshd_backdoor"];

/** A clock the test moves: delays resolve when the test advances past them. */
export class FakeClock implements Clock {
  private waiters: { at: number; resolve: () => void }[] = [];
  constructor(public t: number) {}
  now() {
    return this.t;
  }
  delay(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const w = { at: this.t + ms, resolve };
      this.waiters.push(w);
      signal?.addEventListener("abort", () => {
        this.waiters = this.waiters.filter((x) => x !== w);
        resolve();
      }, { once: true });
    });
  }
  /** Moves time to `t` (ms) and lets every delay that ends by then resolve. */
  set(t: number) {
    this.t = t;
    const due = this.waiters.filter((w) => w.at <= t);
    this.waiters = this.waiters.filter((w) => w.at > t);
    due.forEach((w) => w.resolve());
  }
  advance(ms: number) {
    this.set(this.t + ms);
  }
}

export interface RunnerDir {
  /** The temp directory: HOME (with .migrc) and the runner's working directory. */
  base: string;
  /** [runner] directory */
  root: string;
  config: string;
  addJob(name: string, o: { entity: string; action?: string }): string;
  addPlugin(name: string, script: string): string;
}

/**
 * A runner directory in a temporary place: runner.cfg (given text, or the
 * sample from MIG, conf/runner.cfg.inc, with its relative ./runner), a
 * .migrc in the temporary HOME pointing at the API and the key.
 */
export function makeRunnerDir(o: { apiUrl: string; key: TestKey; runnerCfg?: (root: string) => string }): RunnerDir {
  const base = mkdtempSync(join(tmpdir(), "mig-runner-"));
  const root = join(base, "runner");
  mkdirSync(join(root, "runners"), { recursive: true });
  mkdirSync(join(root, "plugins"));
  const config = join(base, "runner.cfg");
  writeFileSync(config, o.runnerCfg ? o.runnerCfg(root) : readFileSync(join(MIG, "runner.cfg.inc"), "utf8"));
  writeFileSync(join(base, ".migrc"), `[api]\n    url = "${o.apiUrl}"\n[gpg]\n    home = "${o.key.home}"\n    keyid = "${o.key.fingerprint}"\n[targets]\n    macro = allonline:status='online'\n`);
  return {
    base,
    root,
    config,
    addJob(name, j) {
      const dir = join(root, "runners", name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "entity.cfg"), j.entity);
      if (j.action) copyFileSync(j.action, join(dir, "action.json"));
      return dir;
    },
    addPlugin(name, script) {
      const file = join(root, "plugins", name);
      writeFileSync(file, script);
      chmodSync(file, 0o755);
      return file;
    },
  };
}

/** runner.cfg for a root, with this runner's additions where given. */
export function runnerCfg(root: string, extra: { runner?: string; client?: string; logging?: string } = {}): string {
  return `[runner]\n    directory = "${root}"\n    checkdirectory = 30\n${extra.runner ?? ""}\n[client]\n    clientconfpath = "default"\n${extra.client ?? ""}\n[logging]\n    mode = "stdout"\n    level = "debug"\n${extra.logging ?? ""}\n`;
}

/**
 * Commands for an action, made from the real RunnerResult's commands
 * (runner-result.file-compliance.json: 4 agents), repeated to `n` with
 * fresh command ids and the created action inside each.
 */
export function commandsFor(action: Record<string, unknown>, n: number): Record<string, unknown>[] {
  const base = (JSON.parse(readFileSync(join(MIG, "runner-result.file-compliance.json"), "utf8")) as { commands: Record<string, unknown>[] }).commands;
  return Array.from({ length: n }, (_, i) => ({ ...base[i % base.length], id: Number(action.id) + 1 + i, action }));
}
