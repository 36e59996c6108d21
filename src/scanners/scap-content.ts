import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { accessSync, constants, statSync } from "node:fs";
import { Limiter } from "../util/limiter.js";
import { osRelease } from "./host-info.js";

export const CONTENT_DIRS = ["/usr/share/xml/scap/ssg/content", "/usr/share/scap-security-guide", "/opt/scap/content"];

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  error?: string;
}

/** Runs a program without a shell; never rejects. */
export function run(file: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      resolve({ code: e ? (typeof e.code === "number" ? e.code : null) : 0, stdout: String(stdout), stderr: String(stderr), error: e && typeof e.code !== "number" ? e.message : undefined });
    });
  });
}

function isExecutableFile(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The program's path on PATH, or null. */
export function which(name: string, path = process.env.PATH ?? ""): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutableFile(p)) return p;
  }
  return null;
}

/**
 * Why a program could not be run as spawn() would find it (a name with a
 * slash is a path, any other is looked up on PATH), or null if it can.
 */
export function programProblem(program: string, path = process.env.PATH ?? ""): string | null {
  if (!program.includes("/")) return which(program, path) ? null : "not found on PATH";
  let stat;
  try {
    stat = statSync(program);
  } catch (cause) {
    return (cause as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (cause as Error).message;
  }
  if (!stat.isFile()) return "not a file";
  return isExecutableFile(program) ? null : "not executable";
}

/** SSG file-name stems this host's content would carry: debian11, ubuntu2204, rhel9, rl9, … */
export function hostContentNames(release = osRelease()): string[] {
  const id = (release.ID ?? "").toLowerCase();
  const version = release.VERSION_ID ?? "";
  const major = version.split(".")[0];
  const names = new Set<string>();
  const alias: Record<string, string[]> = { rocky: ["rl"], almalinux: ["almalinux", "alma"], ol: ["ol"], rhel: ["rhel"], centos: ["centos", "cs"], sles: ["sle"], opensuse: ["opensuse"], "opensuse-leap": ["opensuse"] };
  for (const stem of alias[id] ?? [id]) {
    if (id === "ubuntu") names.add(`${stem}${version.replace(".", "")}`);
    else names.add(`${stem}${major}`);
  }
  return [...names].filter((n) => n && !/^\d*$/.test(n));
}

export function matchesHost(file: string, stems = hostContentNames()): boolean {
  const m = /ssg-([a-z-]+\d+)-ds(?:-1\.2)?\.xml$/.exec(file);
  return Boolean(m && stems.includes(m[1]));
}

/** Every ssg-*-ds.xml in the content directories (those that exist), in order. */
export async function findDatastreams(dirs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const n of names.sort()) if (/^ssg-.*-ds\.xml$/.test(n)) out.push(join(dir, n));
  }
  return out;
}

export interface Profile {
  id: string;
  title: string;
  description: string;
  file_path: string;
  matches_host: boolean;
}

/**
 * `oscap info --profiles` on each file, at most `concurrency` at once, with
 * each profile's description read from the file itself (oscap gives it only
 * one profile per run) unless `descriptions` is false (the agent: it sends
 * ids only, and an idle agent does not parse data streams). Broken files are
 * reported, not fatal.
 */
export async function listProfiles(oscap: string, files: string[], concurrency: number, onBroken: (file: string, why: string) => void, descriptions = true): Promise<Profile[]> {
  const limiter = new Limiter(concurrency);
  const { readProfileDescriptions } = descriptions ? await import("./profile-descriptions.js") : { readProfileDescriptions: async () => new Map<string, string>() };
  const stems = hostContentNames();
  const lists = await Promise.all(
    files.map((file) =>
      limiter.run(async () => {
        const r = await run(oscap, ["info", "--profiles", file]);
        if (r.code !== 0) {
          onBroken(file, (r.stderr.trim().split("\n").pop() || r.error || `exit ${r.code}`).slice(0, 200));
          return [];
        }
        const descriptions = await readProfileDescriptions(file).catch((err: Error) => {
          onBroken(file, `profile descriptions not read: ${err.message.split("\n")[0].slice(0, 200)}`);
          return new Map<string, string>();
        });
        return r.stdout
          .split("\n")
          .map((l) => /^([^:\s]+):(.*)$/.exec(l.trim()))
          .filter((m): m is RegExpExecArray => m !== null)
          .map((m) => ({ id: m[1], title: m[2].trim(), description: descriptions.get(m[1]) ?? "", file_path: file, matches_host: matchesHost(file, stems) }));
      }),
    ),
  );
  return lists.flat();
}

/**
 * What a scan whose every rule is notapplicable means: SCAP content checks
 * its CPE platform first, so content for another system applies nowhere.
 */
export function allNotApplicableMessage(rules: number): string {
  return `all ${rules} rule${rules === 1 ? " is" : "s are"} notapplicable: the content probably does not match this host (CPE platform)`;
}

/** "cis_level1_server" → "xccdf_org.ssgproject.content_profile_cis_level1_server"; full ids stay. */
export function profileId(nameOrId: string): string {
  return nameOrId.startsWith("xccdf_") ? nameOrId : `xccdf_org.ssgproject.content_profile_${nameOrId}`;
}
