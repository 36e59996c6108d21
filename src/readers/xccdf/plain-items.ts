import { BLANKS, PLAIN_TEXT as TEXT, PLAIN_VALUE as V, PLAIN_VALUE_GROUP as VG } from "../../xml/syntax.js";

// A Benchmark's Values and its Profiles' selections in the shape SSG writes them, matched by one
// pattern (XccdfReader.readFromStart) instead of element by element. They are most of the elements
// before a real Benchmark's first Rule (the Ubuntu CIS scan: 452 Values holding 1,609 value
// elements, 5 Profiles holding 1,855 selections), read while the code is still cold. Measured,
// fastest (median) of 20 alternating runs: the bundled 8 MB ARF 155 (179) -> 143 (158) ms, the
// 15 MB Ubuntu CIS one 262 (321) -> 239 (277) ms.

/**
 * An element skipped unread (a description): its content up to the first
 * end tag of its name, as findEndTag finds it. The lookahead keeps the match
 * from being extended to a later end tag when what follows does not match
 * (its capture, group `n`, is consumed by the backreference): a failed
 * match costs the element's length, not the buffer's.
 */
const unread = (name: string, attributes: string, n: number) => String.raw`<\1${name}${attributes}>(?=([\s\S]*?</\1${name}${BLANKS}>))` + `\\${n}${BLANKS}`;

/**
 * A Value as SSG writes it: attributes in its order, an optional title (plain
 * text) and description (skipped unread, as in place), then value elements
 * of plain text, with or without a selector. Groups: prefix, id, the skipped
 * description (3), the value elements (4).
 */
const SSG_VALUE = new RegExp(
  String.raw`<((?:[A-Za-z_][\w.-]*:)?)Value id=${VG}(?: type=${V})?(?: operator=${V})?(?: interactive=${V})?>${BLANKS}` +
    String.raw`(?:<\1title(?: xml:lang=${V})?>${TEXT}</\1title>${BLANKS})?` +
    `(?:${unread("description", String.raw`(?: xml:lang=${V})?`, 3)})?` +
    String.raw`((?:<\1value(?: selector=${V})?>${TEXT}</\1value>${BLANKS})*)` +
    String.raw`</\1Value${BLANKS}>`,
  "y",
);

/** One value element of SSG_VALUE's group 4: its selector, if any, and its text. */
const VALUE_ELEMENT = /<(?:[A-Za-z_][\w.-]*:)?value(?: selector="([^"]*)")?>([^<]*)</g;

/**
 * A run of a Profile's selections and refined values as SSG writes them, each
 * a start tag parsePlainStartTag takes as is, self-closed: all are skipped
 * unread in place, so the run is passed over whole.
 */
const SELECTIONS = new RegExp(String.raw`(?:<(?:[A-Za-z_][\w.-]*:)?(?:select idref=${V} selected=${V}|refine-value idref=${V} selector=${V})/>${BLANKS})+`, "y");

export interface PlainValue {
  prefix: string;
  id: string;
  /** The texts of its value elements without a selector (or an empty one), in order: the last one is the Value's. */
  texts: string[];
  /** Where its end tag ends. */
  end: number;
}

/** The Value whose start tag is at `lt` in `buf`, if it is whole there and in SSG's shape. */
export function readPlainValue(buf: string, lt: number): PlainValue | undefined {
  SSG_VALUE.lastIndex = lt;
  const m = SSG_VALUE.exec(buf);
  if (!m) return undefined;
  const texts: string[] = [];
  for (const [, selector, text] of m[4].matchAll(VALUE_ELEMENT)) if (!selector) texts.push(text);
  return { prefix: m[1], id: m[2], texts, end: SSG_VALUE.lastIndex };
}

/** Where the run of plain selections at `lt` in `buf` ends (see SELECTIONS), or -1 if there is none. */
export function skipSelections(buf: string, lt: number): number {
  SELECTIONS.lastIndex = lt;
  return SELECTIONS.test(buf) ? SELECTIONS.lastIndex : -1;
}
