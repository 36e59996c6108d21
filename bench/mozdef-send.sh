#!/usr/bin/env bash
# mozdef-send into a loopback receiver: events/s and peak RSS with 1 and 16 requests in flight,
# batching off and on, beside the anchors' way (one POST per event on a new connection) in the
# same run. Targets (issue 3): >= 20 000 events/s with batching; memory flat for 1 million events.
# Issue 14: unbatched --concurrency 16 >= 15 000 events/s with memory flat (200k events <= 1.2x the 20k
# figure); batched stays >= 50 000 events/s.
# Spool rows (issue 13): --spool beside without, --batch 500, same receiver: >= 50 % of the unspooled
# rate, and memory flat from 100k to 1M events.
# Real-shaped rows: the same unbatched and batched targets on the MozDef events runner-compliance really posted.
set -euo pipefail
cd "$(dirname "$0")/.."
data=bench/data
mkdir -p "$data"
events="$data/events.1m.ndjson"
if [ ! -s "$events" ]; then
  echo "generating 1 000 000 events (once; kept in $data)..." >&2
  node -e 'const o=[];for(let i=0;i<1e6;i++){o.push(JSON.stringify({summary:`bench event ${i}`,category:"compliance-bench",severity:"info",tags:["bench"],details:{seq:i,host:`web-${i%300}.example.net`}}));if(o.length===1e4){process.stdout.write(o.join("\n")+"\n");o.length=0}}' > "$events"
fi
# real-shaped events: the MozDef events runner-compliance really posted (~0.9 KB each, ../shared/fixtures),
# each made distinct by a number in its summary; the small synthetic events (~0.17 KB) stay as the first rows
fixtures="${COMPLIANCE_FIXTURES:-$(pwd)/../shared/fixtures}"
real_events="$data/events-real.1m.ndjson"
if [ ! -s "$real_events" ]; then
  echo "generating 1 000 000 real-shaped events (once; kept in $data)..." >&2
  node -e 'const fs=require("fs");const bodies=fs.readFileSync(process.argv[1],"utf8").trim().split("\n").map(l=>JSON.parse(JSON.parse(l).body));const o=[];for(let i=0;i<1e6;i++){const e=bodies[i%bodies.length];o.push(JSON.stringify({...e,summary:`${e.summary} #${i}`}));if(o.length===1e4){process.stdout.write(o.join("\n")+"\n");o.length=0}}' "$fixtures/mig/runner-compliance.mozdef-posts.captured.ndjson" > "$real_events"
fi
head -n 200000 "$real_events" > "$data/events-real.200k.ndjson"
head -n 200000 "$events" > "$data/events.200k.ndjson"
head -n 100000 "$events" > "$data/events.100k.ndjson"
head -n 20000 "$events" > "$data/events.20k.ndjson"

portfile=$(mktemp)
node bench/receiver.mjs "$portfile" & receiver=$!
trap 'kill $receiver 2>/dev/null; rm -f "$portfile"' EXIT
while [ ! -s "$portfile" ]; do sleep 0.1; done
base="http://127.0.0.1:$(cat "$portfile")"
count() { curl -s "$base/count" 2>/dev/null || node -e "fetch('$base/count').then(r=>r.text()).then(t=>console.log(t))"; }

