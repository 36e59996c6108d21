import { escapeHtml, jsonForScript } from "./escape.js";
import { ByScan, SEVERITIES, STATUSES, noCounts, scanLabel, score, total, type Counts, type ReportRule, type ReportWriter, type ScanKey } from "./model.js";
import { HTML_SCRIPT, HTML_STYLE } from "./html-assets.js";
import { Spool } from "./spool.js";

interface Scan {
  index: number;
  counts: Counts;
  bySeverity: Map<string, Counts>;
  bySection: Map<string, Counts>;
  benchmark?: string;
  started?: string;
}

// fields of a line that the scan header already shows, left out of each rule's data
const SCAN_FIELDS = new Set(["target", "scanner", "profile", "benchmark", "test_result_id", "started_at", "completed_at"]);
const MAX_SECTIONS = 40;

/** The top of a section number ("1.2.3" → "1"), or the section itself. */
const topSection = (section: string | undefined): string => (section ? (/^\d+(\.|$)/.test(section) ? section.split(".")[0] : section) : "(none)");

function bump(map: Map<string, Counts>, key: string, status: keyof Counts): void {
  let c = map.get(key);
  if (!c) map.set(key, (c = noCounts()));
  c[status]++;
}

/** One stacked bar: pass, fail+error, warn, other; each part's width is its share; the numbers are written out too. */
function bar(label: string, c: Counts): string {
  const n = total(c) || 1;
  const parts: [string, number][] = [
    ["pass", c.pass],
    ["fail", c.fail + c.error],
    ["warn", c.warn],
    ["other", c.skip + c.notapplicable],
  ];
  const segments = parts
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `<span class="seg ${k}" style="width:${((v / n) * 100).toFixed(2)}%"></span>`)
    .join("");
  const text = `${c.pass} pass, ${c.fail + c.error} fail/error${c.warn ? `, ${c.warn} warn` : ""}${c.skip + c.notapplicable ? `, ${c.skip + c.notapplicable} other` : ""}`;
  return `<div class="barrow"><span class="barlabel">${escapeHtml(label)}</span><span class="bar" role="img" aria-label="${escapeHtml(`${label}: ${text}`)}">${segments}</span><span class="barnums">${escapeHtml(text)}</span></div>`;
}

function scanSection(key: ScanKey, s: Scan): string {
  const c = s.counts;
  const sc = score(c);
  const stat = (name: string, value: number | string, cls = "") => `<div class="stat ${cls}"><span class="num">${value}</span><span class="lbl">${name}</span></div>`;
  const severities = SEVERITIES.filter((sev) => s.bySeverity.has(sev)).map((sev) => bar(sev, s.bySeverity.get(sev)!));
  const sections = [...s.bySection.entries()].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }));
  const sectionBars = sections.slice(0, MAX_SECTIONS).map(([name, counts]) => bar(name, counts));
  if (sections.length > MAX_SECTIONS) sectionBars.push(`<p class="note">… ${sections.length - MAX_SECTIONS} more sections</p>`);
  const meta = [
    ["Target", key.target],
    ["Scanner", key.scanner],
    ["Profile", key.profileTitle && key.profileTitle !== key.profileId ? `${key.profileTitle} (${key.profileId})` : key.profileId],
    ["Benchmark", s.benchmark],
    ["Started", s.started],
  ]
    .filter(([, v]) => v)
    .map(([k, v]) => `<dt>${k}</dt><dd>${escapeHtml(v!)}</dd>`)
    .join("");
  return `<section class="scan" aria-labelledby="scan-${s.index}">
<h2 id="scan-${s.index}">${escapeHtml(scanLabel(key))}</h2>
<dl class="meta">${meta}</dl>
<div class="stats">${stat("score", sc === null ? "—" : `${sc}%`, "score")}${stat("rules", total(c))}${STATUSES.map((st) => stat(st === "notapplicable" ? "n/a" : st, c[st], st)).join("")}</div>
<div class="charts"><div><h3>By severity</h3>${severities.join("")}</div><div><h3>By section</h3>${sectionBars.join("")}</div></div>
</section>
`;
}

