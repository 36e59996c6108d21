import { describe, expect, it } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { dockerbenchToRules } from "../src/commands/dockerbench2rules.js";
import { FIXTURES } from "./helpers/paths.js";
import { drain, inSlices } from "./helpers/chunks.js";

const DIR = join(FIXTURES, "dockerbench");

describe("dockerbenchToRules", () => {
  for (const file of readdirSync(DIR).filter((f) => f.endsWith(".json"))) {
    it(`${file}: same lines whatever the chunk size`, async () => {
      const data = readFileSync(join(DIR, file));
      const whole = await drain(dockerbenchToRules(inSlices(data, data.length), { target: "t" }));
      expect(whole.error).toBeUndefined();
      for (const size of [1, 13, 4096]) {
        const sliced = await drain(dockerbenchToRules(inSlices(data, size), { target: "t" }));
        expect(sliced.items).toEqual(whole.items);
      }
    });
  }

  it("keeps every Gen 0 duplicate key's detail (JSON.parse would keep only the last)", async () => {
    const data = readFileSync(join(DIR, "v1.3.4-flat__frizafad-codebased.json"));
    const { items } = await drain(dockerbenchToRules(inSlices(data, 64), { target: "t" }));
    const check = items.find((r) => r.rule_ref === "4.6")!;
    expect(check.status).toBe("fail");
    expect(check.finding).toBe("[example:latest]\n[node:8.9.3-alpine]");
    expect(items.filter((r) => r.rule_ref === "4.6")).toHaveLength(1);
  });

  it("reads multi-byte details split across chunks", async () => {
    const log = Buffer.from('{"dockerbenchsecurity": "1.6.0", "start": 1, "tests": [{"id": "5", "desc": "Container Runtime", "results": [{"id": "5.1", "desc": "AppArmor", "result": "WARN", "details": "Ohne Profil: web-Ünïcode-容器"}]}], "checks": 1, "score": -1, "end": 2}');
    const { items, error } = await drain(dockerbenchToRules(inSlices(log, 1), { target: "t" }));
    expect(error).toBeUndefined();
    expect(items[0]).toMatchObject({ rule_ref: "5.1", section: "5", severity: "high", status: "fail", finding: "Ohne Profil: web-Ünïcode-容器" });
  });
});
