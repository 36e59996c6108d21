import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { FIXTURES } from "./helpers/paths.js";
import { sh } from "./helpers/run.js";

// Node 20 loads the certificates NODE_EXTRA_CA_CERTS names as it starts (~38 ms for Debian's bundle), and
// warns when it cannot: a file that is not there shows whether a command's node saw the variable.
const env = { NODE_EXTRA_CA_CERTS: "/nonexistent/extra-ca.pem" };
const WARNING = "Ignoring extra certs";

describe("NODE_EXTRA_CA_CERTS", () => {
  it("is not seen by the filters that open no connection and start no process (their shebang unsets it)", () => {
    const small = join(FIXTURES, "xccdf/openscap-report__arf_simple_rule_fail.xml");
    const filters = ["dockerbench2rules", "runner2compliance", "rules2scan", "rules-report", "rules-diff", "rules-waive"];
    for (const command of [`xccdf2rules '${small}'`, ...filters.map((name) => `${name} --version`)]) {
      const r = sh(command, { env });
      expect(r.status, command).toBe(0);
      expect(r.stdout, command).not.toBe("");
      expect(r.stderr, command).not.toContain(WARNING);
    }
  });

  it("is still seen by a command that opens connections", () => {
    const r = sh("mozdef-send --version", { env });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(WARNING);
  });
});
