import { afterEach, describe, expect, it, vi } from "vitest";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { xccdfToNdjson, xccdfToRules, type XccdfToRulesOptions } from "../src/readers/xccdf/document.js";
import { OvalReportReader } from "../src/readers/xccdf/evidence-oval.js";
import type { RuleResult } from "../src/types.js";
import { FIXTURES, ROOT } from "./helpers/paths.js";
import { inSlices } from "./helpers/chunks.js";
import { validator } from "./helpers/schema.js";

const validate = validator("rule-result.schema.json");
const gz = (path: string) => gunzipSync(readFileSync(join(ROOT, path)));
/** Real oscap scan made for these tests (see test/data/debian11-evidence-failures.sh). */
const KINDS = gz("test/data/debian11-evidence-failures.arf.gz");
const BUNDLED = gz("examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz");

async function rules(doc: Buffer, opts: XccdfToRulesOptions = {}, chunk = 65_536): Promise<RuleResult[]> {
  const out: RuleResult[] = [];
  for await (const rule of xccdfToRules(inSlices(doc, chunk), opts)) out.push(rule);
  return out;
}

async function text(doc: Buffer, opts: XccdfToRulesOptions, chunk: number): Promise<string> {
  const parts: Buffer[] = [];
  for await (const lines of xccdfToNdjson(inSlices(doc, chunk), opts)) parts.push(lines);
  return Buffer.concat(parts).toString();
}

const byRule = (list: RuleResult[]) => new Map(list.map((r) => [r.rule_ref.replace("xccdf_org.ssgproject.content_rule_", ""), r]));

