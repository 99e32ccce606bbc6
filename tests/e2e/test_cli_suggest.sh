#!/usr/bin/env bash
# ztdns suggest exceptions on a generated workload with known processes and destinations:
# curl to four neighbouring web addresses (IPv4 and IPv6), socat UDP to STUN and high ports,
# ping (IPv4, and IPv6 to the router's link-local address), kdig to the rogue resolver, all
# in audit mode; then two blocks of curl to a private range while enforcing. The proposals must be exactly
# the expected ones: grouping by process and kind of destination, prefixes merged to the
# narrowest exact cover, counts, ports and flags, min=, v4prefix=, file=, and ready-to-run
# `ztdns add exception` lines. One printed line is then run and the exception works.
#
# The private destinations (10.20.30.40/31) are never tried (LAB.md: the lab's only targets
# are documentation addresses): their two enforce-mode blocks are written into
# BlockedConnections.jsonl as ztdnsd writes a block, made from a real curl event of the run.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/cli.sh"
require_lab

lab_up
mkdir -p "$LAB_DIR/etc"
conf=$LAB_DIR/etc/ztdns.json
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh enabled=false auditModeEnabled=true
lab_ztdnsd_start "$conf"
curl_bin=$(readlink -f "$(command -v curl)")
socat_bin=$(readlink -f "$(command -v socat)")
ping_bin=$(readlink -f "$(command -v ping)")
kdig_bin=$(readlink -f "$(command -v kdig)")
router_ll=$(lab_net ip -6 -o addr show dev "$LAB_NET_IF" scope link | awk '{print $4}' | cut -d/ -f1)
[[ -n $router_ll ]] || fail "the router has no link-local address on $LAB_NET_IF"
events() { lab_ztdns log show blocked json 2>/dev/null | wc -l; }
at_least() { (($(events) >= $1)); }

step "the audit workload (nothing resolved, so every connection is a would-be block)"
# An accepted first packet that waits for neighbour resolution leaves from a softirq and is
# logged with an unknown process (docs/logging.md, limits). Let the kernel know the router's
# addresses first, as any host that talks to its gateway does, while ZTDNS is still off.
for r in "$LAB_ROUTER4" "$LAB_ROUTER6" "$router_ll%$LAB_CLIENT_IF"; do lab_client ping -n -q -c 1 -W 2 "$r" >/dev/null; done
assert_cli 0 "set state enable=yes (the file's audit flag: audit mode)" set state enable=yes
assert_contains "$CLI_OUT" "audit mode" "... audit mode"
c4=(203.0.113.80 203.0.113.80 203.0.113.81 203.0.113.82 203.0.113.83)  # .80 twice
for a in "${c4[@]}"; do lab_client curl -sS --max-time 3 -o /dev/null "http://$a/"; done
for a in 2001:db8:80::80 2001:db8:80::81; do lab_client curl -sS --max-time 3 -o /dev/null "http://[$a]/"; done
echo x | lab_client socat -u - "UDP4-SENDTO:$LAB_EXCEPTION4:3478"
echo x | lab_client socat -u - "UDP4-SENDTO:$LAB_EXCEPTION4:50000"
echo x | lab_client socat -u - "UDP6-SENDTO:[$LAB_EXCEPTION6]:50001"
lab_client ping -n -q -c 1 -W 2 "$LAB_ROGUE4" >/dev/null
lab_client ping -n -q -c 1 -W 2 "$router_ll%$LAB_CLIENT_IF" >/dev/null
lab_client kdig @"$LAB_ROGUE4" +timeout=2 +retry=0 +short "$LAB_WEB_NAME" >/dev/null
assert_eventually 10 "13 audit events are logged" at_least 13
assert_cli 0 "set state enable=yes audit=no" set state enable=yes audit=no
template=$(jq -c 'select(.dst == "203.0.113.81")' "$LAB_ZTDNSD_LOG_DIR/BlockedConnections.jsonl" | head -n 1)
[[ -n $template ]] || fail "no curl event to 203.0.113.81 to model the private blocks on"
k=0
for a in 10.20.30.40 10.20.30.41; do
  k=$((k + 1))
  jq -c --arg d "$a" --arg t "$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)" --argjson k "$k" '
    .time = $t | .action = "BLOCK" | del(.audit) | .dst = $d | .srcPort += $k
    | .message = "BLOCK - Connection [\(.src)]:\(.srcPort) -> [\(.dst)]:\(.dstPort) \(.protocol) by process (\(.pid)) \(.process) from unit \(.unit)"' \
    <<<"$template" >>"$LAB_ZTDNSD_LOG_DIR/BlockedConnections.jsonl"
