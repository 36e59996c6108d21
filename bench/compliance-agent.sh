#!/usr/bin/env bash
# The idle compliance-agent's footprint (issue 16): peak RSS <= 60 MB and ~0 % CPU over 10 minutes
# with the WebSocket open. DURATION=60 bash bench/compliance-agent.sh for a shorter look.
cd "$(dirname "$0")/.."
[ -f dist/commands/compliance-agent.js ] || npm run build >/dev/null
exec npx tsx bench/compliance-agent-idle.mts
