#!/usr/bin/env bash
# Operational events through the running ztdnsd (issue 5): START and STOP with status
# (also a start that fails), state changes, server list updates and exception add/remove
# each naming the pid and executable of the ztdns process that made the change, upstream
# health down (connect refused, TLS name mismatch: the error in words) and up again, and
# flood summaries ("N similar events suppressed", counted per process and destination,
# with nothing dropped silently).
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/logs.sh"
require_lab
command -v jq >/dev/null || skip "needs jq"

lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot:5 --server pdns2:dot:6 enabled=true auditModeEnabled=false \
  'log={"connectionEventsPerSecond": 5}'
logs_ztdnsd_start "$conf"
ztdns_bin=$(readlink -f "${ZTDNS:-$(_lab_bin ztdns apps/ztdns/ztdns)}")
pf=$LAB_DIR/cli.pid
# cli ARGS...: the ztdns CLI in the client namespace, its pid in $pf.
cli() { logs_client "$pf" env ZTDNS_SOCKET="$LAB_ZTDNSD_RUN_DIR/control.sock" "$ztdns_bin" "$@"; }
# op COND [JQ ARGS...]: wait for the Operational event, print it.
op() { logs_wait operational 15 "$@" || fail "no Operational event with $1" "$(tail -n 5 "$(logs_file operational)")"; }
# actor EV LABEL: the event names the CLI process that made the change.
actor() {
  assert_eq "$(jq -r '[.pid, .process, .uid] | join(" ")' <<<"$1")" "$(cat "$pf") $ztdns_bin 0" \
    "$2: by the ztdns process that asked (pid $(cat "$pf"), $ztdns_bin, uid 0)"
  assert_match "$(jq -r .time <<<"$1")" "$LOGS_TIME_RE" "$2: time format"
}

step "START with status"
ev=$(op '.eventId == 7')
version=$("${ZTDNSD:-$(_lab_bin ztdnsd apps/ztdnsd/ztdnsd)}" --version | awk '{print $2; exit}')
assert_eq "$(jq -r '[.action, .status, .version, .enabled, .audit] | join(" ")' <<<"$ev")" "START ok $version true false" \
  "START: status ok, version $version, enabled, not audit"
assert_eq "$(jq -r .message <<<"$ev")" "START - ZTDNS service with status ok" "START message"
ev=$(op '.eventId == 107')
assert_eq "$(jq -r '[.action, .mode] | join(" ")' <<<"$ev")" "ATTRIBUTION kernel" "ATTRIBUTION: processes are named by the kernel (BPF)"

step "state changes name the process that made them"
cli set state enable=yes audit=yes >/dev/null
ev=$(op '.eventId == 6 and .audit == true')
assert_eq "$(jq -r '[.action, .enabled, .audit, .state] | join(" ")' <<<"$ev")" "UPDATE true true enabled (audit)" "UPDATE - State to audit"
actor "$ev" "state -> audit"
cli set state enable=yes audit=no >/dev/null
ev=$(op '.eventId == 6 and .audit == false')
assert_contains "$(jq -r .message <<<"$ev")" "UPDATE - State to enabled (enforcing) by process ($(cat "$pf")) $ztdns_bin" "UPDATE - State to enforcing, in Windows' wording"
actor "$ev" "state -> enforcing"

step "server list updates"
cli add server type=dot address="$LAB_WRONGNAME_4" hostname="$LAB_WRONGNAME_NAME" priority=1 name=wrongname >/dev/null
ev=$(op '.eventId == 3 and (.servers | any(startswith("wrongname ")))')
assert_eq "$(jq -r '.action' <<<"$ev")" UPDATE "UPDATE - Trusted servers"
assert_eq "$(jq -r '.servers | join(" | ")' <<<"$ev")" \
  "pdns1 $LAB_PDNS1_4 DoT:853 priority 5 | pdns2 $LAB_PDNS2_4 DoT:853 priority 6 | wrongname $LAB_WRONGNAME_4 DoT:853 priority 1" \
  "servers[] is the new list"