done
assert_eventually 10 "15 events in all" at_least 15
assert_eq "$(events)" 15 "... and no more"
assert_eq "$(lab_ztdns log show blocked json | jq -rs 'group_by(.action) | map("\(.[0].action)=\(length)") | join(" ")')" "AUDIT=13 BLOCK=2" "... 13 audit, 2 blocked"
assert_eq "$(lab_ztdns log show blocked json | jq -r 'select(.process == null or .process == "" or .process == "unknown") | .dst')" "" "... every event names its process"

step "suggest exceptions json: exactly the expected proposals"
assert_cli 0 "suggest exceptions since=1h json" suggest exceptions since=1h json
J=$CLI_OUT
assert_eq "$(jq -r '[.eventsSeen, .alreadyExcepted, .belowMin, .unspecified, (.proposals | length)] | @tsv' <<<"$J")" \
  "$(printf '15\t0\t0\t0\t6')" "15 events seen, none left out, 6 proposals"
# name | process | kind | events audit blocked addresses | prefixes(events) | ports(events) | flags
summary() {
  jq -r '.proposals[] | [.name, .process, .kind,
    "\(.events) \(.auditEvents) \(.blockEvents) \(.addresses)",
    (.prefixes | map("\(.prefix)(\(.events))") | join(",")),
    (.ports | map((if .protocol == "icmp" or .protocol == "icmpv6" then .protocol
                   elif .first == .last then "\(.protocol)/\(.first)"
                   else "\(.protocol)/\(.first)-\(.last)" end) + "(\(.events))") | join(",")),
    (.flags | join(","))] | join(" | ")' <<<"$1"
}
expected="curl | $curl_bin | public | 7 7 0 6 | 203.0.113.80/30(5),2001:db8:80::80/127(2) | tcp/80(7) | 
socat | $socat_bin | public | 3 3 0 2 | $LAB_EXCEPTION4/32(2),$LAB_EXCEPTION6/128(1) | udp/50000-50001(2),udp/3478(1) | stun-turn,webrtc-udp
curl-private | $curl_bin | private | 2 0 2 2 | 10.20.30.40/31(2) | tcp/80(2) | private
kdig | $kdig_bin | public | 1 1 0 1 | $LAB_ROGUE4/32(1) | udp/53(1) | plaintext-dns
ping | $ping_bin | public | 1 1 0 1 | $LAB_ROGUE4/32(1) | icmp(1) | icmp
ping-link-local | $ping_bin | link-local | 1 1 0 1 | $router_ll/128(1) | icmpv6(1) | link-local,icmp"
assert_eq "$(summary "$J")" "$expected" "the proposals: grouping, exact prefixes, counts, ports and flags, in order"
assert_eq "$(jq -r '[.proposals[] | (.first != null and .last != null and .first <= .last)] | all' <<<"$J")" true "... each with its first and last time"
assert_eq "$(jq -r '[.proposals[] | (.notes | length) == (.flags | length)] | all' <<<"$J")" true "... and a note in words for every flag"
# The ready-to-run lines: name, a description that says where it came from, the prefixes.
while IFS=$'\t' read -r n p ev ports first last subnets cmd; do
  assert_eq "$cmd" "ztdns add exception name=$n description=\"suggested by ztdns for $p: $ev blocked connection$([[ $ev == 1 ]] || echo s) ($ports) $first to $last\" subnets=$subnets" \
    "the command for $n"
