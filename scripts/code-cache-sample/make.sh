#!/bin/sh
# Makes sample.arf.xml, the input of the run that writes xccdf2rules's code cache (scripts/build-bundle.mjs):
# a real oscap scan (OpenSCAP 1.3.7) of this host against a three-rule data stream composed from xccdf.xml
# and oval.xml. One rule passes, one fails with no OVAL item collected (/etc/issue has no banner), one fails
# on a collected item (/etc/shadow is group-readable): the ARF holds the pieces of a real one (data stream,
# TestResult, OVAL results with system characteristics, asset facts) at 30 KB. Run from this folder:
#   sh make.sh
set -e
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
oscap ds sds-compose xccdf.xml "$work/ds.xml"
oscap ds sds-validate "$work/ds.xml"
oscap xccdf eval --profile xccdf_org.compliance-pipes_profile_small --results-arf sample.arf.xml "$work/ds.xml" > /dev/null || [ $? = 2 ]
