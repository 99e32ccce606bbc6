#!/usr/bin/env bash
# PermittedConnections through the running ztdnsd (issue 5): off by default (nothing is
# written however much is permitted); `ztdns log set permitted enable=yes|no` switches it
# at once and persists it in the config file (a restarted daemon keeps it); and every
# permit reason: resolved {name, server}, exception {name}, server, dhcp, ndp, loopback,
# each event naming the process that was launched (NDP is the kernel's own).
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/logs.sh"
require_lab
command -v jq >/dev/null || skip "needs jq"

lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot:1:4 --server pdns1:dot:2:6 enabled=true auditModeEnabled=false \
  "exemptionRules=[{\"displayName\": \"media relay\", \"ipAddresses\": [\"$LAB_EXCEPTION4\", \"$LAB_EXCEPTION6/128\"]}]"
logs_ztdnsd_start "$conf"
pf=$LAB_DIR/client.pid
marker_n=0
# marker: a blocked attempt whose event, once written, shows that the monitor has handled
# everything the client namespace sent before it.
marker() {
  local d
  marker_n=$((marker_n + 1))
  d=$(lab_race_addr4 $((100 + marker_n)))
  lab_client curl -4 -sS --max-time 2 -o /dev/null "http://$d/" 2>/dev/null || true
  logs_wait blocked 10 '.dst == $d' --arg d "$d" >/dev/null || fail "the marker event for $d never came"
}
# permit_of PID: the PERMIT events of that pid.
permit_of() { logs_select permitted '.pid == ($p | tonumber)' --arg p "$1"; }

step "off by default"
assert_eq "$(lab_ztdns show state json | jq -r .permittedLogEnabled)" false "show state: the permitted log is off"
assert_eq "$(jq -r '.permittedConnectionsLogEnabled // false' "$conf")" false "the config does not turn it on"
assert_eq "$(logs_client "$pf" curl -4 -sS --max-time 5 "http://$LAB_WEB_NAME/")" "$LAB_WEB4" "curl to $LAB_WEB_NAME is permitted"
off_pid=$(cat "$pf")
marker
assert_eq "$(logs_count permitted 'true')" 0 "nothing in PermittedConnections.jsonl"
assert_not_contains "$(lab_client nft list chain inet ztdns output)" "goto permit_" "the kernel does not even log permits"

step "log set permitted enable=yes: at once, and persisted"
assert_output "The PermittedConnections log is now on." "ztdns log set permitted enable=yes" lab_ztdns log set permitted enable=yes
assert_eq "$(jq -r .permittedConnectionsLogEnabled "$conf")" true "the config file says permittedConnectionsLogEnabled: true"
assert_eq "$(lab_ztdns show state json | jq -r .permittedLogEnabled)" true "show state: on"
assert_eq "$(logs_client "$pf" curl -4 -sS --max-time 5 "http://$LAB_WEB_NAME/")" "$LAB_WEB4" "curl to $LAB_WEB_NAME"
ev=$(logs_wait permitted 10 '.pid == ($p | tonumber)' --arg p "$(cat "$pf")") || fail "no PERMIT event for curl"
pass "the very next connection is logged"
assert_eq "$(permit_of "$off_pid")" "" "the connection made while it was off was not logged afterwards"

step "the restarted daemon keeps it on"
lab_ztdnsd_stop
logs_ztdnsd_start "$conf"
assert_eq "$(lab_ztdns show state json | jq -r .permittedLogEnabled)" true "show state after a restart: on"

# expect LABEL PID REASON_JSON PROTO DST [EXE]: one PERMIT event of PID with that reason.
expect() {
  local label=$1 pid=$2 reason=$3 proto=$4 dst=$5 exe=${6:-} ev
  ev=$(logs_wait permitted 10 '.pid == ($p | tonumber) and .dst == $d' --arg p "$pid" --arg d "$dst") ||
    fail "$label: no PERMIT event of pid $pid to $dst" "$(tail -n 5 "$(logs_file permitted)")"
  assert_eq "$(jq -S -c .reason <<<"$ev")" "$(jq -S -c . <<<"$reason")" "$label: reason $reason"
  assert_eq "$(jq -r '[.eventId, .action, .protocol, (.audit | tostring)] | join(" ")' <<<"$ev")" "1 PERMIT $proto null" \
    "$label: eventId 1, PERMIT, $proto"
  [[ -z $exe ]] || assert_eq "$(jq -r '[.process, .attribution] | join(" ")' <<<"$ev")" "$exe kernel" "$label: process $exe (pid $pid)"
  assert_match "$(jq -r .time <<<"$ev")" "$LOGS_TIME_RE" "$label: time format"
  assert_eq "$(jq -c '["src","srcPort","dst","dstPort","uid","unit","message"] - keys' <<<"$ev")" "[]" "$label: connection fields present"
}

