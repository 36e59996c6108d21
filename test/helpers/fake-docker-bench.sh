#!/bin/sh
# A stand-in for docker-bench-security.sh in the agent tests: `-l PREFIX` writes PREFIX.json, a copy of
# the real Docker Bench log named by FAKE_DOCKER_BENCH_LOG.
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    -l) out="$2"; shift ;;
  esac
  shift
done
cp "$FAKE_DOCKER_BENCH_LOG" "$out.json"
