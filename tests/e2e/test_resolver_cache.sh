#!/usr/bin/env bash
# The stub's cache through the real ztdnsd (issue 4, "Cache", "Coalescing", "Cache
# hits"), with upstream queries counted in the PDNS query logs:
# - positive answers are served from the cache until their TTL runs out (TTL 2: asked
#   again after about 2 s), with TTLs counting down; negative answers (RFC 2308) for the
#   SOA minimum (60 s), then asked again;
# - the client's query ID, question case and EDNS (absent, present, DO) are preserved,
#   from upstream and from the cache;
# - identical concurrent queries share one upstream query (UDP and TCP);
# - a cache hit re-asserts the allow before it is served: with maximumConnectionTime 30
#   and grace/minimum 0, the allow for alias.allowed.test (TTL 120) expires while the
#   cache entry lives; the next hit re-inserts it for clamp(remaining TTL, 0, 30) seconds
#   before the answer is released (a client connecting at once gets through), and once
#   the remaining TTL is below 30 s the allow is exactly the remaining TTL.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/resolver.sh"
require_lab

lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot enabled=true auditModeEnabled=false \
  allowGraceSeconds=0 minimumAllowTimeInSeconds=0 maximumConnectionTimeInSeconds=30
lab_ztdnsd_start "$conf"
asked() { pdns_count pdns1 "$@"; }  # NAME [TYPE]: upstream queries so far
min_ttl() { jq_py 'min(r["ttl"] for r in d["answer"] + d["authority"])'; }

step "the allow cycle starts: $LAB_ALIAS_NAME (CNAME TTL 120) and a negative answer (SOA minimum 60)"
t_alias=$(now_us)
out=$(dns_client query "$LAB_ALIAS_NAME" A)
assert_eq "$(jq_py 'd["addresses"]' <<<"$out")" "[\"$LAB_WEB4\"]" "$LAB_ALIAS_NAME A $LAB_WEB4"
assert_eq "$(allow_timeout "$LAB_WEB4")" 30 "$LAB_WEB4 allowed for clamp(120 + 0, 0, 30) = 30 s"
neg=nothing.allowed.test
t_neg=$(now_us)
out=$(dns_client query "$neg" A)
assert_eq "$(jq_py 'd["rcode"]' <<<"$out")" NXDOMAIN "$neg: NXDOMAIN"
assert_le "$(min_ttl <<<"$out")" 60 "... with the SOA's negative TTL (at most 60)"
assert_eq "$(asked "$neg" A)" 1 "$neg went upstream once"

step "TTL 0 with minimum and grace 0: still allowed, for 1 s (an allow of 0 s would be none)"
out=$(dns_client tcconnect "$LAB_TTL0_NAME" A "$LAB_TTL0_4")
assert_eq "$(jq_py '[d["rcode"], d["connected"]]' <<<"$out")" '["NOERROR", 1]' "$LAB_TTL0_NAME: NOERROR, and a connection at once gets through"

step "positive cache: served from the cache until the TTL runs out"
out=$(dns_client query "$LAB_ALIAS_NAME" A)
assert_eq "$(asked "$LAB_ALIAS_NAME" A)" 1 "a second $LAB_ALIAS_NAME query did not go upstream"
dns_client query "$LAB_TTL2_NAME" A >/dev/null
t_ttl2=$(now_us)
assert_eq "$(asked "$LAB_TTL2_NAME" A)" 1 "$LAB_TTL2_NAME (TTL 2) went upstream once"
out=$(dns_client query "$LAB_TTL2_NAME" A)
if (($(elapsed_ms "$t_ttl2") < 900)); then
  assert_eq "$(asked "$LAB_TTL2_NAME" A)" 1 "asked again at once: from the cache"
fi
requery_ttl2() { dns_client query "$LAB_TTL2_NAME" A >/dev/null; (($(asked "$LAB_TTL2_NAME" A) >= 2)); }
if wait_for -i 0.1 6 requery_ttl2; then pass "$LAB_TTL2_NAME goes upstream again once its TTL has run out"; else
  fail "$LAB_TTL2_NAME goes upstream again once its TTL has run out" "asked $(asked "$LAB_TTL2_NAME" A) times"; fi
ms=$(elapsed_ms "$t_ttl2")
assert_le 1000 "$ms" "... not before about its TTL ($ms ms)"
assert_le "$ms" 3500 "... and not much later"

step "TTLs count down in cached answers"
r1=$(dns_client query "$(lab_race_name 1)" A | min_ttl)
wait_for 5 eval '(($(dns_client query "$(lab_race_name 1)" A | min_ttl) < r1))'
r2=$(dns_client query "$(lab_race_name 1)" A | min_ttl)
assert_lt "$r2" "$r1" "a cached answer's TTL falls ($r1 -> $r2)"
assert_eq "$(asked "$(lab_race_name 1)" A)" 1 "... and it went upstream once"

