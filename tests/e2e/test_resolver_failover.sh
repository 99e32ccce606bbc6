#!/usr/bin/env bash
# Priority failover and failback through the real ztdnsd (issue 4, "Failover and
# failure"): the lower priority is used first (whatever the list order); when it is
# stopped (connections refused) or silently dropped (timeouts) the next server answers
# within 2 s and clients never see an error; the Operational log records each change;
# once the preferred server is back it is used again, with no restart.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/resolver.sh"
require_lab

lab_up
conf=$LAB_DIR/ztdns.json
# pdns2 first in the file but with the higher number: priority, not order, decides.
lab_config_write "$conf" --server pdns2:doh:20 --server pdns1:dot:10 enabled=true auditModeEnabled=false
lab_ztdnsd_start "$conf"
pid=$LAB_ZTDNSD_PID

answered_by() { stub_kdig +short id.test TXT 2>/dev/null | tr -d '"'; }  # id.test has TTL 0: never cached
is_answered_by() { [[ $(answered_by) == "$1" ]]; }
n=100
# fresh: sets NAME to a race name nobody has asked for yet (no cache anywhere on the way)
fresh() { n=$((n + 1)); NAME=$(lab_race_name "$n"); }
# check_failover WHO WHY: queries now come from WHO, quickly and without an error.
check_answers_from() {
  local who=$1 why=$2 i r t name
  for i in 1 2 3; do
    fresh
    name=$NAME
    read -r r t <<<"$(time_query_ms "$name" A)"
    assert_eq "$r" NOERROR "$why: $name resolves (query $i, $t ms)"
    assert_lt "$t" 2000 "... within 2 s"
  done
  assert_eq "$(answered_by)" "$who" "$why: id.test is answered by $who"
}

step "priority order: pdns1 (priority 10) before pdns2 (priority 20, listed first)"
assert_eq "$(answered_by)" pdns1 "id.test is answered by pdns1"
assert_eq "$(stub_kdig +short "$LAB_WEB_NAME" A)" "$LAB_WEB4" "www.allowed.test resolves"

step "pdns1 stopped (connections refused): failover to pdns2"
lab_pdns_stop pdns1
t0=$(now_us)
fresh
read -r r t <<<"$(time_query_ms "$NAME" A)"
assert_eq "$r" NOERROR "the first query after the stop is answered ($t ms)"
assert_lt "$t" 2000 "... within 2 s"
check_answers_from pdns2 "pdns1 refused"
assert_eventually 5 "the Operational log says pdns1 is down" eval '[[ $(health_events pdns1 | tail -1) == down:* ]]'
note "$(health_events pdns1 | tail -1)"
assert_contains "$(health_events pdns1 | tail -1)" "refused" "... because the connection was refused"
assert_match "$(lab_ztdns show server)" "pdns1 +DoT +$LAB_PDNS1_4 +853 +10 +down" "ztdns show server: pdns1 is down"

step "pdns1 back: failback without a restart"
lab_pdns_start pdns1
t0=$(now_us)
assert_eventually 10 "id.test is answered by pdns1 again" is_answered_by pdns1
note "failback $(elapsed_ms "$t0") ms after pdns1 came back (probe backoff: 0.5, 1, 2, 4 s)"
assert_eventually 5 "the Operational log says pdns1 is up" eval '[[ $(health_events pdns1 | tail -1) == up ]]'
check_answers_from pdns1 "pdns1 recovered"
assert_eq "$LAB_ZTDNSD_PID" "$pid" "the same ztdnsd (pid $pid) did all of it"

step "pdns1 silently dropped (queries time out): failover to pdns2"
# shellcheck disable=SC2034  # read in the eval below
before=$(health_events pdns1 | wc -l)
lab_pdns_drop pdns1
fresh
read -r r t <<<"$(time_query_ms "$NAME" A)"
assert_eq "$r" NOERROR "the first query after the drop is answered ($t ms)"
assert_lt "$t" 2000 "... within 2 s, though pdns1 never answers"
check_answers_from pdns2 "pdns1 dropped"
assert_eventually 5 "the Operational log says pdns1 is down" eval '(($(health_events pdns1 | wc -l) > before)) && [[ $(health_events pdns1 | tail -1) == down:* ]]'
note "$(health_events pdns1 | tail -1)"
assert_match "$(health_events pdns1 | tail -1)" "timeout|no answer" "... because it timed out"

step "pdns1 reachable again: failback"
lab_pdns_undrop pdns1
t0=$(now_us)
assert_eventually 12 "id.test is answered by pdns1 again" is_answered_by pdns1
note "failback $(elapsed_ms "$t0") ms after the drop ended"
assert_eventually 5 "the Operational log says pdns1 is up" eval '[[ $(health_events pdns1 | tail -1) == up ]]'
check_answers_from pdns1 "pdns1 recovered from the drop"

step "the secondary down does not disturb the primary; both down and back"
lab_pdns_stop pdns2
check_answers_from pdns1 "pdns2 stopped"
lab_pdns_stop pdns1
fresh
read -r r t <<<"$(time_query_ms "$NAME" A)"
assert_eq "$r" SERVFAIL "both stopped: SERVFAIL ($t ms)"
assert_lt "$t" 2000 "... within 2 s"
lab_pdns_start pdns2
assert_eventually 10 "pdns2 back: id.test is answered by pdns2" is_answered_by pdns2
lab_pdns_start pdns1
assert_eventually 10 "pdns1 back: id.test is answered by pdns1 again" is_answered_by pdns1
assert_eq "$(health_events pdns2 | cut -d: -f1 | tr '\n' ' ')" "down up " \
  "the Operational log has pdns2 down, then up"

step "the events as the administrator reads them"
ops=$(lab_ztdns log show operational)
assert_contains "$ops" "upstream pdns1 ($LAB_PDNS1_4:853 DoT) is down" "ztdns log show operational: pdns1 down"
assert_contains "$ops" "upstream pdns1 ($LAB_PDNS1_4:853 DoT) is up" "... and up"
assert_eq "$LAB_ZTDNSD_PID" "$pid" "no restart"
assert_daemon_alive
finish