actor "$ev" "add server"

step "upstream health: down with the TLS error in words"
# wrongname (priority 1) is tried first: its certificate names another host.
assert_eq "$(lab_client dig +short +tries=1 +timeout=8 "$LAB_ALIAS_NAME" A | tail -n 1)" "$LAB_WEB4" \
  "a query is answered (the next server takes over)"
ev=$(op '.eventId == 101 and .server == "wrongname"')
assert_eq "$(jq -r '[.action, .state] | join(" ")' <<<"$ev")" "HEALTH down" "HEALTH: wrongname is down"
assert_match "$(jq -r .error <<<"$ev")" "[Cc]ertificate|[Hh]ostname|name" "... error in words: $(jq -r .error <<<"$ev")"
cli delete server address="$LAB_WRONGNAME_4" >/dev/null
ev=$(op '.eventId == 3 and (.servers | length) == 2')
assert_eq "$(jq -r '.servers | map(split(" ")[0]) | join(" ")' <<<"$ev")" "pdns1 pdns2" "delete server: UPDATE - Trusted servers without wrongname"
actor "$ev" "delete server"

step "upstream health: down (connect refused), then up again"
lab_pdns_stop pdns1
assert_eq "$(lab_client dig +short +tries=1 +timeout=8 "$LAB_TTL0_NAME" A | tail -n 1)" "$LAB_TTL0_4" \
  "a query is answered by pdns2 while pdns1 is down"
ev=$(op '.eventId == 101 and .server == "pdns1" and .state == "down"')
assert_match "$(jq -r .error <<<"$ev")" "[Rr]efused|connect" "pdns1 down, error in words: $(jq -r .error <<<"$ev")"
lab_pdns_start pdns1
ev=$(op '.eventId == 101 and .server == "pdns1" and .state == "up"')
assert_eq "$(jq -r '.error // "none"' <<<"$ev")" none "pdns1 up again (the probe found it), no error"
assert_contains "$(jq -r .message <<<"$ev")" "is up" "HEALTH message says up"

step "exception add and remove"
cli add exception name=relay description="media relay" subnets="$LAB_EXCEPTION4/32,$LAB_EXCEPTION6/128" >/dev/null
ev=$(op '.eventId == 5')
assert_eq "$(jq -r '[.action, .name, (.prefixes | join(","))] | join(" ")' <<<"$ev")" \
  "ADD relay $LAB_EXCEPTION4/32,$LAB_EXCEPTION6/128" "ADD - Exceptions relay with its prefixes"
actor "$ev" "add exception"
cli delete exception name=relay >/dev/null
ev=$(op '.eventId == 4')
assert_eq "$(jq -r '[.action, .name] | join(" ")' <<<"$ev")" "REMOVE relay" "REMOVE - Exceptions relay"
actor "$ev" "delete exception"

step "suppressed-event summaries (connectionEventsPerSecond = 5)"
# Two processes, three destinations, every attempt a new flow (its own destination port).
d1=$(lab_race_addr4 1) d2=$(lab_race_addr6 2) d3=$(lab_race_addr4 3)
sender='import socket, sys
for a in sys.argv[2:]:
    s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
    for p in range(20000, 20000 + int(sys.argv[1])):
        try: s.sendto(b"x", (a, p))
        except OSError: pass'
logs_client "$LAB_DIR/py.pid" "$LOGS_PY" -c "$sender" 40 "$d1" "$d2"
logs_client "$LAB_DIR/perl.pid" perl -MIO::Socket::INET -e \
  'for my $p (30000 .. 30029) { my $s = IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $p, Proto => "udp") or next; $s->send("x"); }' "$d3"
