import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { complianceHash } from "../src/services/agent/hash.js";
import { loadConfig } from "../src/services/agent/config.js";
import { PipeError } from "../src/errors.js";
import { FIXTURES } from "./helpers/paths.js";
import { sh } from "./helpers/run.js";

describe("compliance hash", () => {
  const fixture = JSON.parse(readFileSync(join(FIXTURES, "patchmon/canonical_fixtures.json"), "utf8")).compliance;

  it("reproduces PatchMon's own cross-implementation fixture", () => {
    expect(complianceHash(fixture.input.scans)).toBe(fixture.expected_hash);
    expect(fixture.expected_hash).toBe("9be00dc9600c0e16fb5e8cd11e28d5da069e7c95a59e16b6729c82dd9224fb05");
  });

  it("ignores result order, NFD vs NFC, surrounding space and score digits past the 4th; sees any field change", () => {
    const scan = fixture.input.scans[0];
    const shuffled = { ...scan, score: 92.45670001, results: [...scan.results].reverse().map((r: Record<string, string>) => ({ ...r, title: ` ${r.title.normalize("NFD")} ` })) };
    expect(complianceHash([shuffled])).toBe(fixture.expected_hash);
    expect(complianceHash([{ ...scan, passed: 89 }])).not.toBe(fixture.expected_hash);
    expect(complianceHash([{ ...scan, results: [{ ...scan.results[0], finding: "x" }, scan.results[1]] }])).not.toBe(fixture.expected_hash);
  });
});

function configFile(text: string, creds = "api_id: id1\napi_key: key1\n"): string {
  const dir = mkdtempSync(join(tmpdir(), "cp-agent-cfg-"));
  writeFileSync(join(dir, "credentials.yml"), creds);
  writeFileSync(join(dir, "config.yml"), `patchmon_server: http://127.0.0.1:9\ncredentials_file: ${join(dir, "credentials.yml")}\n${text}`);
  return join(dir, "config.yml");
}

const load = (text: string) => loadConfig({ config: configFile(text), needCredentials: true }, {});

describe("config.yml", () => {
  it("reads the spec's compliance section with cron schedules", () => {
    const c = load(`compliance:\n  enabled: true\n  openscap:\n    enabled: true\n    profile: cis_level1_server\n    schedule: "0 3 * * 0"\n  docker_bench:\n    enabled: true\n    schedule: "@daily"\n`);
    expect(c.mode).toBe("on");
    expect(c.openscap).toMatchObject({ enabled: true, profile: "cis_level1_server", schedule: "0 3 * * 0" });
    expect(c.dockerBench).toMatchObject({ enabled: true, schedule: "@daily" });
    expect(c).toMatchObject({ server: "http://127.0.0.1:9", apiId: "id1", apiKey: "key1", intervalMinutes: 1440, scanTimeoutMs: 25 * 60_000, outboxDir: "/var/lib/compliance-agent/outbox" });
  });

  it("reads the real agent's integrations.compliance in all its forms, interval clamped to 60-10080", () => {
    expect(load("integrations:\n  compliance: true\n").mode).toBe("on");
    expect(load("integrations:\n  compliance: on-demand\n").mode).toBe("on-demand");
    expect(load("integrations:\n  compliance: false\n").mode).toBe("off");
    expect(load("").mode).toBe("on-demand");
    const nested = load("integrations:\n  compliance:\n    enabled: true\n    openscap_enabled: true\n    docker_bench_enabled: false\n    scan_interval: 5\n");
    expect(nested).toMatchObject({ mode: "on", intervalMinutes: 60, openscap: { enabled: true, schedule: null }, dockerBench: { enabled: false } });
    expect(load("integrations:\n  compliance: true\n  compliance_scan_interval: 99999\n").intervalMinutes).toBe(10080);
    expect(load("integrations:\n  compliance: true\n  compliance_docker_bench_enabled: false\n").dockerBench.enabled).toBe(false);
    // both forms: the spec's compliance.enabled decides
    expect(load("integrations:\n  compliance: true\ncompliance:\n  enabled: false\n").mode).toBe("off");
  });

  it("refuses a bad value with one line naming the key", () => {
    const cases: [string, RegExp][] = [
      [`compliance:\n  openscap:\n    schedule: "0 3 * *"\n`, /compliance\.openscap\.schedule: '0 3 \* \*' is not a cron schedule/],
      [`compliance:\n  openscap:\n    schedule: "61 * * * *"\n`, /compliance\.openscap\.schedule: .*minute/],
      [`integrations:\n  compliance: sometimes\n`, /integrations\.compliance: must be true, false or "on-demand"/],
      [`integrations:\n  compliance:\n    scan_interval: soon\n`, /integrations\.compliance\.scan_interval: must be a number/],
      [`compliance_agent:\n  outbox_max_mb: -1\n`, /compliance_agent\.outbox_max_mb: must be a number/],
      [`compliance: [1\n`, /not valid YAML/],
    ];
    for (const [text, message] of cases) {
      let err: unknown;
      try {
        load(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(PipeError);
      expect((err as PipeError).exitCode).toBe(2);
      expect((err as PipeError).message).toMatch(message);
    }
    expect(() => loadConfig({ config: configFile("", "api_id: x\n"), needCredentials: true }, {})).toThrow(/api_key: missing/);
  });

  it("the command says it in one line on stderr and exits 2", () => {
    const cfg = configFile(`compliance:\n  docker_bench:\n    schedule: "every day"\n`);
    const r = sh(`compliance-agent scan --config ${cfg}`);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")[0]).toBe(`compliance-agent: ${cfg}: compliance.docker_bench.schedule: 'every day' is not a cron schedule (5 fields, or @daily/@weekly/…): invalid configuration format ('every day'), exactly five, six, or seven space separated parts are required.`);
    expect(sh(`compliance-agent status --config /nonexistent/config.yml`).status).toBe(2);
  });
});