/**
 * One self-contained HTML file: the scans' headers and charts are written
 * here; the table of rules is drawn by the inline script from the rules'
 * data (embedded as JSON), a page at a time, so 100,000 rules stay usable.
 * While the input streams past, only counts are kept in memory.
 * Every text goes through escapeHtml here or textContent there.
 */
export class HtmlReport implements ReportWriter {
  private readonly scans: ByScan<Scan>;
  private count = 0;
  // the rules' JSON waits on disk: the page's head needs every count first, and memory stays flat
  private readonly rules = new Spool();

  constructor(private readonly title = "Compliance report") {
    let n = 0;
    this.scans = new ByScan<Scan>(() => ({ index: n++, counts: noCounts(), bySeverity: new Map(), bySection: new Map() }));
  }

  add(r: ReportRule): void {
    const s = this.scans.for(r);
    s.counts[r.status]++;
    bump(s.bySeverity, r.severity ?? "unknown", r.status);
    bump(s.bySection, topSection(r.section), r.status);
    s.benchmark ??= r.benchmark?.title ? `${r.benchmark.title}${r.benchmark.version ? ` ${r.benchmark.version}` : ""}` : undefined;
    if (r.started_at && (!s.started || r.started_at < s.started)) s.started = r.started_at;
    const data: Record<string, unknown> = { s: s.index };
    for (const [k, v] of Object.entries(r)) if (!SCAN_FIELDS.has(k) && v !== undefined && v !== null) data[k] = v;
    this.rules.append(`${this.count ? ",\n" : "\n"}${jsonForScript(data)}`);
    this.count++;
  }

  *finish(): Generator<string | Buffer> {
    const scans = this.scans.entries;
    yield `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="compliance-pipes rules-report">
<title>${escapeHtml(this.title)}</title>
<style>${HTML_STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(this.title)}</h1><p>${this.count} rule result(s) in ${scans.length} scan(s)</p></header>
<main>
`;
    for (const { key, value } of scans) yield scanSection(key, value);
    const options = (values: readonly string[]) => values.map((v) => `<option value="${v}">${v === "notapplicable" ? "not applicable" : v}</option>`).join("");
    const scanOptions = scans.map(({ key, value }) => `<option value="${value.index}">${escapeHtml(scanLabel(key))}</option>`).join("");
    yield `<section class="rules" aria-labelledby="rules-title">
<h2 id="rules-title">Rules</h2>
<form class="filters" role="search" onsubmit="return false">
<label>Status <select id="status-filter"><option value="">all</option><option value="fail,error">fail or error</option>${options(STATUSES)}</select></label>
<label>Severity <select id="severity-filter"><option value="">all</option>${options(SEVERITIES)}</select></label>
${scans.length > 1 ? `<label>Scan <select id="scan-filter"><option value="">all</option>${scanOptions}</select></label>` : ""}
<label>Search <input id="search" type="search" placeholder="id, title, text…" autocomplete="off"></label>
<output id="shown-count" aria-live="polite"></output>
</form>
<table id="rules">
<thead><tr><th scope="col">Status</th><th scope="col">Severity</th><th scope="col">Section</th><th scope="col">Rule</th></tr></thead>
<tbody></tbody>
</table>
<p><button type="button" id="more" hidden>Show more</button></p>
<noscript><p>The table of rules needs JavaScript.</p></noscript>
</section>
</main>
<script type="application/json" id="scan-labels">${jsonForScript(scans.map(({ key }) => scanLabel(key)))}</script>
<script type="application/json" id="rule-data">[`;
    yield* this.rules.drain();
    yield `
]</script>
<script>${HTML_SCRIPT}</script>
</body>
</html>
`;
  }
}
