#!/usr/bin/env bash
# npm run bench, rules-report part (issue 19): the HTML report of the bundled real ARF's rule lines beside
# `oscap xccdf generate report` on that ARF, fastest of 5 each, with the target and a pass/fail mark:
#   rules-report --format html >= 3x faster than oscap xccdf generate report, peak RSS <= 150 MB.
# For information: the whole pipeline from the ARF (xccdf2rules | rules-report) beside oscap too.
set -euo pipefail
cd "$(dirname "$0")/.."
data="bench/data/rules-report"
mkdir -p "$data"
bundled=examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz
# oscap wrote its progress lines around the ARF on stdout: oscap itself reads only the document
arf="$data/bundled.arf.xml"
[ -s "$arf" ] || gzip -dc "$bundled" | sed -n '/^<?xml/,/^<\/arf:asset-report-collection>/p' > "$arf"
lines="$data/bundled.rules.ndjson"
bin/xccdf2rules "$arf" 2>/dev/null > "$lines"

# the fastest of N runs: "seconds peak_rss_kb" of that run, stdout discarded
fastest() {
  local n=$1 best="" bestk="" t s k; shift
  t=$(mktemp)
  for _ in $(seq "$n"); do
    /usr/bin/env time -f "%e %M" -o "$t" "$@" > /dev/null 2> /dev/null || { echo "failed: $*" >&2; cat "$t" >&2; exit 1; }
    read -r s k < <(tail -n 1 "$t")
    if [ -z "$best" ] || (( $(echo "$s < $best" | bc -l) )); then best=$s; bestk=$k; fi
  done
  rm -f "$t"
  echo "$best $bestk"
}

read -r os ok < <(fastest 5 oscap xccdf generate report "$arf")
read -r rs rk < <(fastest 5 bin/rules-report --format html "$lines")
read -r ps pk < <(fastest 5 bash -c "bin/xccdf2rules '$arf' | bin/rules-report --format html")
printf '  %s: %d MB ARF, %d rule lines\n' "$(basename "$bundled")" $(( $(stat -c %s "$arf") / 1048576 )) "$(wc -l < "$lines")"
printf '  %-44s %8.2f s %8.1f MB\n' "oscap xccdf generate report (ARF)" "$os" "$(echo "$ok / 1024" | bc -l)"
printf '  %-44s %8.2f s %8.1f MB %6.1fx\n' "rules-report --format html (rule lines)" "$rs" "$(echo "$rk / 1024" | bc -l)" "$(echo "$os / $rs" | bc -l)"
printf '  %-44s %8.2f s %8.1f MB %6.1fx  (for information; RSS of the larger stage)\n' "xccdf2rules | rules-report --format html" "$ps" "$(echo "$pk / 1024" | bc -l)" "$(echo "$os / $ps" | bc -l)"
ratio=$(echo "$os / $rs" | bc -l)
rss=$(( rk / 1024 ))
if (( $(echo "$ratio >= 3 && $rss <= 150" | bc -l) )); then mark=met; status=0; else mark=MISSED; status=1; fi
printf '  target rules-report html: >= 3x oscap generate report (got %.1fx), peak RSS <= 150 MB (got %d MB): %s\n' "$ratio" "$rss" "$mark"
exit $status
