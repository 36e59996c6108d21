#!/bin/sh
# Makes test/data/debian11-evidence-failures.arf.gz: a real oscap scan (SSG Debian 11 content, on the
# Debian 12 test host) whose failing rules fail different kinds of OVAL tests. Run as root:
#   sh test/data/debian11-evidence-failures.sh /tmp/scan.arf.xml && gzip -9 -c /tmp/scan.arf.xml > test/data/debian11-evidence-failures.arf.gz
# The scan reads a copy-on-write overlay of / (OSCAP_PROBE_ROOT) inside a private mount namespace, where
# files are changed on purpose; the host is not touched. Results: package_aide_installed fail (package
# not installed), file_owner_etc_passwd fail (uid 1000), file_permissions_etc_shadow fail (0644),
# sysctl_kernel_kptr_restrict fail (not set in any sysctl file; the runtime check is not applicable
# offline), no_empty_passwords pass, two login.defs rules notapplicable.
OUT=${1:?usage: $0 OUT.arf.xml}
WORK=$(mktemp -d)
export OUT WORK
exec unshare -m sh -c '
set -e
mkdir -p "$WORK" && mount -t tmpfs tmpfs "$WORK"
mkdir -p "$WORK"/u "$WORK"/w "$WORK"/m
mount -t overlay overlay -o lowerdir=/,upperdir="$WORK"/u,workdir="$WORK"/w "$WORK"/m
R="$WORK"/m
rm -f $R/.dockerenv
mount --rbind /proc $R/proc
printf '\''11.7\n'\'' > $R/etc/debian_version
printf '\''root:$6$abc:19000:0:99999:7:::\n'\'' > $R/etc/shadow; chmod 0644 $R/etc/shadow
chown 1000 $R/etc/passwd
sed -i "s/pam_unix.so.*/pam_unix.so nullok/" $R/etc/pam.d/common-auth; sed -i "s/^UMASK.*/UMASK 000/" $R/etc/login.defs
OSCAP_PROBE_ROOT=$R oscap xccdf eval --profile xccdf_org.ssgproject.content_profile_anssi_np_nt28_high \
  --rule xccdf_org.ssgproject.content_rule_accounts_maximum_age_login_defs \
  --rule xccdf_org.ssgproject.content_rule_file_permissions_etc_shadow \
  --rule xccdf_org.ssgproject.content_rule_file_owner_etc_passwd \
  --rule xccdf_org.ssgproject.content_rule_package_aide_installed \
  --rule xccdf_org.ssgproject.content_rule_sysctl_kernel_kptr_restrict \
  --rule xccdf_org.ssgproject.content_rule_accounts_umask_etc_login_defs --rule xccdf_org.ssgproject.content_rule_no_empty_passwords \
  --results-arf "$OUT" /usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml || true
'