done < <(jq -r '.proposals[] | [.name, .process, .events,
    (.ports | map(if .protocol == "icmp" or .protocol == "icmpv6" then .protocol
                  elif .first == .last then "\(.protocol)/\(.first)" else "\(.protocol)/\(.first)-\(.last)" end) | join(", ")),
    .first, .last, (.prefixes | map(.prefix) | join(",")), (.commands | join("\n"))] | @tsv' <<<"$J")

step "suggest exceptions (table): the same proposals for people"
assert_cli 0 "suggest exceptions since=1h" suggest exceptions since=1h
T=$CLI_OUT
assert_eq "$(head -1 <<<"$T")" "6 proposals from 15 blocked connections in the last 1h." "the headline"
assert_eq "$(grep -E '^[0-9]+\. ' <<<"$T" | tr '\n' ';')" \
  "1. curl  ($curl_bin);2. socat  ($socat_bin);3. curl-private  ($curl_bin);4. kdig  ($kdig_bin);5. ping  ($ping_bin);6. ping-link-local  ($ping_bin);" "the proposals in order, with their processes"
assert_contains "$T" "seen:      7 connections (7 audit, 0 blocked) to 6 addresses, public" "curl: the counts"
assert_contains "$T" "prefixes:  203.0.113.80/30 (5), 2001:db8:80::80/127 (2)" "curl: the prefixes"
assert_contains "$T" "ports:     tcp/80 (7)" "curl: the ports"
assert_contains "$T" "seen:      2 connections (0 audit, 2 blocked) to 2 addresses, private" "curl-private: enforce-mode blocks"
assert_match "$T" "flags: +private: private range: it means different hosts on every network" "curl-private: the private flag, in words"
assert_match "$T" "flags: +stun-turn: STUN/TURN" "socat: stun-turn"
assert_match "$T" "webrtc-udp: UDP to high ports: WebRTC-like media" "socat: webrtc-udp"
assert_match "$T" "flags: +plaintext-dns: plaintext DNS to a resolver other than the stub" "kdig: plaintext-dns"
assert_match "$T" "flags: +link-local: link-local" "ping-link-local: link-local"
assert_eq "$(grep -c '^   ztdns add exception ' <<<"$T")" 6 "one ready-to-run line per proposal"
assert_eq "$(grep '^   ztdns add exception ' <<<"$T" | sed 's/^   //')" "$(jq -r '.proposals[].commands[]' <<<"$J")" "... the same lines as in the json form"

step "min=, v4prefix=, file="
assert_cli 0 "suggest exceptions min=2 json" suggest exceptions min=2 json
assert_eq "$(jq -r '[.belowMin, (.proposals | length)] | @tsv' <<<"$CLI_OUT")" "$(printf '11\t2')" "min=2: 11 events to destinations a process reached once are left out"
assert_eq "$(summary "$CLI_OUT")" "curl | $curl_bin | public | 2 2 0 1 | 203.0.113.80/32(2) | tcp/80(2) | 
socat | $socat_bin | public | 2 2 0 1 | $LAB_EXCEPTION4/32(2) | udp/3478(1),udp/50000(1) | stun-turn,webrtc-udp" \
  "... leaving curl to 203.0.113.80 (twice) and socat to $LAB_EXCEPTION4 (two ports); counted per process"
assert_cli 0 "suggest exceptions min=2" suggest exceptions min=2
assert_contains "$(head -1 <<<"$CLI_OUT")" "(left out: 11 to destinations blocked fewer than min=2 times)" "... the headline says what was left out"
assert_cli 0 "suggest exceptions v4prefix=31 json" suggest exceptions v4prefix=31 json
assert_eq "$(jq -r '.proposals[0].prefixes | map(.prefix) | join(",")' <<<"$CLI_OUT")" "203.0.113.80/31,203.0.113.82/31,2001:db8:80::80/127" \
  "v4prefix=31: merging stops at /31"
