#!/usr/bin/env bash
# Allow before answer through the real ztdnsd (issue 4, "Allow before answer"): which
# addresses of an answer reach the kernel's allow sets, and for how long.
# - A CNAME chain across three zones: only the final addresses, for
#   clamp(lowest TTL on the chain + allowGraceSeconds, minimumAllowTimeInSeconds,
#   maximumConnectionTimeInSeconds); TTL 0 gets the minimum, a TTL above the maximum
#   gets the maximum (with a custom config, then with the defaults).
# - IPv4-mapped AAAA answers go to allow4; 0.0.0.0/::, multicast and loopback answers
#   are served but never inserted; NXDOMAIN (also via a CNAME) inserts nothing.
# - HTTPS/SVCB: src/dns/answer_analysis.cc uses the ipv4hint/ipv6hint of ServiceMode
#   records owned by the chain's end when the question asked for that type; an HTTPS
#   query alone allows the hinted addresses.
# Checked in `nft list set inet ztdns allow4/allow6`, in `ztdns resolve`, and with real
# connections under enforcement.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/resolver.sh"
require_lab

lab_up
conf=$LAB_DIR/ztdns.json
RS_GRACE=5 RS_MIN=10 RS_MAX=3600
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh enabled=true auditModeEnabled=false \
  allowGraceSeconds=$RS_GRACE minimumAllowTimeInSeconds=$RS_MIN maximumConnectionTimeInSeconds=$RS_MAX
lab_ztdnsd_start "$conf"

# min_ttl JSON: the lowest TTL over the answer section of a dns_client answer
min_ttl() { jq_py 'min(r["ttl"] for r in d["answer"])'; }
# check_allow NAME TYPE ADDR...: query through the stub; each ADDR is then allowed for
# expected_allow(lowest TTL in the answer the client got) seconds (±1 for the clock).
check_allow() {
  local name=$1 type=$2 out ttl want a t
  shift 2
  out=$(dns_client query "$name" "$type")
  assert_eq "$(jq_py 'd["rcode"]' <<<"$out")" NOERROR "$name $type: NOERROR"
  ttl=$(min_ttl <<<"$out")
  want=$(expected_allow "$ttl")
  for a in "$@"; do
    t=$(allow_timeout "$a")
    if [[ -z $t ]]; then fail "$name $type: $a is in the allow set" "$(allow_dump)"; fi
    assert_near "$t" "$want" 1 "$name $type: $a allowed for clamp($ttl + $RS_GRACE, $RS_MIN, $RS_MAX) s"
  done
}

step "nothing is allowed before anything is asked"
assert_eq "$(allow_size)" 0 "allow4 and allow6 are empty"
assert_fails "the web host's chain address is blocked" lab_client curl -sS --max-time 2 "http://$LAB_CHAIN4/"

step "a CNAME chain across zones ($LAB_CHAIN_NAME -> edge.cdn-a.test -> host.cdn-b.test)"
out=$(dns_client query "$LAB_CHAIN_NAME" A)
assert_eq "$(jq_py '[r["type"] for r in d["answer"]]' <<<"$out")" '["CNAME", "CNAME", "A"]' "the client gets the whole chain"
ttl=$(min_ttl <<<"$out")
assert_le "$ttl" "$LAB_CHAIN_MIN_TTL" "the chain's lowest TTL is that of the last record ($ttl)"
assert_eq "$(jq_py 'd["answer"][-1]["ttl"]' <<<"$out")" "$ttl" "... which is the A record's"
assert_near "$(allow_timeout "$LAB_CHAIN4")" "$(expected_allow "$ttl")" 1 "$LAB_CHAIN4 allowed for the lowest TTL $ttl + grace"
assert_eq "$(allow_size)" 1 "only the final address is in the allow sets"
check_allow "$LAB_CHAIN_NAME" AAAA "$LAB_CHAIN6"
assert_eq "$(allow_size 6)" 1 "... and for AAAA only $LAB_CHAIN6"
res=$(lab_ztdns resolve "$LAB_CHAIN_NAME" --json)
assert_eq "$(jq_py '[(a["address"], a["allowed"]) for a in d["addresses"]]' <<<"$res")" "[[\"$LAB_CHAIN4\", true]]" \
  "ztdns resolve $LAB_CHAIN_NAME: $LAB_CHAIN4 and nothing else, allowed"
