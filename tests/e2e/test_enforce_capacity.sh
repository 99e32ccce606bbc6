#!/usr/bin/env bash
# Allow-set capacity through the running ztdnsd, with maxAllowedAddresses at its minimum (1024).
# The lab's zones hold about 500 distinct addresses, fewer than the cap, so the sets are
# filled the way a restart finds them: elements left in the kernel (here written with nft
# while the daemon is stopped, as a previous ztdnsd would have left them) are adopted at
# start. Then, through the stub:
# - a new answer evicts the entries closest to expiry that carry no live conntrack flow
#   (those with established connections stay, though they expire first), the eviction is
#   counted in `ztdns show stats` and an Operational CAPACITY (102) event says so;
# - when every entry carries a live flow (the rest made with `conntrack -I`), the insert is
#   refused: the client gets SERVFAIL, the address stays blocked, and the refusal is counted
#   and logged (CAPACITY, 102).
# shellcheck disable=SC2317  # helpers run through assert_* and wait_for
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/enforce_lib.sh"
require_lab
command -v conntrack >/dev/null || skip "needs the conntrack tool"

cap=1024 seeds=1100
lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh enabled=true auditModeEnabled=false \
  maxAllowedAddresses=$cap
lab_ztdnsd_start "$conf"
lab_at_exit enf_hold_stop
ops=$LAB_ZTDNSD_LOG_DIR/Operational.jsonl
in_set() { enf_set_elements "$1" | grep -x -F "$2" >/dev/null; }  # not -q: SIGPIPE with pipefail
seed_addr() { printf '2001:db8:ffff::%x' "$1"; }

step "live flows to the first allows"
assert_eq "$(enf_resolve "$LAB_WEB_NAME" A) $(enf_resolve "$LAB_WEB_NAME" AAAA)" "$LAB_WEB4 $LAB_WEB6" "resolve $LAB_WEB_NAME"
enf_hold_start "$LAB_WEB4:$LAB_ECHO_PORT" "[$LAB_WEB6]:$LAB_ECHO_PORT"
enf_hold_check
assert_eq "$ENF_HOLD_LINE" "ok ok" "established echo connections to both addresses"

step "a restart finds $seeds more allows in the kernel (timeouts 3601..$((3600 + seeds)) s, all later than $LAB_WEB_NAME's)"
lab_ztdnsd_stop TERM
{
  printf 'add element inet ztdns allow6 { '
  for ((i = 1; i <= seeds; i++)); do
    ((i > 1)) && printf ', '
    printf '%s timeout %ds comment "seed%d.test via lab-seed"' "$(seed_addr "$i")" $((3600 + i)) "$i"
  done
  printf ' }\n'
} >"$LAB_DIR/seed.nft"
lab_client nft -f "$LAB_DIR/seed.nft"
lab_ztdnsd_start "$conf"
size=$(enf_state allowedAddresses)
assert_eq "$size" $((seeds + 2)) "the daemon adopted all $((seeds + 2)) allows (over the cap of $cap until the next insert)"
assert_eq "$(enf_stat .allowSet.evicted)" 0 "nothing evicted yet"

