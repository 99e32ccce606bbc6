#!/usr/bin/env bash
# Server health tells the truth (ztdns show server / show state). A server is "unknown"
# until ztdnsd has exchanged something with it; ztdnsd checks every server itself, in the
# background, at start and after every reconfiguration, with the same TLS identity checks
# as queries, without waiting for a client query. So a new server whose certificate names
# another host (wrongname) or comes from an untrusted CA (untrusted) is down with the TLS
# error within seconds, a good one is up with an RTT, trusting the CA brings it up, a
# server that never answers is unknown and then down, and `show state` counts only servers
# known to be up ("N of M (K not checked yet)" before the checks). A recovered server
# shows no old error (the JSON keeps it as lastFailure/lastFailureAt). The Operational log
# gets real changes only: no "up" for a server that never was down, no second "down" for
# the same reason after a reconfiguration. Queries still fail over in priority order.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/resolver.sh"
. "$here/lib/cli.sh"
require_lab

lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot:10 --server pdns2:doh:20 enabled=true auditModeEnabled=false

queries() { lab_ztdns show stats json | jq -r '.queries.total'; }  # client queries the stub got
row() { lab_ztdns show server | grep -E "^$1 " || true; }           # NAME: its table row(s)
row_matches() { [[ $(row "$1") =~ $2 ]]; }                          # NAME ERE
state_says() { [[ $(lab_ztdns show state) =~ $1 ]]; }               # ERE
# tjson NAME FILTER: jq FILTER on the first transport of server NAME in `show server json`
tjson() { lab_ztdns show server json | jq -r --arg n "$1" ".servers[] | select(.name == \$n) | .transports[0] | $2"; }
rfc3339='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$'
pdns2_doh="https://$LAB_PDNS2_NAME/dns-query"
untrusted_doh="https://$LAB_UNTRUSTED_NAME/dns-query"

step "start: every server is checked without any client query"
t0=$(now_us)
lab_ztdnsd_start "$conf"
assert_eventually 5 "pdns1 (DoT) is up with an RTT and no error" \
  row_matches pdns1 "^pdns1 +DoT +$LAB_PDNS1_4 +853 +10 +up +[0-9.]+ ms +$LAB_PDNS1_NAME\$"
assert_eventually 5 "pdns2 (DoH) is up with an RTT and no error" \
  row_matches pdns2 "^pdns2 +DoH +$LAB_PDNS2_4 +443 +20 +up +[0-9.]+ ms +$pdns2_doh\$"
note "both up $(elapsed_ms "$t0") ms after the start was asked for"
assert_eq "$(queries)" 0 "no client query was needed: the stub has answered nothing yet"
assert_le 1 "$(pdns_count pdns1 . NS)" "pdns1's query log has ztdnsd's own check (. NS)"
assert_eventually 5 "show state: 2 of 2 healthy, none left unchecked" state_says "Servers healthy: +2 of 2"$'\n'
assert_eq "$(lab_ztdns show state json | jq -r '[.serversHealthy, .serversTotal, .serversUnknown] | @tsv')" \
  "$(printf '2\t2\t0')" "... the same as JSON"
assert_eq "$(health_events pdns1)$(health_events pdns2)" "" "no HEALTH event: neither was ever down"

step "a new server whose certificate names another host: down within seconds, without a query"
t0=$(now_us)
assert_cli 0 "add server wrongname (DoT, priority 1)" \
  add server type=dot address="$LAB_WRONGNAME_4" hostname="$LAB_WRONGNAME_NAME" priority=1 name=wrongname
first=$(tjson wrongname .health)
assert_ne "$first" up "right after the add, wrongname is not up ($first, $(elapsed_ms "$t0") ms after the add began)"
assert_eventually 5 "wrongname turns down with the TLS error" \
  row_matches wrongname "^wrongname +DoT +$LAB_WRONGNAME_4 +853 +1 +down +- +$LAB_WRONGNAME_NAME +TLS: hostname mismatch\$"
