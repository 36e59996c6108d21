#!/usr/bin/env bash
# npm run bench, xccdf2rules part: each row beside its reference in the same run, with its target and a
# pass/fail mark; exit 1 if a target is missed. Inputs are generated once under bench/data from real files
# (bench/make-data.mjs). Targets (issue 14):
#   rule-heavy-cis (a real Ubuntu 22.04 CIS scan, ~10 KB lines), >= 300 MB: >= 0.5x xmllint --stream, peak RSS <= 100 MB
#   rule-heavy-real (real SSG rule texts, ~6.4 KB lines), >= 300 MB: the same targets
#   rule-heavy (the earlier file, ~1.9 KB lines from the Foreman fixture), kept as a second row as the issue
#       asks: peak RSS <= 100 MB; its speed is printed for comparison, without a target: its output is ~5x its
#       input (each short rule-result becomes a line carrying its Rule's texts and, for a failure, its OVAL
#       evidence), so xmllint, which only parses, is no yardstick for it
#   oval-heavy: >= 1.5x xmllint --stream, peak RSS <= 100 MB
#   a 15 MB real ARF (the Ubuntu CIS scan, 14.9 MB of XML) and the bundled one (8 MB), both mostly the data
#       stream copy: >= 1.5x a Python lxml iterparse extractor of the same fields (bench/lxml_extract.py;
#       the bare iterparse that only counts elements, bench/lxml_iterparse.py, is printed beside it)
#   peak RSS <= 100 MB at 15 MB, 150 MB and 1 GB of real-shaped input, 1 GB <= 1.2x 15 MB (both real shapes)
#   start-up: xccdf2rules on a small file <= 1.3x `node -e 0` (both without NODE_EXTRA_CA_CERTS: see below);
#       --help of every command <= 150 ms
set -euo pipefail
cd "$(dirname "$0")/.."
data="bench/data"
mkdir -p "$data"
fixtures="${COMPLIANCE_FIXTURES:-$(pwd)/../shared/fixtures}"
python=/usr/bin/python3   # Debian's python3, where python3-lxml is installed
bundled=examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz
cis=test/data/ubuntu2204-cis-level2-server.arf.gz   # test/data/ubuntu2204-cis-level2-server.sh made it

echo "generating inputs (once; kept in $data)..." >&2
mapfile -t files < <(node bench/make-data.mjs "$data" "$fixtures" "$bundled" "$cis")
for mb in 15 150 1024; do
  mkdir -p "$data/$mb"
  TARGET_MB=$mb node bench/make-data.mjs "$data/$mb" "$fixtures" "$bundled" "$cis" > /dev/null
done
# the XML part of oscap's stdout: lxml stops at the text before it (it then failed at once, in ~0.09 s,
# and that failure was the reference; xccdf2rules skips the text itself)
real_arf="$data/bundled-xml.arf.xml"
[ -s "$real_arf" ] || gzip -dc "$bundled" | sed -n '/^<?xml/,/^<\/arf:asset-report-collection>/p' > "$real_arf"
cis_arf="$data/cis-xml.arf.xml"
[ -s "$cis_arf" ] || gzip -dc "$cis" > "$cis_arf"
for f in "$real_arf" "$cis_arf"; do
  "$python" bench/lxml_iterparse.py "$f" 2> /dev/null || { echo "lxml iterparse fails on $f" >&2; exit 1; }
  # the reference must do the same job: as many lines as xccdf2rules
  [ "$("$python" bench/lxml_extract.py "$f" 2> /dev/null | wc -l)" = "$(bin/xccdf2rules "$f" | wc -l)" ] || { echo "lxml_extract.py and xccdf2rules differ in lines on $f" >&2; exit 1; }
done

# prints "seconds peak_rss_kb" for a command, its stdout discarded
measure() {
  local t
  t=$(mktemp)
  /usr/bin/env time -f "%e %M" -o "$t" "$@" > /dev/null 2> /dev/null || { echo "failed: $*" >&2; cat "$t" >&2; }
  tail -n 1 "$t"
  rm -f "$t"
}

