#!/bin/sh
# A stand-in for oscap in the agent tests: `xccdf eval` writes a small XCCDF TestResult (five rules,
# timestamps of now, so every scan is a different scan), printing one --progress line per rule.
# FAKE_OSCAP_DELAY: seconds to sleep before each rule; FAKE_OSCAP_LOG: a line per run (pid, profile);
# FAKE_OSCAP_GATE: a file that must exist before the last rule is evaluated (the test opens the gate).
case "$1" in
  --version) echo "OpenSCAP command line tool (oscap) 1.3.7"; exit 0 ;;
  info) echo "xccdf_org.ssgproject.content_profile_fake:Fake profile"; exit 0 ;;
esac
results=""; profile=""
while [ $# -gt 0 ]; do
  case "$1" in
    --results-arf) results="$2"; shift ;;
    --profile) profile="$2"; shift ;;
  esac
  shift
done
[ -n "$FAKE_OSCAP_LOG" ] && echo "$$ $profile" >> "$FAKE_OSCAP_LOG"
now=$(date -u +%Y-%m-%dT%H:%M:%S.%N+00:00)
rr=""
for pair in a:pass b:fail c:notapplicable d:pass e:informational; do
  rule=${pair%%:*}; result=${pair#*:}
  [ -n "$FAKE_OSCAP_DELAY" ] && sleep "$FAKE_OSCAP_DELAY"
  if [ -n "$FAKE_OSCAP_GATE" ] && [ "$rule" = e ]; then
    while [ ! -e "$FAKE_OSCAP_GATE" ]; do sleep 0.05; done
  fi
  echo "xccdf_org.ssgproject.content_rule_$rule:$result"
  rr="$rr<rule-result idref=\"xccdf_org.ssgproject.content_rule_$rule\" severity=\"medium\" time=\"$now\"><result>$result</result></rule-result>"
done
cat > "$results" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<TestResult xmlns="http://checklists.nist.gov/xccdf/1.2" id="xccdf_org.open-scap_testresult_$profile" start-time="$now" end-time="$now">
<title>fake scan</title><profile idref="$profile"/><target>agent-test-host</target>
$rr
</TestResult>
XML
exit 2