note "down $(elapsed_ms "$t0") ms after the add began"
assert_eq "$(tjson wrongname '[.health, .healthy, .lastError, .lastFailure] | @tsv')" \
  "$(printf 'down\tfalse\tTLS: hostname mismatch\tTLS: hostname mismatch')" "... the same as JSON"
assert_match "$(tjson wrongname .lastFailureAt)" "$rfc3339" "... lastFailureAt is an RFC 3339 time"
assert_eq "$(queries)" 0 "still no client query"
assert_eq "$(health_events wrongname)" "down:TLS: hostname mismatch" "the Operational log: wrongname down, with the words"
assert_eventually 5 "pdns1 and pdns2, checked again after the reconfiguration, are up" \
  state_says "Servers healthy: +2 of 3"$'\n'
assert_eq "$(health_events pdns1)$(health_events pdns2)" "" "... and logged nothing (still up is no change)"
assert_eq "$(stub_kdig +short id.test TXT | tr -d '"')" pdns1 "a client query skips the down wrongname (priority 1) for pdns1"

step "a new server from an untrusted CA: down; trusting its CA brings it up"
assert_cli 0 "add server untrusted (DoH, priority 30)" \
  add server type=doh address="$LAB_UNTRUSTED_4" template="$untrusted_doh" priority=30 name=untrusted
assert_eventually 5 "untrusted turns down: its certificate does not verify" \
  row_matches untrusted "^untrusted +DoH +$LAB_UNTRUSTED_4 +443 +30 +down +- +$untrusted_doh +TLS: certificate verify failed: "
why=$(tjson untrusted .lastError)
note "untrusted: $why"
assert_eq "$(health_events wrongname | wc -l)" 1 "wrongname, checked again and down for the same reason, is not logged again"
assert_cli 0 "add trustedca (the CA of untrusted)" add trustedca file="$LAB_UNTRUSTED_CA"
assert_eventually 5 "untrusted turns up with an RTT, and its old error is gone" \
  row_matches untrusted "^untrusted +DoH +$LAB_UNTRUSTED_4 +443 +30 +up +[0-9.]+ ms +$untrusted_doh\$"
assert_eq "$(tjson untrusted '[.health, .lastError, .lastFailure] | @tsv')" "$(printf 'up\t\t%s' "$why")" \
  "... JSON: up, lastError empty, the old error kept as lastFailure"
assert_eq "$(health_events untrusted | cut -d: -f1 | tr '\n' ' ')" "down up " \
  "the Operational log: untrusted down, then up (down before the reconfiguration: a real change)"
assert_eq "$(queries)" 1 "no client query but the one above"

step "a server that never answers: unknown first, then down; never counted healthy"
lab_pdns_drop pdns2
t0=$(now_us)
assert_cli 0 "delete server wrongname (a reconfiguration: every server is checked again)" \
  delete server address="$LAB_WRONGNAME_4"
state=$(lab_ztdns show state)
h=$(tjson pdns2 .health)
took=$(elapsed_ms "$t0")
note "right after: pdns2 $h, $(grep 'Servers healthy' <<<"$state") ($took ms after the delete began)"
assert_ne "$h" up "pdns2 (dropped) is not up"
assert_match "$state" "Servers healthy: +[0-2] of 3" "show state does not count pdns2 as healthy"
if ((took < 800)); then
  # Its check cannot have ended yet: the connect timeout is 1 s.
  assert_eq "$h" unknown "pdns2 is unknown: its check has not finished"
  assert_match "$state" "Servers healthy: +[0-2] of 3 \([1-3] not checked yet\)" "show state says how many are not checked yet"
else
  note "too slow to see the unknown state here ($took ms); tests/unit/upstream/pool_test.cc covers it"
fi
assert_eventually 5 "pdns2 turns down: connect timeout" \
  row_matches pdns2 "^pdns2 +DoH +$LAB_PDNS2_4 +443 +20 +down +- +$pdns2_doh +connect: timeout\$"
