#!/usr/bin/env bash
# Connection events through the running ztdnsd (issue 5, "Blocked and audit events"):
# blocked (enforce) and would-block (audit) TCP, UDP and ICMP attempts over IPv4 and IPv6,
# from curl, kdig, dig, ping and short-lived UDP senders (python3, a bash /dev/udp
# one-shot, the one-packet probe), some as another user and in their own cgroup. Each
# attempt must give exactly one BlockedConnections line naming the pid the test
# launched, its executable, uid and unit, with every field and format of the issue.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/logs.sh"
require_lab
command -v jq >/dev/null || skip "needs jq"

lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot enabled=true auditModeEnabled=false
logs_ztdnsd_start "$conf"
probe=$(logs_probe) || probe=
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
# A cgroup of the lab's own, named like a systemd unit, for some clients: the event's
# unit must then be that unit, not "/".
cg_unit=
if logs_cgroup_make "ztlab-${LAB_ID#zt-}-client.service"; then
  cg_unit=$LOGS_CG_UNIT
  note "clients marked [cg] run in cgroup $cg_unit"
else
  note "no writable cgroup v2 hierarchy: every client stays in its own cgroup"
fi

# One attempt per client, each to its own destination (a race address nobody resolved,
# so it is blocked or audited), so that every event belongs to exactly one launch.
C_LABEL=() C_PROTO=() C_DST=() C_PID=() C_EXE=() C_UID=() C_UNIT=() C_MS=()
n_clients=0
# launch LABEL PROTO DST EXE UID CGROUP|- CMD...
launch() {
  local label=$1 proto=$2 dst=$3 exe=$4 uid=$5 cg=$6 i=$n_clients pf t0
  shift 6
  pf=$LAB_DIR/client-$i.pid
  t0=$(now_us)
  if [[ $cg == - ]]; then
    logs_client "$pf" "$@" >/dev/null 2>&1 || true
  else
    logs_client_in_cgroup "$cg" "$pf" "$@" >/dev/null 2>&1 || true
  fi
  C_MS[i]=$(elapsed_ms "$t0")
  [[ -s $pf ]] || fail "$label did not start"
  C_LABEL[i]=$label C_PROTO[i]=$proto C_DST[i]=$dst C_PID[i]=$(cat "$pf") C_EXE[i]=$exe C_UID[i]=$uid
  C_UNIT[i]=$([[ $cg == - ]] && logs_own_unit || echo "$cg")
  n_clients=$((n_clients + 1))
}

# workload FIRST_RACE_INDEX: every client once per family.
workload() {
  local k=$1 fam d u cg
  for fam in 4 6; do
    next() { d=$(lab_race_addr$fam "$k"); k=$((k + 1)); [[ $fam == 4 ]] && u=$d || u="[$d]"; }
    cg=${cg_unit:--}
    next; launch "curl TCP (nobody) [cg]" tcp "$d" "$(logs_exe curl)" 65534 "$cg" \
      "${nobody[@]}" curl -"$fam" -sS --max-time 3 -o /dev/null "http://$u/"
    next; launch "kdig TCP" tcp "$d" "$(logs_exe kdig)" 0 - kdig @"$d" +tcp +timeout=1 +retry=0 www.allowed.test
    next; launch "dig UDP" udp "$d" "$(logs_exe dig)" 0 - dig -"$fam" @"$d" +tries=1 +timeout=1 www.allowed.test
    next; launch "kdig UDP" udp "$d" "$(logs_exe kdig)" 0 - kdig @"$d" +notcp +timeout=1 +retry=0 www.allowed.test
    next; launch "python3 UDP one-shot (nobody) [cg]" udp "$d" "$LOGS_PY_EXE" 65534 "$cg" \
      "${nobody[@]}" "$LOGS_PY" -c 'import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
try: s.sendto(b"one-shot", (a, 9))
except OSError: pass' "$d"
    next; launch "bash /dev/udp one-shot" udp "$d" "$(logs_exe bash)" 0 - bash -c 'echo one-shot >"/dev/udp/$0/9"' "$d"
    next; launch "ping ICMP" "icmp$([[ $fam == 6 ]] && echo v6)" "$d" "$(logs_exe ping)" 0 - ping -"$fam" -n -c 1 -W 1 "$d"
    if [[ -n $probe ]]; then
      next; launch "probe UDP (< 50 ms)" udp "$d" "$(readlink -f "$probe")" 0 - "$probe" udp "$d" 9
      next; launch "probe TCP (< 50 ms)" tcp "$d" "$(readlink -f "$probe")" 0 - "$probe" tcp "$d" 80
      next; launch "probe ICMP (< 50 ms)" "icmp$([[ $fam == 6 ]] && echo v6)" "$d" "$(readlink -f "$probe")" 0 - "$probe" icmp "$d" 4242
    fi
  done
}

