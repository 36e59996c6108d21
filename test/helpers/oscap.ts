import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const SSG_DEBIAN11 = "/usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml";
export const ANSSI_HIGH = "xccdf_org.ssgproject.content_profile_anssi_np_nt28_high";

export function haveOscap(): boolean {
  return spawnSync("oscap", ["--version"]).status === 0;
}

/**
 * A shell command line that runs `inner` with /etc/debian_version reading
 * 11.7 (in a private mount namespace), so SSG's Debian 11 content applies
 * on this Debian 12 machine.
 */
export function asDebian11(inner: string): string {
  const dir = mkdtempSync(join(tmpdir(), "cp-deb11-"));
  const version = join(dir, "debian_version");
  writeFileSync(version, "11.7\n");
  return `unshare -m sh -c 'mount --bind ${version} /etc/debian_version && ${inner.replace(/'/g, "'\\''")}'`;
}

/** oscap's own per-rule text lines: rule id → result word, in order. */
export function oscapTextResults(stdout: string): [string, string][] {
  const out: [string, string][] = [];
  let rule: string | null = null;
  for (const line of stdout.split("\n")) {
    const r = /^Rule\r?\t(\S+)/.exec(line);
    if (r) rule = r[1];
    const res = /^Result\r?\t(\S+)/.exec(line);
    if (res && rule) {
      out.push([rule, res[1]]);
      rule = null;
    }
  }
  return out;
}