cp "$LAB_ZTDNSD_LOG_DIR/BlockedConnections.jsonl" "$LAB_DIR/blocked-copy.jsonl"
assert_cli 0 "suggest exceptions file=COPY json" suggest exceptions file="$LAB_DIR/blocked-copy.jsonl" json
assert_eq "$(summary "$CLI_OUT")" "$expected" "file=: the same proposals from a copy of the channel file"
printf '%s\n' '{"time":"bad"}' 'cut by a cra' >>"$LAB_DIR/blocked-copy.jsonl"
assert_cli 0 "suggest exceptions file=COPY with two garbage lines" suggest exceptions file="$LAB_DIR/blocked-copy.jsonl" json
assert_eq "$(summary "$CLI_OUT")" "$expected" "... the same proposals"
assert_eq "$CLI_ERR" "note: 2 unreadable lines skipped (not connection events)" "... and a note counts the skipped lines"
assert_cli 1 "suggest exceptions file= that does not exist" suggest exceptions file="$LAB_DIR/nosuch.jsonl"
assert_eq "$CLI_ERR" "ztdns: file: cannot read $LAB_DIR/nosuch.jsonl: No such file or directory" "... says why"

step "run a printed line: the exception works"
assert_eq "$(lab_client curl -sS --max-time 3 -o /dev/null -w '%{http_code}' "http://$LAB_IPONLY4/" 2>/dev/null || true)" 000 \
  "before: $LAB_IPONLY4 is refused (enforcing, never resolved)"
cmd=$(jq -r '.proposals[0].commands[0]' <<<"$J")
cli_ops_mark
# the line as printed, run by a shell, with ztdns pointing at the lab daemon
assert_ok "the printed line runs" ip netns exec "$LAB_CLIENT_NS" env ZTDNS_SOCKET="$LAB_ZTDNSD_RUN_DIR/control.sock" \
  PATH="$(dirname "${ZTDNS:-$(_lab_bin ztdns apps/ztdns/ztdns)}"):$PATH" bash -c "$cmd"
assert_eq "$ASSERT_OUT" "Added exception curl with 2 prefixes." "... and adds the exception"
assert_cli 0 "show exception name=curl json" show exception name=curl json
assert_eq "$(cli_json '.exceptions[0] | [(.description | startswith("suggested by ztdns for '"$curl_bin"': 7 blocked connections (tcp/80)")), (.subnets | join(","))] | @tsv')" \
  "$(printf 'true\t203.0.113.80/30,2001:db8:80::80/127')" "... with the description and prefixes of the proposal"
assert_ops "... Operational: exception added" 'curl'
for a in 203.0.113.80 203.0.113.81 203.0.113.82 203.0.113.83; do
  assert_eq "$(lab_client curl -sS --max-time 3 "http://$a/")" "$a" "curl to $a works now, without DNS"
done
assert_eq "$(lab_client curl -sS --max-time 3 "http://[2001:db8:80::81]/")" "2001:db8:80::81" "... and to 2001:db8:80::81"
assert_eq "$(lab_client curl -sS --max-time 3 -o /dev/null -w '%{http_code}' "http://203.0.113.84/" 2>/dev/null || true)" 000 \
  "... but not to 203.0.113.84, just outside the proposed prefix"
# 15 + the refused $LAB_IPONLY4 before the exception + the refused 203.0.113.84 after it
assert_eventually 10 "the two refused connections are logged" at_least 17
assert_cli 0 "suggest exceptions since=1h json, after the exception" suggest exceptions since=1h json
assert_eq "$(jq -r '[.eventsSeen, .alreadyExcepted, (.proposals | map(.name) | join(","))] | @tsv' <<<"$CLI_OUT")" \
  "$(printf '17\t8\tsocat,curl-private,curl-2,kdig,ping,ping-link-local')" \
  "the excepted destinations are left out and counted (7, and the refused $LAB_IPONLY4); 203.0.113.84 is a new proposal, named curl-2 (curl is taken)"
assert_eq "$(jq -r '.proposals[] | select(.name == "curl-2") | [(.prefixes | map(.prefix) | join(",")), .blockEvents] | @tsv' <<<"$CLI_OUT")" \
  "$(printf '203.0.113.84/32\t1')" "... for 203.0.113.84 alone"

finish
