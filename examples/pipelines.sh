#!/usr/bin/env bash
# Runs the toolkit's main job on real data, with no network: scanner output → RuleResult lines,
# then a per-status count, and at the end the HTML report of the bundled scan. Uses the bundled real
# oscap run and, when present, ../shared/fixtures.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$here/../bin"
fixtures="${COMPLIANCE_FIXTURES:-$here/../../shared/fixtures}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

count() { node -e '
  const counts = {};
  require("readline").createInterface({ input: process.stdin })
    .on("line", (l) => { const s = JSON.parse(l).status; counts[s] = (counts[s] || 0) + 1; })
    .on("close", () => console.log("  per status:", Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(" ")));'; }

echo "== OpenSCAP: real 'oscap xccdf eval --results-arf /dev/stdout' output (Debian 11, ANSSI high), gzipped"
"$bin/xccdf2rules" "$here/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz" > "$out"
head -n 3 "$out" | cut -c1-220
count < "$out"

if [ -d "$fixtures" ]; then
  echo "== OpenSCAP: Firefox STIG ARF from a real host (fixture)"
  "$bin/xccdf2rules" "$fixtures/xccdf/foreman_openscap__arf_report_firefox.xml" > "$out"
  head -n 2 "$out" | cut -c1-220
  count < "$out"

  echo "== Docker Bench: v1.3.6 JSON log with remediation (fixture)"
  "$bin/dockerbench2rules" --target docker-host-01 "$fixtures/dockerbench/v1.3.6-remediation__giuslock.json" > "$out"
  head -n 2 "$out" | cut -c1-220
  count < "$out"
fi

echo "== OpenSCAP → PatchMon scan payload (rules2scan), summary only"
"$bin/xccdf2rules" "$here/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz" 2>/dev/null | "$bin/rules2scan" |
  node -e 'require("readline").createInterface({input: process.stdin}).on("line", (l) => { const p = JSON.parse(l); console.log("  " + p.profile.name + ": " + JSON.stringify(p.summary)); })'

echo "== OpenSCAP → MozDef events (mozdef-send --dry-run: what would be posted)"
"$bin/xccdf2rules" "$here/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz" 2>/dev/null | "$bin/mozdef-send" --dry-run | head -n 1 | cut -c1-220

if [ -d "$fixtures" ]; then
  echo "== MIG runner result → compliance items (runner2compliance), as MIG's plugin builds them (fixture)"
  "$bin/runner2compliance" --mig-api https://api.mig.example.net/api/v1 "$fixtures/mig/runner-result.file-compliance.json" | head -n 2 | cut -c1-220
fi

echo "== OpenSCAP → a self-contained HTML report (rules-report), to open in a browser (works offline)"
report_dir="${TMPDIR:-/tmp}/compliance-pipes-demo"
mkdir -p "$report_dir"
report="$report_dir/debian11-anssi-np-nt28-high.html"
"$bin/xccdf2rules" "$here/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz" 2>/dev/null | "$bin/rules-report" --format html --output "$report"
echo "  the HTML report of the bundled scan is at $report ($(( $(stat -c %s "$report") / 1024 )) KB): open file://$report"