# the lesser of a best time so far (empty at first) and a new one
lesser() {
  if [ -z "$1" ] || (( $(echo "$2 < $1" | bc -l) )); then echo "$2"; else echo "$1"; fi
}

# the fastest of N runs, in seconds (short runs: the minimum is the least disturbed); tools timed in turn
# take the lesser of their runs one at a time
fastest() {
  local n=$1 best="" s; shift
  for _ in $(seq "$n"); do
    s=$(node -e "const t=process.hrtime.bigint();require('child_process').spawnSync(process.argv[1],process.argv.slice(2),{stdio:'ignore'});console.log(Number(process.hrtime.bigint()-t)/1e9)" "$@")
    best=$(lesser "$best" "$s")
  done
  echo "$best"
}

fail=0
verdict() {  # description, condition (bc: 1 = met)
  if [ "$2" = 1 ]; then printf '  target %s: met\n' "$1"; else printf '  target %s: MISSED\n' "$1"; fail=1; fi
}

printf '%-20s %-22s %10s %10s %12s\n' file tool "MB/s" "peak MB" "vs xmllint"
for f in "${files[@]}"; do
  mb=$(( $(stat -c %s "$f") / 1048576 ))
  name=$(basename "$f" .arf.xml)
  cat "$f" > /dev/null   # same page-cache state for every tool
  # xmllint and xccdf2rules in turn, twice: each one's faster run (a burst of load on a shared machine
  # then slows one run, not the ratio; xmllint alone took 1.5-16 s on the 338 MB CIS file in one hour
  # here), and xccdf2rules's larger peak RSS
  read -r xs xk < <(measure xmllint --stream --noout "$f")
  read -r os ok < <(measure bin/xccdf2rules "$f")
  read -r xs2 _ < <(measure xmllint --stream --noout "$f")
  read -r os2 ok2 < <(measure bin/xccdf2rules "$f")
  xs=$(echo "if ($xs2 < $xs) $xs2 else $xs" | bc -l)
  os=$(echo "if ($os2 < $os) $os2 else $os" | bc -l)
  ok=$(( ok2 > ok ? ok2 : ok ))
  read -r ls lk < <(measure "$python" bench/lxml_iterparse.py "$f")
  # for information: the opt-in second thread (the targets are for the default, one thread)
  read -r js jk < <(measure bin/xccdf2rules --jobs 2 "$f")
  for row in "xmllint --stream:$xs:$xk" "xccdf2rules:$os:$ok" "xccdf2rules --jobs 2:$js:$jk" "python lxml iterparse:$ls:$lk"; do
    IFS=: read -r tool s k <<< "$row"
    printf '%-20s %-22s %10.1f %10.1f %11.2fx\n' "$name" "$tool" "$(echo "$mb / $s" | bc -l)" "$(echo "$k / 1024" | bc -l)" "$(echo "$xs / $s" | bc -l)"
  done
  ratio=$(echo "$xs / $os" | bc -l)
  rss=$(( ok / 1024 ))
  if [ "$name" = rule-heavy ]; then
    out=$(bin/xccdf2rules "$f" | wc -c)
    printf '  %s: output %.1fx its input; speed for comparison (%.2fx xmllint), no target\n' "$name" "$(echo "$out / $(stat -c %s "$f")" | bc -l)" "$ratio"
    verdict "$(printf '%s: peak RSS <= 100 MB (got %d MB)' "$name" "$rss")" "$(echo "$rss <= 100" | bc -l)"
    continue
  fi
  need=$([ "$name" = oval-heavy ] && echo 1.5 || echo 0.5)
  verdict "$(printf '%s: >= %sx xmllint (got %.2fx), peak RSS <= 100 MB (got %d MB)' "$name" "$need" "$ratio" "$rss")" \
    "$(echo "$ratio >= $need && $rss <= 100" | bc -l)"
done

