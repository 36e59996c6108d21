#!/usr/bin/env bash
# The senders against a receiver that is down (a closed loopback port): 20,000 records each, wall time
# and how many were dead-lettered, beside the same command with --retries 0 in the same run (the floor:
# what the records cost with no waiting for the receiver at all). Target (issue 13, section 4): every
# record dead-lettered with the reason, within 3 s on the default retries.
set -euo pipefail
cd "$(dirname "$0")/.."
data=bench/data
mkdir -p "$data"
events="$data/outage-events.20k.ndjson"
payloads="$data/outage-payloads.20k.ndjson"
[ -s "$events" ] || node -e 'const o=[];for(let i=0;i<20000;i++)o.push(JSON.stringify({summary:`event ${i}`,details:{seq:i}}));process.stdout.write(o.join("\n")+"\n")' > "$events"
[ -s "$payloads" ] || node -e 'const o=[];for(let i=0;i<20000;i++)o.push(JSON.stringify({hostname:`host-${i}`,machine_id:`m-${i}`,os_info:{family:"debian",name:"debian",version:"12"},scans:[{profile_name:"p",profile_type:"openscap",status:"completed",score:50,total_rules:1,passed:1,failed:0,results:[{rule_ref:"r1",title:"one",status:"pass",severity:"low"}]}]}));process.stdout.write(o.join("\n")+"\n")' > "$payloads"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{const p=s.address().port;s.close(()=>console.log(p))})')
export PATCHMON_API_ID=bench PATCHMON_API_KEY=bench

dl=$(mktemp -d)
trap 'rm -rf "$dl"' EXIT
fail=0
printf '%-52s %8s %13s %s\n' mode seconds dead-lettered target
run() {  # name, target (seconds, or -), input, command...
  local name=$1 target=$2 input=$3; shift 3
  rm -f "$dl/d"
  local start end s dead verdict=""
  start=$(date +%s%N)
  "$@" --dead-letter "$dl/d" < "$input" > /dev/null 2>&1 || true
  end=$(date +%s%N)
  s=$(echo "($end - $start) / 1000000000" | bc -l)
  dead=$(wc -l < "$dl/d" 2>/dev/null || echo 0)
  if [ "$target" != - ]; then
    verdict=met
    if (( $(echo "$s > $target" | bc -l) )) || [ "$dead" -ne 20000 ]; then verdict=MISSED; fail=1; fi
    verdict="<= ${target} s, all dead-lettered: $verdict"
  fi
  printf '%-52s %8.2f %13d %s\n' "$name" "$s" "$dead" "$verdict"
}
url="http://127.0.0.1:$port"
run "mozdef-send --retries 0 (floor)" - "$events" bin/mozdef-send --url "$url/events" --retries 0
run "mozdef-send" 3 "$events" bin/mozdef-send --url "$url/events"
run "mozdef-send --batch 100" 3 "$events" bin/mozdef-send --url "$url/_bulk" --batch 100
run "syslog-send tcp:// --retries 0 (floor)" - "$events" bin/syslog-send --server "tcp://127.0.0.1:$port" --retries 0
run "syslog-send tcp://" 3 "$events" bin/syslog-send --server "tcp://127.0.0.1:$port"
run "syslog-send relp://" - "$events" bin/syslog-send --server "relp://127.0.0.1:$port"
run "patchmon-send --retries 0 (floor)" - "$payloads" bin/patchmon-send --server "$url" --retries 0
run "patchmon-send (--per-minute 10)" 3 "$payloads" bin/patchmon-send --server "$url"
exit $fail
