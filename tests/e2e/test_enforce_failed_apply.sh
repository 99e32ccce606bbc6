#!/usr/bin/env bash
# A change the kernel refuses, through the running ztdnsd. An administrator has added a chain
# of their own to table inet ztdns whose rule uses the daemon's exception set (@exc4). Every
# policy apply replaces that set (delete + add in one transaction), and the kernel refuses to
# delete a set a rule still uses (EBUSY), so the whole transaction is rolled back. Then:
# - `ztdns add exception` / `ztdns set state` fail, and the kernel's error comes back in words;
# - `nft -s list table inet ztdns` is byte-for-byte what it was, allows included;
# - the configuration file and the daemon's settings are unchanged, the old policy is in force,
#   and an Operational ERROR (106) event is written;
# - a restart in this state fails and leaves the existing table in force;
# - a SIGHUP reload of an invalid file (and `ztdns reload`) is refused in words and changes
#   nothing either;
# - once the administrator's chain is gone, the same change applies.
# shellcheck disable=SC2317  # helpers run through assert_* and wait_for
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/enforce_lib.sh"
require_lab

lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh enabled=true auditModeEnabled=false \
  "exemptionRules=[{\"displayName\": \"relay\", \"ipAddresses\": [\"$LAB_EXCEPTION4/32\", \"$LAB_EXCEPTION6/128\"]}]"
lab_ztdnsd_start "$conf"
ops=$LAB_ZTDNSD_LOG_DIR/Operational.jsonl
errors_logged() { jq -c 'select(.eventId == 106)' "$ops" 2>/dev/null | wc -l; }
still_in_force() {  # WHEN
  enf_cells "$1" enforce <<EOF
v4-unresolved tcp $LAB_IPONLY4    $LAB_HTTP_PORT refused open
v6-unresolved icmp $LAB_IPONLY6   0              eperm   reply
v4-exception  tcp $LAB_EXCEPTION4 $LAB_HTTP_PORT open    open
v6-resolved   tcp $LAB_WEB6       $LAB_HTTP_PORT open    open
EOF
}

assert_eq "$(enf_resolve "$LAB_WEB_NAME" AAAA)" "$LAB_WEB6" "resolve $LAB_WEB_NAME through the stub (an allow in the table)"

step "an administrator's chain in table inet ztdns uses the exception set"
lab_client nft add chain inet ztdns admin_in '{ type filter hook input priority 0; policy accept; }'
lab_client nft add rule inet ztdns admin_in ip saddr @exc4 counter accept comment '"trust the relay"'
before=$(enf_table)
assert_contains "$before" "ip saddr @exc4 counter accept" "the administrator's rule is in the table"
conf_before=$(cat "$conf")
settings_before=$(lab_ztdns --json show settings)
errors_before=$(errors_logged)

step "ztdns add exception: the kernel refuses, nothing changes"
assert_fails "add exception is refused" lab_ztdns add exception name=iponly "subnets=$LAB_IPONLY4/32"
note "the CLI said: $ASSERT_OUT"
assert_contains "$ASSERT_OUT" "the kernel refused the new policy, the previous one stays" "the CLI says the kernel refused"
assert_contains "$ASSERT_OUT" "Device or resource busy" "... with the kernel's error in words"
assert_contains "$ASSERT_OUT" "| delete set inet ztdns exc4" "... naming the command it refused"
assert_eq "$(enf_table)" "$before" "nft -s list table inet ztdns is byte-for-byte as before"
assert_eq "$(cat "$conf")" "$conf_before" "the configuration file is unchanged"
assert_eq "$(lab_ztdns --json show settings)" "$settings_before" "the daemon's settings are unchanged"
assert_fails "show exception name=iponly: it was not added" lab_ztdns show exception name=iponly
still_in_force "after the refused add"
assert_eq "$(errors_logged)" "$((errors_before + 1))" "an Operational ERROR (106) event was written"
assert_contains "$(jq -r 'select(.eventId == 106) | .message' "$ops" | tail -1)" "Device or resource busy" \
  "... with the kernel's error"

step "ztdns set state audit=yes: refused the same way"
assert_fails "set state audit=yes is refused" lab_ztdns set state enable=yes audit=yes
assert_contains "$ASSERT_OUT" "Device or resource busy" "the kernel's error in words"
assert_eq "$(enf_table)" "$before" "the table is byte-for-byte as before"
assert_eq "$(enf_state audit)" false "show state: still enforcing"
assert_eq "$(cat "$conf")" "$conf_before" "the configuration file is unchanged"
still_in_force "after the refused state change"

step "SIGHUP and ztdns reload of an invalid configuration file"
cp "$conf" "$LAB_DIR/conf.good"
printf '{"enabled": true, "maxAllowedAddresses": 12, "secureDnsServers": "pdns1"}\n' >"$conf"
n_before=$(grep -c 'reload refused' "$ops" || true)
kill -HUP "$LAB_ZTDNSD_PID"
refused_logged() { (($(grep -c 'reload refused' "$ops" || true) > n_before)); }
assert_eventually 10 "the SIGHUP reload was refused (Operational event)" refused_logged
assert_contains "$(grep 'reload refused' "$ops" | tail -1)" maxAllowedAddresses "the event names the bad field"
assert_ok "ztdnsd is still running" kill -0 "$LAB_ZTDNSD_PID"
assert_fails "ztdns reload is refused" lab_ztdns reload
assert_contains "$ASSERT_OUT" "maxAllowedAddresses" "... naming the field in words"
assert_eq "$(enf_table)" "$before" "the table is byte-for-byte as before"
assert_eq "$(lab_ztdns --json show settings)" "$settings_before" "the daemon's settings are unchanged"
cp "$LAB_DIR/conf.good" "$conf"

step "a restart while the kernel refuses: the existing table stays in force"
lab_ztdnsd_stop TERM
assert_fails "ztdnsd does not start" lab_ztdnsd_start "$conf"
assert_contains "$(cat "$LAB_ZTDNSD_OUT")" "the existing table stays in force" "ztdnsd says why, and that the table stays"
assert_eq "$(enf_table)" "$before" "the table is byte-for-byte as before"
still_in_force "after the failed start"

step "without the administrator's chain, the change applies"
lab_client nft delete chain inet ztdns admin_in
lab_ztdnsd_start "$conf"
assert_ok "add exception iponly" lab_ztdns add exception name=iponly "subnets=$LAB_IPONLY4/32"
assert_eq "$(enf_probe tcp "$LAB_IPONLY4" "$LAB_HTTP_PORT" | cut -d' ' -f1)" open "$LAB_IPONLY4 is reachable through the new exception"
assert_contains "$(jq -c .exemptionRules "$conf")" "\"$LAB_IPONLY4\"" "the configuration file has it"
assert_contains "$(lab_client nft -s list set inet ztdns allow6)" "$LAB_WEB6" "the allow from before survived every attempt"
finish
