import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { xccdfToNdjson, xccdfToRules } from "../src/readers/xccdf/document.js";
import { XccdfReader, oneStepReading } from "../src/readers/xccdf/reader.js";
import { drain, inSlices } from "./helpers/chunks.js";
import { ROOT } from "./helpers/paths.js";

// A Benchmark's Values and Profiles' selections in SSG's shape are matched by one pattern each
// (src/readers/xccdf/plain-items.ts); the yardstick is the element-by-element reading.

type Reading = { text: string; inOneStep: number; error?: { message?: string; position?: unknown } };

/** The lines, with the patterns used (whole) or never; how many Values and runs of selections they took. */
async function read(data: Buffer, whole: boolean, chunk = 4099, maxField?: number): Promise<Reading> {
  const proto = XccdfReader.prototype as unknown as { readItemFromStart: (buf: string, lt: number) => number };
  const original = proto.readItemFromStart;
  let inOneStep = 0;
  vi.spyOn(proto, "readItemFromStart").mockImplementation(function (this: unknown, buf: string, lt: number) {
    const end = whole ? original.call(this, buf, lt) : -1;
    if (end >= 0) inOneStep++;
    return end;
  });
  try {
    const parts: Buffer[] = [];
    try {
      for await (const part of xccdfToNdjson(inSlices(data, chunk), { source: "doc", maxField })) parts.push(Buffer.from(part));
    } catch (error) {
      return { text: Buffer.concat(parts).toString("utf8"), inOneStep, error: { message: (error as Error).message, position: (error as { position?: unknown }).position } };
    }
    return { text: Buffer.concat(parts).toString("utf8"), inOneStep };
  } finally {
    vi.restoreAllMocks();
  }
}

// every element offered to the one-step readings, however few of its kind the document holds
const defaultAfter = oneStepReading.after;
beforeEach(() => {
  oneStepReading.after = 0;
});

afterEach(() => {
  oneStepReading.after = defaultAfter;
  vi.restoreAllMocks();
});

/** `items`: selections go into the Profile, anything else into the Group, before its Rule. */
const doc = (items: string, rule: string) =>
  `<?xml version="1.0"?>\n<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" xmlns:h="http://www.w3.org/1999/xhtml" id="b">\n` +
  `<Profile id="p"><title override="true">The profile</title><description override="true">About <h:b>it</h:b></description>\n${items.startsWith("<select") ? items : ""}\n</Profile>\n` +
  `<Group id="g"><title>G</title>\n${items.startsWith("<select") ? "" : items}\n<Rule id="r"><title>T</title><description>${rule}</description></Rule></Group>\n` +
  `<TestResult id="t"><profile idref="p"/><rule-result idref="r"><result>fail</result></rule-result></TestResult>\n</Benchmark>\n`;