fail=0
printf '%-44s %9s %12s %9s %s\n' mode events "events/s" "peak MB" delivered
run() {  # name, n, command...
  local name=$1 n=$2; shift 2
  local before after t
  before=$(count)
  t=$(mktemp)
  /usr/bin/env time -f "%e %M" -o "$t" "$@" > /dev/null 2>&1 || { echo "failed: $*" >&2; fail=1; }
  read -r s k < <(tail -n 1 "$t"); rm -f "$t"
  after=$(count)
  local got=$((after - before))
  printf '%-44s %9d %12.0f %9.1f %s\n' "$name" "$n" "$(echo "$n / $s" | bc -l)" "$(echo "$k / 1024" | bc -l)" "$([ "$got" -eq "$n" ] && echo "all" || echo "ONLY $got")"
  [ "$got" -eq "$n" ] || fail=1
  last_rate=$(echo "$n / $s" | bc -l); last_mb=$(( k / 1024 ))
}
dl=$(mktemp -d)
run "anchors: 1 POST/event, new connection" 20000 node bench/anchor-post.mjs "$base/events" "$data/events.20k.ndjson"
run "mozdef-send --concurrency 1" 20000 bin/mozdef-send --url "$base/events" --concurrency 1 --dead-letter "$dl/d" "$data/events.20k.ndjson"
run "mozdef-send --concurrency 16 (20k)" 20000 bin/mozdef-send --url "$base/events" --concurrency 16 --dead-letter "$dl/d" "$data/events.20k.ndjson"
unbatched_small_mb=$last_mb
run "mozdef-send --concurrency 16 (200k)" 200000 bin/mozdef-send --url "$base/events" --concurrency 16 --dead-letter "$dl/d" "$data/events.200k.ndjson"
unbatched=$last_rate; unbatched_big_mb=$last_mb
verdict=met; (( $(echo "$unbatched < 15000" | bc -l) )) && { verdict=MISSED; fail=1; }
printf '  target: >= 15000 events/s unbatched, --concurrency 16, 200k events (got %.0f): %s\n' "$unbatched" "$verdict"
verdict=met; (( unbatched_big_mb * 10 > unbatched_small_mb * 12 )) && { verdict=MISSED; fail=1; }
printf '  target: memory flat unbatched, 200k events <= 1.2x 20k (got %d MB vs %d MB): %s\n' "$unbatched_big_mb" "$unbatched_small_mb" "$verdict"
run "mozdef-send --batch 500 --concurrency 1" 1000000 bin/mozdef-send --url "$base/_bulk" --batch 500 --concurrency 1 --dead-letter "$dl/d" "$events"
batched1=$last_rate
run "mozdef-send --batch 500 --concurrency 16 (100k)" 100000 bin/mozdef-send --url "$base/_bulk" --batch 500 --concurrency 16 --dead-letter "$dl/d" "$data/events.100k.ndjson"
small_mb=$last_mb
run "mozdef-send --batch 500 --concurrency 16 (1M)" 1000000 bin/mozdef-send --url "$base/_bulk" --batch 500 --concurrency 16 --dead-letter "$dl/d" "$events"
batched16=$last_rate; big_mb=$last_mb
best=$(echo "if ($batched1 > $batched16) $batched1 else $batched16" | bc -l)
verdict=met; (( $(echo "$best < 20000" | bc -l) )) && { verdict=MISSED; fail=1; }
printf '  target: >= 20000 events/s with batching (got %.0f): %s\n' "$best" "$verdict"
worst=$(echo "if ($batched1 < $batched16) $batched1 else $batched16" | bc -l)
verdict=met; (( $(echo "$worst < 50000" | bc -l) )) && { verdict=MISSED; fail=1; }
printf '  target: batched stays >= 50000 events/s, --concurrency 1 and 16, 1M events (got %.0f and %.0f): %s\n' "$batched1" "$batched16" "$verdict"
verdict=met; (( big_mb * 10 > small_mb * 13 )) && { verdict=MISSED; fail=1; }
printf '  target: memory flat, 1M events vs 100k (got %d MB vs %d MB): %s\n' "$big_mb" "$small_mb" "$verdict"

echo "real-shaped events (the captured runner-compliance posts, ~0.9 KB each):"
run "mozdef-send --concurrency 16 (200k, real-shaped)" 200000 bin/mozdef-send --url "$base/events" --concurrency 16 --dead-letter "$dl/d" "$data/events-real.200k.ndjson"
real_unbatched=$last_rate
verdict=met; (( $(echo "$real_unbatched < 15000" | bc -l) )) && { verdict=MISSED; fail=1; }
printf '  target: >= 15000 events/s unbatched, --concurrency 16, real-shaped events (got %.0f): %s\n' "$real_unbatched" "$verdict"
run "mozdef-send --batch 500 --concurrency 16 (1M, real-shaped)" 1000000 bin/mozdef-send --url "$base/_bulk" --batch 500 --concurrency 16 --dead-letter "$dl/d" "$real_events"
real_batched=$last_rate
verdict=met; (( $(echo "$real_batched < 50000" | bc -l) )) && { verdict=MISSED; fail=1; }
printf '  target: batched >= 50000 events/s, --concurrency 16, real-shaped events (got %.0f): %s\n' "$real_batched" "$verdict"

spool=$(mktemp -d)
run "mozdef-send --batch 500 --concurrency 16 --spool (100k)" 100000 bin/mozdef-send --url "$base/_bulk" --batch 500 --concurrency 16 --spool "$spool/s" --dead-letter "$dl/d" "$data/events.100k.ndjson"
spool_small_mb=$last_mb
run "mozdef-send --batch 500 --concurrency 16 --spool (1M)" 1000000 bin/mozdef-send --url "$base/_bulk" --batch 500 --concurrency 16 --spool "$spool/s" --dead-letter "$dl/d" "$events"
spooled=$last_rate; spool_big_mb=$last_mb
rm -rf "$spool"
verdict=met; (( $(echo "$spooled * 2 < $batched16" | bc -l) )) && { verdict=MISSED; fail=1; }
printf '  target: --spool >= 50%% of the unspooled rate, 1M events (got %.0f vs %.0f events/s, %.0f%%): %s\n' "$spooled" "$batched16" "$(echo "100 * $spooled / $batched16" | bc -l)" "$verdict"
verdict=met; (( spool_big_mb * 10 > spool_small_mb * 13 )) && { verdict=MISSED; fail=1; }
printf '  target: --spool memory flat, 1M events vs 100k (got %d MB vs %d MB): %s\n' "$spool_big_mb" "$spool_small_mb" "$verdict"
exit $fail