assert_eventually 5 "show state: 2 of 3, all checked" state_says "Servers healthy: +2 of 3"$'\n'
assert_eq "$(health_events pdns2)" "down:connect: timeout" "the Operational log: pdns2 down (news from a first check)"

step "recovery: up again, and the old error is gone"
lab_pdns_undrop pdns2
assert_eventually 10 "pdns2 is up again (the background probe found it), no error" \
  row_matches pdns2 "^pdns2 +DoH +$LAB_PDNS2_4 +443 +20 +up +[0-9.]+ ms +$pdns2_doh\$"
assert_eq "$(tjson pdns2 '[.health, .lastError, .lastFailure] | @tsv')" "$(printf 'up\t\tconnect: timeout')" \
  "... JSON: lastError empty, lastFailure kept"
assert_match "$(tjson pdns2 .lastFailureAt)" "$rfc3339" "... with its time"
assert_eq "$(health_events pdns2 | cut -d: -f1 | tr '\n' ' ')" "down up " "the Operational log: pdns2 down, then up"
assert_eq "$(queries)" 1 "all of it without another client query"

step "a stopped server found by a query, then back: no old error next to up"
lab_pdns_stop pdns1
assert_eq "$(stub_kdig +short id.test TXT | tr -d '"')" pdns2 "with pdns1 stopped, a client query fails over to pdns2"
assert_eventually 5 "pdns1 is down with the error" \
  row_matches pdns1 "^pdns1 +DoT +$LAB_PDNS1_4 +853 +10 +down .*connect: connection refused\$"
lab_pdns_start pdns1
assert_eventually 10 "pdns1 is up again (the background probe found it)" \
  row_matches pdns1 "^pdns1 +DoT +$LAB_PDNS1_4 +853 +10 +up +[0-9.]+ ms +$LAB_PDNS1_NAME\$"
assert_not_contains "$(row pdns1)" "refused" "... and its row does not carry the old error"
assert_eq "$(tjson pdns1 '[.lastError, .lastFailure] | @tsv')" "$(printf '\tconnect: connection refused')" \
  "... JSON: lastError empty, lastFailure kept"
assert_eq "$(health_events pdns1 | tr '\n' ' ')" "down:connect: connection refused up " "the Operational log: pdns1 down, then up"
assert_eq "$(stub_kdig +short id.test TXT | tr -d '"')" pdns1 "pdns1 answers again (failback)"
assert_eventually 5 "show state: 3 of 3" state_says "Servers healthy: +3 of 3"$'\n'
assert_daemon_alive
step "a server that answers, but nothing usable (malformed answers): down, not up beside an error"
healthy_before=$(lab_ztdns show state json | jq -r .serversHealthy)
assert_cli 0 "add server malformed (DoT, priority 2)" \
  add server type=dot address="$LAB_MALFORMED_4" hostname="$LAB_MALFORMED_NAME" priority=2 name=malformed
stub_kdig +short +retry=0 +timeout=3 www.allowed.test A >/dev/null || true  # its queries fail too
assert_eventually 5 "malformed is down with the answer's fault in words" \
  row_matches malformed "^malformed +DoT +$LAB_MALFORMED_4 +853 +2 +down +- +$LAB_MALFORMED_NAME +DoT: .+\$"
_healthy_as_before() { [[ $(lab_ztdns show state json | jq -r '[.serversHealthy, .serversTotal] | @tsv') == "$healthy_before"$'\t'"$((healthy_before + 1))" ]]; }
assert_eventually 5 "... and show state counts $healthy_before of $((healthy_before + 1)) healthy: not it" _healthy_as_before
assert_match "$(health_events malformed)" "^down:DoT: " "the Operational log: malformed down, with the words"
assert_eq "$(stub_kdig +short www.allowed.test A)" "$LAB_WEB4" "queries are answered past it"
assert_cli 0 "delete server malformed" delete server address="$LAB_MALFORMED_4"

finish
