#!/usr/bin/env bash
# Fresh-machine set-up: the Debian packages the tests and benchmarks use, then the npm packages
# (npm ci also builds dist/ through the `prepare` script, so every bin/ command is runnable), and npm link.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# openscap-scanner + ssg-*: real oscap for the end-to-end test; libxml2-utils (xmllint) and
# python3-lxml: the benchmark's references; util-linux + mount: unshare/mount for the Debian 11 trick;
# rsyslog (+ rsyslog-relp for imrelp): the syslog tests start their own rsyslogd on loopback; bsdutils: logger, which syslog-send
# uses for the local datagram socket; openssl: the TLS tests make a throwaway CA; gnupg: mig-runner's tests verify signatures with gpg; procps: pgrep, which the agent's cancel test uses to see oscap gone; chromium: the rules-report HTML test opens the report headless
$SUDO apt-get install -y -qq --no-install-recommends openscap-scanner ssg-debian ssg-debderived libxml2-utils python3-lxml util-linux mount time bc chromium \
  rsyslog rsyslog-relp bsdutils openssl gnupg procps >/dev/null
npm ci
# every command on PATH by name (symlinks in `npm prefix -g`/bin to this checkout's bin/)
$SUDO npm link --ignore-scripts --no-audit --no-fund
