#!/usr/bin/env bash
# tests/e2e/lib/enforce_lib.sh: helpers for the enforcement end-to-end tests
# (tests/e2e/test_enforce_*.sh). Source it after assert.sh and lab.sh.
#
#   enf_cells LABEL MODE <<<"ID PROTO ADDR PORT ENFORCED OPEN" (a here-string, not a pipe:
#       in a pipe the assertions would run in a subshell and go uncounted)
#       probe every cell from the client namespace (lib/enforce_probe.py cells) and assert
#       its outcome: ENFORCED when MODE is enforce, OPEN otherwise (audit, disabled). An
#       enforce-blocked TCP cell must also fail with "refused" in under 1 s.
#   enf_table                 nft -s list table inet ztdns (the stateless listing; empty if absent)
#   enf_has_table             status 0 when table inet ztdns exists in the client namespace
#   enf_set_elements FAMILY   the addresses in allow4/allow6, one a line, sorted
#   enf_resolve NAME TYPE     the answer's addresses through the stub (kdig @127.0.0.1 +short)
#   enf_state FIELD           a field of `ztdns --json show state`
#   enf_stat PATH             a field of `ztdns --json show stats` (jq path, e.g. .allowSet.evicted)
#   enf_config_set KEY=JSON... edit the daemon's config file (jq) and `ztdns reload`
#   enf_hold_start ADDR:PORT... / enf_hold_check / enf_hold_stop
#       hold TCP connections open (one coprocess); enf_hold_check does one round trip on
#       each and leaves "ok ok ..." (or fail:WHY per connection) in ENF_HOLD_LINE
#   enf_probe PROTO ADDR [PORT]  one cell; prints "OUTCOME ELAPSED_MS DETAIL"
# shellcheck disable=SC2034  # ENF_HOLD_LINE is for the tests

ENF_PROBE=$LAB_LIB_DIR/enforce_probe.py

enf_probe() {  # PROTO ADDR [PORT]
  printf 'x %s %s %s\n' "$1" "$2" "${3:-0}" | lab_client python3 "$ENF_PROBE" cells | cut -d' ' -f2-
}

enf_cells() {  # LABEL MODE; cells on stdin
  local label=$1 mode=$2 cells id proto addr port enforced open want out ms detail results
  local -A expect=() what=() proto_of=()
  cells=$(cat)
  local input=""
  while read -r id proto addr port enforced open; do
    [[ -z $id || $id == \#* ]] && continue
    if [[ $mode == enforce ]]; then want=$enforced; else want=$open; fi
    what[$id]="$proto $addr"
    [[ $proto == icmp ]] || what[$id]+=" port $port"
    expect[$id]=$want proto_of[$id]=$proto
    input+="$id $proto $addr $port"$'\n'
  done <<<"$cells"
  results=$(printf '%s' "$input" | lab_client python3 "$ENF_PROBE" cells) || fail "$label: the probe failed"
  local seen=0
  while read -r id out ms detail; do
    [[ -z $id ]] && continue
    seen=$((seen + 1))
    want=${expect[$id]}
    if [[ $out == "$want" ]]; then
      pass "$label $mode $id (${what[$id]}): $out in ${ms} ms"
    else
      fail "$label $mode $id (${what[$id]}): expected $want" "got: $out in ${ms} ms ${detail}"
    fi
    if [[ $mode == enforce && ${proto_of[$id]} == tcp && $want == refused ]]; then
      assert_lt "${ms%.*}" 1000 "$label $mode $id: the blocked TCP connect failed fast, with an error (${ms} ms < 1000 ms)"
    fi
  done <<<"$results"
  assert_eq "$seen" "${#expect[@]}" "$label $mode: every cell was probed"
}

enf_table() { lab_client nft -s list table inet ztdns 2>/dev/null || true; }
enf_has_table() { lab_client nft list table inet ztdns >/dev/null 2>&1; }
enf_set_elements() {  # 4|6: the addresses in allow4/allow6
  lab_client nft -j list set inet ztdns "allow$1" 2>/dev/null |
    jq -r '.nftables[] | select(.set) | .set.elem // [] | .[] | if type == "object" then .elem.val else . end' |
    sort
}
enf_resolve() {  # NAME TYPE: addresses through the stub
  lab_client kdig @127.0.0.1 +timeout=5 +retry=0 +short "$1" "${2:-A}" | grep -v '\.$' || true
}
enf_state() { lab_ztdns --json show state | jq -r ".$1"; }
enf_stat() { lab_ztdns --json show stats | jq -r "$1"; }
enf_config_set() {  # KEY=JSON...: edit the running daemon's config file, then reload
  local f=$LAB_ZTDNSD_CONFIG kv filter=. tmp
  for kv in "$@"; do filter+=" | .${kv%%=*} = ${kv#*=}"; done
  tmp=$(mktemp "$LAB_DIR/conf-edit.XXXXXX")
  jq "$filter" "$f" >"$tmp" && cat "$tmp" >"$f" && rm -f "$tmp"
  lab_ztdns reload
}

enf_hold_start() {  # ADDR:PORT...
  local line
  coproc ENF_HOLD { lab_client python3 -u "$ENF_PROBE" hold "$@" 2>&1; }
  read -r -t 10 line <&"${ENF_HOLD[0]}" || line="(no answer)"
  [[ $line == connected ]] || fail "holding connections to $*" "$line"
}
enf_hold_check() {  # sets ENF_HOLD_LINE (coprocess fds do not reach $(...) subshells)
  ENF_HOLD_LINE="holder gone"
  { echo check >&"${ENF_HOLD[1]}"; } 2>/dev/null || return 1
  read -r -t 15 ENF_HOLD_LINE <&"${ENF_HOLD[0]}" || ENF_HOLD_LINE="no answer from the holder"
}
enf_hold_stop() {
  [[ -n ${ENF_HOLD_PID:-} ]] || return 0
  local pid=$ENF_HOLD_PID fd=${ENF_HOLD[1]:-}
  [[ -n $fd ]] && exec {fd}>&-
  wait "$pid" 2>/dev/null || true
}
