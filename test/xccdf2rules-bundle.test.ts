import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, ROOT } from "./helpers/paths.js";
import { sh } from "./helpers/run.js";

describe("bin/xccdf2rules's bundle (scripts/build-bundle.mjs)", () => {
  const small = join(FIXTURES, "xccdf/openscap-report__arf_simple_rule_fail.xml");

  it("is built with a code cache that V8 accepts under the shim's flags", () => {
    expect(existsSync(join(ROOT, "dist/bundle/xccdf2rules.cjs"))).toBe(true);
    expect(existsSync(join(ROOT, "dist/bundle/xccdf2rules.cjs.cache"))).toBe(true);
    const r = sh(`xccdf2rules '${small}'`, { env: { COMPLIANCE_PIPES_DEBUG: "1" } });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n").filter(Boolean).length).toBeGreaterThan(0);
  });

  it("is compiled through node:vm where the shim does not take Node's own class (NODE_OPTIONS set), with the cache accepted and the same lines", () => {
    const own = sh(`xccdf2rules '${small}'`, { env: { COMPLIANCE_PIPES_DEBUG: "1" } });
    const vm = sh(`xccdf2rules '${small}'`, { env: { COMPLIANCE_PIPES_DEBUG: "1", NODE_OPTIONS: "--no-warnings" } });
    expect(vm.stderr).toBe("");
    expect(vm.status).toBe(0);
    expect(vm.stdout).toBe(own.stdout);
    expect(own.stdout.length).toBeGreaterThan(100);
  });

  it("gives the bytes dist's modules give, on stdin and a gzipped file", () => {
    const bundled = sh(`xccdf2rules - < '${small}' && xccdf2rules '${ROOT}/examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz'`);
    const modules = sh(`xccdf2rules - < '${small}' && xccdf2rules '${ROOT}/examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz'`, { env: { COMPLIANCE_PIPES_NO_BUNDLE: "1" } });
    expect(bundled.status).toBe(0);
    expect(bundled.stdout.length).toBeGreaterThan(100_000);
    expect(bundled).toEqual(modules);
  });
});