py=$LOGS_PY_EXE pl=$(logs_exe perl)
# sent: (process, destination) -> attempts
declare -A sent=(["$py $d1"]=40 ["$py $d2"]=40 ["$pl $d3"]=30)
# The summary comes within the 10 s summary interval.
for key in "${!sent[@]}"; do
  exe=${key% *} dst=${key##* }
  ev=$(op '.eventId == 103 and .process == $e and .dst == $d' --arg e "$exe" --arg d "$dst")
  n_sum=$(logs_select operational '.eventId == 103 and .process == $e and .dst == $d' --arg e "$exe" --arg d "$dst" | jq -s 'map(.count) | add')
  n_ev=$(logs_count blocked '.process == $e and .dst == $d' --arg e "$exe" --arg d "$dst")
  assert_eq "$((n_sum + n_ev))" "${sent[$key]}" "$exe -> $dst: $n_ev events + $n_sum summarised = ${sent[$key]} attempts (none dropped silently)"
  assert_lt "$n_ev" "${sent[$key]}" "... the rate limit held some back"
  assert_eq "$(jq -r '[.action, .channel, .connectionAction, .protocol] | join(" ")' <<<"$ev")" "SUPPRESSED BlockedConnections BLOCK udp" \
    "... SUPPRESSED row: channel, action, protocol"
  assert_match "$(jq -r .message <<<"$ev")" "^SUPPRESSED - [0-9]+ similar events suppressed in BlockedConnections: BLOCK $exe -> $dst" "... message"
  assert_match "$(jq -r '[.firstTime, .lastTime] | join(" ")' <<<"$ev")" "^[0-9T:.-]+Z [0-9T:.-]+Z$" "... firstTime and lastTime"
  assert_le "$(jq '.dstPorts | length' <<<"$ev")" 8 "... at most 8 dstPorts listed"
done
stats=$(lab_ztdns show stats json)
assert_le 110 "$(jq '.connections.blocked + .connections.suppressed' <<<"$stats")" \
  "show stats counts blocked + suppressed: $(jq -c .connections <<<"$stats")"

step "STOP with status"
lab_ztdnsd_stop
last=$(tail -n 1 "$(logs_file operational)")
assert_eq "$(jq -r '[.eventId, .action, .status] | join(" ")' <<<"$last")" "8 STOP ok" "the last Operational line is STOP with status ok"
assert_eq "$(jq -r .message <<<"$last")" "STOP - ZTDNS service with status ok" "STOP message"

step "a start that fails says why in STOP"
# Something else holds the stub's address: the daemon cannot listen and stops.
logs_client "$LAB_DIR/holder.pid" "$LOGS_PY" -c 'import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 53))
t = socket.socket(); t.bind(("127.0.0.1", 53)); t.listen()
time.sleep(60)' 2>/dev/null &
disown $!
wait_for 10 test -s "$LAB_DIR/holder.pid" || fail "the port holder did not start"
bound() { [[ -n $(lab_client ss -Hltn 'sport = 53') ]]; }
wait_for 10 bound || fail "the port holder did not bind"
stops_before=$(logs_count operational '.eventId == 8')
if LAB_ZTDNSD_START_TIMEOUT=10 logs_ztdnsd_start "$conf" 2>/dev/null; then fail "ztdnsd started although 127.0.0.1:53 is taken"; fi
holder=$(cat "$LAB_DIR/holder.pid")
kill "$holder" 2>/dev/null || true
wait_for 10 bash -c "! kill -0 $holder 2>/dev/null" || fail "the port holder did not stop"
logs_wait_count operational 10 $((stops_before + 1)) '.eventId == 8' || fail "no STOP event for the failed start"
last=$(logs_select operational '.eventId == 8' | tail -n 1)
assert_ne "$(jq -r .status <<<"$last")" ok "STOP after a failed start: status is not ok"
assert_contains "$(jq -r .status <<<"$last")" "127.0.0.1" "... and names what failed: $(jq -r .status <<<"$last")"
logs_ztdnsd_start "$conf"
assert_eq "$(tail -n 5 "$(logs_file operational)" | jq -r 'select(.eventId == 7) | .status' | tail -n 1)" ok "a good start: START ok again"
assert_eq "$(logs_malformed operational)" 0 "every Operational line is a JSON object"

finish
