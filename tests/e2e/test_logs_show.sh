#!/usr/bin/env bash
# `ztdns log show blocked|permitted|operational [since=] [process=] [dst=IP|PREFIX] [json]
# [limit=]` against the running ztdnsd (issue 5, "Reading the logs"): the readable table
# and the JSON lines (the channel file's objects, unchanged), and each filter alone and
# combined, on events made by real clients in the lab.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/logs.sh"
require_lab
command -v jq >/dev/null || skip "needs jq"

lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot enabled=true auditModeEnabled=false
logs_ztdnsd_start "$conf"

step "events from real clients"
d_curl4=$(lab_race_addr4 1) d_curl6=$(lab_race_addr6 2) d_py6=$(lab_race_addr6 3) d_kdig4=$(lab_race_addr4 4)
lab_client curl -4 -sS --max-time 3 -o /dev/null "http://$d_curl4/" 2>/dev/null || true
lab_client curl -6 -sS --max-time 3 -o /dev/null "http://[$d_curl6]/" 2>/dev/null || true
lab_client "$LOGS_PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
try: s.sendto(b"x", (sys.argv[1], 9))
except OSError: pass' "$d_py6"
lab_client kdig @"$d_kdig4" +tcp +timeout=1 +retry=0 www.allowed.test >/dev/null 2>&1 || true
n_events=4 d_unit=
if logs_cgroup_make "ztlab-${LAB_ID#zt-}-show.service"; then
  # a client in a cgroup named like a systemd unit: process= matches the unit too
  d_unit=$(lab_race_addr4 5) unit=$LOGS_CG_UNIT n_events=5
  logs_client_in_cgroup "$unit" "$LAB_DIR/unit.pid" curl -4 -sS --max-time 3 -o /dev/null "http://$d_unit/" 2>/dev/null || true
fi
logs_wait_count blocked 10 "$n_events" 'true' || fail "the events did not come" "$(cat "$(logs_file blocked)")"
pass "$n_events BlockedConnections events"
curl_exe=$(logs_exe curl) py_exe=$LOGS_PY_EXE kdig_exe=$(logs_exe kdig)
# An event from two hours ago, as a previous run would have left it (for since=).
old=$(logs_select blocked '.dst == $d' --arg d "$d_curl4" | head -n 1 |
  jq -c --arg t "$(date -u -d '2 hours ago' +%Y-%m-%dT%H:%M:%S.000001Z)" '.time = $t | .dst = "203.0.113.99"')
printf '%s\n' "$old" >>"$(logs_file blocked)"

# dsts ARGS...: the destinations `log show blocked ARGS json` returns, sorted.
dsts() { lab_ztdns log show blocked "$@" json | jq -r .dst | sort | tr '\n' ' ' | sed 's/ $//'; }

step "JSON lines are the channel file's objects"
assert_eq "$(lab_ztdns log show blocked json | jq -S -c . | sort)" "$(jq -S -c . "$(logs_file blocked)" | sort)" \
  "log show blocked json = BlockedConnections.jsonl, object for object"
assert_eq "$(lab_ztdns log show blocked json | jq -r .time | head -n 1)" "$(jq -r .time "$(logs_file blocked)" | head -n 1)" \
  "oldest first, as in the file"

step "the table"
table=$(lab_ztdns log show blocked)
assert_match "$(head -n 1 <<<"$table")" '^TIME +ACTION +PROTO +SOURCE +DESTINATION +PROCESS +UNIT' "header: TIME ACTION PROTO SOURCE DESTINATION PROCESS UNIT"
assert_eq "$(grep -c ' BLOCK ' <<<"$table")" $((n_events + 1)) "one row per event"
row=$(grep -F "$d_curl4:80" <<<"$table")
assert_match "$row" "BLOCK +tcp +$LAB_CLIENT4:[0-9]+ +$d_curl4:80 +$curl_exe \\([0-9]+\\)" "curl's row: action, protocol, source, destination, process (pid)"
row=$(grep -F "[$d_py6]:9" <<<"$table")
assert_match "$row" "BLOCK +udp +\\[$LAB_CLIENT6\\]:[0-9]+ +\\[$d_py6\\]:9 +$py_exe \\([0-9]+\\)" "python's row, IPv6 in brackets"
assert_eq "$(lab_ztdns log show permitted)" "No matching events." "permitted (off): No matching events."
optable=$(lab_ztdns log show operational)
assert_match "$(head -n 1 <<<"$optable")" '^TIME +EVENT +ACTION +MESSAGE' "operational header: TIME EVENT ACTION MESSAGE"
assert_match "$optable" "7 +START +START - ZTDNS service with status ok" "operational table shows START"
assert_eq "$(lab_ztdns log show operational json | jq -r 'select(.eventId == 7) | .status')" ok "log show operational json: START status ok"

