import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES } from "./helpers/paths.js";
import { goJson, isGoJsonOf } from "../src/util/go-json.js";

/** isGoJsonOf may say false when unsure, never true wrongly. */
function check(text: string): boolean {
  const parsed: unknown = JSON.parse(text);
  const said = isGoJsonOf(text, parsed);
  if (said) expect(goJson(parsed), text).toBe(text);
  return said;
}

describe("goJson", () => {
  it("escapes what Go escapes, and only that", () => {
    expect(goJson({ s: "a<b>&c\u2028\u2029é𝄞\"\\\n" })).toBe('{"s":"a\\u003cb\\u003e\\u0026c\\u2028\\u2029é𝄞\\"\\\\\\n"}');
    expect(goJson({ s: "plain" })).toBe('{"s":"plain"}');
  });
});

describe("isGoJsonOf: a text already in goJson's form is known without writing it again", () => {
  it("knows the events MIG's runner-compliance posted", () => {
    const bodies = readFileSync(join(FIXTURES, "mig/runner-compliance.mozdef-posts.captured.ndjson"), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { body: string }).body);
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of bodies) expect(check(body), body).toBe(true);
  });

  it("says yes to goJson's own escapes, pairs of surrogates, literals, integers and nesting", () => {
    for (const text of [
      '{"a":"\\u003c\\u003e\\u0026\\u2028\\u2029"}',
      '{"a":"\\\\\\b\\f\\n\\r\\t"}',
      '{"a":"é𝄞"}',
      '{"a":[true,false,null,0,-1,123456789012345],"b":{},"c":[],"":{"d":[{"e":1}]}}',
      '{"__proto__":{"x":1}}',
      "[]",
    ]) {
      expect(check(text), text).toBe(true);
    }
  });

  it("says no to every way a parsed value is written otherwise", () => {
    for (const text of [
      '{"a":1,"a":2}', // a key given twice keeps one
      '{"x":{"a":1,"b":2,"a":3}}',
      '{"b":1,"1":2}', // integer-like keys are moved first
      '{"a":-0}',
      '{"a":1.0}',
      '{"a":1.5}',
      '{"a":1e5}',
      '{"a":1E5}',
      '{"a":1234567890123456}',
      '{"a":0} ',
      '{ "a":1}',
      '{"a":1}\t',
      '{"a":"\\/"}',
      '{"a":"\\u0041"}',
      '{"a":"\\u003C"}',
      '{"a":"\\u0001"}',
      '{"a":"\\ud800"}',
      '{"a":"<"}',
      '{"a":">&"}',
      '{"a":"\u2028"}',
      '{"a":"\\"quoted\\""}', // an escaped quote: keys are not counted, not known
    ]) {
      expect(check(text), text).toBe(false);
    }
    // a lone surrogate (a replayed dead letter can hold one) is written escaped
    expect(check(JSON.stringify({ a: "x" }).replace("x", "\ud800"))).toBe(false);
    // nesting past what is walked is left to goJson
    const deep = `${"[".repeat(200)}{"a":1}${"]".repeat(200)}`;
    expect(check(deep)).toBe(false);
    // and so is a big text (millions of tokens overflowed the RegExp's stack)
    expect(check(JSON.stringify({ a: Array.from({ length: 3e6 }, (_, i) => i % 3) }))).toBe(false);
    expect(check(JSON.stringify({ a: "x".repeat(70_000) }))).toBe(false);
  });

  it("is never wrong on many generated texts, and knows the ones goJson wrote", () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const chars = ["a", "Z", " ", ":", ",", "{", '"', "\\", "/", "<", ">", "&", "\u2028", "\n", "\u0001", "é", "𝄞", "1", "-"];
    const str = () => Array.from({ length: rand(6) }, () => chars[rand(chars.length)]).join("");
    const value = (depth: number): unknown => {
      switch (rand(depth > 3 ? 4 : 7)) {
        case 0:
          return str();
        case 1:
          return [0, -1, 7, 1.5, -0, 1e21, 2 ** 53, 123456789012345][rand(8)];
        case 2:
          return [true, false, null][rand(3)];
        case 3:
          return rand(2) ? str() : rand(1000);
        case 4:
          return Array.from({ length: rand(4) }, () => value(depth + 1));
        default:
          return Object.fromEntries(Array.from({ length: rand(5) }, () => [rand(8) ? str() : String(rand(3)), value(depth + 1)]));
      }
    };
    const mutations = [(t: string) => t.replace(/,/, " ,"), (t: string) => t.replace(/\\u003c/, "<"), (t: string) => t.replace(/"([^"\\]*)":/, '"$1":1,"$1":'), (t: string) => t.replace(/:0/, ":-0")];
    let known = 0;
    for (let i = 0; i < 3000; i++) {
      const text = goJson({ k: value(0) });
      if (check(text)) known++;
      const changed = mutations[rand(mutations.length)](text);
      try {
        JSON.parse(changed);
      } catch {
        continue;
      }
      if (changed !== text) check(changed);
    }
    expect(known).toBeGreaterThan(1000);
  });
});
