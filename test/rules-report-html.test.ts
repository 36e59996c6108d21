import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { sh } from "./helpers/run.js";
import { ROOT } from "./helpers/paths.js";
import { HeadlessPage } from "./helpers/chromium.js";

/** Where artefacts go (gitignored): the screenshot of the bundled scan's report. */
const OUTPUT = join(ROOT, "test/output");
const BUNDLED = join(ROOT, "examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz");
const HOSTILE_TITLE = "Title with <script>window.__pwned = 1</script> and <b>tags</b> & \"quotes\"";

const extra = [
  {
    rule_ref: "xccdf_test_rule_sshd_root",
    title: "Disable SSH root login",
    severity: "high",
    status: "fail",
    scanner: "openscap",
    target: "web-02",
    profile: { id: "p2" },
    finding: '/etc/ssh/sshd_config: PermitRootLogin is "yes", expected "no"',
    evidence: { definition_id: "oval:test:def:1", result: "false", tests: [{ id: "oval:test:tst:1", result: "false", object: { id: "oval:test:obj:1", fields: { path: "/etc/ssh/sshd_config" } }, items: [{ subexpression: "PermitRootLogin yes" }], items_total: 1 }] },
    waiver: { reason: "legacy jump host", expires: "2099-12-31" },
    change: "new-failure",
  },
  { rule_ref: "xccdf_test_rule_hostile", title: HOSTILE_TITLE, severity: "low", status: "fail", scanner: "openscap", target: "web-02", profile: { id: "p2" }, description: "<img src=x onerror=window.__pwned=2>" },
];

