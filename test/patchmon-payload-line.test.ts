import { describe, expect, it } from "vitest";
import { jsonObjectMembers } from "../src/streams/json-members.js";
import { parsePayloadLine } from "../src/sinks/patchmon/delivery.js";
import { seeded } from "./helpers/seeded.js";

/** What JSON.parse makes of a text: the object, or null when it is not valid JSON or not an object. */
function parsedObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The scanner agrees with JSON.parse: valid exactly when it parses to an object, each member's value and array length the same. Says whether it was valid. */
function expectAgrees(text: string): boolean {
  const members = jsonObjectMembers(text);
  const parsed = parsedObject(text);
  expect(members === null, `valid? ${JSON.stringify(text.slice(0, 120))}`).toBe(parsed === null);
  if (!members || !parsed) return false;
  const last = new Map(members.map((m) => [m.key, m]));
  expect([...last.keys()]).toEqual(Object.keys(parsed));
  for (const [key, m] of last) {
    const value = JSON.parse(text.slice(m.start, m.end));
    expect(value).toEqual(parsed[key]);
    if (Array.isArray(value)) expect(m.elements).toBe(value.length);
  }
  return true;
}

const payload = JSON.stringify({
  hostname: "web-1.example.net",
  machine_id: "m1",
  os_info: { family: "debian", version: "12" },
  scans: [
    { profile_name: "p", score: 12.5, results: [{ rule_ref: "r1", status: "fail", description: 'quote " backslash \\ tab \t line\n é 😀 \u2028', remediation: "x".repeat(300) }, { rule_ref: "r2", n: [1, -2.5e3, 0, true, false, null, {}, []] }] },
    { profile_name: "q", results: [] },
  ],
});

describe("the members of a JSON object, found without building them", () => {
  it("agrees with JSON.parse on valid and invalid texts", () => {
    const texts = [
      payload,
      "{}",
      " { } ",
      '{"a":1}',
      '{"a":1,"a":[1,2,3]}',
      '{"__proto__":{"x":1},"b":2}',
      '{"k\\u0065y":"v","s\\"q":[]}',
      '{"a":[[[[[[[[[[1]]]]]]]]]]}',
      '{"a":"\\ud800"}',
      "[]",
      "null",
      "1",
      '"s"',
      "{",
      '{"a":}',
      '{"a":1,}',
      '{"a":01}',
      '{"a":1.}',
      '{"a":-}',
      '{"a":.5}',
      '{"a":1e}',
      '{"a":tru}',
      '{"a":nulll}',
      '{"a":"\t"}',
      '{"a":"\\x"}',
      '{"a":"\\u12g4"}',
      '{"a":[1 2]}',
      '{"a":{"b"}}',
      '{"a":{"b":1,}}',
      '{a:1}',
      "{'a':1}",
      '{"a":1}}',
      '{"a":1} x',
      "\ufeff{}",
      '{"a":\u00a01}',
      '{"a":[1,]}',
      '{"a":[,1]}',
    ];
    for (const t of texts) expectAgrees(t);
    // nesting as deep as you like: no recursion to run out of stack
    const deep = `{"deep":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    expect(jsonObjectMembers(deep)).toEqual([{ key: "deep", start: 8, end: deep.length - 1, elements: 1 }]);
    expect(jsonObjectMembers(deep.slice(0, -2) + "}")).toBeNull();
  });

  it("agrees with JSON.parse on a payload with bytes changed, dropped and cut (seeded)", () => {
    const random = seeded(14);
    const alphabet = ['"', "\\", "{", "}", "[", "]", ",", ":", " ", "1", "-", "e", ".", "t", "n", "u", "\n", "\u0001", "a"];
    const seen = { valid: 0, invalid: 0 };
    for (let round = 0; round < 3000; round++) {
      let t = payload;
      const edits = 1 + Math.floor(random() * 3);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(random() * t.length);
        const what = random();
        if (what < 0.4) t = t.slice(0, at) + alphabet[Math.floor(random() * alphabet.length)] + t.slice(at + 1);
        else if (what < 0.7) t = t.slice(0, at) + t.slice(at + 1);
        else if (what < 0.9) t = t.slice(0, at) + alphabet[Math.floor(random() * alphabet.length)] + t.slice(at);
        else t = t.slice(0, at);
      }
      seen[expectAgrees(t) ? "valid" : "invalid"]++;
    }
    expect(seen.valid).toBeGreaterThan(300);
    expect(seen.invalid).toBeGreaterThan(300);
  });
});

describe("a patchmon-send input line", () => {
  it("is read the same as from the parsed line: head, scan count, or the reason it is not a payload", () => {
    expect(parsePayloadLine(payload)).toEqual({ kind: "patchmon", head: { hostname: "web-1.example.net", machine_id: "m1", os_info: { family: "debian", version: "12" } }, scanCount: 2, line: payload });
    const spec = JSON.stringify({ profile: { name: "p" }, summary: { total_rules: 1 }, results: [{}] });
    expect(parsePayloadLine(spec)).toEqual({ kind: "spec", line: spec });
    expect(() => parsePayloadLine('{"scans":[],"hostname":""}')).toThrow("PatchMon payload without hostname");
    expect(() => parsePayloadLine('{"scans":{},"hostname":"h"}')).toThrow(/neither a PatchMon payload/);
    expect(() => parsePayloadLine("[1]")).toThrow("not a JSON object (an array)");
    expect(() => parsePayloadLine('{"scans":[}')).toThrow(/^not JSON \(/);
  });
});
