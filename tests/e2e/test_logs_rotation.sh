#!/usr/bin/env bash
# Rotation by size through the running ztdnsd (issue 5, "Rotation"): with log.maxFileBytes
# at its minimum (1 MiB) and log.keepFiles 2, a stream of real blocked attempts rotates
# BlockedConnections.jsonl into .1 and .2, no file grows past the limit, generations
# beyond keepFiles are deleted, every line stays whole, and `ztdns log show` reads across
# the rotated files, oldest first, with its filters.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/logs.sh"
require_lab
command -v jq >/dev/null || skip "needs jq"

max=1048576
lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot enabled=true auditModeEnabled=false \
  "log={\"maxFileBytes\": $max, \"keepFiles\": 2, \"connectionEventsPerSecond\": 1000000}"
logs_ztdnsd_start "$conf"
blocked=$(logs_file blocked)

# send N DST FIRST_PORT: N blocked UDP attempts from one short python process, each a new
# flow (its own destination port), paced at 2000/s: under the kernel's log rate guard
# (5000/s, burst 500), so that every attempt becomes an event.
send() {
  lab_client "$LOGS_PY" -c 'import socket, sys, time
n, dst, first = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.monotonic()
for i in range(n):
    try: s.sendto(b"x", (dst, first + i))
    except OSError: pass
    if i % 20 == 19:
        ahead = t0 + (i + 1) / 2000 - time.monotonic()
        if ahead > 0: time.sleep(ahead)' "$@"
}
lines_all() { cat "$blocked".2 "$blocked".1 "$blocked" 2>/dev/null | wc -l; }
events_to() { logs_select blocked '.dst == $d' --arg d "$1" | wc -l; }

first=$(lab_race_addr4 1) fill=$(lab_race_addr6 2) last=$(lab_race_addr4 3)

step "the first rotation"
send 10 "$first" 1000
logs_wait_count blocked 10 10 '.dst == $d' --arg d "$first" || fail "the first 10 events did not come"
send 2600 "$fill" 10000
assert_eventually 30 "BlockedConnections.jsonl.1 appears" test -f "$blocked.1"
_all_in() { test "$(lines_all)" -ge $((10 + 2600)); }
wait_for 30 _all_in || true
assert_eq "$(lines_all)" $((10 + 2600)) "all 2610 events are in BlockedConnections.jsonl{.1,}"
assert_le "$(stat -c %s "$blocked.1")" "$max" "BlockedConnections.jsonl.1 is within log.maxFileBytes ($(stat -c %s "$blocked.1") bytes)"
assert_eq "$(head -n 1 "$blocked.1" | jq -r .dst)" "$first" "the oldest events are in .1"
assert_eq "$(lab_ztdns log show blocked dst="$first" json | wc -l)" 10 "log show dst=$first finds the 10 oldest events, in the rotated file"
assert_eq "$(lab_ztdns log show blocked limit=1000000 json | wc -l)" 2610 "log show reads both files: 2610 events"

step "more rotations: keepFiles 2 keeps .1 and .2, the oldest generation is deleted"
send 7000 "$fill" 20000
send 10 "$last" 1000
assert_eventually 30 "BlockedConnections.jsonl.2 appears" test -f "$blocked.2"
logs_wait_count blocked 30 10 '.dst == $d' --arg d "$last" || fail "the last 10 events did not come"
assert_fails "there is no BlockedConnections.jsonl.3" test -e "$blocked.3"
for f in "$blocked" "$blocked.1" "$blocked.2"; do
  assert_le "$(stat -c %s "$f")" "$max" "$(basename "$f"): $(stat -c %s "$f") bytes, within log.maxFileBytes"
  rm -rf "$LAB_DIR/check"
  mkdir -p "$LAB_DIR/check" && cp "$f" "$LAB_DIR/check/BlockedConnections.jsonl"
  assert_eq "$(LOGS_DIR=$LAB_DIR/check logs_malformed blocked)" 0 "$(basename "$f"): every line is a whole JSON object"
done
total=$(lines_all)
assert_lt "$total" 9620 "the three generations hold $total of the 9620 events: the oldest generation is gone"
stats=$(lab_ztdns show stats json)
assert_eq "$(jq -r '[.connections.blocked, .connections.suppressed, .logs.linesLost] | join(" ")' <<<"$stats")" "9620 0 0" \
  "show stats: 9620 blocked events, none suppressed, no line lost (rotation deleted only whole old generations)"
all=$(lab_ztdns log show blocked limit=1000000 json | jq -S -c . | md5sum)
assert_eq "$all" "$(cat "$blocked.2" "$blocked.1" "$blocked" | jq -S -c . | md5sum)" \
  "log show = .2, then .1, then the current file, object for object ($total events)"
assert_eq "$(lab_ztdns log show blocked dst="$first" json | wc -l)" 0 "the first events went with the deleted generation"
assert_eq "$(lab_ztdns log show blocked dst="$last" json | wc -l)" 10 "log show dst=$last: the 10 newest"
assert_eq "$(lab_ztdns log show blocked dst="$fill" limit=1000000 json | wc -l)" "$(cat "$blocked".2 "$blocked".1 "$blocked" | jq -R -r 'fromjson? | select(.dst == "'"$fill"'") | .dst' | wc -l)" \
  "log show dst=$fill across the generations matches the files"
assert_eq "$(lab_ztdns log show blocked since=1h limit=1000000 json | wc -l)" "$total" "since=1h: every generation"
out=$(lab_ztdns log show blocked limit=5 json 2>/dev/null | jq -S -c .)
assert_eq "$out" "$(tail -n 5 "$blocked" | jq -S -c .)" "limit=5: the newest five, from the current file"

finish
