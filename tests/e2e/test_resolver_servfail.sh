#!/usr/bin/env bash
# When no server can answer, through the real ztdnsd (issue 4, "Failover and failure"
# and "A malformed upstream answer"): every client gets SERVFAIL within 2 s, never
# REFUSED, NXDOMAIN or silence, timed with real clients (kdig, dig, getent, a raw
# client) over UDP and TCP. Servers stopped (refused), silently dropped (timeouts), and
# the lab's malformed server (DoT: a broken record; DoH: a 9-byte body, /status-500,
# /wrong-type): SERVFAIL with nothing inserted and no plaintext. A malformed server in
# front of a good one: the query moves on to the good one.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/resolver.sh"
require_lab

lab_up
conf=$LAB_DIR/ztdns.json
n=0
fresh() { n=$((n + 1)); NAME=$(lab_race_name "$n"); }

# all_clients_servfail WHY: one fresh name per client; each gets SERVFAIL within 2 s.
all_clients_servfail() {
  local why=$1 t0 out ms r t
  fresh
  read -r r t <<<"$(time_query_ms "$NAME" A)"
  assert_eq "$r" SERVFAIL "$why: raw UDP query for $NAME: SERVFAIL ($t ms)"
  assert_lt "$t" 2000 "... within 2 s"
  fresh
  read -r r t <<<"$(time_query_ms "$NAME" AAAA --tcp)"
  assert_eq "$r" SERVFAIL "$why: raw TCP query for $NAME: SERVFAIL ($t ms)"
  assert_lt "$t" 2000 "... within 2 s"
  fresh
  t0=$(now_us)
  out=$(lab_client kdig @::1 +timeout=5 +retry=0 "$NAME" A 2>&1) || true
  ms=$(elapsed_ms "$t0")
  assert_contains "$out" "status: SERVFAIL" "$why: kdig to ::1 for $NAME: SERVFAIL ($ms ms)"
  assert_lt "$ms" 2000 "... within 2 s"
  fresh
  t0=$(now_us)
  out=$(lab_client dig @127.0.0.1 +tcp +time=5 +tries=1 "$NAME" AAAA 2>&1) || true
  ms=$(elapsed_ms "$t0")
  assert_contains "$out" "status: SERVFAIL" "$why: dig +tcp to 127.0.0.1 for $NAME: SERVFAIL ($ms ms)"
  assert_lt "$ms" 2000 "... within 2 s"
  fresh
  t0=$(now_us)
  assert_fails "$why: getent ahosts $NAME fails" lab_client getent ahosts "$NAME"
  ms=$(elapsed_ms "$t0")
  assert_lt "$ms" 2000 "... within 2 s ($ms ms, A and AAAA, with libc's retries)"
}
# parallel_servfail WHY COUNT: COUNT distinct names at once; all SERVFAIL within 2 s.
parallel_servfail() {
  local why=$1 count=$2 i out dir names=()
  for ((i = 0; i < count; i++)); do fresh; names+=("$NAME"); done
  # One file per client: twenty clients printing into one pipe at once can run lines together.
  dir=$(mktemp -d "$LAB_DIR/parallel.XXXXXX")
  (for i in "${!names[@]}"; do dns_client --timeout 3 query "${names[$i]}" A >"$dir/$i" & done; wait)
  out=$(cat "$dir"/*)
  assert_eq "$(jq_py_lines 'd.get("rcode")' <<<"$out" | sort | uniq -c | awk '{print $1, $2}')" "$count SERVFAIL" \
    "$why: $count queries at once, $count SERVFAIL"
  assert_lt "$(jq_py_lines 'round(d["elapsed_ms"])' <<<"$out" | sort -n | tail -1)" 2000 "... the slowest within 2 s"
}
jq_py_lines() { python3 -c 'import json, sys
for line in sys.stdin:
    if line.strip():
        d = json.loads(line)
        print(eval(sys.argv[1]))' "$1"; }

start() {  # CONFIG-ARGS...
  lab_config_write "$conf" "$@" enabled=true auditModeEnabled=false
  lab_ztdnsd_start "$conf"
  lab_count_reset
}
stop() {
  assert_eq "$(allow_size)" 0 "nothing was inserted"
  assert_eq "$(lab_count dns53)" 0 "no port-53 packet left the client"
  assert_daemon_alive
  lab_ztdnsd_stop
  lab_client nft delete table inet ztdns  # the next case starts on a clean host
}

step "both servers stopped (connections refused)"
start --server pdns1:dot --server pdns2:doh
lab_pdns_stop pdns1
lab_pdns_stop pdns2
all_clients_servfail "refused"
parallel_servfail "refused" 20
stop

step "both servers silently dropped (every attempt times out)"
# Running before ztdnsd starts, so that its first check finds them up (it would find them
# down, and skip them until a probe, if they were still stopped).
lab_pdns_start pdns1
lab_pdns_start pdns2
start --server pdns1:dot:1:6 --server pdns2:doh:2:4
# warm connections first: the drop then hits connections that were working
assert_eq "$(stub_kdig +short id.test TXT)" '"pdns1"' "pdns1 answers before the drop"
lab_pdns_drop pdns1
lab_pdns_drop pdns2
all_clients_servfail "dropped"
parallel_servfail "dropped" 20
stop

step "one dropped, one refused, from a cold start"
lab_pdns_undrop pdns2
lab_pdns_stop pdns2
start --server pdns1:doh --server pdns2:dot:2:6
parallel_servfail "dropped + refused, first contact" 10
all_clients_servfail "dropped + refused"
stop
lab_pdns_undrop pdns1
lab_pdns_start pdns2

malformed_case() {  # LABEL CONFIG-ARGS...
  local label=$1
  shift
  step "malformed upstream: $label"
  start "$@"
  all_clients_servfail "$label"
  fresh
  assert_contains "$(lab_ztdns resolve "$NAME" 2>&1 || true)" "SERVFAIL" "ztdns resolve $NAME: SERVFAIL"
  stop
}
malformed_case "DoT answer whose record claims 4 bytes of RDATA and carries 2" --server malformed:dot
malformed_case "DoH 200 application/dns-message with a 9-byte body (IPv6)" --server malformed:doh:1:6
mal_url() {  # PATH: the malformed server over DoH with that path
  echo "secureDnsServers=[$(server_with malformed doh 1 4 "dnsOverHttpsConfiguration.queryUrl=\"https://$LAB_MALFORMED_NAME$1\"")]"
}
malformed_case "DoH HTTP 500 (/status-500)" "$(mal_url /status-500)"
malformed_case "DoH 200 text/html (/wrong-type)" "$(mal_url /wrong-type)"

step "HTTP-level failures and malformed answers before a good server: the query moves on"
# The pool moves on from what it can see is wrong: an HTTP status, a content type, a body
# that is not an answer to the question, or records whose lengths do not fit the message.
lab_config_write "$conf" enabled=true auditModeEnabled=false "secureDnsServers=[$(server_with malformed doh 1 4 \
  "dnsOverHttpsConfiguration.queryUrl=\"https://$LAB_MALFORMED_NAME/status-500\""), $(lab_server_json malformed doh 2 6), $(lab_server_json pdns2 dot 3 4)]"
lab_ztdnsd_start "$conf"
answered_past() {  # WHAT: three fresh names are answered by pdns2, allowed, within 2 s
  for i in 1 2 3; do
    fresh
    read -r r t <<<"$(time_query_ms "$NAME" A)"
    assert_eq "$r" NOERROR "$NAME: answered past $1 ($t ms)"
    assert_lt "$t" 2000 "... within 2 s"
    assert_ok "... and $(lab_race_addr4 "$n") is allowed" allow_has "$(lab_race_addr4 "$n")"
  done
  assert_eq "$(stub_kdig +short id.test TXT)" '"pdns2"' "by pdns2"
}
answered_past "the malformed server"
lab_ztdnsd_stop
lab_config_write "$conf" enabled=true auditModeEnabled=false "secureDnsServers=[$(lab_server_json malformed dot 1 4), $(lab_server_json pdns2 dot 2 4)]"
lab_ztdnsd_start "$conf"
answered_past "the malformed DoT server (a broken record)"
assert_daemon_alive
finish
