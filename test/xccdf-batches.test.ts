import { afterEach, describe, expect, it, vi } from "vitest";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { xccdfToNdjson, type XccdfToRulesOptions } from "../src/readers/xccdf/document.js";
import { BatchPool, BatchReader, type BatchJob, type BatchJobContext } from "../src/readers/xccdf/batches.js";
import { XccdfReader } from "../src/readers/xccdf/reader.js";
import { FIXTURES, ROOT } from "./helpers/paths.js";
import { drain, inSlices } from "./helpers/chunks.js";
import { sh } from "./helpers/run.js";

// the compiled worker (npm test builds first); from sources there is none to start
const WORKER = new URL(`file://${join(ROOT, "dist/readers/xccdf/batch-worker.js")}`);
const NO_WORKER = new URL("file:///nonexistent/worker.js");

/** What a run gives: its text and its error message and position. */
async function convert(doc: Buffer, chunk: number, opts: XccdfToRulesOptions) {
  const { items, error } = await drain(xccdfToNdjson(inSlices(doc, chunk), opts));
  return { text: Buffer.concat(items).toString(), error: error && { message: error.message, position: (error as { position?: unknown }).position } };
}

/** Counts the batches handed to the pool, those a worker took, and those read again in place. */
function countBatches() {
  const counts = { batches: 0, toWorker: 0, readAgain: 0 };
  const submit = BatchPool.prototype.submit;
  vi.spyOn(BatchPool.prototype, "submit").mockImplementation(function (this: BatchPool, ...args: Parameters<BatchPool["submit"]>): BatchJob {
    const job = submit.apply(this, args);
    counts.batches++;
    if (!job.done) counts.toWorker++;
    void job.result.then((lines) => void (lines || counts.readAgain++));
    return job;
  });
  return counts;
}

afterEach(() => {
  vi.restoreAllMocks();
});

const NS = "http://checklists.nist.gov/xccdf/1.2";
const doc = (body: string, after = "") =>
  Buffer.from(
    `<?xml version="1.0"?>\n<Benchmark xmlns="${NS}" id="b"><title>B</title><Rule id="r1" severity="low"><title>One &amp; only</title><description>Do <b>it</b></description></Rule>\n` +
      `<TestResult id="t" start-time="2024-01-01T00:00:00Z"><target>host</target>\n${body}\n</TestResult>${after}</Benchmark>\n`,
  );
const rr = (id: string, result = "fail", inner = "") => `<rule-result idref="${id}" time="2024-01-01T00:00:00"><result>${result}</result>${inner}<check system="s"><check-content-ref name="n"/></check></rule-result>`;
const many = (n: number, inner = "") => Array.from({ length: n }, (_, k) => rr(k % 3 ? `r${k}` : "r1", ["pass", "fail", "notchecked"][k % 3], inner)).join("\n");

