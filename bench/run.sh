#!/usr/bin/env bash
# npm run bench: every benchmark, each beside its reference in the same run; non-zero if a target is missed.
cd "$(dirname "$0")/.."
status=0
echo "== xccdf2rules (issue 2)"
bash bench/xccdf2rules.sh || status=1
echo "== mozdef-send (issue 3)"
bash bench/mozdef-send.sh || status=1
echo "== senders to a receiver that is down (issue 13)"
bash bench/outage.sh || status=1
echo "== compliance-agent idle (issue 16)"
bash bench/compliance-agent.sh || status=1
echo "== rules-report (issue 19)"
bash bench/rules-report.sh || status=1
exit $status