# check ACTION FROM TO: the events of clients FROM..TO-1.
check() {
  local action=$1 from=$2 to=$3 i ev n want_keys keys f fam src port_type time_us
  for ((i = from; i < to; i++)); do
    local label="${C_LABEL[i]} -> ${C_DST[i]}"
    ev=$(logs_wait blocked 10 '.dst == $d and .protocol == $p' --arg d "${C_DST[i]}" --arg p "${C_PROTO[i]}") ||
      fail "$action: $label: no BlockedConnections event" "$(tail -n 3 "$(logs_file blocked)")"
    n=$(logs_count blocked '.dst == $d and .protocol == $p' --arg d "${C_DST[i]}" --arg p "${C_PROTO[i]}")
    assert_eq "$n" 1 "$action: $label: exactly one event for the attempt"
    [[ ${C_DST[i]} == *:* ]] && fam=6 src=$LAB_CLIENT6 || fam=4 src=$LAB_CLIENT4
    assert_eq "$(jq -r '[.eventId, .action, (.audit | tostring), .protocol, .src, .dst] | join(" ")' <<<"$ev")" \
      "2 $action $([[ $action == AUDIT ]] && echo true || echo null) ${C_PROTO[i]} $src ${C_DST[i]}" \
      "$action: $label: eventId, action, audit, protocol, src, dst"
    assert_eq "$(jq -r '[.pid, .process, .uid, .attribution] | join(" ")' <<<"$ev")" \
      "${C_PID[i]} ${C_EXE[i]} ${C_UID[i]} kernel" \
      "$action: $label: pid ${C_PID[i]}, ${C_EXE[i]}, uid ${C_UID[i]} (the process launched, lived ${C_MS[i]} ms with ip netns exec)"
    assert_eq "$(jq -r '.unit' <<<"$ev")" "${C_UNIT[i]}" "$action: $label: unit ${C_UNIT[i]}"
    if [[ ${C_PROTO[i]} == icmp* ]]; then
      assert_eq "$(jq -r '[(.srcPort | tostring), (.dstPort | tostring), .icmpType, .icmpCode] | join(" ")' <<<"$ev")" \
        "null null $([[ $fam == 6 ]] && echo 128 || echo 8) 0" "$action: $label: no ports; echo request type and code"
    else
      assert_match "$(jq -r '[.srcPort, .dstPort] | map(tostring) | join(" ")' <<<"$ev")" \
        "^[0-9]+ $([[ ${C_PROTO[i]} == tcp ]] && echo '(80|53)' || echo '(9|53)')$" "$action: $label: srcPort and dstPort are numbers"
    fi
    f=$(jq -r .time <<<"$ev")
    assert_match "$f" "$LOGS_TIME_RE" "$action: $label: time $f is RFC 3339 UTC with microseconds"
    time_us=$(logs_time_us "$f")
    assert_ok "$action: $label: time is within the run" test "$time_us" -ge "$run_start_us" -a "$time_us" -le "$(now_us)"
    keys=$(jq -r 'keys_unsorted | join(",")' <<<"$ev")
    assert_match "$keys" '^time,eventId,action,.*,message$' "$action: $label: key order time, eventId, action ... message"
    want_keys='["action","dst","dstPort","eventId","message","pid","process","protocol","src","srcPort","time","uid","unit"]'
    assert_eq "$(jq -c --argjson w "$want_keys" '$w - keys' <<<"$ev")" "[]" "$action: $label: every connection field is present"
    port_type=$(jq -r '.message' <<<"$ev")
    assert_match "$port_type" "^$action - Connection \\[$src\\](:[0-9]+)? -> \\[${C_DST[i]}\\](:[0-9]+)? ${C_PROTO[i]} by process \\(${C_PID[i]}\\) ${C_EXE[i]}" \
      "$action: $label: message in Windows' wording"
  done
}

step "enforce: blocked attempts"
run_start_us=$(now_us)
workload 1
enforce_end=$n_clients
check BLOCK 0 "$enforce_end"
assert_eq "$(logs_malformed blocked)" 0 "every BlockedConnections line is a JSON object"

step "enforcement really refused them"
assert_fails "curl to an address nobody resolved is refused" lab_client curl -4 -sS --max-time 3 -o /dev/null "http://$(lab_race_addr4 150)/"
assert_match "$ASSERT_OUT" "(refused|Couldn't connect)" "... at once (connection refused)"

step "audit: would-block attempts are let through and logged as AUDIT"
assert_ok "switch to audit mode" lab_ztdns set state enable=yes audit=yes
# An accepted first packet that waits for neighbour resolution leaves from a softirq and
# is logged as kernel-context (docs/logging.md, limits): let the kernel know the router
# first, as any host that talks to its gateway does.
lab_client ping -4 -c 1 -W 1 "$LAB_ROUTER4" >/dev/null 2>&1 || true
lab_client ping -6 -c 1 -W 1 "$LAB_ROUTER6" >/dev/null 2>&1 || true
run_start_us=$(now_us)
workload 60
check AUDIT "$enforce_end" "$n_clients"
out=$(lab_client curl -4 -sS --max-time 5 "http://$(lab_race_addr4 150)/") || true
assert_eq "$out" "$(lab_race_addr4 150)" "in audit mode the same unresolved address answers"

finish
