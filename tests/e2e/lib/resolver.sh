#!/usr/bin/env bash
# tests/e2e/lib/resolver.sh: helpers for the stub resolver's end-to-end tests
# (tests/e2e/test_resolver_*.sh). Source it after lab.sh.
#
#   stub_kdig [KDIG ARGS...]        kdig @127.0.0.1 from the client namespace (+timeout=3 +retry=0)
#   stub_kdig6 [KDIG ARGS...]       the same to [::1]
#   stub_rcode [KDIG ARGS...]       just the status word (NOERROR, SERVFAIL, ...; "none" when silent)
#   dns_client ARGS...              tests/e2e/lib/dns_client.py in the client namespace
#   jq_py EXPR                      evaluate a Python expression over the JSON on stdin (as d)
#   allow_entry ADDR                "TIMEOUT EXPIRES" of ADDR in allow4/allow6 (seconds), or nothing
#   allow_has ADDR / allow_lacks ADDR
#   allow_timeout ADDR              the element's timeout in seconds (empty when absent)
#   allow_size [4|6]                elements in allow4, allow6 (or both)
#   allow_dump                      both sets, for failure messages
#   pdns_count SERVER NAME [TYPE]   queries SERVER (pdns1 pdns2 backend) logged for NAME (TYPE)
#   ops_log                         the daemon's Operational channel file
#   expected_allow TTL              clamp(TTL + grace, min, max) for the running config
# shellcheck disable=SC2034

_RS_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

stub_kdig() { lab_client kdig @127.0.0.1 +timeout=3 +retry=0 "$@"; }
stub_kdig6() { lab_client kdig @::1 +timeout=3 +retry=0 "$@"; }
stub_rcode() {
  local out
  out=$(lab_client kdig +timeout=3 +retry=0 "$@" 2>&1) || true
  if [[ $out =~ status:\ ([A-Z]+) ]]; then echo "${BASH_REMATCH[1]}"; else echo none; fi
}
dns_client() { lab_client python3 "$_RS_LIB/dns_client.py" "$@"; }
jq_py() { python3 -c 'import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(r if not isinstance(r, (list, dict, bool)) else json.dumps(r))' "$1"; }

# _allow_elements 4|6: "ADDR TIMEOUT EXPIRES" (seconds) for every element of allow4/allow6.
_allow_elements() {
  lab_client nft -j list set inet ztdns "allow$1" 2>/dev/null | python3 -c 'import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
for o in d["nftables"]:
    for e in o.get("set", {}).get("elem", []):
        e = e["elem"] if isinstance(e, dict) and "elem" in e else {"val": e}
        print(e["val"], e.get("timeout", 0), e.get("expires", 0))'
}
allow_entry() {  # ADDR -> "TIMEOUT EXPIRES" (seconds), empty when absent
  local fam=4
  [[ $1 == *:* ]] && fam=6
  _allow_elements "$fam" | python3 -c 'import ipaddress, sys
want = ipaddress.ip_address(sys.argv[1])
for line in sys.stdin:
    addr, timeout, expires = line.split()
    if ipaddress.ip_address(addr) == want:
        print(timeout, expires)' "$1"
}
allow_has() { [[ -n $(allow_entry "$1") ]]; }
allow_lacks() { [[ -z $(allow_entry "$1") ]]; }
allow_timeout() { local e; e=$(allow_entry "$1"); echo "${e%% *}"; }
allow_size() {  # [4|6]
  local fams=${1:-46} f
  for f in 4 6; do
    if [[ $fams == *$f* ]]; then _allow_elements "$f"; fi
  done | wc -l
}
allow_dump() { lab_client nft list set inet ztdns allow4 2>&1; lab_client nft list set inet ztdns allow6 2>&1; }

pdns_count() {  # SERVER NAME [TYPE]: lines "info: <client> NAME. TYPE IN" in its query log
  local re
  re=" ${2%.}\\. ${3:-[A-Z0-9]+} IN\$"
  grep -c -i -E "info: [0-9a-f.:]+${re}" "$LAB_LOG_DIR/$1.log" || true
}
ops_log() { echo "$LAB_ZTDNSD_LOG_DIR/Operational.jsonl"; }

# expected_allow TTL [GRACE MIN MAX]: what Config::allowSecondsForTtl gives.
expected_allow() {
  local t=$1 g=${2:-${RS_GRACE:-30}} lo=${3:-${RS_MIN:-300}} hi=${4:-${RS_MAX:-86400}} v
  v=$((t + g))
  ((v < lo)) && v=$lo
  ((v > hi)) && v=$hi
  echo "$v"
}

# assert_near A B TOL MSG: |A - B| <= TOL (integers)
assert_near() {
  local d=$(($1 - $2))
  ((d < 0)) && d=$((-d))
  if ((d <= $3)); then pass "$4 ($1, want $2 ± $3)"; else fail "$4" "expected $2 ± $3" "got $1"; fi
}
# assert_daemon_alive: the ztdnsd the lab started is still running.
assert_daemon_alive() {
  if kill -0 "$LAB_ZTDNSD_PID" 2>/dev/null; then pass "${1:-ztdnsd is still running}"; else
    fail "${1:-ztdnsd is still running}" "it exited; last output:" "$(tail -n 20 "$LAB_ZTDNSD_OUT")"; fi
}

# health_events SERVER: the up/down history of SERVER in the Operational channel
# ("down:ERROR" or "up", one a line, oldest first).
health_events() {
  [[ -f $(ops_log) ]] || return 0
  python3 -c 'import json, sys
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("eventId") == 101 and e.get("server") == sys.argv[2]:
        print("up" if e.get("healthy") else "down:" + str(e.get("error")))' "$(ops_log)" "$1"
}
# time_query_ms NAME TYPE [dns_client query args]: "<rcode> <elapsed ms>" of one query
time_query_ms() {
  local out
  out=$(dns_client query "$@") || true
  jq_py '(d.get("rcode") or "none") + " " + str(round(d["elapsed_ms"]))' <<<"$out"
}

# server_with NAME PROTO PRIORITY FAMILY [PATH=JSON]...: lab_server_json's entry with
# fields set or replaced (PATH may be nested: dnsOverTlsConfiguration.certificateSubjectName).
server_with() {
  local base
  base=$(lab_server_json "$1" "$2" "$3" "$4") || return 1
  shift 4
  python3 -c 'import json, sys
d = json.loads(sys.argv[1])
for kv in sys.argv[2:]:
    path, _, value = kv.partition("=")
    keys = path.split(".")
    o = d
    for k in keys[:-1]:
        o = o[k]
    o[keys[-1]] = json.loads(value)
print(json.dumps(d))' "$base" "$@"
}
# count_unconfigured_add TAG ADDR4 ADDR6: counters TAG_4/TAG_6 of TCP and UDP leaving the
# client for any address but these two, and TAG_udp of any UDP at all.
count_unconfigured_add() {
  lab_count_add "$1_4" ip daddr != "$2" meta l4proto '{ tcp, udp }'
  lab_count_add "$1_6" ip6 daddr != "$3" meta l4proto '{ tcp, udp }'
  lab_count_add "$1_udp" meta l4proto udp
}
# allow_addrs: every address in allow4 and allow6, sorted, one a line.
allow_addrs() {
  local f
  for f in 4 6; do _allow_elements "$f"; done | awk '{print $1}' | sort
}
