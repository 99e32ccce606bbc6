#!/usr/bin/env bash
# Fail-closed across daemon death, through the running ztdnsd:
# - kill -9: table inet ztdns stays byte-for-byte; nothing new is allowed (no stub answers,
#   unresolved addresses and the rogue resolver stay blocked) while established flows carry
#   on and addresses already allowed stay reachable;
# - restart with the same directories: the allow sets are intact (nft -s list set compared)
#   and the daemon adopted them (show state allowed addresses, re-resolving is free);
# - at no moment of the crash and restart does a blocked destination get through;
# - SIGTERM is a stop, not a disable: the table stays in force;
# - `ztdns set state enable=no` removes the table and connectivity returns at once.
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
allow_sets() { lab_client nft -s list set inet ztdns allow4; lab_client nft -s list set inet ztdns allow6; }
count_elements() { { enf_set_elements 4; enf_set_elements 6; } | grep -c . || true; }

step "allowed addresses and established connections before the crash"
for n in "$LAB_WEB_NAME" "$LAB_CHAIN_NAME" "$LAB_SVCB_NAME" "$LAB_V4ONLY_NAME" "$LAB_V6ONLY_NAME"; do
  for t in A AAAA; do enf_resolve "$n" "$t" >/dev/null; done
done
n_allowed=$(count_elements)
assert_eq "$n_allowed" 8 "8 addresses allowed (www, chain, svc x2, v4only, v6only)"
assert_eq "$(enf_state allowedAddresses)" 8 "show state: 8 allowed addresses"
enf_hold_start "$LAB_WEB4:$LAB_ECHO_PORT" "[$LAB_WEB6]:$LAB_ECHO_PORT"
enf_hold_check
assert_eq "$ENF_HOLD_LINE" "ok ok" "echo connections to $LAB_WEB4 and $LAB_WEB6 work"
table_before=$(enf_table)
sets_before=$(allow_sets)
assert_contains "$sets_before" "comment \"$LAB_WEB_NAME via pdns1\"" "each allow carries its origin"

# A new connection to an unresolved address every 20 ms, through the crash and the restart.
stop=$LAB_DIR/loop.stop
lab_client python3 "$ENF_PROBE" loop "$LAB_IPONLY4" "$LAB_HTTP_PORT" 120 "$stop" >"$LAB_DIR/loop.out" 2>&1 &
loop_pid=$!

step "kill -9"
old_pid=$LAB_ZTDNSD_PID
lab_ztdnsd_stop KILL
assert_fails "ztdnsd ($old_pid) is dead" kill -0 "$old_pid"
assert_eq "$(enf_table)" "$table_before" "table inet ztdns is still there, byte-for-byte"
enf_hold_check
assert_eq "$ENF_HOLD_LINE" "ok ok" "established connections carry on"
enf_cells "daemon dead" enforce <<EOF
v4-unresolved tcp $LAB_IPONLY4 $LAB_HTTP_PORT refused open
v6-unresolved tcp $LAB_IPONLY6 $LAB_HTTP_PORT refused open
v4-rogue53    udp $LAB_ROGUE4  53             eperm   reply
v6-rogue53    udp $LAB_ROGUE6  53             eperm   reply
v4-allowed    tcp $LAB_WEB4    $LAB_HTTP_PORT open    open
v6-allowed    tcp $LAB_CHAIN6  $LAB_HTTP_PORT open    open
EOF
assert_fails "nothing new can be resolved: the stub is gone" lab_client kdig @127.0.0.1 +timeout=1 +retry=0 "$LAB_TTL2_NAME"
assert_eq "$(allow_sets)" "$sets_before" "nothing was added to the allow sets"

step "restart with the same directories: adoption"
lab_ztdnsd_start "$conf"
assert_eq "$(allow_sets)" "$sets_before" "allow4/allow6 are intact (nft -s list set)"
assert_eq "$(enf_table)" "$table_before" "the re-applied table is byte-for-byte the same"
assert_eq "$(enf_state allowedAddresses)" "$n_allowed" "the daemon adopted all $n_allowed allowed addresses"
assert_eq "$(enf_resolve "$LAB_WEB_NAME" A)" "$LAB_WEB4" "re-resolving $LAB_WEB_NAME works"
assert_eq "$(enf_stat .allowSet.inserted) $(enf_stat .allowSet.skippedFresh)" "0 1" \
  "... and costs no kernel write: the adopted allow is fresh (inserted 0, skippedFresh 1)"
res=$(lab_ztdns --json resolve "$LAB_CHAIN_NAME" type=AAAA)
assert_eq "$(jq -r '.addresses[0].allowed' <<<"$res")" true "ztdns resolve: the adopted $LAB_CHAIN6 is allowed"
assert_lt 200 "$(jq -r '.addresses[0].remainingSeconds' <<<"$res")" "... with its remaining time from the kernel"
enf_hold_check
assert_eq "$ENF_HOLD_LINE" "ok ok" "established connections carried on through the restart"

: >"$stop"
wait "$loop_pid" || true
loop=$(cat "$LAB_DIR/loop.out")
assert_match "$loop" '^attempts=[0-9]+ connected=0$' "no new connection to $LAB_IPONLY4 got through during the crash and restart ($loop)"
assert_lt 10 "$(sed -E 's/attempts=([0-9]+).*/\1/' <<<"$loop")" "... over many attempts"

step "SIGTERM is a stop, not a disable"
table_before=$(enf_table)
lab_ztdnsd_stop TERM
assert_eq "$(enf_table)" "$table_before" "after SIGTERM, table inet ztdns is still in force, byte-for-byte"
enf_cells "stopped" enforce <<EOF
v4 tcp $LAB_IPONLY4 $LAB_HTTP_PORT refused open
v6 udp $LAB_IPONLY6 $LAB_ECHO_PORT eperm   reply
EOF
enf_hold_check
assert_eq "$ENF_HOLD_LINE" "ok ok" "established connections carry on"
assert_eq "$(jq -c 'select(.eventId == 8)' "$LAB_ZTDNSD_LOG_DIR/Operational.jsonl" | wc -l)" 1 \
  "the orderly stop was logged (Operational STOP, ID 8; the kill -9 left none)"
lab_ztdnsd_start "$conf"
assert_eq "$(enf_state allowedAddresses)" "$n_allowed" "restarted: all $n_allowed allows adopted again"

step "set state enable=no removes the table, and connectivity returns at once"
assert_ok "ztdns set state enable=no" lab_ztdns set state enable=no
assert_eq "$(enf_probe tcp "$LAB_IPONLY4" "$LAB_HTTP_PORT" | cut -d' ' -f1)" open "the first new connection to $LAB_IPONLY4 gets through"
assert_eq "$(enf_probe udp "$LAB_ROGUE6" 53 | cut -d' ' -f1)" reply "the rogue resolver answers over IPv6"
assert_fails "table inet ztdns is gone" enf_has_table
enf_hold_check
assert_eq "$ENF_HOLD_LINE" "ok ok" "established connections are unaffected"
enf_hold_stop
finish