assert_eq "$(lab_client curl -6 -sS --max-time 5 "http://$LAB_CHAIN_NAME/")" "$LAB_CHAIN6" "curl -6 http://$LAB_CHAIN_NAME/ connects"
assert_eq "$(lab_client curl -4 -sS --max-time 5 "http://$LAB_CHAIN_NAME/")" "$LAB_CHAIN4" "curl -4 too"

step "a CNAME inside one zone: the lower TTL of CNAME (120) and A (300)"
check_allow "$LAB_ALIAS_NAME" A "$LAB_WEB4"
assert_le "$(min_ttl <<<"$(dns_client query "$LAB_ALIAS_NAME" A)")" 120 "the CNAME's TTL (at most 120) is the chain's lowest"

note "the chain is followed ignoring case: a mixed-case question, never asked before"
assert_ok "$LAB_WEB6 is not allowed yet" allow_lacks "$LAB_WEB6"
out=$(dns_client query "AlIaS.AlLoWeD.TeSt" AAAA)
assert_eq "$(jq_py '[d["answer"][0]["name"]] + [(r["name"].lower(), r["type"]) for r in d["answer"]]' <<<"$out")" \
  '["AlIaS.AlLoWeD.TeSt.", ["alias.allowed.test.", "CNAME"], ["www.allowed.test.", "AAAA"]]' \
  "CNAME then AAAA, the question's owner in the client's case ($(jq_py '" ".join(r["name"] for r in d["answer"])' <<<"$out"))"
assert_ok "$LAB_WEB6 is allowed" allow_has "$LAB_WEB6"

step "TTL 0 gets minimumAllowTimeInSeconds; a TTL above the maximum gets the maximum"
check_allow "$LAB_TTL0_NAME" A "$LAB_TTL0_4"
assert_eq "$(allow_timeout "$LAB_TTL0_4")" "$RS_MIN" "$LAB_TTL0_4 (TTL 0): exactly the minimum, $RS_MIN s"
check_allow "$LAB_TTL0_NAME" AAAA "$LAB_TTL0_6"
assert_eq "$(lab_client curl -6 -sS --max-time 5 "http://$LAB_TTL0_NAME/")" "$LAB_TTL0_6" "curl -6 http://$LAB_TTL0_NAME/ connects"
check_allow "$LAB_LONGTTL_NAME" A "$LAB_LONGTTL_4"
assert_eq "$(allow_timeout "$LAB_LONGTTL_4")" "$RS_MAX" "$LAB_LONGTTL_4 (TTL 604800 in the zone; unbound caps it at 86400): exactly the maximum, $RS_MAX s"
check_allow "$(lab_race_name 1)" A "$(lab_race_addr4 1)"
assert_near "$(allow_timeout "$(lab_race_addr4 1)")" $((300 + RS_GRACE)) 1 "TTL 300 + grace $RS_GRACE in between"

step "IPv4-mapped answers go to allow4"
out=$(dns_client query "$LAB_MAPPED_NAME" AAAA)
assert_eq "$(jq_py 'd["addresses"]' <<<"$out")" "[\"$LAB_MAPPED_6\"]" "the client gets AAAA $LAB_MAPPED_6 as the PDNS sent it"
assert_ok "$LAB_MAPPED_4 is in allow4" allow_has "$LAB_MAPPED_4"
assert_near "$(allow_timeout "$LAB_MAPPED_4")" "$(expected_allow "$(min_ttl <<<"$out")")" 1 "... for TTL + grace"
assert_eq "$(lab_client nft list set inet ztdns allow6 | grep -c ffff || true)" 0 "allow6 holds no ::ffff: address"
assert_eq "$(lab_client curl -6 -sS --max-time 5 "http://$LAB_MAPPED_NAME/")" "$LAB_MAPPED_4" \
  "curl -6 http://$LAB_MAPPED_NAME/ (an IPv6 socket to a mapped address: IPv4 on the wire) connects"

