#!/usr/bin/env bash
# Upstream connections through the real ztdnsd (issue 4, "Upstreams"): many client
# queries share one DoT and one DoH connection (SYNs counted where they leave the
# client), and a server's idle close (unbound's tcp-idle-timeout, set to 1.5 s here) is
# handled: the next queries are answered on a new connection, without a SERVFAIL and
# without marking the server down.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/resolver.sh"
require_lab

export LAB_PDNS_TCP_IDLE_MS=1500  # read by lab_up
lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh:2:6 enabled=true auditModeEnabled=false
lab_ztdnsd_start "$conf"
lab_count_add syn_dot ip daddr "$LAB_PDNS1_4" tcp dport "$LAB_DOT_PORT" tcp flags '&' '(syn|ack)' == syn
lab_count_add syn_doh ip6 daddr "$LAB_PDNS2_6" tcp dport "$LAB_DOH_PORT" tcp flags '&' '(syn|ack)' == syn
established() {  # ADDR PORT: ztdnsd's established connections to it
  lab_client ss -Htn state established dst "$1" dport = ":$2" | wc -l
}

step "30 queries over DoT share one connection"
lab_count_reset
names=()
for i in $(seq 1 30); do names+=("$(lab_race_name "$i")"); done
out=$(dns_client pipeline "${names[@]}")
assert_eq "$(jq_py 'd["received"]' <<<"$out")" 30 "30 answers"
assert_eq "$(jq_py 'sum(1 for a in d["answers"] if a["rcode"] == "NOERROR")' <<<"$out")" 30 "... all NOERROR"
assert_le "$(lab_count syn_dot)" 1 "at most one new connection to pdns1:853 (SYNs: $(lab_count syn_dot))"
assert_eq "$(established "$LAB_PDNS1_4" 853)" 1 "one established connection to pdns1:853"

step "the DoH server: 30 queries share one HTTP/2 connection"
lab_pdns_stop pdns1
lab_count_reset
names=()
for i in $(seq 31 60); do names+=("$(lab_race_name "$i"):AAAA"); done
out=$(dns_client pipeline "${names[@]}")
assert_eq "$(jq_py 'sum(1 for a in d["answers"] if a["rcode"] == "NOERROR")' <<<"$out")" 30 "30 NOERROR answers from pdns2"
# At most one: ztdnsd's start-up check of pdns2 may have opened it already.
assert_le "$(lab_count syn_doh)" 1 "at most one new connection to [$LAB_PDNS2_6]:443 (SYNs: $(lab_count syn_doh))"
lab_pdns_start pdns1
assert_eventually 10 "pdns1 is preferred again" eval '[[ $(stub_kdig +short id.test TXT) == "\"pdns1\"" ]]'

step "the server closes an idle connection: the next query opens a new one"
events=$(health_events pdns1 | wc -l)
for round in 1 2; do
  assert_eventually 10 "pdns1 closed the idle connection (round $round)" eval '(($(established "$LAB_PDNS1_4" 853) == 0))'
  lab_count_reset syn_dot
  read -r r t <<<"$(time_query_ms "$(lab_race_name $((60 + round)))" A)"
  assert_eq "$r" NOERROR "the next query is answered ($t ms)"
  assert_lt "$t" 1000 "... quickly"
  assert_eq "$(lab_count syn_dot)" 1 "... on a new connection"
done
assert_eq "$(health_events pdns1 | wc -l)" "$events" "no health change for pdns1: an idle close is not an outage"
assert_eq "$(lab_ztdns show stats | awk '/^servfail/ {s += $NF} END {print s}')" 0 "no SERVFAIL at all"
assert_daemon_alive
finish