for f in "$cis_arf" "$real_arf"; do
  echo
  echo "real ARF $(basename "$f") ($(( $(stat -c %s "$f") / 1048576 )) MB), fastest of 10, the tools in turn:"
  xs="" es="" ls=""
  for _ in $(seq 10); do
    xs=$(lesser "$xs" "$(fastest 1 bin/xccdf2rules "$f")")
    es=$(lesser "$es" "$(fastest 1 "$python" bench/lxml_extract.py "$f")")
    ls=$(lesser "$ls" "$(fastest 1 "$python" bench/lxml_iterparse.py "$f")")
  done
  printf '  xccdf2rules %.3f s, lxml extractor %.3f s (bare lxml iterparse, counting elements: %.3f s, %.2fx)\n' "$xs" "$es" "$ls" "$(echo "$ls / $xs" | bc -l)"
  verdict "$(printf 'real ARF %s: >= 1.5x the lxml extractor (got %.2fx)' "$(basename "$f")" "$(echo "$es / $xs" | bc -l)")" "$(echo "$es / $xs >= 1.5" | bc -l)"
done

echo
for shape in rule-heavy-cis rule-heavy-real; do
  echo "peak RSS by input size ($shape):"
  declare -A rss
  for mb in 15 150 1024; do
    read -r _ k < <(measure bin/xccdf2rules "$data/$mb/$shape.arf.xml")
    rss[$mb]=$(( k / 1024 ))
    printf '  %5d MB input: %d MB\n' "$mb" "${rss[$mb]}"
  done
  verdict "$(printf '%s: peak RSS <= 100 MB at 15/150/1024 MB (got %d/%d/%d), 1 GB <= 1.2x 15 MB' "$shape" "${rss[15]}" "${rss[150]}" "${rss[1024]}")" \
    "$(echo "${rss[15]} <= 100 && ${rss[150]} <= 100 && ${rss[1024]} <= 100 && ${rss[1024]} <= 1.2 * ${rss[15]}" | bc -l)"
done

echo
echo "start-up, fastest of 20, the two in turn:"
small="$fixtures/xccdf/openscap-report__arf_simple_rule_fail.xml"
# Beside node started as xccdf2rules starts it: its shebang unsets NODE_EXTRA_CA_CERTS (Node 20 parses the
# certificates it names as it starts, ~38 ms for Debian's bundle, and xccdf2rules opens no connection), so
# where it is set, a plain `node -e 0` would do work xccdf2rules skips; that one is printed too. In turn,
# not ten of one then ten of the other, so that both meet the same machine: node's own time moved between
# 15 and 24 ms here with the load, and ten then ten gave 1.10x-1.38x; in turn, 1.24x-1.38x, and 1.09x-1.18x
# since the shim exits without Node's teardown and a report that begins as oscap writes it needs no saxes.
ns="" ss=""
for _ in $(seq 20); do
  ns=$(lesser "$ns" "$(fastest 1 env -u NODE_EXTRA_CA_CERTS node -e 0)")
  ss=$(lesser "$ss" "$(fastest 1 bin/xccdf2rules "$small")")
done
printf '  node -e 0 %.3f s, xccdf2rules small file %.3f s (both without NODE_EXTRA_CA_CERTS)\n' "$ns" "$ss"
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  printf '  node -e 0 with NODE_EXTRA_CA_CERTS=%s, as this environment sets it: %.3f s\n' "$NODE_EXTRA_CA_CERTS" "$(fastest 10 node -e 0)"
fi
verdict "$(printf 'xccdf2rules FILE <= 1.3x node -e 0 (got %.2fx)' "$(echo "$ss / $ns" | bc -l)")" "$(echo "$ss <= 1.3 * $ns" | bc -l)"
slowest=0; which=""
for cmd in $(node -p "Object.values(require('./package.json').bin).join(' ')"); do
  hs=$(fastest 5 "$cmd" --help)
  printf '  %-24s --help %.3f s\n' "$(basename "$cmd")" "$hs"
  if (( $(echo "$hs > $slowest" | bc -l) )); then slowest=$hs; which=$(basename "$cmd"); fi
done
verdict "$(printf -- '--help <= 150 ms for every command (slowest: %s, %.0f ms)' "$which" "$(echo "$slowest * 1000" | bc -l)")" "$(echo "$slowest <= 0.150" | bc -l)"
exit $fail
