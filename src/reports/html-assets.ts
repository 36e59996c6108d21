// The HTML report's style and script, inlined into every report (no network, works from file://).
// The script reads the rules from the JSON block and only ever sets text with textContent.

export const HTML_STYLE = String.raw`
:root{--fg:#1a1a1a;--muted:#4a4a4a;--bg:#fff;--line:#c8c8c8;--pass:#1b6e20;--fail:#b3261e;--warn:#8a5300;--other:#5f6368;--focus:#0b57d0}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:1rem 1.5rem;background:#102a43;color:#fff}header h1{margin:0;font-size:1.5rem}header p{margin:.25rem 0 0}
main{padding:0 1.5rem 2rem;max-width:1400px}
h2{font-size:1.25rem;margin:1.5rem 0 .5rem}h3{font-size:1rem;margin:.5rem 0}
.scan{border-bottom:1px solid var(--line);padding-bottom:1rem}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:0}.meta dt{font-weight:600}.meta dd{margin:0;overflow-wrap:anywhere}
.stats{display:flex;flex-wrap:wrap;gap:.5rem;margin:.75rem 0}
.stat{border:1px solid var(--line);border-radius:6px;padding:.35rem .75rem;min-width:5.5rem;text-align:center}
.stat .num{display:block;font-size:1.3rem;font-weight:700}.stat .lbl{font-size:.8rem;color:var(--muted)}
.stat.fail .num,.stat.error .num{color:var(--fail)}.stat.pass .num{color:var(--pass)}.stat.warn .num{color:var(--warn)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1rem}
.barrow{display:grid;grid-template-columns:9rem 1fr 16rem;gap:.5rem;align-items:center;font-size:.85rem}
.barlabel{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}.barnums{color:var(--muted)}
.bar{display:flex;height:.9rem;background:#eee;border-radius:3px;overflow:hidden}
.seg.pass{background:var(--pass)}.seg.fail{background:var(--fail)}.seg.warn{background:#e0a100}.seg.other{background:#9aa0a6}
.seg{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:end;margin:.5rem 0 1rem}
.filters label{display:flex;flex-direction:column;font-size:.85rem;font-weight:600}
select,input,button{font:inherit}
input[type=search]{min-width:18rem;padding:.25rem .4rem}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f1f3f4;position:sticky;top:0}
.badge{display:inline-block;padding:0 .45rem;border-radius:4px;font-size:.8rem;font-weight:600;color:#fff;background:var(--other)}
.badge.pass{background:var(--pass)}.badge.fail,.badge.error{background:var(--fail)}.badge.warn{background:var(--warn)}
.badge.waived{background:#4527a0}.badge.change{background:#00546e}
button.toggle{all:unset;cursor:pointer;display:block}button.toggle:focus-visible{outline:3px solid var(--focus)}
button.toggle .title::before{content:"\25B8  ";color:var(--muted)}button.toggle[aria-expanded=true] .title::before{content:"\25BE  "}
code.ref{display:block;font-size:.78rem;color:var(--muted);overflow-wrap:anywhere}
tr.details>td{background:#fafafa}
.details dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:.25rem 0}
.details dt{font-weight:600}.details dd{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
.details pre{margin:0;white-space:pre-wrap;font-size:.85rem}
ul.tree{margin:0;padding-left:1.1rem;list-style:none;font-size:.85rem}ul.tree .key{font-weight:600}
#more{padding:.3rem 1rem}
@media print{header{background:none;color:#000}.filters,#more{display:none}th{position:static}tr{break-inside:avoid}button.toggle .title::before{content:""}}
`;

