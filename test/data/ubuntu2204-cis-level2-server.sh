#!/usr/bin/env bash
# Makes test/data/ubuntu2204-cis-level2-server.arf.gz: a real OpenSCAP scan with the SCAP Security
# Guide's "CIS Ubuntu 22.04 Level 2 Server" profile (Debian's openscap-scanner 1.3.7 and ssg-debderived
# 0.1.65), the shape a real Ubuntu CIS scan has: its output lines average ~10 KB (each carries its Rule's
# description, rationale, remediation and references), where the bundled Debian 11 scan's average 6.4 KB.
# Used by the tests (test/xccdf-ubuntu-cis.test.ts) and the benchmarks (bench/make-data.mjs).
# The content applies only on Ubuntu 22.04: its platform check reads /etc/lsb-release, so the scan runs in
# a private mount namespace where an overlay of /etc holds one (nothing outside the namespace changes).
# Needs root (unshare -m, mount) and takes ~2 minutes. Output: the ARF oscap wrote, gzipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=test/data/ubuntu2204-cis-level2-server.arf.gz
content=/usr/share/xml/scap/ssg/content/ssg-ubuntu2204-ds.xml
profile=xccdf_org.ssgproject.content_profile_cis_level2_server
[ -r "$content" ] || { echo "$0: $content missing: apt-get install openscap-scanner ssg-debderived" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/upper" "$work/work"
printf 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\nDISTRIB_DESCRIPTION="Ubuntu 22.04.5 LTS"\n' > "$work/lsb-release"
# oscap exits 2 when a rule fails: that is a finished scan
unshare -m sh -c '
  mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/upper,workdir=$1/work" /etc &&
  cp "$1/lsb-release" /etc/lsb-release &&
  { oscap xccdf eval --profile "$2" --results-arf "$1/scan.arf.xml" "$3" > /dev/null; rc=$?; [ $rc -eq 0 ] || [ $rc -eq 2 ]; }
' sh "$work" "$profile" "$content"
mkdir -p "$(dirname "$out")"
gzip -9c "$work/scan.arf.xml" > "$out"
echo "$out"