step "a new answer evicts the entries nearest expiry without live flows"
new4=$(lab_race_addr4 1)
assert_eq "$(enf_resolve "$(lab_race_name 1)" A)" "$new4" "$(lab_race_name 1) resolves through the stub"
evicted=$(enf_stat .allowSet.evicted)
need=$((seeds + 2 + 1 - cap))
note "evicted $evicted (needed $need)"
assert_le "$need" "$evicted" "show stats: at least $need evictions counted ($evicted)"
assert_le "$(enf_state allowedAddresses)" "$cap" "show state: back within the cap ($(enf_state allowedAddresses) <= $cap)"
assert_ok "$new4 is allowed" in_set 4 "$new4"
assert_eq "$(enf_probe tcp "$new4" "$LAB_HTTP_PORT" | cut -d' ' -f1)" open "... and reachable"
assert_ok "$LAB_WEB4 (nearest expiry, but a live flow) is still allowed" in_set 4 "$LAB_WEB4"
assert_ok "$LAB_WEB6 (likewise) is still allowed" in_set 6 "$LAB_WEB6"
kept=$(enf_set_elements 6 | grep -c '^2001:db8:ffff::' || true)
assert_eq "$kept" $((seeds - evicted)) "exactly the evicted seeds left the kernel set"
first_kept=$(seed_addr $((evicted + 1)))
gone=0
for ((i = 1; i <= evicted; i++)); do in_set 6 "$(seed_addr "$i")" && gone=1; done
assert_eq "$gone" 0 "the evicted ones are the $evicted nearest expiry (seed 1..$evicted)"
assert_ok "seed $((evicted + 1)) ($first_kept), the next nearest, stays" in_set 6 "$first_kept"
enf_hold_check
assert_eq "$ENF_HOLD_LINE" "ok ok" "the live connections were not disturbed"
ev=$(jq -c 'select(.eventId == 102 and .action == "CAPACITY" and (.what | contains("evicted")))' "$ops" | tail -1)
note "event: $ev"
assert_ne "$ev" "" "an Operational CAPACITY (102) event says addresses were evicted"
assert_eq "$(jq -r '[.count, .size, .capacity, .evictedTotal] | @tsv' <<<"$ev")" \
  "$(printf '%s\t%s\t%s\t%s' "$evicted" $((seeds + 2)) "$cap" "$evicted")" "... with the count, the size that was too big, the capacity and the total"

step "fill to the cap, give every entry a live flow: the next insert is refused"
size=$(enf_state allowedAddresses)
n=1
while ((size < cap)); do
  n=$((n + 1))
  enf_resolve "$(lab_race_name "$n")" A >/dev/null
  size=$(enf_state allowedAddresses)
done
assert_eq "$size" "$cap" "the set is at the cap ($cap) after resolving r2..r$n"
evicted_before=$(enf_stat .allowSet.evicted)
# one conntrack entry per allowed address (the echo connections are real ones)
made=0
while read -r a; do
  [[ $a == "$LAB_WEB4" || $a == "$LAB_WEB6" ]] && continue
  if [[ $a == *:* ]]; then src=$LAB_CLIENT6; else src=$LAB_CLIENT4; fi
  lab_client conntrack -I -p tcp -s "$src" -d "$a" --sport 40000 --dport 80 --state ESTABLISHED -t 600 >/dev/null 2>&1 &&
    made=$((made + 1))
done < <(enf_set_elements 4; enf_set_elements 6)
assert_eq "$made" $((cap - 2)) "a live conntrack flow to each of the other $((cap - 2)) allowed addresses"
refused_name=$(lab_race_name $((n + 1)))
out=$(lab_client kdig @127.0.0.1 +timeout=5 +retry=0 "$refused_name" A || true)
assert_contains "$out" "status: SERVFAIL" "$refused_name: the stub answers SERVFAIL"
assert_eq "$(enf_stat .allowSet.refused)" 1 "show stats: one refused insert"
assert_eq "$(enf_stat .servfail.allowFailed)" 1 "show stats: one SERVFAIL because the allow failed"
assert_eq "$(enf_stat .allowSet.evicted)" "$evicted_before" "nothing with a live flow was evicted"
assert_eq "$(enf_probe tcp "$(lab_race_addr4 $((n + 1)))" "$LAB_HTTP_PORT" | cut -d' ' -f1)" refused \
  "the refused name's address stays blocked"
ev=$(jq -c 'select(.eventId == 102 and .action == "CAPACITY" and (.what | contains("refused")))' "$ops" | tail -1)
note "event: $ev"
assert_ne "$ev" "" "an Operational CAPACITY (102) event says an insert was refused"
assert_eq "$(jq -r '[.count, .refusedTotal] | @tsv' <<<"$ev")" "$(printf '1\t1')" "... once"
enf_hold_stop
finish