step "reason ndp (the first IPv6 connection: the neighbour is not known yet)"
lab_client ip -6 neigh flush dev "$LAB_CLIENT_IF"
out=$(logs_client "$pf" curl -6 -sS --max-time 5 "http://$LAB_WEB_NAME/") || true
assert_eq "$out" "$LAB_WEB6" "an IPv6 connection after the neighbour cache was flushed"
ev=$(logs_wait permitted 10 '.reason.type == "ndp" and .icmpType == 135') || fail "no NDP permit event"
assert_eq "$(jq -c .reason <<<"$ev")" '{"type":"ndp"}' "neighbour solicitation: reason ndp"
assert_eq "$(jq -r '[.protocol, .src] | join(" ")' <<<"$ev")" "icmpv6 $LAB_CLIENT6" "... icmpv6 from $LAB_CLIENT6"
assert_match "$(jq -r '[(.pid | tostring), .process, .attribution] | join(" ")' <<<"$ev")" '^null unknown (kernel-context|none)$' \
  "... sent by the kernel itself: no process is named (never a wrong one)"
# The SYN that waited for the neighbour left from a softirq: docs/logging.md says it is
# logged as kernel-context. Either way it must never name another process.
ev=$(logs_wait permitted 10 '.dst == $d and .protocol == "tcp"' --arg d "$LAB_WEB6") || fail "no PERMIT event for the first IPv6 connection"
assert_match "$(jq -r '[(.pid | tostring), .process] | join(" ")' <<<"$ev")" "^($(cat "$pf") $(logs_exe curl)|null unknown)\$" \
  "the connection that waited for the neighbour: curl ($(cat "$pf")) or unknown, never another process ($(jq -r .attribution <<<"$ev"))"

step "reason resolved {name, server}"
for fam in 4 6; do
  out=$(logs_client "$pf" curl -"$fam" -sS --max-time 5 "http://$LAB_WEB_NAME/") || true
  want=LAB_WEB$fam
  assert_eq "$out" "${!want}" "curl -$fam $LAB_WEB_NAME"
  expect "curl -$fam" "$(cat "$pf")" '{"type":"resolved","name":"www.allowed.test","server":"pdns1"}' tcp "${!want}" "$(logs_exe curl)"
done
out=$(logs_client "$pf" curl -4 -sS --max-time 5 "http://$LAB_CHAIN_NAME/") || true
assert_eq "$out" "$LAB_CHAIN4" "curl $LAB_CHAIN_NAME (a CNAME chain)"
expect "curl through a CNAME chain" "$(cat "$pf")" '{"type":"resolved","name":"www.chain.test","server":"pdns1"}' tcp "$LAB_CHAIN4"

step "reason exception {name}"
for fam in 4 6; do
  want=LAB_EXCEPTION$fam
  [[ $fam == 4 ]] && u=${!want} || u="[${!want}]"
  out=$(logs_client "$pf" curl -"$fam" -sS --max-time 5 "http://$u/") || true
  assert_eq "$out" "${!want}" "curl to the exception ${!want}"
  expect "exception IPv$fam" "$(cat "$pf")" '{"type":"exception","name":"media relay"}' tcp "${!want}" "$(logs_exe curl)"
done

step "reason server"
for fam in 4 6; do
  want=LAB_PDNS1_$fam
  logs_client "$pf" kdig @"${!want}" -p "$LAB_DOT_PORT" +tls-ca="$LAB_CA" +tls-hostname="$LAB_PDNS1_NAME" \
    +timeout=3 +retry=0 +short www.allowed.test >/dev/null || fail "kdig over DoT to pdns1 IPv$fam"
  expect "kdig to the PDNS IPv$fam" "$(cat "$pf")" '{"type":"server"}' tcp "${!want}" "$(logs_exe kdig)"
