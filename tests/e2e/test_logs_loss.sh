#!/usr/bin/env bash
# Log lines that cannot be written (issue 5, "Log directory unwritable"): first the
# BlockedConnections file made immutable (chattr +i: even root cannot write it), then the
# log directory full (a 256 KiB tmpfs over it, mounted in ztdnsd's own mount namespace
# only). While writing fails, DNS through the stub and enforcement keep working; the lost
# lines are counted (show stats) and reported in Operational (LOSS, event 104) with the
# exact count and the reason once writing works again; no file ever holds half a line.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/logs.sh"
require_lab
command -v jq >/dev/null || skip "needs jq"
command -v chattr >/dev/null || skip "needs chattr"

lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot enabled=true auditModeEnabled=false
n_dst=0
# attempt: one blocked attempt to a fresh destination, left in $d.
attempt() {
  n_dst=$((n_dst + 1))
  d=$(lab_race_addr4 "$n_dst")
  lab_client curl -4 -sS --max-time 2 -o /dev/null "http://$d/" >/dev/null 2>&1 || true
}
lost() { lab_ztdns show stats json | jq .logs.linesLost; }
# lost_is OP N: show stats' lost-line count compared with N (read on every poll).
lost_is() { test "$(lost)" "$1" "$2"; }
# keeps_working LABEL: DNS answers through the stub (a name not asked before, so the
# upstream and the allow insert run), the answer's address is reachable, and an
# unresolved address is still refused.
n_name=90  # keeps_working uses r100.race.test, r110 ...: apart from the attempts
keeps_working() {
  n_name=$((n_name + 10))
  local name a
  name=$(lab_race_name "$n_name")
  a=$(lab_client dig +short +tries=1 +timeout=5 "$name" A | tail -n 1)
  assert_eq "$a" "$(lab_race_addr4 "$n_name")" "$1: DNS through the stub answers $name"
  assert_eq "$(lab_client curl -4 -sS --max-time 5 "http://$name/")" "$a" "$1: ... and $a is reachable"
  assert_fails "$1: an unresolved address is still refused" lab_client curl -4 -sS --max-time 3 -o /dev/null "http://$(lab_race_addr4 $((n_name + 1)))/"
}
# loss_total CHANNEL_FILE: lines reported lost in that channel, summed over LOSS events.
loss_total() { logs_select operational '.eventId == 104 and .channel == $c' --arg c "$1" | jq -s 'map(.count) | add // 0'; }

step "BlockedConnections.jsonl unwritable (chattr +i)"
logs_ztdnsd_start "$conf"
blocked=$(logs_file blocked)
attempt
logs_wait blocked 10 '.dst == $d' --arg d "$d" >/dev/null || fail "no first event"
chattr +i "$blocked"
lab_at_exit "chattr -i '$blocked' 2>/dev/null || true"
lines_before=$(wc -l <"$blocked")
lost_before=$(lost)
for _ in 1 2 3 4 5; do attempt; done
assert_eventually 15 "show stats counts the 5 lost lines" lost_is -eq $((lost_before + 5))
assert_eq "$(wc -l <"$blocked")" "$lines_before" "the file did not change"
keeps_working "unwritable"
# its refused attempt is lost too; wait for it to be counted before the file is writable
assert_eventually 15 "show stats: 6 lost lines (5 attempts and the refused check)" lost_is -eq $((lost_before + 6))
chattr -i "$blocked"
attempt
logs_wait blocked 10 '.dst == $d' --arg d "$d" >/dev/null || fail "no event after the file became writable again"
pass "the next event is written again"
# 5 attempts, and the refused attempt of keeps_working
_reported_6() { test "$(loss_total BlockedConnections.jsonl)" -eq 6; }
assert_eventually 10 "LOSS reports the 6 lost lines of BlockedConnections.jsonl" _reported_6
assert_eq "$(lost)" $((lost_before + 6)) "show stats still says 6: nothing else was lost"
ev=$(logs_select operational '.eventId == 104' | tail -n 1)
assert_eq "$(jq -r .action <<<"$ev")" LOSS "LOSS event (104)"
assert_match "$(jq -r .reason <<<"$ev")" "Operation not permitted" "... the reason in words: $(jq -r .reason <<<"$ev")"
assert_match "$(jq -r .since <<<"$ev")" "$LOGS_TIME_RE" "... since when"
assert_match "$(jq -r .message <<<"$ev")" "^LOSS - [0-9]+ log lines lost in BlockedConnections.jsonl since " "... message"
assert_eq "$(logs_malformed blocked)" 0 "BlockedConnections.jsonl holds only whole lines"
lab_ztdnsd_stop

