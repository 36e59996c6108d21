import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN } from "./helpers/paths.js";
import { validator } from "./helpers/schema.js";
import { ANSSI_HIGH, SSG_DEBIAN11, asDebian11, oscapTextResults } from "./helpers/oscap.js";

const skip = process.env.SKIP_OSCAP === "1";
const bash = (cmd: string, env: Record<string, string> = {}) => spawnSync("bash", ["-o", "pipefail", "-c", cmd], { encoding: "utf8", env: { ...process.env, PATH: `${BIN}:${process.env.PATH}`, ...env } });

/** /etc/os-release of a Debian 11 host, for content matching. */
function debian11OsRelease(): string {
  const dir = mkdtempSync(join(tmpdir(), "cp-osr-"));
  const f = join(dir, "os-release");
  writeFileSync(f, 'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nNAME="Debian GNU/Linux"\nVERSION_ID="11"\nVERSION="11 (bullseye)"\nID=debian\n');
  return f;
}

describe.skipIf(skip)("scan-detect and scan-run with the real oscap", () => {
  it("scan-detect finds oscap, the SSG content and its profiles; docker's absence is not an error", () => {
    const r = bash(`scan-detect`);
    expect(r.status, r.stderr).toBe(0);
    const caps = JSON.parse(r.stdout);
    expect(caps.openscap).toMatchObject({ installed: true, version: "1.3.7", oscap_path: expect.stringMatching(/\/oscap$/), content_path: "/usr/share/xml/scap/ssg/content" });
    const anssi = caps.openscap.available_profiles.find((p: { id: string; file_path: string }) => p.id === ANSSI_HIGH && p.file_path === SSG_DEBIAN11);
    expect(anssi).toMatchObject({ title: "Profile for ANSSI DAT-NT28 High (Enforced) Level", matches_host: false });
    expect(caps.docker_bench.docker_running).toBe(false);
    expect(caps.docker_bench.docker_bench_method).toBe("none");
  });

  it("scan-detect fills each profile's description as oscap info --profile gives it", () => {
    const r = bash(`scan-detect`);
    expect(r.status, r.stderr).toBe(0);
    const profiles: { id: string; description: string; file_path: string }[] = JSON.parse(r.stdout).openscap.available_profiles;
    const mine = profiles.filter((p) => p.file_path === SSG_DEBIAN11);
    expect(mine.length).toBe(5);
    for (const p of mine) {
      const own = bash(`oscap info --profile ${p.id} ${SSG_DEBIAN11}`).stdout;
      const description = /\n\tDescription: ([\s\S]*?)\n*$/.exec(own)?.[1].replace(/\s+/g, " ").trim();
      expect(description, p.id).toBeTruthy();
      expect(p.description, p.id).toBe(description);
    }
  });

  it("scan-detect pretty-prints on a terminal, one line otherwise or with --compact", () => {
    const piped = bash(`scan-detect`);
    expect(piped.stdout.trim().split("\n").length).toBe(1);
    // script(1) gives the command a terminal for its stdout
    const tty = bash(`script -qec 'scan-detect' /dev/null`).stdout.replace(/\r\n/g, "\n");
    expect(tty.split("\n").length).toBeGreaterThan(20);
    expect(tty).toMatch(/^{\n  "openscap": {\n    "installed": true,/);
    expect(JSON.parse(tty)).toEqual(JSON.parse(piped.stdout));
    const compact = bash(`script -qec 'scan-detect --compact' /dev/null`).stdout.replace(/\r\n/g, "\n");
    expect(compact.trim().split("\n").length).toBe(1);
    expect(JSON.parse(compact)).toEqual(JSON.parse(piped.stdout));
  });

  it("scan-detect flags the content matching this host (os-release says Debian 11) and skips a broken file", () => {
    const dir = mkdtempSync(join(tmpdir(), "cp-content-"));
    writeFileSync(join(dir, "ssg-broken9-ds.xml"), "<not really");
    const osr = debian11OsRelease();
    const r = bash(`unshare -m sh -c 'mount --bind ${osr} /etc/os-release && scan-detect --content-dir ${dir}'`);
    expect(r.status, r.stderr).toBe(0);
    const caps = JSON.parse(r.stdout);
    expect(caps.openscap.content_files.filter((f: { matches_host: boolean }) => f.matches_host).map((f: { file_path: string }) => f.file_path)).toEqual([SSG_DEBIAN11]);
    expect(r.stderr).toMatch(new RegExp(`^scan-detect: ${dir}/ssg-broken9-ds.xml: skipped: `));
  });

  it("scan-run openscap | xccdf2rules | rules2scan agrees with oscap's own text output, and leaves no temp files", () => {
    const tmp = mkdtempSync(join(tmpdir(), "cp-scanrun-"));
    const osr = debian11OsRelease();
    // no --datastream: the content matching the (Debian 11) host is chosen
    const inner = `mount --bind ${osr} /etc/os-release && scan-run openscap --profile anssi_np_nt28_high > ${tmp}/arf.xml`;
    const r = bash(asDebian11(inner), { TMPDIR: tmp });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(tmp)).toEqual(["arf.xml"]);
    // document order (with evidence, failed rules would come last)
    const rules = bash(`xccdf2rules --evidence none ${tmp}/arf.xml`);
    const lines = rules.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const own = bash(asDebian11(`oscap xccdf eval --profile ${ANSSI_HIGH} ${SSG_DEBIAN11}`));
    expect(own.status).toBe(2);
    expect(lines.map((l) => [l.rule_ref, l.raw_status])).toEqual(oscapTextResults(own.stdout));
    const payload = JSON.parse(bash(`xccdf2rules ${tmp}/arf.xml | rules2scan`).stdout);
    expect(validator("scan-payload.schema.json")(payload)).toBeNull();
    const words = oscapTextResults(own.stdout).map(([, w]) => w);
    expect(payload.summary).toMatchObject({ total_rules: words.length, passed: words.filter((w) => w === "pass").length, failed: words.filter((w) => w === "fail").length });
  });

  it("--rule evaluates only the rules named", () => {
    const rule = "xccdf_org.ssgproject.content_rule_partition_for_tmp";
    const r = bash(asDebian11(`scan-run openscap --profile anssi_np_nt28_high --datastream ${SSG_DEBIAN11} --rule ${rule}`) + " | xccdf2rules");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n").map((l) => JSON.parse(l).rule_ref)).toEqual([rule]);
  });

  it("says so when every rule came out notapplicable (Debian 11 content on this Debian 12 host), and not otherwise", () => {
    const rules = ["sudo_remove_nopasswd", "file_groupowner_etc_group"].map((r) => `--rule xccdf_org.ssgproject.content_rule_${r}`).join(" ");
    const scan = `scan-run openscap --profile anssi_np_nt28_high --datastream ${SSG_DEBIAN11} ${rules}`;
    const off = bash(`${scan} | xccdf2rules 2>/dev/null`);
    expect(off.status, off.stderr).toBe(0);
    expect(off.stdout.trim().split("\n").map((l) => JSON.parse(l).status)).toEqual(["notapplicable", "notapplicable"]);
    expect(off.stderr).toBe("scan-run: all 2 rules are notapplicable: the content probably does not match this host (CPE platform)\n");
    const on = bash(asDebian11(scan) + " | xccdf2rules 2>/dev/null");
    expect(on.status, on.stderr).toBe(0);
    expect(on.stdout.trim().split("\n").map((l) => JSON.parse(l).status)).toEqual(["pass", "pass"]);
    expect(on.stderr).toBe("");
  });

  it("oscap's errors are shown and fail the run; the temp dir is gone", () => {
    const tmp = mkdtempSync(join(tmpdir(), "cp-scanrun-"));
    const r = bash(`scan-run openscap --profile no_such_profile --datastream ${SSG_DEBIAN11}`, { TMPDIR: tmp });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^scan-run: oscap exited with 1: .*no_such_profile/);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it("SIGTERM is passed to oscap, the temp dir removed, exit 143", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "cp-scanrun-"));
    // a stand-in oscap that takes its time, so the signal surely lands mid-scan
    const fake = mkdtempSync(join(tmpdir(), "cp-fakeoscap-"));
    writeFileSync(join(fake, "oscap"), `#!/bin/sh\ntrap 'echo TERM > ${fake}/got; kill $!; exit 143' TERM\necho $$ > ${fake}/pid\nsleep 30 & wait\n`, { mode: 0o755 });
    const child = spawn(`${BIN}/scan-run`, ["openscap", "--profile", "anssi_np_nt28_high", "--datastream", SSG_DEBIAN11], { env: { ...process.env, TMPDIR: tmp, PATH: `${fake}:${process.env.PATH}` } });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.resume();
    // signalled once the stand-in oscap runs (it writes its pid first), not after a fixed wait
    for (const start = Date.now(); !existsSync(join(fake, "pid")) && Date.now() - start < 30_000; ) await new Promise((r) => setTimeout(r, 20));
    expect(readdirSync(tmp).length).toBe(1);
    child.kill("SIGTERM");
    const code = await new Promise((r) => child.on("close", r));
    expect(code).toBe(143);
    expect(stderr).toBe("scan-run: interrupted by SIGTERM; scan abandoned, temporary files removed\n");
    expect(readdirSync(tmp)).toEqual([]);
    expect(readFileSync(join(fake, "got"), "utf8").trim()).toBe("TERM");
  });

  it("docker-bench without a Docker engine: exit 3, a clear message", () => {
    const r = bash(`scan-run docker-bench`);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/^scan-run: scanner not available: (docker not found on PATH|the Docker engine does not answer)/);
    const s = bash(`scan-run docker-bench --script /nonexistent/docker-bench-security.sh`);
    // a stand-in docker-bench-security.sh: like the real one, -l LOG makes it write LOG.json
    const dir = mkdtempSync(join(tmpdir(), "cp-dbs-"));
    writeFileSync(join(dir, "docker-bench-security.sh"), `while [ $# -gt 0 ]; do [ "$1" = -l ] && log="$2"; shift; done\necho '[WARN] 1.1 - text on stdout'\nprintf '{"dockerbenchsecurity":"1.6.0","start":1,"tests":[{"id":"1","desc":"Host","results":[{"id":"1.1","desc":"d","result":"WARN"}]}],"checks":1,"score":-1,"end":2}' > "$log.json"\n`);
    const tmp = mkdtempSync(join(tmpdir(), "cp-scanrun-"));
    const script = bash(`scan-run docker-bench --script ${dir}/docker-bench-security.sh | dockerbench2rules --target h`, { TMPDIR: tmp });
    expect(script.status, script.stderr).toBe(0);
    expect(JSON.parse(script.stdout)).toMatchObject({ rule_ref: "1.1", status: "fail", target: "h" });
    expect(readdirSync(tmp)).toEqual([]);
    expect(s.status).toBe(3);
    expect(s.stdout).toBe("");
  });
});