describe("xccdf2rules --jobs: a TestResult read in batches", () => {
  it("gives the lines of a one-thread run on every real fixture, with a worker or with the main thread alone", async () => {
    const counts = countBatches();
    for (const file of ["foreman_openscap__arf_report_firefox.xml", "heimdall2__xccdf-results-scc-rhel8.xml", "openscap__multiple-testresults.xml", "compliance-operator__xccdf-result-testresult-root.xml", "openscap__xccdf11-results.xml", "openscap__rds_index_simple_arf.xml", "openscap-report__arf_rule_and_cpe_check.xml"]) {
      const input = readFileSync(join(FIXTURES, "xccdf", file));
      for (const includeNotselected of [false, true]) {
        const reference = await convert(input, 65_536, { jobs: 1, includeNotselected });
        expect(reference.text.length + Number(!includeNotselected), file).toBeGreaterThan(0);
        for (const batchChars of [300, 5000]) {
          for (const workerUrl of [WORKER, NO_WORKER]) {
            for (const chunk of [997, 65_536]) {
              const got = await convert(input, chunk, { jobs: 2, batchChars, workerUrl, includeNotselected });
              expect(got, `${file}, batches of ${batchChars}, chunks of ${chunk}, ${workerUrl.pathname}, notselected ${includeNotselected}`).toEqual(reference);
            }
          }
        }
      }
    }
    expect(counts.batches).toBeGreaterThan(100);
    expect(counts.toWorker).toBeGreaterThan(20);
  });

  // each of these makes a batch fail to read as a run of rule-results; it is read again in place
  const awkward: [string, Buffer][] = [
    ["comments, PIs, CDATA and entities between and inside rule-results", doc(`${many(20)}\n<!-- a <rule-result> in a comment -->\n<?pi x?>${rr("r1", "pass", `<message>a &lt;b&gt; <![CDATA[</rule-result>]]> &#233;</message>`)}\n${many(20)}`)],
    ["another element between rule-results", doc(`${many(20)}\n<score system="s">1</score>\n${many(20)}`)],
    ["a rule-result of another namespace", doc(`${many(20)}\n<rule-result xmlns="urn:other" idref="x"><result>fail</result></rule-result>\n${many(20)}`)],
    ["a rule-result nested in a foreign element", doc(`${many(20)}\n<x:wrap xmlns:x="urn:x">${rr("r1")}${rr("r2")}</x:wrap>\n${many(20)}`)],
    ["a prefixed rule-result", doc(`${many(10)}\n<x:rule-result xmlns:x="${NS}" idref="r1"><x:result>pass</x:result></x:rule-result>\n${many(10)}`)],
    ["a rule-result bigger than many batches", doc(`${many(10)}\n${rr("r1", "fail", `<message>${"big ".repeat(30_000)}</message>`)}\n${many(10)}`)],
    ["two TestResults", doc(many(30), `<TestResult id="u"><target>other</target>${many(30)}</TestResult>`)],
    ["multi-byte text split across chunks", doc(many(40, "<message>hôte 名前 😀</message>"))],
  ];
  for (const [what, input] of awkward) {
    it(`gives the one-thread lines with ${what}`, async () => {
      const counts = countBatches();
      const reference = await convert(input, 65_536, { jobs: 1 });
      expect(reference.error).toBeUndefined();
      for (const workerUrl of [WORKER, NO_WORKER]) {
        for (const [batchChars, chunk] of [[200, 61], [1000, 1000], [4000, 333]]) {
          expect(await convert(input, chunk, { jobs: 2, batchChars, workerUrl }), `batches of ${batchChars}, chunks of ${chunk}`).toEqual(reference);
        }
      }
      expect(counts.batches).toBeGreaterThan(0);
      readAgain.set(what, counts.readAgain);
    });
  }
  const readAgain = new Map<string, number>();
  it("read those batches that held something else again in place", () => {
    for (const what of ["another element between rule-results", "a rule-result of another namespace", "a rule-result nested in a foreign element", "two TestResults"]) {
      expect(readAgain.get(what), what).toBeGreaterThan(0);
    }
  });

  it("never takes an end tag in CDATA or a comment for the end of a batch", async () => {
    const tricky = rr("r1", "fail", `<message><![CDATA[ends with </rule-result> ]]>${" tail".repeat(40)}</message><!-- </rule-result> -->`);
    const input = doc(`${many(5)}\n${Array(8).fill(tricky).join("\n")}\n${many(5)}`);
    const reference = await convert(input, 65_536, { jobs: 1 });
    for (let chunk = 40; chunk <= 140; chunk += 3) {
      expect(await convert(input, chunk, { jobs: 2, batchChars: 100, workerUrl: NO_WORKER }), `chunks of ${chunk}`).toEqual(reference);
    }
  });

  const faults: [string, Buffer][] = [
    ["a mismatched end tag", doc(`${many(30)}\n<rule-result idref="r1"><result>fail</rule-result>\n${many(30)}`)],
    ["an undefined entity", doc(`${many(30)}\n${rr("r1", "fail", "<message>&nbsp;</message>")}\n${many(30)}`)],
    ["the end of input", doc(many(60)).subarray(0, 3000)],
  ];
  for (const [what, input] of faults) {
    it(`reports ${what} inside batches as a one-thread run does, after the same lines`, async () => {
      for (const [batchChars, chunk] of [[200, 61], [1500, 4096]]) {
        // (saxes and the quick path word some faults differently: compare runs fed alike)
        const reference = await convert(input, chunk, { jobs: 1 });
        expect(reference.error?.message).toBeTruthy();
        expect(reference.text.split("\n").length).toBeGreaterThan(5);
        for (const workerUrl of [WORKER, NO_WORKER]) {
          expect(await convert(input, chunk, { jobs: 2, batchChars, workerUrl }), `batches of ${batchChars}, chunks of ${chunk}`).toEqual(reference);
        }
      }
    });
  }

  it("the command with -j 2 writes the same lines as with -j 1, on a report of several MB", async () => {
    const firefox = readFileSync(join(FIXTURES, "xccdf/foreman_openscap__arf_report_firefox.xml"), "utf8");
    const [from, to] = [firefox.indexOf("<rule-result "), firefox.lastIndexOf("</rule-result>") + "</rule-result>".length];
    const big = firefox.slice(0, from) + firefox.slice(from, to).repeat(150) + firefox.slice(to);
    const file = join(mkdtempSync(join(tmpdir(), "batches-")), "big.arf.xml");
    writeFileSync(file, big);
    const one = sh(`xccdf2rules -j 1 ${file}`);
    const two = sh(`xccdf2rules -j 2 ${file}`);
    expect(one.status).toBe(0);
    expect(two.status).toBe(0);
    expect(one.stdout.split("\n").length).toBeGreaterThan(4000);
    expect(two.stdout).toBe(one.stdout);
    expect(two.stderr).toBe("");
  });
});

describe("BatchReader", () => {
  const context: BatchJobContext = {
    reader: { includeNotselected: false, rules: [], values: [], stack: ["Benchmark", "TestResult"], tail: ',"scanner":"openscap","target":"host"}\n' },
    ancestors: [
      { name: "Benchmark", ns: { xmlns: NS } },
      { name: "TestResult", ns: null },
    ],
  };

  it("hands back a batch that holds something else, or a fault, to be read in place", () => {
    const reader = new BatchReader(context);
    expect(reader.read(`${rr("r1")}\n<score system="s">1</score>`)).toBeNull();
    expect(reader.read(`${rr("r1")}\n<rule-result idref="r2"><result>fail</rule-result>`)).toBeNull();
    expect(reader.read(rr("r1"))?.toString()).toMatch(/^\{"rule_ref":"r1",.*"status":"fail".*\}\n$/);
  });

  it("lets a bug through rather than reading the batch again, slower", () => {
    vi.spyOn(XccdfReader.prototype, "readWhole").mockImplementation(() => {
      throw new TypeError("a bug");
    });
    expect(() => new BatchReader(context).read(rr("r1"))).toThrow(TypeError);
  });
});
