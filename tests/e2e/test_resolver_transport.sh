#!/usr/bin/env bash
# The stub resolver through the real ztdnsd (issue 4, "Listening" and the DoT/DoH half of
# "Upstreams"): DoT and DoH answers from servers configured by IPv4 and by IPv6 address,
# over UDP and TCP to the stub on 127.0.0.1 and ::1, with dig, kdig, getent and curl.
# The daemon talks only to the configured address, only over TLS, on the configured
# family and port; several pipelined queries on one TCP connection are all answered, out
# of order; the client's ID survives DoH (which sends ID 0 upstream).
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/resolver.sh"
require_lab

lab_up
conf=$LAB_DIR/ztdns.json

# Counters for the server of each case: its configured address, the other family's
# address, and anything leaving the client that is not TLS to the configured address.
combo() {  # SERVER PROTO FAMILY
  local srv=$1 proto=$2 fam=$3 addr other port
  addr=$(lab_pdns_addr "$srv" "$fam")
  other=$(lab_pdns_addr "$srv" $((fam == 4 ? 6 : 4)))
  port=$LAB_DOT_PORT
  [[ $proto == doh ]] && port=$LAB_DOH_PORT
  step "$srv over $proto, configured by its IPv$fam address $addr"
  lab_config_write "$conf" --server "$srv:$proto:1:$fam" enabled=true auditModeEnabled=false
  lab_ztdnsd_start "$conf"
  local c=${srv}_${proto}_$fam
  lab_count_add "conf_$c" "$([[ $fam == 4 ]] && echo ip || echo ip6)" daddr "$addr" tcp dport "$port"
  lab_count_add "other_$c" "$([[ $fam == 4 ]] && echo ip6 || echo ip)" daddr "$other"
  # Everything that is not the configured server: TCP to any other address, except the web
  # host's HTTP (curl below), and any UDP at all.
  lab_count_add "unconf4_$c" ip daddr != "$(lab_pdns_addr "$srv" 4)" tcp dport != 80
  lab_count_add "unconf6_$c" ip6 daddr != "$(lab_pdns_addr "$srv" 6)" tcp dport != 80
  lab_count_add "udp_$c" meta l4proto udp
  lab_count_reset

  assert_eq "$(stub_kdig +short id.test TXT)" "\"$srv\"" "id.test TXT through the stub names $srv"
  assert_eq "$(stub_kdig +notcp +short www.allowed.test A)" "$LAB_WEB4" "UDP to 127.0.0.1: www.allowed.test A"
  assert_eq "$(stub_kdig +tcp +short www.allowed.test AAAA)" "$LAB_WEB6" "TCP to 127.0.0.1: www.allowed.test AAAA"
  assert_eq "$(stub_kdig6 +notcp +short "$LAB_V6ONLY_NAME" AAAA)" "$LAB_V6ONLY_6" "UDP to ::1: $LAB_V6ONLY_NAME AAAA"
  assert_eq "$(stub_kdig6 +tcp +short "$LAB_V4ONLY_NAME" A)" "$LAB_V4ONLY_4" "TCP to ::1: $LAB_V4ONLY_NAME A"
  assert_eq "$(lab_client dig @::1 +time=3 +tries=1 +short "$LAB_CHAIN_NAME" AAAA | tail -1)" "$LAB_CHAIN6" \
    "dig to ::1: the chain ends in $LAB_CHAIN6"
  assert_eq "$(lab_client dig @127.0.0.1 +tcp +time=3 +tries=1 +short "$LAB_CHAIN_NAME" A | tail -1)" "$LAB_CHAIN4" \
    "dig +tcp to 127.0.0.1: the chain ends in $LAB_CHAIN4"
  assert_eq "$(lab_client getent ahostsv4 "$LAB_ALIAS_NAME" | awk 'NR == 1 {print $1}')" "$LAB_WEB4" \
    "getent ahostsv4 $LAB_ALIAS_NAME (libc through resolv.conf)"
  assert_eq "$(lab_client getent ahostsv6 "$LAB_ALIAS_NAME" | awk 'NR == 1 {print $1}')" "$LAB_WEB6" \
    "getent ahostsv6 $LAB_ALIAS_NAME"
  assert_eq "$(lab_client curl -4 -sS --max-time 5 "http://$LAB_WEB_NAME/")" "$LAB_WEB4" "curl -4 http://$LAB_WEB_NAME/ (enforcing)"
  assert_eq "$(lab_client curl -6 -sS --max-time 5 "http://$LAB_WEB_NAME/")" "$LAB_WEB6" "curl -6 http://$LAB_WEB_NAME/ (enforcing)"
  assert_contains "$(stub_kdig nothing.allowed.test A)" "status: NXDOMAIN" "a name that does not exist: NXDOMAIN from $srv"

  local id
  id=$(dns_client query "$LAB_WEB_NAME" A --id 54321 | jq_py 'd["id"]')
  assert_eq "$id" 54321 "the client's query ID comes back ($proto sends its own ID upstream)"

  assert_lt 0 "$(lab_count "conf_$c")" "packets went to $addr:$port"
  assert_eq "$(lab_count "other_$c")" 0 "nothing went to the server's other-family address $other"
  assert_eq "$(lab_count dns53)" 0 "no packet to port 53 left the client"
  assert_eq "$(lab_count "unconf4_$c")" 0 "no TCP to any other IPv4 address (but HTTP to the web host)"
  assert_eq "$(lab_count "unconf6_$c")" 0 "no TCP to any other IPv6 address (but HTTP to the web host)"
  assert_eq "$(lab_count "udp_$c")" 0 "no UDP at all left the client"
  local name
  for name in "$LAB_PDNS1_NAME" "$LAB_PDNS2_NAME"; do
    assert_eq "$(($(pdns_count pdns1 "$name") + $(pdns_count pdns2 "$name")))" 0 \
      "nobody was asked for $name: the daemon never resolves a server's name"
  done
  lab_ztdnsd_stop
}
combo pdns1 dot 4
combo pdns2 dot 6
combo pdns2 doh 4
combo pdns1 doh 6