step "unspecified, multicast and loopback answers are served, never inserted"
before=$(allow_addrs)
for n in "$LAB_ZERO_NAME" "$LAB_MCAST_NAME" "$LAB_LOOPBACK_NAME" "$LAB_SINKHOLE_NAME"; do
  for t in A AAAA; do
    out=$(dns_client query "$n" "$t")
    assert_eq "$(jq_py 'd["rcode"] + " " + str(len(d["addresses"]))' <<<"$out")" "NOERROR 1" "$n $t: the answer is served ($(jq_py '" ".join(d["addresses"])' <<<"$out"))"
  done
done
for a in 0.0.0.0 :: 233.252.0.1 ff0e::db8:0:1 127.0.0.1 ::1; do
  assert_ok "$a is not in the allow sets" allow_lacks "$a"
done
assert_eq "$(comm -13 <(echo "$before") <(allow_addrs))" "" "no address was added to the allow sets"

step "NXDOMAIN inserts nothing, also behind a CNAME"
for n in "$LAB_BLOCKED_NAME" "$LAB_TOBLOCKED_NAME" nothing.allowed.test; do
  assert_contains "$(stub_kdig "$n" A)" "status: NXDOMAIN" "$n: NXDOMAIN"
done
assert_ok "the blocked name's real address $LAB_IPONLY4 is not allowed" allow_lacks "$LAB_IPONLY4"
assert_eq "$(comm -13 <(echo "$before") <(allow_addrs))" "" "no address was added to the allow sets"
assert_fails "curl to $LAB_BLOCKED_NAME's real address is blocked" lab_client curl -sS --max-time 2 "http://$LAB_IPONLY4/"

step "HTTPS/SVCB ipv4hint/ipv6hint (answer_analysis.cc: hints of the chain end's ServiceMode records, for an HTTPS or SVCB question)"
assert_ok "$LAB_SVCB_4 is not allowed yet" allow_lacks "$LAB_SVCB_4"
out=$(dns_client query "$LAB_SVCB_NAME" HTTPS)
assert_eq "$(jq_py '[r["type"] for r in d["answer"] + d["additional"]]' <<<"$out")" '["HTTPS"]' \
  "the HTTPS answer carries no A/AAAA record"
ttl=$(min_ttl <<<"$out")
for a in "$LAB_SVCB_4" "$LAB_SVCB_6"; do
  t=$(allow_timeout "$a")
  [[ -n $t ]] || fail "the hint $a is allowed" "$(allow_dump)"
  assert_near "$t" "$(expected_allow "$ttl")" 1 "the hint $a is allowed for the HTTPS record's TTL $ttl + grace"
done
assert_eq "$(lab_client curl -sS --max-time 5 "http://$LAB_SVCB_4/")" "$LAB_SVCB_4" "a connection to the ipv4hint works"
assert_eq "$(lab_client curl -sS --max-time 5 "http://[$LAB_SVCB_6]/")" "$LAB_SVCB_6" "a connection to the ipv6hint works"

step "with the default times (grace 30, minimum 300, maximum 86400)"
lab_ztdnsd_stop
RS_GRACE=30 RS_MIN=300 RS_MAX=86400
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh enabled=true auditModeEnabled=false
lab_ztdnsd_start "$conf"
check_allow "$(lab_race_name 2)" A "$(lab_race_addr4 2)"
assert_near "$(allow_timeout "$(lab_race_addr4 2)")" 330 1 "TTL 300 + 30"
check_allow "$LAB_TTL2_NAME" AAAA "$LAB_TTL2_6"
assert_eq "$(allow_timeout "$LAB_TTL2_6")" 300 "TTL 2: the default minimum, 300 s"
check_allow "$LAB_LONGTTL_NAME" AAAA "$LAB_LONGTTL_6"
assert_eq "$(allow_timeout "$LAB_LONGTTL_6")" 86400 "TTL 86400 + 30 (unbound caps the zone's 604800): the default maximum, 86400 s"
assert_daemon_alive
finish