describe("xccdf2rules evidence from the OVAL results of an ARF", () => {
  // The expected values below are what `oscap xccdf generate report` shows for the same ARF in its
  // "OVAL test results details": /etc/passwd regular, UID 1000; /etc/shadow rw-r--r--; no dpkginfo
  // item for aide; no textfilecontent54 item for kernel.kptr_restrict in any sysctl file.
  it("explains each kind of failed test of a real scan (package, owner, permissions, sysctl file)", async () => {
    const got = byRule(await rules(KINDS));
    expect(got.get("package_aide_installed")).toMatchObject({ status: "fail", finding: "no item matched: package aide does not exist", actual: "does not exist", expected: "exists" });
    expect(got.get("file_owner_etc_passwd")).toMatchObject({ finding: '/etc/passwd: user_id is "1000", expected "0"', actual: "1000", expected: "0" });
    expect(got.get("file_permissions_etc_shadow")).toMatchObject({ finding: '/etc/shadow: oread is "true", expected "false"', actual: "true", expected: "false" });
    expect(got.get("sysctl_kernel_kptr_restrict")?.finding).toBe("no item matched: kernel.kptr_restrict static configuration");

    const owner = got.get("file_owner_etc_passwd")!.evidence!;
    expect(owner).toMatchObject({ definition_id: "oval:ssg-file_owner_etc_passwd:def:1", result: "false", criteria: "AND(test:oval:ssg-test_file_owner_etc_passwd_0:tst:1=false)" });
    const [test] = owner.tests;
    expect(test).toMatchObject({ id: "oval:ssg-test_file_owner_etc_passwd_0:tst:1", result: "false", check_existence: "none_exist", items_total: 1 });
    expect(test.object).toMatchObject({ id: "oval:ssg-object_file_owner_etc_passwd_0:obj:1", type: "file_object", fields: { filepath: "/etc/passwd" } });
    expect(test.items?.[0]).toMatchObject({ type: "file_item", status: "exists", fields: { filepath: "/etc/passwd", user_id: { value: "1000" } } });
    expect(test.states?.map((s) => s.filter)).toEqual(["exclude", "exclude"]);

    // an extended definition is followed, and the test under a negated criterion is the one that decided
    const sysctl = got.get("sysctl_kernel_kptr_restrict")!.evidence!;
    expect(sysctl.criteria).toMatch(/^AND\(definition:oval:ssg-sysctl_kernel_kptr_restrict_static:def:1=false\[AND\(.*NOT test:oval:ssg-test_sysctl_kernel_kptr_restrict_not_defined:tst:1=true\)\]/);
    expect(sysctl.tests.map((t) => t.id)).toEqual(["oval:ssg-test_sysctl_kernel_kptr_restrict_not_defined:tst:1"]);
  });

  it("explains the bundled real scan's two failing rules, and only them by default", async () => {
    const all = await rules(BUNDLED);
    const explained = all.filter((r) => r.evidence);
    expect(explained.map((r) => [r.status, r.rule_ref])).toEqual([
      ["fail", "xccdf_org.ssgproject.content_rule_file_permissions_systemmap"],
      ["fail", "xccdf_org.ssgproject.content_rule_apt_sources_list_official"],
    ]);
    const [systemmap, apt] = explained;
    expect(systemmap.finding).toBe('no item matched: files matching "^System\\\\.map.*$" in /boot');
    expect(systemmap.evidence?.tests[0].object?.flag).toBe("does not exist");
    expect(apt.evidence?.criteria).toBe("AND(test:oval:ssg-test_apt_sources_list_base_official:tst:1=false, test:oval:ssg-test_apt_sources_list_security_official:tst:1=false)");
    expect(apt.evidence?.tests.map((t) => t.items_total)).toEqual([0, 0]);
  });

  it("reads openscap-report's ARF fixture: a negated criterion decides", async () => {
    const [rule] = await rules(readFileSync(join(FIXTURES, "xccdf/openscap-report__arf_simple_rule_fail.xml")));
    expect(rule.evidence).toMatchObject({ definition_id: "oval:x:def:1", result: "false", criteria: "AND(NOT test:oval:x:tst:1=true)" });
    expect(rule.evidence?.tests[0]).toMatchObject({ comment: "always fail", result: "true", items_total: 1, items: [{ fields: { value: "100" } }] });
    expect(rule).toMatchObject({ actual: "true", expected: "false" });
  });

  it("writes schema-valid lines, the failed ones after the others, the same whatever the chunk size", async () => {
    const reference = await text(KINDS, { evidence: "all" }, 65_536);
    for (const line of reference.trim().split("\n")) expect(validate(JSON.parse(line))).toBeNull();
    for (const chunk of [997, 8191]) expect(await text(KINDS, { evidence: "all" }, chunk)).toBe(reference);

    const order = (await rules(KINDS)).map((r) => [r.status, Boolean(r.evidence)]);
    expect(order).toEqual([["notapplicable", false], ["pass", false], ["notapplicable", false], ["fail", true], ["fail", true], ["fail", true], ["fail", true]]);
  });

  it("keeps today's lines with --evidence none, and does not hold lines of a plain XCCDF results file", async () => {
    const none = await rules(BUNDLED, { evidence: "none" });
    expect(none.some((r) => r.evidence)).toBe(false);
    expect(none.map((r) => r.rule_ref).indexOf("xccdf_org.ssgproject.content_rule_file_permissions_systemmap")).toBe(18);

    const plain = readFileSync(join(FIXTURES, "xccdf/openscap-report__xccdf_rule_and_cpe_check.xml"));
    expect(await text(plain, {}, 4096)).toBe(await text(plain, { evidence: "none" }, 4096));
  });

  it("caps the items per test at --evidence-items and says how many there were", async () => {
    const doc = Buffer.from(syntheticArf(5));
    const [rule] = await rules(doc, { evidenceItems: 2 });
    const [test] = rule.evidence!.tests;
    expect(test.items?.map((i) => i.id)).toEqual(["1", "2"]);
    expect(test.items_total).toBe(5);
    expect(test.items?.[0]).toMatchObject({ result: "false", fields: { filepath: "/etc/f1", value: "yes" } });
    expect(test.object?.fields).toMatchObject({ filepath: { value: "/etc/f", var_ref: "oval:t:var:1" } });
    expect(rule).toMatchObject({ finding: 'lines matching "^v=(.*)$" in /etc/f: value is "yes", expected "no"', actual: "yes", expected: "no" });
  });
});

/** A small ARF in oscap's shape: one failed rule whose test compared `items` items against a state. */
function syntheticArf(items: number): string {
  const ids = Array.from({ length: items }, (_, k) => String(k + 1));
  return `<?xml version="1.0"?>
<arf:asset-report-collection xmlns:arf="http://scap.nist.gov/schema/asset-reporting-format/1.1">
<arf:reports>
<arf:report id="xccdf1"><arf:content>
<TestResult xmlns="http://checklists.nist.gov/xccdf/1.2" id="t" start-time="2024-01-01T00:00:00" end-time="2024-01-01T00:00:01"><target>h</target>
<rule-result idref="r"><result>fail</result><check system="http://oval.mitre.org/XMLSchema/oval-definitions-5"><check-content-ref name="oval:t:def:1" href="#oval0"/></check></rule-result>
</TestResult></arf:content></arf:report>
<arf:report id="oval0"><arf:content>
<oval_results xmlns="http://oval.mitre.org/XMLSchema/oval-results-5" xmlns:oval-def="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:ind="http://oval.mitre.org/XMLSchema/oval-definitions-5#independent">
<generator/><directives/>
<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5">
<definitions><definition id="oval:t:def:1" class="compliance" version="1"><metadata><title>T</title></metadata><criteria><criterion test_ref="oval:t:tst:1"/></criteria></definition></definitions>
<tests><ind:textfilecontent54_test id="oval:t:tst:1" check="all" comment="value is no" version="1"><ind:object object_ref="oval:t:obj:1"/><ind:state state_ref="oval:t:ste:1"/></ind:textfilecontent54_test></tests>
<objects><ind:textfilecontent54_object id="oval:t:obj:1" version="1"><ind:filepath var_ref="oval:t:var:1"/><ind:pattern operation="pattern match">^v=(.*)$</ind:pattern><ind:instance datatype="int">1</ind:instance></ind:textfilecontent54_object></objects>
<states><ind:textfilecontent54_state id="oval:t:ste:1" version="1"><ind:value>no</ind:value></ind:textfilecontent54_state></states>
</oval_definitions>
<results><system>
<definitions><definition definition_id="oval:t:def:1" result="false" version="1"><criteria operator="AND" result="false"><criterion test_ref="oval:t:tst:1" result="false"/></criteria></definition></definitions>
<tests><test test_id="oval:t:tst:1" check="all" result="false" version="1">${ids.map((id) => `<tested_item item_id="${id}" result="false"/>`).join("")}<tested_variable variable_id="oval:t:var:1">/etc/f</tested_variable></test></tests>
<oval_system_characteristics xmlns="http://oval.mitre.org/XMLSchema/oval-system-characteristics-5" xmlns:ind-sys="http://oval.mitre.org/XMLSchema/oval-system-characteristics-5#independent">
<collected_objects><object id="oval:t:obj:1" flag="complete" version="1"><variable_value variable_id="oval:t:var:1">/etc/f</variable_value>${ids.map((id) => `<reference item_ref="${id}"/>`).join("")}</object></collected_objects>
<system_data>${ids.map((id) => `<ind-sys:textfilecontent_item id="${id}" status="exists"><ind-sys:filepath>/etc/f${id}</ind-sys:filepath><ind-sys:value>yes</ind-sys:value></ind-sys:textfilecontent_item>`).join("\n")}</system_data>
</oval_system_characteristics>
</system></results>
</oval_results></arf:content></arf:report>
</arf:reports>
</arf:asset-report-collection>
`;
}

describe("lines waiting for evidence", () => {
  it("are held with flat memory and written in document order, however many wait (a TestResult repeated 200 times)", async () => {
    const arf = BUNDLED.toString("utf8");
    const [from, to] = [arf.indexOf("<rule-result "), arf.lastIndexOf("</rule-result>") + "</rule-result>".length];
    // every rule-result with a check waits; beyond 64 KB of them, in the hold's file
    const opts: XccdfToRulesOptions = { evidence: "all", heldBytes: 64 * 1024 };
    const once = (await text(BUNDLED, opts, 65_536)).trimEnd().split("\n");
    const held = once.filter((line) => line.includes('"evidence":'));
    const direct = once.filter((line) => !line.includes('"evidence":'));
    expect(held.length).toBeGreaterThan(10);
    expect(once.slice(direct.length)).toEqual(held);
    const times = 200;
    const big = Buffer.from(arf.slice(0, from) + arf.slice(from, to).repeat(times) + arf.slice(to));
    const lines = (await text(big, opts, 65_536)).trimEnd().split("\n");
    expect(lines.length).toBe(times * once.length);
    const expected = [...Array<string[]>(times).fill(direct).flat(), ...Array<string[]>(times).fill(held).flat()];
    // (compared in blocks: a failing toEqual on 10,000 long lines is unreadable)
    for (let k = 0; k < lines.length; k += once.length) expect(lines.slice(k, k + once.length), `lines ${k}…`).toEqual(expected.slice(k, k + once.length));
  });
});

describe("the definitions' copy of an OVAL report read for evidence", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Output with each definition read in one step where it can be (or never), and how many were. */
  async function read(doc: Buffer, whole: boolean, chunk: number): Promise<{ text: string; inOneStep: number }> {
    let inOneStep = 0;
    const original = OvalReportReader.prototype.readWhole;
    vi.spyOn(OvalReportReader.prototype, "readWhole").mockImplementation(function (this: OvalReportReader, ...args: Parameters<OvalReportReader["readWhole"]>) {
      const end = whole ? original.apply(this, args) : -1;
      if (end >= 0) inOneStep++;
      return end;
    });
    try {
      return { text: await text(doc, { evidence: "all" }, chunk), inOneStep };
    } finally {
      vi.restoreAllMocks();
    }
  }

  /** The definitions in the copy of an ARF's first OVAL report (the one its rules' checks point to; the other is the CPE checks'). */
  const copiedDefinitions = (doc: Buffer) => {
    const report = doc.toString("utf8").split("<oval_results")[1];
    return report.slice(0, report.indexOf("</definitions>")).match(/<definition /g)?.length ?? 0;
  };

  it("is read a definition at a time in one step, with the evidence of the element-by-element reading", async () => {
    for (const doc of [KINDS, BUNDLED]) {
      for (const chunk of [65_536, 3_001]) {
        const inPlace = await read(doc, false, chunk);
        const whole = await read(doc, true, chunk);
        expect(whole.text).toBe(inPlace.text);
        expect(inPlace.text).toContain('"evidence"');
        // SSG's definitions: nearly all are read in one step in 64 KB reads (one cut by a read's end is
        // read element by element, as most are in reads of 3 KB)
        if (chunk === 65_536) expect(whole.inOneStep).toBeGreaterThan(0.9 * copiedDefinitions(doc));
        else expect(whole.inOneStep).toBeGreaterThan(0);
      }
    }
  });

  it("leaves a definition in another shape (a comment, a reference in a value, a tag across lines, a fault) to the element-by-element reading", async () => {
    const odd = [
      ["<criteria ", "<!-- a comment --><criteria "],
      ['comment="', 'comment="R&amp;D '],
      ["<criteria ", "<criteria\n  "],
    ];
    const doc = KINDS.toString("utf8");
    const usual = (await read(KINDS, true, 65_536)).inOneStep;
    // in the definitions' copy of the OVAL report, not the data stream's
    const copy = doc.indexOf("<definitions>", doc.indexOf("<oval_results"));
    for (const [from, to] of odd) {
      const at = doc.indexOf(from, copy);
      expect(at).toBeGreaterThan(copy);
      const changed = Buffer.from(doc.slice(0, at) + to + doc.slice(at + from.length));
      const inPlace = await read(changed, false, 65_536);
      const whole = await read(changed, true, 65_536);
      expect(whole.text, to).toBe(inPlace.text);
      expect(whole.inOneStep, to).toBe(usual - 1);
    }
    // a fault: the element-by-element reading reports it, at the same place
    const at = doc.indexOf("</criteria>", copy);
    const broken = Buffer.from(`${doc.slice(0, at)}</criterion>${doc.slice(at + "</criteria>".length)}`);
    const fault = async (whole: boolean) => {
      try {
        await read(broken, whole, 65_536);
      } catch (error) {
        return { message: (error as Error).message, position: (error as { position?: unknown }).position };
      }
      return undefined;
    };
    const inPlace = await fault(false);
    expect(inPlace?.message).toMatch(/unexpected close tag/);
    expect(await fault(true)).toEqual(inPlace);
  });
});