describe("rules-report --format html in a headless chromium", () => {
  let page: HeadlessPage;
  let dir: string;
  let lines: { status: string; rule_ref: string }[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "report-html-"));
    const scan = sh(`xccdf2rules ${BUNDLED} 2>/dev/null`);
    writeFileSync(join(dir, "bundled.ndjson"), scan.stdout);
    writeFileSync(join(dir, "mixed.ndjson"), scan.stdout + extra.map((r) => JSON.stringify(r)).join("\n") + "\n");
    lines = (scan.stdout + extra.map((r) => JSON.stringify(r)).join("\n")).split("\n").filter(Boolean).map((l) => JSON.parse(l));
    for (const name of ["bundled", "mixed"]) {
      const r = sh(`rules-report --format html --output ${join(dir, `${name}.html`)} ${join(dir, `${name}.ndjson`)}`);
      expect(r.status, r.stderr).toBe(0);
    }
    page = await HeadlessPage.launch();
  });

  afterAll(async () => {
    await page?.close();
  });

  it("loads from file:// with no console error, no exception and no request but its own file; writes the screenshot", async () => {
    const url = pathToFileURL(join(dir, "bundled.html")).href;
    await page.open(url);
    expect(page.problems).toEqual([]);
    expect(page.requests.filter((u) => u !== url && !u.startsWith("data:"))).toEqual([]);
    expect(await page.evaluate<number>("document.querySelectorAll('#rules tbody tr.rule').length")).toBe(50);
    expect(await page.evaluate<string>("document.getElementById('shown-count').textContent")).toBe("50 of 50 rules");
    expect(await page.evaluate<string>("document.querySelector('.stat.score .num').textContent")).toBe("90.9%");
    mkdirSync(OUTPUT, { recursive: true });
    const png = await page.screenshot();
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    writeFileSync(join(OUTPUT, "rules-report-debian11.png"), png);
  });

  describe("the report of the bundled scan and two more rules", () => {
    beforeAll(async () => {
      await page.open(pathToFileURL(join(dir, "mixed.html")).href);
    });
    // each test starts from the whole table
    beforeEach(async () => {
      await page.evaluate(`(() => {
        for (const id of ['status-filter', 'severity-filter', 'search']) document.getElementById(id).value = '';
        document.getElementById('search').dispatchEvent(new Event('input'));
      })()`);
    });

    it("has a header per (target, scanner, profile) and loads without a problem", async () => {
      expect(page.problems).toEqual([]);
      expect(await page.evaluate<string[]>("[...document.querySelectorAll('section.scan h2')].map((h) => h.textContent)")).toEqual(["vm · openscap · Profile for ANSSI DAT-NT28 High (Enforced) Level", "web-02 · openscap · p2"]);
    });

    it("filtered to fail, shows exactly the failing rules", async () => {
      const failing = lines.filter((l) => l.status === "fail").map((l) => l.rule_ref);
      expect(failing).toHaveLength(4);
      const shown = await page.evaluate<string[]>(`(() => {
        const s = document.getElementById('status-filter');
        s.value = 'fail';
        s.dispatchEvent(new Event('change'));
        return [...document.querySelectorAll('#rules tbody tr.rule')].map((tr) => tr.querySelector('code.ref').textContent);
      })()`);
      expect(shown).toEqual(failing);
      expect(await page.evaluate<string>("document.getElementById('shown-count').textContent")).toBe(`4 of ${lines.length} rules`);
      await page.evaluate("(() => { const s = document.getElementById('status-filter'); s.value = ''; s.dispatchEvent(new Event('change')); })()");
    });

    it("finds a rule by text in its title, and by a word of its description", async () => {
      const search = (q: string) =>
        page.evaluate<string[]>(`(() => {
          const i = document.getElementById('search');
          i.value = ${JSON.stringify(q)};
          i.dispatchEvent(new Event('input'));
          return [...document.querySelectorAll('#rules tbody tr.rule code.ref')].map((c) => c.textContent);
        })()`);
      expect(await search("System.map")).toEqual(["xccdf_org.ssgproject.content_rule_file_permissions_systemmap"]);
      // the added rule by its finding, the bundled scan's rule by its description
      expect(await search("permitrootlogin")).toEqual(["xccdf_org.ssgproject.content_rule_sshd_disable_root_login", "xccdf_test_rule_sshd_root"]);
      expect(await search("PermitRootLogin   expected")).toEqual(["xccdf_test_rule_sshd_root"]);
      expect(await search("no rule has this text")).toEqual([]);
      expect(await search("")).toHaveLength(lines.length);
    });

    it("opens a rule with the keyboard to its finding, waiver, change and evidence tree", async () => {
      await page.evaluate("[...document.querySelectorAll('button.toggle')].find((b) => b.textContent.includes('xccdf_test_rule_sshd_root')).focus()");
      await page.pressEnter();
      const opened = await page.evaluate<{ expanded: string; evidence: string; waiver: string; terms: string[] }>(`(() => {
        const b = document.activeElement;
        const details = b.closest('tr').nextElementSibling;
        return { expanded: b.getAttribute('aria-expanded'), evidence: details.querySelector('dd.evidence').textContent, waiver: details.querySelector('dd.waiver').textContent, terms: [...details.querySelectorAll('dt')].map((d) => d.textContent) };
      })()`);
      expect(opened.expanded).toBe("true");
      expect(opened.terms).toEqual(["Scan", "Status", "Finding", "Change", "Waiver", "Evidence"]);
      expect(opened.evidence).toContain("oval:test:def:1");
      expect(opened.evidence).toContain("path: /etc/ssh/sshd_config");
      expect(opened.evidence).toContain("subexpression: PermitRootLogin yes");
      expect(opened.waiver).toContain("reason: legacy jump host");
      await page.pressEnter();
      expect(await page.evaluate<string>("document.activeElement.getAttribute('aria-expanded')")).toBe("false");
    });

    it("shows a title holding <script> as text, and runs nothing from rule text", async () => {
      const r = await page.evaluate<{ title: string; pwned: unknown; scripts: number; description: string }>(`(() => {
        const b = [...document.querySelectorAll('button.toggle')].find((b) => b.textContent.includes('xccdf_test_rule_hostile'));
        b.click();
        const details = b.closest('tr').nextElementSibling;
        return { title: b.querySelector('.title').textContent, pwned: window.__pwned, scripts: document.querySelectorAll('main script, main img, main b').length, description: details.querySelector('dd').nextElementSibling && [...details.querySelectorAll('dd')].map((d) => d.textContent).join('|') };
      })()`);
      expect(r.title).toBe(HOSTILE_TITLE);
      expect(r.pwned).toBeUndefined();
      expect(r.scripts).toBe(0);
      expect(r.description).toContain("<img src=x onerror=window.__pwned=2>");
      expect(page.problems).toEqual([]);
    });
  });
});
