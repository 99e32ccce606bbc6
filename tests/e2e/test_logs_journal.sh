#!/usr/bin/env bash
# journald through the running ztdnsd (issue 5, "journald"): a private systemd-journald
# runs in ztdnsd's own mount namespace (tmpfs-like bind mounts of lab directories over
# /run/systemd and /run/log, and a journald.conf of our own: volatile storage, no kmsg,
# no forwarding), so ztdnsd finds /run/systemd/journal/socket as on a host while the
# host's journal, /run and /etc are never touched. Every event then also goes to the
# journal with SYSLOG_IDENTIFIER=ztdns, ZTDNS_CHANNEL, ZTDNS_EVENT_ID and the event's
# fields, and journalctl filters by channel, process and event.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/logs.sh"
require_lab
command -v jq >/dev/null || skip "needs jq"
journald=/lib/systemd/systemd-journald
[[ -x $journald ]] || skip "systemd-journald is not installed"
command -v journalctl >/dev/null || skip "journalctl is not installed"
[[ -d /run/systemd && -d /run/log && -f /etc/systemd/journald.conf ]] ||
  skip "no /run/systemd, /run/log or /etc/systemd/journald.conf to mount over"

host_run=$(ls -A /run/systemd /run/log)
lab_up
j=$LAB_DIR/journal
mkdir -p "$j/run-systemd" "$j/run-log"
printf '[Journal]\nStorage=volatile\nForwardToSyslog=no\nForwardToKMsg=no\nForwardToConsole=no\nForwardToWall=no\nReadKMsg=no\nAudit=no\nRateLimitBurst=0\n' \
  >"$j/journald.conf"
q() { printf %q "$1"; }
# In ztdnsd's mount namespace, before it starts: journald on private directories. It is
# ztdnsd's child and in its process group, so it stops with it.
# shellcheck disable=SC2034  # read by logs_ztdnsd_start
LOGS_ZTDNSD_SETUP="mount --bind $(q "$j/run-systemd") /run/systemd
mount --bind $(q "$j/run-log") /run/log
mount --bind $(q "$j/journald.conf") /etc/systemd/journald.conf
mkdir -p /run/systemd/journal
SYSTEMD_LOG_TARGET=console $(q "$journald") >$(q "$LAB_LOG_DIR/journald.log") 2>&1 &
i=0; while [ ! -S /run/systemd/journal/socket ] && [ \$i -lt 100 ]; do sleep 0.05; i=\$((i + 1)); done"
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot enabled=true auditModeEnabled=false
logs_ztdnsd_start "$conf"
unset LOGS_ZTDNSD_SETUP
[[ -S $j/run-systemd/journal/socket ]] || fail "the private journald did not start" "$(cat "$LAB_LOG_DIR/journald.log")"
assert_eq "$(ls -A /run/systemd /run/log)" "$host_run" "the host's /run/systemd and /run/log are untouched"
jdir=$j/run-log/journal
# jq_journal [MATCHES...]: ztdns's journal entries (JSON, one per line).
jq_journal() { journalctl -D "$jdir" --no-pager -o json SYSLOG_IDENTIFIER=ztdns "$@" 2>/dev/null || true; }
# entry COND [JQ ARGS...]: wait for a journal entry, print it.
entry() {
  local cond=$1 out
  shift
  _have() { out=$(jq_journal | jq -c "$@" "select($cond)" | head -n 1) && [[ -n $out ]]; }
  wait_for -i 0.2 15 _have "$@" || fail "no journal entry with $cond" "$(jq_journal | tail -n 3)"
  printf '%s\n' "$out"
}

step "Operational events in the journal"
e=$(entry '.ZTDNS_EVENT_ID == "7"')
assert_eq "$(jq -r '[.SYSLOG_IDENTIFIER, .ZTDNS_CHANNEL, .ZTDNS_ACTION, .ZTDNS_STATUS, .PRIORITY] | join(" ")' <<<"$e")" \
  "ztdns Operational START ok 5" "START: SYSLOG_IDENTIFIER=ztdns ZTDNS_CHANNEL=Operational ZTDNS_ACTION=START ZTDNS_STATUS=ok PRIORITY=5"
assert_eq "$(jq -r .MESSAGE <<<"$e")" "START - ZTDNS service with status ok" "MESSAGE is the event's message"
lab_ztdns set state enable=yes audit=yes >/dev/null
e=$(entry '.ZTDNS_EVENT_ID == "6"')
assert_eq "$(jq -r '[.ZTDNS_ACTION, .ZTDNS_ENABLED, .ZTDNS_AUDIT, .ZTDNS_STATE] | join(" ")' <<<"$e")" "UPDATE true true enabled (audit)" \
  "state change: ZTDNS_ENABLED, ZTDNS_AUDIT, ZTDNS_STATE"
assert_match "$(jq -r .ZTDNS_PID <<<"$e")" '^[0-9]+$' "... and the actor's ZTDNS_PID"

