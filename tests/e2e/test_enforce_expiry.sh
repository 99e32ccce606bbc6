#!/usr/bin/env bash
# Allow expiry through the running ztdnsd: with minimumAllowTimeInSeconds=0 and
# allowGraceSeconds=3, ttl2.allowed.test (TTL 2) is allowed for 5 s (short, with room for a
# slow machine to connect in time). A TCP connection opened
# in that time still carries data after the allow expired (established flows pass), a new
# one is refused at once, and resolving the name again allows it again.
# maximumConnectionTimeInSeconds caps the allow of a long TTL.
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
  minimumAllowTimeInSeconds=0 allowGraceSeconds=3 maximumConnectionTimeInSeconds=30
lab_ztdnsd_start "$conf"
lab_at_exit enf_hold_stop
allowed() { enf_set_elements "$1" | grep -x -F "$2" >/dev/null; }  # not -q: SIGPIPE with pipefail
gone() { ! allowed "$@"; }

step "a 5 s allow, and connections opened in it"
assert_eq "$(enf_probe tcp "$LAB_TTL2_4" "$LAB_ECHO_PORT" | cut -d' ' -f1)" refused "before resolving, $LAB_TTL2_4 is blocked"
assert_eq "$(enf_resolve "$LAB_TTL2_NAME" A)" "$LAB_TTL2_4" "$LAB_TTL2_NAME A through the stub"
assert_eq "$(enf_resolve "$LAB_TTL2_NAME" AAAA)" "$LAB_TTL2_6" "$LAB_TTL2_NAME AAAA through the stub"
enf_hold_start "$LAB_TTL2_4:$LAB_ECHO_PORT" "[$LAB_TTL2_6]:$LAB_ECHO_PORT"
set4=$(lab_client nft list set inet ztdns allow4)
assert_match "$set4" "$LAB_TTL2_4 timeout 5s" "the kernel element has a 5 s timeout (TTL 2 + 3 s grace, no minimum)"
enf_hold_check
assert_eq "$ENF_HOLD_LINE" "ok ok" "both connections echo while allowed"

step "the allow expires"
assert_eventually 15 "$LAB_TTL2_4 left allow4" gone 4 "$LAB_TTL2_4"
assert_eventually 15 "$LAB_TTL2_6 left allow6" gone 6 "$LAB_TTL2_6"
enf_hold_check
assert_eq "$ENF_HOLD_LINE" "ok ok" "the connections opened before the expiry still carry data"
enf_cells "after expiry, a new connection" enforce <<EOF
v4 tcp $LAB_TTL2_4 $LAB_ECHO_PORT refused open
v6 tcp $LAB_TTL2_6 $LAB_ECHO_PORT refused open
EOF
enf_hold_check
assert_eq "$ENF_HOLD_LINE" "ok ok" "... and still do after the new ones were refused"

step "resolving again allows it again"
assert_eq "$(enf_resolve "$LAB_TTL2_NAME" A)" "$LAB_TTL2_4" "$LAB_TTL2_NAME A again"
assert_eq "$(enf_resolve "$LAB_TTL2_NAME" AAAA)" "$LAB_TTL2_6" "$LAB_TTL2_NAME AAAA again"
# connect at once: the allow lasts only 5 s
enf_cells "after resolving again" enforce <<EOF
v4 tcp $LAB_TTL2_4 $LAB_ECHO_PORT open open
v6 tcp $LAB_TTL2_6 $LAB_ECHO_PORT open open
EOF
enf_hold_stop

step "maximumConnectionTimeInSeconds caps a long TTL"
assert_eq "$(enf_resolve "$LAB_LONGTTL_NAME" A)" "$LAB_LONGTTL_4" "$LAB_LONGTTL_NAME (TTL 604800) through the stub"
assert_match "$(lab_client nft list set inet ztdns allow4)" "$LAB_LONGTTL_4 timeout 30s" \
  "its allow lasts maximumConnectionTimeInSeconds (30 s), not a week"
finish