step "the log directory full (tmpfs of 256 KiB in ztdnsd's mount namespace)"
# The tmpfs exists only in ztdnsd's mount namespace (made by ip netns exec): read it there.
# shellcheck disable=SC2034  # read by logs_ztdnsd_start
LOGS_ZTDNSD_SETUP="mount -t tmpfs -o size=256k,mode=0750 tmpfs $(printf %q "$LAB_ZTDNSD_LOG_DIR")"
logs_ztdnsd_start "$conf"
unset LOGS_ZTDNSD_SETUP
assert_contains "$(logs_ztdnsd_mnt findmnt -n -o FSTYPE,SIZE "$LAB_ZTDNSD_LOG_DIR")" tmpfs "ztdnsd's log directory is the small tmpfs"
copy=$LAB_DIR/tmpfs-copy
snapshot() {  # the tmpfs's channel files into $copy (for logs_select with LOGS_DIR)
  rm -rf "$copy" && mkdir -p "$copy"
  local f
  for f in BlockedConnections.jsonl Operational.jsonl; do
    logs_ztdnsd_mnt cat "$LAB_ZTDNSD_LOG_DIR/$f" >"$copy/$f" 2>/dev/null || true
  done
}
attempt
wait_for 10 sh -c "nsenter -t $LAB_ZTDNSD_PID -m -- grep -q -F '\"$d\"' '$LAB_ZTDNSD_LOG_DIR/BlockedConnections.jsonl'" ||
  fail "no first event on the tmpfs"
logs_ztdnsd_mnt dd if=/dev/zero of="$LAB_ZTDNSD_LOG_DIR/filler" bs=4k 2>/dev/null || true
assert_match "$(logs_ztdnsd_mnt df --output=avail -k "$LAB_ZTDNSD_LOG_DIR" | tail -n 1)" '^ *0$' "the tmpfs is full"
snapshot
lines_before=$(wc -l <"$copy/BlockedConnections.jsonl")
lost_before=$(lost)
blocked_before=$(lab_ztdns show stats json | jq .connections.blocked)
# The file's last page may still take a few lines; 20 attempts fill it for sure.
for _ in $(seq 20); do attempt; done
_counted() { (($(lab_ztdns show stats json | jq .connections.blocked) >= blocked_before + 20)); }
_counted_21() { (($(lab_ztdns show stats json | jq .connections.blocked) >= blocked_before + 21)) && (($(lost) - lost_before + $(snapshot; wc -l <"$copy/BlockedConnections.jsonl") - lines_before >= 21)); }
assert_eventually 15 "ztdnsd saw the 20 attempts" _counted
assert_eventually 15 "show stats counts lost lines" lost_is -gt "$lost_before"
keeps_working "disk full"
assert_eventually 15 "ztdnsd saw the refused check too" _counted_21
snapshot
written=$(($(wc -l <"$copy/BlockedConnections.jsonl") - lines_before))
n_lost=$(($(lost) - lost_before))
assert_eq "$((written + n_lost))" 21 "$written lines still fitted the file's last page, $n_lost were lost: 21 attempts, none unaccounted"
assert_lt "$written" 21 "... the full disk did lose lines"
assert_eq "$(LOGS_DIR=$copy logs_malformed blocked)" 0 "... and the file holds no half line"
logs_ztdnsd_mnt rm -f "$LAB_ZTDNSD_LOG_DIR/filler"
attempt
_written() { snapshot && [[ -n $(LOGS_DIR=$copy logs_select blocked '.dst == $d' --arg d "$d") ]]; }
assert_eventually 10 "with space again, the next event is written" _written
_reported() { snapshot && [[ $(LOGS_DIR=$copy loss_total BlockedConnections.jsonl) -ge $n_lost ]]; }
assert_eventually 10 "LOSS reports the lost BlockedConnections lines" _reported
snapshot
n=$(LOGS_DIR=$copy loss_total BlockedConnections.jsonl)
total_lost=$(lost)
reported=$(LOGS_DIR=$copy logs_select operational '.eventId == 104' | jq -s 'map(.count) | add')
assert_eq "$reported" "$((total_lost - lost_before))" "every lost line is reported: $reported in LOSS events = show stats' $((total_lost - lost_before))"
assert_eq "$n" "$n_lost" "... all $n_lost of them in BlockedConnections.jsonl"
ev=$(LOGS_DIR=$copy logs_select operational '.eventId == 104 and .channel == "BlockedConnections.jsonl"' | tail -n 1)
assert_match "$(jq -r .reason <<<"$ev")" "No space left on device" "... the reason in words: $(jq -r .reason <<<"$ev")"
for ch in blocked operational; do
  assert_eq "$(LOGS_DIR=$copy logs_malformed "$ch")" 0 "$(basename "$(logs_file "$ch")"): only whole lines"
done
assert_eq "$(lab_ztdns log show blocked dst="$d" json | jq -r .dst)" "$d" "log show reads the tmpfs (through the daemon)"

finish