step "connection events in the journal"
d_audit=$(lab_race_addr4 1) d_block=$(lab_race_addr6 2)
pf=$LAB_DIR/client.pid
# (an accepted first packet that waits for ARP is logged as kernel-context: know the router)
lab_client ping -4 -c 1 -W 1 "$LAB_ROUTER4" >/dev/null 2>&1 || true
logs_client "$pf" curl -4 -sS --max-time 3 -o /dev/null "http://$d_audit/" >/dev/null 2>&1 || true
audit_pid=$(cat "$pf")
lab_ztdns set state enable=yes audit=no >/dev/null
logs_client "$pf" "$LOGS_PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
try: s.sendto(b"x", (sys.argv[1], 9))
except OSError: pass' "$d_block"
block_pid=$(cat "$pf")
e=$(entry '.ZTDNS_DST == $d' --arg d "$d_block")
assert_eq "$(jq -r '[.ZTDNS_CHANNEL, .ZTDNS_EVENT_ID, .ZTDNS_ACTION, .ZTDNS_PROTOCOL, .ZTDNS_SRC, .ZTDNS_DST_PORT, .ZTDNS_PID, .ZTDNS_PROCESS, .ZTDNS_UID, .PRIORITY] | join(" ")' <<<"$e")" \
  "BlockedConnections 2 BLOCK udp $LAB_CLIENT6 9 $block_pid $LOGS_PY_EXE 0 5" \
  "BLOCK: ZTDNS_CHANNEL, ZTDNS_EVENT_ID, ZTDNS_ACTION, ZTDNS_PROTOCOL, ZTDNS_SRC, ZTDNS_DST_PORT, ZTDNS_PID, ZTDNS_PROCESS, ZTDNS_UID, PRIORITY 5"
assert_match "$(jq -r .ZTDNS_SRC_PORT <<<"$e")" '^[0-9]+$' "ZTDNS_SRC_PORT (srcPort in UPPER_SNAKE)"
assert_match "$(jq -r .ZTDNS_TIME <<<"$e")" "$LOGS_TIME_RE" "ZTDNS_TIME"
file_line=$(logs_select blocked '.dst == $d' --arg d "$d_block")
assert_eq "$(jq -r .MESSAGE <<<"$e")" "$(jq -r .message <<<"$file_line")" "MESSAGE = the file's message"
assert_eq "$(jq -r '.ZTDNS_UNIT // "absent"' <<<"$e")" "$(jq -r '.unit // "absent"' <<<"$file_line")" "ZTDNS_UNIT as the file's unit (null fields are left out)"
e=$(entry '.ZTDNS_DST == $d' --arg d "$d_audit")
assert_eq "$(jq -r '[.ZTDNS_ACTION, .ZTDNS_AUDIT, .ZTDNS_PID, .ZTDNS_PROCESS, .ZTDNS_DST_PORT] | join(" ")' <<<"$e")" \
  "AUDIT true $audit_pid $(logs_exe curl) 80" "AUDIT: ZTDNS_AUDIT=true, curl's pid and path"
lab_ztdns log set permitted enable=yes >/dev/null
logs_client "$pf" curl -4 -sS --max-time 5 -o /dev/null "http://$LAB_WEB_NAME/"
e=$(entry '.ZTDNS_CHANNEL == "PermittedConnections" and .ZTDNS_PID == $p' --arg p "$(cat "$pf")")
assert_eq "$(jq -r '[.ZTDNS_EVENT_ID, .ZTDNS_ACTION, .ZTDNS_REASON_TYPE, .ZTDNS_REASON_NAME, .ZTDNS_REASON_SERVER, .PRIORITY] | join(" ")' <<<"$e")" \
  "1 PERMIT resolved www.allowed.test pdns1 6" "PERMIT: ZTDNS_REASON_TYPE/NAME/SERVER (the reason object flattened), PRIORITY 6"

step "upstream health in the journal"
lab_pdns_stop pdns1
lab_client dig +short +tries=1 +timeout=5 "$LAB_ALIAS_NAME" A >/dev/null 2>&1 || true
e=$(entry '.ZTDNS_EVENT_ID == "101"')
assert_eq "$(jq -r '[.ZTDNS_ACTION, .ZTDNS_SERVER, .ZTDNS_STATE, .PRIORITY] | join(" ")' <<<"$e")" "HEALTH pdns1 down 4" \
  "HEALTH: ZTDNS_SERVER, ZTDNS_STATE=down, PRIORITY 4"
assert_match "$(jq -r .ZTDNS_ERROR <<<"$e")" "[Rr]efused|connect" "... ZTDNS_ERROR in words: $(jq -r .ZTDNS_ERROR <<<"$e")"
lab_pdns_start pdns1

step "journalctl filters by channel, process and event"
for ch in BlockedConnections PermittedConnections Operational; do
  case $ch in Blocked*) c=blocked ;; Permitted*) c=permitted ;; *) c=operational ;; esac
  _same() { (($(jq_journal ZTDNS_CHANNEL="$ch" | wc -l) == $(logs_count "$c" 'true'))); }
  assert_eventually 10 "ZTDNS_CHANNEL=$ch: one journal entry per line of $(basename "$(logs_file "$c")") ($(logs_count "$c" 'true'))" _same
  assert_eq "$(jq_journal ZTDNS_CHANNEL="$ch" | jq -r .ZTDNS_CHANNEL | sort -u)" "$ch" "... and only that channel"
done
assert_eq "$(jq_journal ZTDNS_CHANNEL=BlockedConnections ZTDNS_PROCESS="$LOGS_PY_EXE" | jq -r .ZTDNS_DST)" "$d_block" \
  "ZTDNS_CHANNEL=BlockedConnections ZTDNS_PROCESS=$LOGS_PY_EXE: the python event"
assert_eq "$(jq_journal ZTDNS_EVENT_ID=7 | wc -l)" 1 "ZTDNS_EVENT_ID=7: the one START"
assert_eq "$(journalctl -D "$jdir" --no-pager -o cat SYSLOG_IDENTIFIER=ztdns ZTDNS_CHANNEL=Operational | grep -c '^START - ')" 1 \
  "journalctl -o cat shows the messages"

finish
