import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MIG } from "./helpers/mig-runner.js";
import { goTime, normalizeGo, RUNNER_RESULT } from "../src/services/mig-runner/go-struct.js";
import { goQueryEscape, parseAction } from "../src/services/mig-runner/action.js";

describe("the RunnerResult as the Go runner writes it", () => {
  it("gives back the bytes of the four RunnerResults made through MIG's Go types", () => {
    for (const name of ["runner-result.file-compliance.json", "runner-result.file-compliance.with-tags.json", "runner-result.from-mig-doc-api.json", "runner-result.operator-tag.json"]) {
      const text = readFileSync(join(MIG, name), "utf8");
      expect(normalizeGo(JSON.parse(text), RUNNER_RESULT), name).toBe(text);
    }
  });

  it("orders, fills and drops fields as encoding/json does: struct order, zero values, omitempty, unknown keys gone, free-form keys sorted", () => {
    const out = normalizeGo({ plugin: "p", name: "j", action: { target: "t", id: 5, Name: "n", extra: 1, operations: [{ parameters: { z: 1, a: "<&>" }, module: "file" }], counters: {}, threat: { family: "" } } }, RUNNER_RESULT);
    expect(out).toBe(
      '{"action":{"id":5,"name":"n","target":"t","description":{},"threat":{},"validfrom":"0001-01-01T00:00:00Z","expireafter":"0001-01-01T00:00:00Z","operations":[{"module":"file","parameters":{"a":"\\u003c\\u0026\\u003e","z":1}}],"pgpsignatures":null,"starttime":"0001-01-01T00:00:00Z","finishtime":"0001-01-01T00:00:00Z","lastupdatetime":"0001-01-01T00:00:00Z","counters":{}},"commands":null,"name":"j","plugin":"p"}',
    );
  });

  it("writes times as Go's RFC3339Nano: fraction without trailing zeros, a zero offset as Z", () => {
    expect(["2016-01-05T14:00:00.912811000Z", "2016-01-05T14:00:00.000Z", "2016-01-05T15:00:00+01:00", "2016-01-05T14:00:00+00:00", "2016-01-05 14:00"].map(goTime)).toEqual([
      "2016-01-05T14:00:00.912811Z", "2016-01-05T14:00:00Z", "2016-01-05T15:00:00+01:00", "2016-01-05T14:00:00Z", null,
    ]);
  });

  it("refuses an action.json Go could not read, naming the field", () => {
    expect(() => parseAction('{"operations": [{"module": 3}]}', "a.json")).toThrow("operations[0].module: cannot read number as a string");
    expect(() => parseAction('{"validfrom": "yesterday"}', "a.json")).toThrow("validfrom: cannot read string as an RFC 3339 time");
    expect(() => parseAction("[]", "a.json")).toThrow("not a MIG action (a JSON object)");
  });
});

describe("Go's url.QueryEscape", () => {
  it("escapes all but letters, digits and -_.~, with + for a space", () => {
    expect(goQueryEscape(`a b'(*)!~-_.%&="<`)).toBe("a+b%27%28%2A%29%21~-_.%25%26%3D%22%3C");
  });
});