step "pipelined queries on one TCP connection (pdns1 DoT and pdns2 DoH, both families)"
lab_config_write "$conf" --server pdns1:dot:1:4 --server pdns2:doh:2:6 enabled=true auditModeEnabled=false
lab_ztdnsd_start "$conf"
# Cached names go after uncached ones: they can only come back first if the stub answers
# a connection's queries in any order.
stub_kdig +short "$LAB_WEB_NAME" A >/dev/null
stub_kdig +short "$LAB_WEB_NAME" AAAA >/dev/null
for server in 127.0.0.1 ::1; do
  if [[ $server == ::1 ]]; then first=20; else first=10; fi
  names=("$(lab_race_name "$first")" "$(lab_race_name $((first + 1))):AAAA" "$(lab_race_name $((first + 2)))"
    "$LAB_CHAIN_NAME" "$LAB_WEB_NAME" "$LAB_WEB_NAME:AAAA" nothing.allowed.test "$LAB_SVCB_NAME:HTTPS")
  out=$(dns_client --server "$server" pipeline "${names[@]}")
  note "$out"
  assert_eq "$(jq_py 'd["received"]' <<<"$out")" "${#names[@]}" "[$server]: ${#names[@]} queries written at once on one connection, ${#names[@]} answers"
  assert_eq "$(jq_py 'd["closed"]' <<<"$out")" false "[$server]: the connection stays open"
  assert_eq "$(jq_py 'all(a["question"].rstrip(".").lower() == a["asked"].lower() for a in d["answers"])' <<<"$out")" true \
    "[$server]: every answer carries the ID of its own question"
  assert_eq "$(jq_py '[a["addresses"] for a in d["answers"] if a["asked"] == "'"$(lab_race_name "$first")"'"][0]' <<<"$out")" \
    "[\"$(lab_race_addr4 "$first")\"]" "[$server]: $(lab_race_name "$first") A $(lab_race_addr4 "$first")"
  assert_eq "$(jq_py '[a["addresses"] for a in d["answers"] if a["type"] == "AAAA" and a["asked"].startswith("r")][0]' <<<"$out")" \
    "[\"$(lab_race_addr6 $((first + 1)))\"]" "[$server]: $(lab_race_name $((first + 1))) AAAA $(lab_race_addr6 $((first + 1)))"
  assert_eq "$(jq_py '[a["rcode"] for a in d["answers"] if a["asked"] == "nothing.allowed.test"][0]' <<<"$out")" NXDOMAIN \
    "[$server]: the NXDOMAIN in the middle of the pipeline"
  order=$(jq_py '[a["id"] for a in d["answers"]]' <<<"$out")
  assert_ne "$order" "$(jq_py 'sorted(a["id"] for a in d["answers"])' <<<"$out")" \
    "[$server]: answered out of order (cached answers overtook uncached ones): IDs $order"
done
note "kdig +tcp +keepopen: several names on one connection, one after the other"
out=$(lab_client kdig @127.0.0.1 +tcp +keepopen +timeout=3 +retry=0 +short "$LAB_WEB_NAME" A "$LAB_CHAIN_NAME" AAAA "$LAB_V4ONLY_NAME" A)
assert_eq "$(grep -v '\.$' <<<"$out" | tr '\n' ' ')" "$LAB_WEB4 $LAB_CHAIN6 $LAB_V4ONLY_4 " "kdig +keepopen: three answers on one connection"
assert_daemon_alive
finish
