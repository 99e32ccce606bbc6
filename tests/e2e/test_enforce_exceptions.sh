#!/usr/bin/env bash
# Exceptions through the CLI against the running ztdnsd (enforcing): `ztdns add exception`
# opens the prefixes for new TCP, UDP and ICMP at once, overlapping exceptions merge, and
# `ztdns delete exception` closes them again for new connections while an established one
# carries on. The resolver's allows are not touched by exception changes.
# shellcheck disable=SC2317  # helpers run through assert_* and wait_for
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/enforce_lib.sh"
require_lab

lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh enabled=true auditModeEnabled=false
lab_ztdnsd_start "$conf"
lab_at_exit enf_hold_stop

# ID PROTO ADDR PORT WHEN-BLOCKED WHEN-EXCEPTED (the second column is used for mode "enforce")
iponly_cells() {
  cat <<EOF
v4-tcp  tcp  $LAB_IPONLY4 $LAB_HTTP_PORT refused open
v6-tcp  tcp  $LAB_IPONLY6 $LAB_HTTP_PORT refused open
v4-udp  udp  $LAB_IPONLY4 $LAB_ECHO_PORT eperm   reply
v6-udp  udp  $LAB_IPONLY6 $LAB_ECHO_PORT eperm   reply
v4-icmp icmp $LAB_IPONLY4 0              eperm   reply
v6-icmp icmp $LAB_IPONLY6 0              eperm   reply
EOF
}
exc_elements() {  # 4|6
  lab_client nft -j list set inet ztdns "exc$1" |
    jq -r '.nftables[] | select(.set) | .set.elem // [] | .[] | if type == "object" then (.prefix.addr + "/" + (.prefix.len | tostring)) else . end' | tr '\n' ' '
}

step "without an exception, $LAB_IPONLY4 and $LAB_IPONLY6 are blocked"
assert_eq "$(enf_resolve "$LAB_WEB_NAME" A) $(enf_resolve "$LAB_WEB_NAME" AAAA)" "$LAB_WEB4 $LAB_WEB6" "resolve $LAB_WEB_NAME (its allows must survive every exception change)"
allows=$(lab_client nft -s list set inet ztdns allow4; lab_client nft -s list set inet ztdns allow6)
enf_cells "no exception" enforce <<<"$(iponly_cells)"
assert_fails "show exception name=iponly: none yet" lab_ztdns show exception name=iponly

step "ztdns add exception: new connections pass at once"
assert_ok "add exception iponly" lab_ztdns add exception name=iponly description="hard-coded host" \
  "subnets=$LAB_IPONLY4/32,$LAB_IPONLY6/128"
enf_cells "after add" enforce <<<"$(iponly_cells | awk '{print $1, $2, $3, $4, $6, $6}')"
assert_eq "$(exc_elements 4)" "$LAB_IPONLY4 " "exc4 holds the IPv4 prefix"
assert_eq "$(exc_elements 6)" "$LAB_IPONLY6 " "exc6 holds the IPv6 prefix"
assert_contains "$(lab_ztdns show exception name=iponly)" "hard-coded host" "show exception lists it"
assert_eq "$(enf_state exceptions)" 1 "show state counts 1 exception"

step "an established connection through the exception"
enf_hold_start "$LAB_IPONLY4:$LAB_HTTP_PORT" "[$LAB_IPONLY6]:$LAB_HTTP_PORT"
enf_hold_check
assert_eq "$ENF_HOLD_LINE" "ok ok" "HTTP keep-alive connections to both addresses work"

step "an overlapping, wider exception merges with it"
assert_ok "add exception wide" lab_ztdns add exception name=wide "subnets=203.0.113.80/28,2001:db8:80::/112"
assert_eq "$(exc_elements 4)" "203.0.113.80/28 " "exc4: the /32 inside the /28 is merged away"
assert_eq "$(exc_elements 6)" "2001:db8:80::/112 " "exc6: likewise"
assert_ok "delete exception iponly" lab_ztdns delete exception name=iponly
assert_contains "$ASSERT_OUT" "Deleted exception iponly" "the CLI says what it did"
enf_cells "covered by wide" enforce <<<"$(iponly_cells | awk '{print $1, $2, $3, $4, $6, $6}')"

step "ztdns delete exception: new connections are blocked again, the established one carries on"
assert_ok "delete exception wide" lab_ztdns delete exception name=wide
assert_eq "$(exc_elements 4)$(exc_elements 6)" "" "the exception sets are empty"
enf_cells "after delete" enforce <<<"$(iponly_cells)"
enf_hold_check
assert_eq "$ENF_HOLD_LINE" "ok ok" "the connections opened while the exception stood still carry data"
assert_fails "deleting an exception that does not exist is refused" lab_ztdns delete exception name=wide
assert_eq "$(enf_state exceptions)" 0 "show state counts no exception"

step "the resolver's allows were never touched"
assert_eq "$(lab_client nft -s list set inet ztdns allow4; lab_client nft -s list set inet ztdns allow6)" "$allows" \
  "allow4/allow6 are as they were before the first exception change"
assert_eq "$(enf_probe tcp "$LAB_WEB4" "$LAB_HTTP_PORT" | cut -d' ' -f1)" open "$LAB_WEB4 (resolved) is still reachable"
enf_hold_stop
finish