describe("Values and Profiles' selections in SSG's shape, matched by one pattern each", () => {
  it("are nearly all of the real scans' Values and selections, with the lines of the reading element by element", async () => {
    for (const path of ["examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz", "test/data/ubuntu2204-cis-level2-server.arf.gz"]) {
      const data = gunzipSync(readFileSync(resolve(ROOT, path)));
      const inPlace = await read(data, false, 1 << 16);
      const whole = await read(data, true, 1 << 16);
      expect(whole.text, path).toBe(inPlace.text);
      // each Value is one step, each Profile a few runs of selections: ~450 Values, 5 Profiles
      const values = data.toString("utf8").split("<xccdf-1.2:Value ").length - 1;
      expect(whole.inOneStep, path).toBeGreaterThan(0.9 * values);
    }
  });

  // [Values (or selections) in the Profile and the Group, matched by the pattern?]
  const shapes: [string, boolean][] = [
    [`<Value id="v" type="string"><title>V</title><description>About <h:i>v</h:i></description><value>first</value><value selector="x">sel</value><value> last </value></Value>`, true],
    [`<Value id="v" type="string"><value selector="">an empty selector is none</value></Value>`, true],
    [`<Value id="" type="string"><value>no id: not stored</value></Value>`, true],
    [`<Value id="v" type="string"><description>a fake end </description ><value>after</value></Value>`, true],
    [`<Value id="v" type="string"><warning>w</warning><value>x</value></Value>`, false],
    [`<Value id="v" type="string"><value>R&amp;D</value></Value>`, false],
    [`<Value id="v" type="string" hidden="true"><value>x</value></Value>`, false],
    [`<Value id="v" type="string"><value>${"long ".repeat(50)}</value></Value>`, false],
    [`<select idref="r" selected="true"/>\n<refine-value idref="v" selector="x"/> <select idref="q" selected="false"/>`, true],
    [`<select idref="r" selected="true" />`, false],
    [`<select idref="a&amp;b" selected="true"/>`, false],
  ];

  it("read them as element by element does, and leave any other shape to it", async () => {
    for (const [items, matched] of shapes) {
      const data = Buffer.from(doc(items, `v=<sub idref="v"/>`));
      for (const chunk of [1 << 16, 7]) {
        // a small --max-field, which one shape's value is over
        const inPlace = await read(data, false, chunk, 200);
        const whole = await read(data, true, chunk, 200);
        expect(inPlace.error, items).toBeUndefined();
        expect(whole.text, items).toBe(inPlace.text);
        if (chunk === 1 << 16) expect(whole.inOneStep > 0, items).toBe(matched);
      }
    }
  });

  it("store a Value seen before the Rule that names it, its last plain value; none seen after it", async () => {
    const before = `<Value id="v" type="string"><value>first</value><value selector="x">sel</value><value> last </value></Value>`;
    const data = Buffer.from(doc(before, `v=<sub idref="v"/> w=<sub idref="w"/>`).replace("</Group>", `</Group><Group id="h"><Value id="w" type="string"><value>late</value></Value></Group>`));
    const line = JSON.parse((await read(data, true)).text);
    expect(line.description).toBe("v=last w=w");
    // the Profile's title, read element by element around its selections
    expect(line.profile).toEqual({ id: "p", title: "The profile" });
  });

  it("cost time linear in the input when the pattern fails late in each Value (a guard, with a generous ceiling)", async () => {
    // each Value matches up to its description, then fails at a warning; 200,000 selections in runs
    const values = Array.from({ length: 40_000 }, (_, i) => `<Value id="v${i}" type="string"><title>V</title><description>${"d ".repeat(40)}</description><warning>w</warning><value>x</value></Value>`).join("\n");
    const selections = Array.from({ length: 200_000 }, (_, i) => `<select idref="r${i}" selected="true"/>`).join("\n");
    const data = Buffer.from(doc(selections, "x").replace("<Group id=\"g\"><title>G</title>", `<Group id="g"><title>G</title>\n${values}`));
    const timed = async (whole: boolean) => {
      const started = performance.now();
      const reading = await read(data, whole, 1 << 16);
      return { reading, ms: performance.now() - started };
    };
    const inPlace = await timed(false);
    const whole = await timed(true);
    expect(whole.reading.text).toBe(inPlace.reading.text);
    expect(whole.reading.inOneStep).toBeGreaterThan(0);
    // measured: both ~1-2 s for these ~20 MB
    expect(whole.ms).toBeLessThan(3 * inPlace.ms + 3_000);
  });

  it("leave a fault to the reading element by element, which tells it at the same place", async () => {
    for (const items of [`<select idref="a" idref="b"/>`, `<select idref="r" selected="true"/><select idref="s" selected="true"></Profile>`]) {
      const data = Buffer.from(doc(items, "x"));
      const inPlace = await read(data, false);
      expect(inPlace.error?.message, items).toBeTruthy();
      expect((await read(data, true)).error, items).toEqual(inPlace.error);
    }
    // the rules of a well-formed document are read whatever the shape of its Values
    const { items } = await drain(xccdfToRules(inSlices(Buffer.from(doc(shapes[0][0], "x")), 5)));
    expect(items.map((r) => r.rule_ref)).toEqual(["r"]);
  });
});
