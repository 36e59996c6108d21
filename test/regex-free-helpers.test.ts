import { describe, expect, it } from "vitest";
import { escapeRegExp } from "../src/xml/syntax.js";
import { collapse, isCollapsed, toDateTime } from "../src/readers/xccdf/fields.js";
import { seeded } from "./helpers/seeded.js";

// The regular expressions these helpers were written with before start-up time had them rewritten as loops.
const escapedBefore = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
function dateTimeBefore(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(v)) return undefined;
  if (/(Z|[+-]\d\d:?\d\d)$/i.test(v)) return v.replace(/([+-]\d\d)(\d\d)$/, "$1:$2");
  return `${v}Z`;
}

const collapsedBefore = (text: string) => !/^\s|\s$|\s\s|[^\S ]/.test(text);

describe("helpers written without regular expressions", () => {
  const next = seeded(4242);
  const pick = (chars: string, n: number) => Array.from({ length: n }, () => chars[Math.floor(next() * chars.length)]).join("");

  it("escapeRegExp escapes what the global replace escaped, and the result matches the text literally", () => {
    for (let round = 0; round < 2000; round++) {
      const text = pick("ab-_:.*+?^${}()|[]\\/é😀 ", Math.floor(next() * 12));
      expect(escapeRegExp(text)).toBe(escapedBefore(text));
      expect(new RegExp(`^${escapeRegExp(text)}$`, "u").test(text)).toBe(true);
    }
  });

  it("isCollapsed says what the regular expression said, on text with every kind of JavaScript whitespace", () => {
    const blanks = " \t\n\v\f\r\u00a0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000\ufeff\u200b\u180e\u0085";
    for (let round = 0; round < 5000; round++) {
      const text = pick(`ab${blanks}${" ".repeat(8)}é😀`, Math.floor(next() * 10));
      expect({ text, got: isCollapsed(text) }).toEqual({ text, got: collapsedBefore(text) });
      expect(collapse(text)).toBe(text.replace(/\s+/g, " ").trim());
    }
  });

  it("toDateTime gives what the regular expressions gave, on date-times with and without zones and on near misses", () => {
    const cases = [undefined, "", "  ", "2024-05-01T10:20:30", "2024-05-01T10:20:30Z", "2024-05-01T10:20:30z", "2024-05-01T10:20:30+0100", "2024-05-01T10:20:30-05:30", "2024-05-01T10:20:30.123+01:00", " 2024-05-01T10:20:30 ", "2024-05-01 10:20:30", "24-05-01T10:20:30"];
    for (let round = 0; round < 3000; round++) {
      const head = next() < 0.8 ? `${pick("0123456789", 4)}-${pick("0123456789", 2)}-${pick("0123456789", 2)}T${pick("0123456789", 2)}:${pick("0123456789", 2)}:${pick("0123456789", 2)}` : pick("0123456789-T:", 19);
      cases.push(head + pick("0123456789+-:.Zz ", Math.floor(next() * 8)));
    }
    for (const value of cases) expect({ value, got: toDateTime(value) }).toEqual({ value, got: dateTimeBefore(value) });
  });
});
