#!/usr/bin/env bash
# Truncation through the real ztdnsd (issue 4, "Truncation"): many.allowed.test (40 A +
# 40 AAAA, about 700 bytes) asked over UDP without EDNS (512 bytes) comes back with TC
# set; the TCP retry gets the whole answer; and every one of the 40 addresses is in the
# allow set before either is sent: a client connects to all 40 the moment the TC answer
# arrives, and each connects on its first SYN. A client EDNS buffer below the answer size
# truncates too, one above it does not.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/resolver.sh"
require_lab

lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh enabled=true auditModeEnabled=false
lab_ztdnsd_start "$conf"
many4=() many6=()
for ((i = 1; i <= LAB_MANY_COUNT; i++)); do many4+=("$(lab_many_addr4 "$i")") many6+=("$(lab_many_addr6 "$i")"); done
lab_count_add many_syn4 ip daddr "$(lab_many_addr4 1)-$(lab_many_addr4 "$LAB_MANY_COUNT")" tcp dport 80 tcp flags '&' '(syn|ack)' == syn
lab_count_add many_syn6 ip6 daddr "$(lab_many_addr6 1)-$(lab_many_addr6 "$LAB_MANY_COUNT")" tcp dport 80 tcp flags '&' '(syn|ack)' == syn

for fam in 4 6; do
  if [[ $fam == 4 ]]; then type=A addrs=("${many4[@]}") set=allow4; else type=AAAA addrs=("${many6[@]}") set=allow6; fi
  step "$LAB_MANY_NAME $type over UDP without EDNS: TC, and all $LAB_MANY_COUNT addresses allowed before it is sent"
  assert_eq "$(allow_size "$fam")" 0 "$set is empty before the query"
  lab_count_reset
  syn_before=$(lab_client nstat -saz TcpExtTCPSynRetrans | awk '/TcpExtTCPSynRetrans/ {print $2}')
  out=$(dns_client tcconnect "$LAB_MANY_NAME" "$type" "${addrs[@]}")
  note "$out"
  assert_eq "$(jq_py 'd["tc"]' <<<"$out")" true "the UDP answer has TC set"
  assert_eq "$(jq_py 'd["rcode"]' <<<"$out")" NOERROR "... with NOERROR"
  assert_le "$(jq_py 'd["size"]' <<<"$out")" 512 "... and fits in 512 bytes"
  assert_eq "$(jq_py 'd["opt"]' <<<"$out")" None "... and no OPT record (the client sent none)"
  assert_eq "$(jq_py 'd["connected"]' <<<"$out")" "$LAB_MANY_COUNT" \
    "connections to all $LAB_MANY_COUNT addresses, opened the moment the TC answer came, succeeded ($(jq_py 'd["failed"]' <<<"$out"))"
  assert_eq "$(lab_count "many_syn$fam")" "$LAB_MANY_COUNT" "exactly $LAB_MANY_COUNT SYNs left the client: one per connection"
  syn_after=$(lab_client nstat -saz TcpExtTCPSynRetrans | awk '/TcpExtTCPSynRetrans/ {print $2}')
  assert_eq "$((syn_after - syn_before))" 0 "no SYN was retransmitted (TcpExtTCPSynRetrans)"
  assert_eq "$(allow_size "$fam")" "$LAB_MANY_COUNT" "$set holds the $LAB_MANY_COUNT addresses"

  step "$LAB_MANY_NAME $type: the TCP retry gets the whole answer"
  out=$(dns_client query "$LAB_MANY_NAME" "$type" --tcp --noedns)
  assert_eq "$(jq_py 'd["tc"]' <<<"$out")" false "TC clear over TCP"
  assert_eq "$(python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(json.dumps(sorted(d["addresses"]) == sorted(sys.argv[2:])))' "$out" "${addrs[@]}")" \
    true "all $LAB_MANY_COUNT addresses, the same as the allow set's"
  for a in "${addrs[@]}"; do
    allow_has "$a" || fail "$a is in $set" "$(allow_dump)"
  done
  pass "every address of the TCP answer is in $set"
done

step "real clients: kdig and dig retry over TCP on their own"
out=$(stub_kdig +noedns "$LAB_MANY_NAME" A 2>&1)
assert_contains "$out" "truncated reply from 127.0.0.1@53(UDP), retrying over TCP" "kdig +noedns sees TC and retries over TCP"
assert_eq "$(grep -c -E $'^many\\.allowed\\.test\\.[ \t]+[0-9]+[ \t]+IN[ \t]+A[ \t]' <<<"$out")" "$LAB_MANY_COUNT" "... and gets $LAB_MANY_COUNT A records"
out=$(lab_client dig @::1 +noedns +ignore +time=3 +tries=1 "$LAB_MANY_NAME" AAAA)
assert_match "$out" "flags: qr tc" "dig +noedns +ignore to ::1: TC set"
out=$(lab_client dig @::1 +noedns +time=3 +tries=1 +short "$LAB_MANY_NAME" AAAA)
assert_eq "$(wc -l <<<"$out")" "$LAB_MANY_COUNT" "dig +noedns to ::1 (retries over TCP): $LAB_MANY_COUNT AAAA"

step "the client's EDNS buffer decides"
out=$(dns_client query "$LAB_MANY_NAME" A --edns 512)
assert_eq "$(jq_py 'd["tc"]' <<<"$out")" true "EDNS buffer 512: TC"
assert_ne "$(jq_py 'd["opt"]' <<<"$out")" None "... with an OPT record (the client sent one)"
out=$(dns_client query "$LAB_MANY_NAME" A --edns 1232)
assert_eq "$(jq_py 'd["tc"]' <<<"$out")" false "EDNS buffer 1232: no TC"
assert_eq "$(jq_py 'len(d["addresses"])' <<<"$out")" "$LAB_MANY_COUNT" "... and the whole answer over UDP ($(jq_py 'd["size"]' <<<"$out") bytes)"
assert_eq "$(($(pdns_count pdns1 "$LAB_MANY_NAME" A) + $(pdns_count pdns2 "$LAB_MANY_NAME" A)))" 1 \
  "one upstream query for $LAB_MANY_NAME A: the rest came from the cache"
assert_daemon_alive
finish