export const HTML_SCRIPT = String.raw`
(function () {
  "use strict";
  var rules = JSON.parse(document.getElementById("rule-data").textContent);
  var labels = JSON.parse(document.getElementById("scan-labels").textContent);
  var PAGE = 500;
  var tbody = document.querySelector("#rules tbody");
  var statusSel = document.getElementById("status-filter");
  var severitySel = document.getElementById("severity-filter");
  var scanSel = document.getElementById("scan-filter");
  var search = document.getElementById("search");
  var count = document.getElementById("shown-count");
  var more = document.getElementById("more");
  var matching = rules;
  var shown = 0;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function haystack(r) {
    if (r._text === undefined) {
      var idents = (r.idents || []).map(function (i) { return i.value; }).join(" ");
      r._text = [r.rule_ref, r.title, r.section, r.description, r.rationale, r.finding, idents].join("\n").toLowerCase();
    }
    return r._text;
  }
  function apply() {
    var statuses = statusSel.value ? statusSel.value.split(",") : null;
    var severity = severitySel.value;
    var scan = scanSel && scanSel.value !== "" ? Number(scanSel.value) : null;
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    matching = rules.filter(function (r) {
      if (statuses && statuses.indexOf(r.status) < 0) return false;
      if (severity && (r.severity || "unknown") !== severity) return false;
      if (scan !== null && r.s !== scan) return false;
      for (var i = 0; i < words.length; i++) if (haystack(r).indexOf(words[i]) < 0) return false;
      return true;
    });
    tbody.textContent = "";
    shown = 0;
    render(false);
    count.textContent = matching.length + " of " + rules.length + " rules";
  }
  function render(all) {
    var end = all ? matching.length : Math.min(matching.length, shown + PAGE);
    var rows = document.createDocumentFragment();
    for (; shown < end; shown++) rows.appendChild(row(matching[shown]));
    tbody.appendChild(rows);
    more.hidden = shown >= matching.length;
    more.textContent = "Show more (" + (matching.length - shown) + " left)";
  }
  function cell(child) {
    var td = el("td");
    if (child) td.appendChild(child);
    return td;
  }
  function row(r) {
    var tr = el("tr", "rule");
    tr.setAttribute("data-status", r.status);
    tr.appendChild(cell(el("span", "badge " + r.status, r.status === "notapplicable" ? "n/a" : r.status)));
    tr.appendChild(cell(el("span", "severity", r.severity || "unknown")));
    tr.appendChild(cell(el("span", "section", r.section || "")));
    var button = el("button", "toggle");
    button.type = "button";
    button.setAttribute("aria-expanded", "false");
    button.appendChild(el("span", "title", r.title || r.rule_ref));
    button.appendChild(el("code", "ref", r.rule_ref));
    var td = cell(button);
    if (r.waiver) td.appendChild(el("span", "badge waived", "waived"));
    if (r.change) { td.appendChild(document.createTextNode(" ")); td.appendChild(el("span", "badge change", r.change)); }
    tr.appendChild(td);
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") === "true";
      button.setAttribute("aria-expanded", String(!open));
      if (open) { tr.nextSibling.remove(); return; }
      var details = el("tr", "details");
      var dtd = el("td");
      dtd.colSpan = 4;
      dtd.appendChild(details_(r));
      details.appendChild(dtd);
      tr.after(details);
    });
    return tr;
  }
  function tree(value, depth) {
    if (value === null || typeof value !== "object") return el("span", "leaf", String(value));
    var ul = el("ul", "tree");
    var keys = Array.isArray(value) ? value.map(function (_, i) { return i; }) : Object.keys(value);
    keys.forEach(function (k) {
      var li = el("li");
      var v = value[k];
      var name = Array.isArray(value) ? "[" + k + "]" : k;
      if (v !== null && typeof v === "object") {
        var d = el("details");
        d.open = depth < 6;
        d.appendChild(el("summary", "key", name + (Array.isArray(v) ? " (" + v.length + ")" : "")));
        d.appendChild(tree(v, depth + 1));
        li.appendChild(d);
      } else {
        li.appendChild(el("span", "key", name + ": "));
        li.appendChild(el("span", "leaf", String(v)));
      }
      ul.appendChild(li);
    });
    return ul;
  }
  function details_(r) {
    var wrap = el("div", "details");
    var dl = el("dl");
    function add(name, node, cls) {
      if (!node) return;
      var dt = el("dt", null, name);
      var dd = el("dd", cls);
      if (typeof node === "string") dd.textContent = node; else dd.appendChild(node);
      dl.appendChild(dt);
      dl.appendChild(dd);
    }
    if (labels.length > 1) add("Scan", labels[r.s]);
    add("Status", r.status + (r.raw_status && r.raw_status !== r.status ? " (" + r.raw_status + ")" : ""));
    add("Description", r.description);
    add("Rationale", r.rationale);
    add("Finding", r.finding);
    add("Actual", r.actual);
    add("Expected", r.expected);
    if (r.remediation) add("Remediation", el("pre", null, r.remediation));
    if (r.idents && r.idents.length) {
      var ids = el("ul", "tree");
      r.idents.forEach(function (i) { ids.appendChild(el("li", null, i.system + ": " + i.value)); });
      add("Idents", ids);
    }
    if (r.references && r.references.length) {
      var refs = el("ul", "tree");
      r.references.forEach(function (ref) {
        var li = el("li");
        if (/^https?:\/\//i.test(ref.href || "")) {
          var a = el("a", null, ref.value || ref.href);
          a.href = ref.href;
          a.rel = "noreferrer";
          li.appendChild(a);
        } else li.textContent = (ref.value || "") + (ref.href ? " (" + ref.href + ")" : "");
        refs.appendChild(li);
      });
      add("References", refs);
    }
    if (r.change) add("Change", r.change + (r.previous_status ? " (was " + r.previous_status + ")" : ""));
    if (r.waiver) add("Waiver", tree(r.waiver, 0), "waiver");
    if (r.evidence) add("Evidence", tree(r.evidence, 0), "evidence");
    wrap.appendChild(dl);
    return wrap;
  }
  statusSel.addEventListener("change", apply);
  severitySel.addEventListener("change", apply);
  if (scanSel) scanSel.addEventListener("change", apply);
  search.addEventListener("input", apply);
  more.addEventListener("click", function () { render(false); });
  window.addEventListener("beforeprint", function () { render(true); });
  apply();
})();
`;