step "process="
assert_eq "$(dsts process=curl)" "$(printf '%s\n' "$d_curl4" "$d_curl6" 203.0.113.99 $d_unit | sort | tr '\n' ' ' | sed 's/ $//')" "process=curl (basename)"
assert_eq "$(dsts process="$curl_exe")" "$(dsts process=curl)" "process=$curl_exe (full path): the same"
assert_eq "$(dsts process="$(basename "$py_exe")")" "$d_py6" "process=$(basename "$py_exe")"
assert_eq "$(dsts process="$kdig_exe")" "$d_kdig4" "process=$kdig_exe"
if [[ -n $d_unit ]]; then
  assert_eq "$(dsts process="$unit")" "$d_unit" "process=$unit (the systemd unit)"
fi
assert_eq "$(dsts process=nosuchprogram)" "" "process=nosuchprogram: nothing"
assert_eq "$(lab_ztdns log show blocked process=nosuchprogram)" "No matching events." "... table says so"

step "dst="
assert_eq "$(dsts dst="$d_curl4")" "$d_curl4" "dst=$d_curl4 (an address)"
assert_eq "$(dsts dst="$d_py6")" "$d_py6" "dst=$d_py6 (an IPv6 address)"
assert_eq "$(dsts dst=203.0.113.0/24)" "$(printf '%s\n' "$d_curl4" "$d_kdig4" 203.0.113.99 $d_unit | sort | tr '\n' ' ' | sed 's/ $//')" "dst=203.0.113.0/24"
assert_eq "$(dsts dst=2001:db8:80::/48)" "$(printf '%s\n' "$d_curl6" "$d_py6" | sort | tr '\n' ' ' | sed 's/ $//')" "dst=2001:db8:80::/48"
assert_eq "$(dsts dst=198.51.100.0/24)" "" "dst=198.51.100.0/24: nothing"

step "since="
assert_eq "$(lab_ztdns log show blocked since=1h json | jq -r .dst | grep -c -F 203.0.113.99)" 0 "since=1h leaves out the event from 2 hours ago"
assert_eq "$(lab_ztdns log show blocked since=3h json | jq -r .dst | grep -c -F 203.0.113.99)" 1 "since=3h has it"
assert_eq "$(lab_ztdns log show blocked since=10m json | wc -l)" "$n_events" "since=10m: the $n_events events of this run"
assert_eq "$(lab_ztdns log show blocked since=1d json | wc -l)" $((n_events + 1)) "since=1d: all $((n_events + 1))"

step "filters combined, limit="
assert_eq "$(dsts process=curl dst=2001:db8::/32 since=1h)" "$d_curl6" "process=curl dst=2001:db8::/32 since=1h"
assert_eq "$(dsts process=curl dst="$d_curl4/32" since=1h)" "$d_curl4" "process=curl dst=$d_curl4/32 since=1h"
out=$(lab_ztdns log show blocked limit=2 json 2>"$LAB_DIR/limit.err")
assert_eq "$(wc -l <<<"$out")" 2 "limit=2: two events"
assert_eq "$(jq -r .time <<<"$out" | tr '\n' ' ')" "$(jq -r .time "$(logs_file blocked)" | tail -n 2 | tr '\n' ' ')" "... the newest two"
assert_contains "$(cat "$LAB_DIR/limit.err")" "only the newest 2 matching events are shown" "... and a note says more matched"

step "lines that are not connection events are skipped and counted"
before=$(lab_ztdns log show blocked json | wc -l)
printf '%s\n' '{"time":"bad"}' '{"time":"2026-05-01T10:00:00Z","action":"LOSS","dst":"203.0.113.98"}' >>"$(logs_file blocked)"
table=$(lab_ztdns log show blocked 2>"$LAB_DIR/garbage.err")
assert_eq "$(($(wc -l <<<"$table") - 1))" "$before" "the table has the same $before rows"
assert_not_contains "$table" "bad" "... no row for {\"time\":\"bad\"}"
assert_not_contains "$table" "203.0.113.98" "... nor for the LOSS line"
assert_eq "$(cat "$LAB_DIR/garbage.err")" "note: 2 unreadable lines skipped (not connection events)" "... and a note counts them"
assert_eq "$(lab_ztdns log show blocked json 2>"$LAB_DIR/garbage.err" | wc -l)" "$before" "json: the same events"
assert_eq "$(cat "$LAB_DIR/garbage.err")" "note: 2 unreadable lines skipped (not connection events)" "... the same note"
suggest_err=$(lab_ztdns suggest exceptions 2>&1 >/dev/null)
assert_eq "$suggest_err" "note: 2 unreadable lines skipped (not connection events)" "suggest exceptions skips and counts them too"

step "bad arguments"
assert_fails "log show blocked dst=not-an-ip" lab_ztdns log show blocked dst=not-an-ip
assert_fails "log show nosuchchannel" lab_ztdns log show nosuchchannel
assert_contains "$ASSERT_OUT" "blocked, permitted or operational" "... names the channels"
assert_fails "log show blocked since=forever" lab_ztdns log show blocked since=forever

finish