step "the client's ID, question case and EDNS are preserved (upstream and cache)"
for src in "first ask" "again (cache)"; do
  name=$(lab_race_name 2)
  out=$(dns_client query "R2.RaCe.TeSt" A --id 4660 --noedns)
  assert_eq "$(jq_py '[d["id"], d["question"][0]["name"], d["opt"]]' <<<"$out")" '[4660, "R2.RaCe.TeSt.", null]' \
    "[$src] ID 4660, the question as asked (R2.RaCe.TeSt), no OPT for a query without EDNS"
  assert_eq "$(jq_py 'd["answer"][0]["name"]' <<<"$out")" "R2.RaCe.TeSt." "[$src] the answer's owner in the client's case"
  out=$(dns_client query "r2.RACE.test" A --id 65535 --edns 4096 --do)
  assert_eq "$(jq_py '[d["id"], d["question"][0]["name"], d["opt"] is not None, (d["opt"] or {}).get("do")]' <<<"$out")" \
    '[65535, "r2.RACE.test.", true, true]' "[$src] ID 65535, case kept, OPT with DO for a query with EDNS and DO"
  out=$(dns_client query "r2.race.test" A --id 1 --edns 1232)
  assert_eq "$(jq_py '[d["id"], d["opt"] is not None, (d["opt"] or {}).get("do"), [o["code"] for o in (d["opt"] or {}).get("options", [])]]' <<<"$out")" \
    '[1, true, false, []]' "[$src] OPT without DO, and no upstream padding leaks to the client"
done
assert_le "$(asked "$name" A)" 2 "$name went upstream at most twice (DO set and clear)"

step "coalescing: identical concurrent queries share one upstream query"
for i in 3 4; do
  name=$(lab_race_name "$i")
  out=$(dns_client burst "$name" A 40)
  assert_eq "$(jq_py '[d["answered"], d["ids_match"], d["rcodes"]]' <<<"$out")" '[40, true, {"NOERROR": 40}]' \
    "40 identical UDP queries for $name at once: 40 NOERROR answers, each with its own ID"
  assert_eq "$(asked "$name" A)" 1 "... from one upstream query"
done
name=$(lab_race_name 5)
# One file per client: ten processes writing their JSON lines to one pipe can interleave them.
for ((i = 0; i < 10; i++)); do dns_client query "$name" AAAA --tcp >"$LAB_DIR/tcp-coalesce.$i" & done
wait
assert_eq "$(cat "$LAB_DIR"/tcp-coalesce.* | grep -c '"rcode": "NOERROR"')" 10 "10 identical TCP queries for $name AAAA at once: 10 answers"
assert_eq "$(asked "$name" AAAA)" 1 "... from one upstream query"

step "negative cache: NXDOMAIN is served from the cache for the SOA minimum, then asked again"
assert_contains "$(stub_kdig "$neg" A)" "status: NXDOMAIN" "$neg again: NXDOMAIN"
assert_eq "$(asked "$neg" A)" 1 "... from the cache"
out=$(dns_client query "$neg" A)
assert_eq "$(jq_py 'd["authority"][0]["type"]' <<<"$out")" SOA "the cached negative answer carries its SOA"

step "a cache hit after the allow expired re-inserts it before the answer is served"
assert_eventually 45 "$LAB_WEB4's allow expires while $LAB_ALIAS_NAME is still cached (30 s)" allow_lacks "$LAB_WEB4"
note "expired $(elapsed_ms "$t_alias") ms after the first answer"
assert_fails "a connection to $LAB_WEB4 is blocked now" lab_client curl -sS --max-time 1 "http://$LAB_WEB4/"
out=$(dns_client tcconnect "$LAB_ALIAS_NAME" A "$LAB_WEB4" 2>/dev/null || true)
# tcconnect connects right after the answer, TC or not
assert_eq "$(jq_py 'd["connected"]' <<<"$out")" 1 "a client connecting the moment the cached answer came gets through"
assert_eq "$(asked "$LAB_ALIAS_NAME" A)" 1 "the answer came from the cache"
assert_eq "$(allow_timeout "$LAB_WEB4")" 30 "re-inserted for clamp(remaining TTL > 30, 0, 30) = 30 s"

step "the negative entry expires after its TTL"
requery_neg() { dns_client query "$neg" A >/dev/null; (($(asked "$neg" A) >= 2)); }
if wait_for -i 0.5 75 requery_neg; then pass "$neg goes upstream again"; else fail "$neg goes upstream again" "asked $(asked "$neg" A) times"; fi
ms=$(elapsed_ms "$t_neg")
assert_le 55000 "$ms" "... about 60 s after it was first cached ($ms ms)"

step "once the remaining TTL is below the maximum, a re-assert uses the remaining TTL"
cycle() {  # wait for the allow to expire, then hit the cache; prints the answer's TTL and the new timeout
  wait_for 40 allow_lacks "$LAB_WEB4" || return 1
  local o
  o=$(dns_client query "$LAB_ALIAS_NAME" A)
  echo "$(min_ttl <<<"$o") $(allow_timeout "$LAB_WEB4")"
}
read -r ttl timeout <<<"$(cycle)"
note "after $(elapsed_ms "$t_alias") ms: answer TTL $ttl, allow $timeout s"
if ((ttl >= 30)); then
  assert_eq "$timeout" 30 "remaining TTL $ttl: still clamped to 30"
  read -r ttl timeout <<<"$(cycle)"
  note "after $(elapsed_ms "$t_alias") ms: answer TTL $ttl, allow $timeout s"
fi
assert_lt "$ttl" 30 "the cached answer's remaining TTL is below the maximum now ($ttl)"
assert_near "$timeout" "$ttl" 1 "the allow is the remaining TTL, not the original one"
assert_eq "$(asked "$LAB_ALIAS_NAME" A)" 1 "all of it from the one upstream answer"
assert_daemon_alive
finish