done

step "reason loopback"
for a in 127.0.0.1 ::1; do
  logs_client "$pf" "$LOGS_PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"x", (sys.argv[1], 9))' "$a"
  expect "UDP to $a" "$(cat "$pf")" '{"type":"loopback"}' udp "$a" "$LOGS_PY_EXE"
done
logs_client "$pf" curl -sS --max-time 2 -o /dev/null http://127.0.0.1:9/ 2>/dev/null || true
expect "TCP to 127.0.0.1" "$(cat "$pf")" '{"type":"loopback"}' tcp 127.0.0.1 "$(logs_exe curl)"

step "reason dhcp"
lab_start_dhcp
# DHCPv4: dhclient sends through a packet socket (no netfilter), so a renewal is sent the
# way it goes on the wire: unicast from port 68 to the server's port 67 (a DHCPREQUEST).
logs_client "$pf" "$LOGS_PY" -c 'import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 68))
ci = socket.inet_aton(sys.argv[1])
msg = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, 0x5a7d0001, 0, 0, ci, bytes(4), bytes(4), bytes(4),
                  bytes.fromhex("02005e0000fe") + bytes(10), bytes(64), bytes(128))
msg += bytes([99, 130, 83, 99, 53, 1, 3, 255])
s.sendto(msg, (sys.argv[2], 67))' "$LAB_CLIENT4" "$LAB_ROUTER4"
expect "DHCPv4 renewal (68 -> 67)" "$(cat "$pf")" '{"type":"dhcp"}' udp "$LAB_ROUTER4" "$LOGS_PY_EXE"
assert_match "$(lab_dhcp_request 6)" "^address=2001:db8:0:1::" "dhclient -6 gets a lease"
ev=$(logs_wait permitted 10 '.reason.type == "dhcp" and .dstPort == 547') || fail "no DHCPv6 permit event"
assert_eq "$(jq -r '[.protocol, .srcPort, .dst] | join(" ")' <<<"$ev")" "udp 546 ff02::1:2" "DHCPv6 Solicit: udp 546 -> [ff02::1:2]:547"
assert_eq "$(jq -r .process <<<"$ev")" "$(readlink -f "$(_lab_exe dhclient)")" "... by dhclient"
lab_stop_dhcp

step "log show permitted"
table=$(lab_ztdns log show permitted)
assert_match "$(head -n 1 <<<"$table")" '^TIME +ACTION +PROTO +SOURCE +DESTINATION +PROCESS +UNIT +REASON' "the table has a REASON column"
assert_match "$table" "PERMIT +tcp +$LAB_CLIENT4:[0-9]+ +$LAB_WEB4:80 +$(logs_exe curl) \\([0-9]+\\) +/ +resolved www.allowed.test via pdns1" "a resolved row"
assert_match "$table" "exception media relay" "an exception row"
assert_eq "$(lab_ztdns log show permitted json | jq -r .reason.type | sort -u | tr '\n' ' ')" "dhcp exception loopback ndp resolved server " \
  "log show permitted json: every reason type"

step "log set permitted enable=no: at once, and persisted"
assert_output "The PermittedConnections log is now off." "ztdns log set permitted enable=no" lab_ztdns log set permitted enable=no
assert_eq "$(jq -r .permittedConnectionsLogEnabled "$conf")" false "the config file says permittedConnectionsLogEnabled: false"
before=$(logs_count permitted 'true')
assert_eq "$(logs_client "$pf" curl -4 -sS --max-time 5 "http://$LAB_WEB_NAME/")" "$LAB_WEB4" "curl to $LAB_WEB_NAME still works"
off_pid=$(cat "$pf")
marker
assert_eq "$(permit_of "$off_pid")" "" "the connection is not logged"
assert_eq "$(logs_count permitted 'true')" "$before" "PermittedConnections.jsonl did not grow"
assert_eq "$(logs_malformed permitted)" 0 "every PermittedConnections line is a JSON object"

finish
