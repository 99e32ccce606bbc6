#!/usr/bin/env bash
# tests/e2e/lib/lab_tools.sh: the lab's tools for tests, sourced by lab.sh (source lab.sh,
# not this file): packet counters and blackholes, DHCP, capture, ztdnsd and its configs,
# kdig to any lab server. tests/e2e/README.md documents them.
# shellcheck disable=SC2034  # LAB_* are for the tests

# --- packet counters and blackholes ------------------------------------------------------
# lab_count NAME: packets the counter has seen (leaving the client namespace).
# Counters: total dns53 dns53_udp dns53_tcp dot doh mdns rogue icmp_all, plus lab_count_add ones.
lab_count() {
  _lab_need_up || return 1
  _lab_in "$LAB_NET_NS" nft list counter netdev lab "$1" |
    awk '/packets/ {for (i = 1; i < NF; i++) if ($i == "packets") {print $(i + 1); exit}}'
}
lab_count_reset() {  # [NAME...] (default: all of them)
  _lab_need_up || return 1
  local n
  if (($#)); then
    for n in "$@"; do _lab_in "$LAB_NET_NS" nft reset counter netdev lab "$n" >/dev/null || return 1; done
  else
    _lab_in "$LAB_NET_NS" nft reset counters table netdev lab >/dev/null
  fi
}
lab_count_add() {  # NAME NFT-MATCH...: e.g. lab_count_add to_web ip daddr 203.0.113.80
  _lab_need_up || return 1
  local n=$1
  shift
  _lab_in "$LAB_NET_NS" nft add counter netdev lab "$n" &&
    _lab_in "$LAB_NET_NS" nft add rule netdev lab user "$@" counter name "\"$n\""
}

# Silently drop everything the client sends to these addresses (a server that times out
# rather than refuses). lab_unblackhole undoes it.
lab_blackhole() { _lab_bh add "$@"; }
lab_unblackhole() { _lab_bh delete "$@"; }
_lab_bh() {
  _lab_need_up || return 1
  local op=$1 a
  shift
  for a in "$@"; do
    if [[ $a == *:* ]]; then
      _lab_in "$LAB_NET_NS" nft "$op" element netdev lab blackhole6 "{ $a }" || return 1
    else
      _lab_in "$LAB_NET_NS" nft "$op" element netdev lab blackhole4 "{ $a }" || return 1
    fi
  done
}
lab_pdns_drop() { lab_blackhole "$(lab_pdns_addr "$1" 4)" "$(lab_pdns_addr "$1" 6)"; }
lab_pdns_undrop() { lab_unblackhole "$(lab_pdns_addr "$1" 4)" "$(lab_pdns_addr "$1" 6)"; }

# --- DHCP ------------------------------------------------------------------------------
# lab_start_dhcp: dnsmasq on the client link (net side). DHCPv4 pool LAB_DHCP_RANGE4 with
# router 192.0.2.1 and DNS (option 6) = the rogue resolver 203.0.113.53; DHCPv6 pool
# LAB_DHCP_RANGE6 with DNS 2001:db8:80::53. No DNS service (port 0).
lab_start_dhcp() { lab_server_start dhcp; }
lab_stop_dhcp() { lab_server_stop dhcp; }
# lab_dhcp_request [4|6]: one DHCP exchange by dhclient in the client namespace. Prints
# "address=... dns=..." from the lease; configures nothing (the script only records).
lab_dhcp_request() {
  _lab_need_up || return 1
  local fam=${1:-4} rec s n ok='' deadline
  rec=$LAB_DIR/run/dhclient$fam.env s=$LAB_DIR/run/dhclient$fam-script n=dhclient$fam
  printf '#!/bin/sh\nenv | grep -E "^(reason|new_|interface)" >>"%s"\necho "-- end" >>"%s"\nexit 0\n' \
    "$rec" "$rec" >"$s"
  chmod +x "$s"
  rm -f "$rec" "$LAB_DIR/run/$n.leases"  # no old lease: a full DISCOVER/SOLICIT exchange
  printf 'timeout 20;\nretry 1;\nrequest subnet-mask, routers, domain-name-servers, dhcp6.name-servers;\n' \
    >"$LAB_DIR/run/dhclient.conf"
  _lab_spawn "$n" "$LAB_CLIENT_NS" "$(_lab_exe dhclient)" "-$fam" -d -1 -v -sf "$s" -cf "$LAB_DIR/run/dhclient.conf" \
    -lf "$LAB_DIR/run/$n.leases" -pf "$LAB_DIR/run/$n.dhclient-pid" "$LAB_CLIENT_IF"
  deadline=$(($(_lab_now_us) + ${LAB_DHCP_TIMEOUT:-20} * 1000000))
  while (($(_lab_now_us) < deadline)); do
    if grep -qE "^reason=(BOUND|REBOOT)6?$" "$rec" 2>/dev/null; then ok=1; break; fi
    lab_server_running "$n" || break
    sleep 0.05
  done
  lab_server_stop "$n" 2>/dev/null || true
  [[ -n $ok ]] || { _lab_err "no DHCPv$fam lease; see $LAB_LOG_DIR/$n.log"; return 1; }
  # one block of variables per script run, in any order; print the first BOUND one
  awk -F= '/^-- end/ {if (r ~ /^(BOUND|REBOOT)6?$/) {print "address=" a " dns=" d; exit} r = a = d = ""; next}
    $1 == "reason" {r = $2} $1 == "new_ip_address" || $1 == "new_ip6_address" {a = $2}
    $1 == "new_domain_name_servers" || $1 == "new_dhcp6_name_servers" {d = $2}' "$rec"
}

# --- packet capture --------------------------------------------------------------------
# lab_capture_start [FILTER...]: tcpdump on the client link (net side) into
# $LAB_CAPTURE_FILE until lab_capture_stop (also stopped at teardown).
lab_capture_start() {
  _lab_need_up || return 1
  LAB_CAPTURE_FILE=$LAB_DIR/log/client-link.pcap
  export LAB_CAPTURE_FILE
  : >"$LAB_LOG_DIR/capture.log"
  _lab_spawn capture "$LAB_NET_NS" "$(_lab_exe tcpdump)" -i "$LAB_NET_IF" -n -U --immediate-mode -Z root -w "$LAB_CAPTURE_FILE" "$@"
  local deadline=$(($(_lab_now_us) + 10000000))
  until grep -q 'listening on' "$LAB_LOG_DIR/capture.log"; do
    lab_server_running capture || { _lab_err "tcpdump failed: $(tail -3 "$LAB_LOG_DIR/capture.log")"; return 1; }
    (($(_lab_now_us) < deadline)) || { _lab_err "tcpdump did not start"; return 1; }
    sleep 0.02
  done
}
lab_capture_stop() { lab_server_stop capture && echo "$LAB_CAPTURE_FILE"; }

# --- ztdnsd ----------------------------------------------------------------------------
_lab_bin() {  # NAME REL: $ZTDNS_BUILD_DIR/REL when built, else NAME on PATH
  if [[ -n ${ZTDNS_BUILD_DIR:-} && -x $ZTDNS_BUILD_DIR/$2 ]]; then echo "$ZTDNS_BUILD_DIR/$2"; else echo "$1"; fi
}
# lab_ztdnsd_start CONFIG [ARGS...]: run ztdnsd in the client namespace with the lab's
# run/state/log directories, and wait until it is ready: its control socket answers (the
# daemon opens it last, after enforcement and the stub's listeners).
lab_ztdnsd_start() {
  _lab_need_up || return 1
  local conf=$1 bin deadline
  shift
  bin=${ZTDNSD:-$(_lab_bin ztdnsd apps/ztdnsd/ztdnsd)}
  LAB_ZTDNSD_CONFIG=$conf
  export LAB_ZTDNSD_CONFIG
  mkdir -p "$LAB_ZTDNSD_RUN_DIR" "$LAB_ZTDNSD_STATE_DIR" "$LAB_ZTDNSD_LOG_DIR"
  # ip netns exec gives ztdnsd a mount namespace of its own with a fresh /sys that lacks the
  # cgroup2 hierarchy; mounted there (seen by ztdnsd alone), connection events can name
  # systemd units and cgroups as on a host. The shell execs ztdnsd, so the pid stays.
  _lab_spawn ztdnsd "$LAB_CLIENT_NS" sh -c \
    'grep -q " - cgroup2 " /proc/self/mountinfo || mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null; exec "$0" "$@"' \
    "$bin" --config "$conf" --run-dir "$LAB_ZTDNSD_RUN_DIR" \
    --state-dir "$LAB_ZTDNSD_STATE_DIR" --log-dir "$LAB_ZTDNSD_LOG_DIR" "$@"
  LAB_ZTDNSD_PID=$(_lab_pid ztdnsd)
  export LAB_ZTDNSD_PID
  deadline=$(($(_lab_now_us) + ${LAB_ZTDNSD_START_TIMEOUT:-20} * 1000000))
  until [[ -S $LAB_ZTDNSD_RUN_DIR/control.sock ]] && lab_ztdns show state >/dev/null 2>&1; do
    if ! _lab_alive "$LAB_ZTDNSD_PID"; then
      _lab_err "ztdnsd exited; last lines of $LAB_ZTDNSD_OUT:"
      tail -n 20 "$LAB_ZTDNSD_OUT" >&2
      return 1
    fi
    (($(_lab_now_us) < deadline)) || { _lab_err "ztdnsd's control socket does not answer"; return 1; }
    sleep 0.02
  done
}
# lab_ztdnsd_stop [SIGNAL]: default TERM (then KILL after 10 s); KILL for a crash.
lab_ztdnsd_stop() {
  _lab_need_up || return 1
  local sig=${1:-TERM} pid members
  pid=$(_lab_pid ztdnsd) || true
  [[ -n $pid ]] || { _lab_err "ztdnsd is not running"; return 1; }
  members=$(_lab_group_members "$pid")
  if [[ $sig != TERM ]]; then
    # shellcheck disable=SC2086
    kill -"$sig" $members 2>/dev/null || true
  fi
  # shellcheck disable=SC2086
  _lab_stop_pids 10 $members || return 1
  rm -f "$LAB_DIR/run/ztdnsd.pid"
  sed -i "/^pg ztdnsd /d" "$LAB_DIR/state"
}
# lab_ztdns ARGS...: the CLI in the client namespace, talking to the lab's ztdnsd.
lab_ztdns() {
  _lab_need_up || return 1
  ip netns exec "$LAB_CLIENT_NS" env ZTDNS_SOCKET="$LAB_ZTDNSD_RUN_DIR/control.sock" "${ZTDNS:-$(_lab_bin ztdns apps/ztdns/ztdns)}" "$@"
}

# --- configs for ztdnsd ----------------------------------------------------------------
# lab_server_json NAME [dot|doh|both] [PRIORITY] [4|6]: one secureDnsServers entry.
lab_server_json() {
  local n=$1 proto=${2:-dot} prio=${3:-1} fam=${4:-4} addr name disp=$1 tls doh
  addr=$(lab_pdns_addr "$n" "$fam") && name=$(lab_pdns_tls_name "$n") || return 1
  [[ $fam == 6 ]] && disp="$n (IPv6)"
  tls="\"dnsOverTlsConfiguration\": {\"tlsPort\": $LAB_DOT_PORT, \"certificateSubjectName\": \"$name\"}"
  doh="\"dnsOverHttpsConfiguration\": {\"httpsPort\": $LAB_DOH_PORT, \"queryUrl\": \"https://$name$LAB_DOH_PATH\"}"
  case $proto in
    dot) ;; doh) tls= ;; both) ;; *) _lab_err "protocol '$proto'?"; return 1 ;;
  esac
  [[ $proto == dot ]] && doh=
  printf '{"displayName": "%s", "ipAddress": "%s", "priority": %s%s%s}' "$disp" "$addr" "$prio" \
    "${tls:+, $tls}" "${doh:+, $doh}"
}
# lab_config_write FILE [--server NAME[:dot|doh|both[:PRIORITY[:4|6]]]]... [--mtls]
#                  [KEY=JSON]...
# Writes a ztdnsd config: the servers (priority = order given unless set), the lab CA as
# rootCertificatesForServerValidation, the lab client certificate with --mtls, and any
# top-level KEY=JSON (e.g. enabled=true auditModeEnabled=false) verbatim, last one wins.
lab_config_write() {
  local f=$1 a s keys=() servers=() i=0 n proto prio fam out k
  local -A val=()
  shift
  _lab_kv() { [[ -n ${val[$1]+x} ]] || keys+=("$1"); val[$1]=$2; }
  _lab_kv rootCertificatesForServerValidation "[\"$LAB_CA\"]"
  while (($#)); do
    case $1 in
      --server)
        i=$((i + 1))
        IFS=: read -r n proto prio fam <<<"$2"
        s=$(lab_server_json "$n" "${proto:-dot}" "${prio:-$i}" "${fam:-4}") || return 1
        servers+=("$s")
        shift 2 ;;
      --mtls)
        _lab_kv clientCertificate "{\"certificateFile\": \"$LAB_CLIENT_CERT\", \"privateKeyFile\": \"$LAB_CLIENT_KEY\"}"
        shift ;;
      *=*) _lab_kv "${1%%=*}" "${1#*=}"; shift ;;
      *) _lab_err "lab_config_write: '$1'?"; return 1 ;;
    esac
  done
  if ((${#servers[@]})) && [[ -z ${val[secureDnsServers]+x} ]]; then
    s=$(printf ',\n    %s' "${servers[@]}")
    _lab_kv secureDnsServers "[${s:1}
  ]"
  fi
  out="{"
  for k in "${keys[@]}"; do out+=$'\n'"  \"$k\": ${val[$k]},"; done
  printf '%s\n}\n' "${out%,}" >"$f"
  unset -f _lab_kv
}

# --- queries -----------------------------------------------------------------------------
# lab_kdig [--ca FILE] [--hostname NAME] [--cert | --untrusted-cert] SERVER PROTO FAMILY [KDIG ARGS...]
# kdig from the client namespace to a lab server: SERVER pdns1 pdns2 mtls wrongname untrusted
# malformed rogue unknown-doh auth; PROTO udp tcp dot doh; FAMILY 4 or 6. By default the lab CA and
# the server's configured name are checked (+tls-ca, +tls-hostname); --cert presents the
# lab client certificate. Default +timeout=3 +retry=0 (later arguments override).
lab_kdig() {
  _lab_need_up || return 1
  local ca=$LAB_CA host="" cert=() srv proto fam addr port opts
  while [[ ${1:-} == --* ]]; do
    case $1 in
      --ca) ca=$2; shift 2 ;;
      --hostname) host=$2; shift 2 ;;
      --cert) cert=(+tls-certfile="$LAB_CLIENT_CERT" +tls-keyfile="$LAB_CLIENT_KEY"); shift ;;
      --untrusted-cert) cert=(+tls-certfile="$LAB_UNTRUSTED_CLIENT_CERT" +tls-keyfile="$LAB_UNTRUSTED_CLIENT_KEY"); shift ;;
      *) _lab_err "lab_kdig: '$1'?"; return 2 ;;
    esac
  done
  srv=$1 proto=$2 fam=$3
  shift 3
  addr=$(lab_pdns_addr "$srv" "$fam") || return 2
  if [[ -z $host ]]; then host=$(lab_pdns_tls_name "$srv" 2>/dev/null) || host=$addr; fi
  case $proto in
    udp) opts=(-p 53 +notcp) ;;
    tcp) opts=(-p 53 +tcp) ;;
    dot) opts=(-p "$LAB_DOT_PORT" +tls-ca="$ca" +tls-hostname="$host" "${cert[@]}") ;;
    doh) opts=(-p "$LAB_DOH_PORT" +https="$LAB_DOH_PATH" +tls-ca="$ca" +tls-hostname="$host" "${cert[@]}") ;;
    *) _lab_err "lab_kdig: protocol '$proto'?"; return 2 ;;
  esac
  ip netns exec "$LAB_CLIENT_NS" kdig @"$addr" "${opts[@]}" +timeout=3 +retry=0 "$@"
}
