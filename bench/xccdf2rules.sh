#!/usr/bin/env bash
# npm run bench: throughput (MB/s) and peak RSS of xccdf2rules beside xmllint --stream and lxml
# iterparse on the same >=300 MB files, in one run. Targets (issue 2): xccdf2rules peak RSS <= 100 MB;
# throughput >= 0.5x xmllint's on the rule-heavy file and >= 1.0x on the OVAL-heavy one.
set -euo pipefail
cd "$(dirname "$0")/.."
data="bench/data"
mkdir -p "$data"
fixtures="${COMPLIANCE_FIXTURES:-$(pwd)/../shared/fixtures}"
python=/usr/bin/python3   # Debian's python3, where python3-lxml is installed

echo "generating inputs (once; kept in $data)..." >&2
mapfile -t files < <(node bench/make-data.mjs "$data" "$fixtures" examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz)

# prints "seconds peak_rss_kb" for a command, its stdout discarded
measure() {
  local t
  t=$(mktemp)
  /usr/bin/env time -f "%e %M" -o "$t" "$@" > /dev/null 2> /dev/null || { echo "failed: $*" >&2; cat "$t" >&2; }
  tail -n 1 "$t"
  rm -f "$t"
}

fail=0
printf '%-20s %-22s %10s %10s %12s\n' file tool "MB/s" "peak MB" "vs xmllint"
for f in "${files[@]}"; do
  mb=$(( $(stat -c %s "$f") / 1048576 ))
  name=$(basename "$f" .arf.xml)
  cat "$f" > /dev/null   # same page-cache state for every tool
  read -r xs xk < <(measure xmllint --stream --noout "$f")
  read -r os ok < <(measure bin/xccdf2rules "$f")
  read -r ls lk < <(measure "$python" bench/lxml_iterparse.py "$f")
  # for information: the opt-in second thread (the targets are for the default, one thread)
  read -r js jk < <(measure bin/xccdf2rules --jobs 2 "$f")
  for row in "xmllint --stream:$xs:$xk" "xccdf2rules:$os:$ok" "xccdf2rules --jobs 2:$js:$jk" "python lxml iterparse:$ls:$lk"; do
    IFS=: read -r tool s k <<< "$row"
    printf '%-20s %-22s %10.1f %10.1f %11.2fx\n' "$name" "$tool" "$(echo "$mb / $s" | bc -l)" "$(echo "$k / 1024" | bc -l)" "$(echo "$xs / $s" | bc -l)"
  done
  ratio=$(echo "$xs / $os" | bc -l)
  need=$([ "$name" = rule-heavy ] && echo 0.5 || echo 1.0)
  rss=$(( ok / 1024 ))
  verdict="met"
  if (( $(echo "$ratio < $need" | bc -l) )) || (( rss > 100 )); then verdict="MISSED"; fail=1; fi
  printf '  target %s: throughput >= %sx xmllint (got %.2fx), peak RSS <= 100 MB (got %d MB): %s\n' "$name" "$need" "$ratio" "$rss" "$verdict"
done
exit $fail
