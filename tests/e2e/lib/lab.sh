#!/usr/bin/env bash
# tests/e2e/lib/lab.sh: the shared network lab of /work/shared/LAB.md, for end-to-end
# tests, scripts/demo and benchmarks (lab_tools.sh, sourced from here, has the tools for
# tests). tests/e2e/README.md documents every function, variable and zone name.
#
#   . tests/e2e/lib/lab.sh
#   lab_up                      # namespaces, CA and certificates, PDNS, web, rogue ...
#   lab_client kdig @"$LAB_PDNS1_4" +tls-ca="$LAB_CA" +tls-hostname="$LAB_PDNS1_NAME" www.allowed.test
#   # lab_down runs from an EXIT trap on every exit path; register your own cleanups
#   # with lab_at_exit, not with "trap ... EXIT".
#
# Run as a command:  lab.sh up     bring a lab up and keep it (LAB_KEEP=1), print how to enter it
#                    lab.sh down ID|DIR   remove a kept (or leaked) lab
#                    lab.sh list   list labs on this machine
#
# Safety: everything lives in two fresh namespaces (zt-<pid>-client, zt-<pid>-net) with
# documentation addresses only; the root namespace is never configured. Servers bind
# explicit lab addresses (or the net namespace's loopback). Teardown signals only
# processes inside the lab's own namespaces (which only the lab and commands run
# through it can have started) and the lab's watchdog.

# shellcheck disable=SC2034,SC2317  # LAB_* are for the tests; the return is for sourcing
if [[ -n ${_LAB_SH_LOADED:-} ]]; then return 0 2>/dev/null || true; fi
_LAB_SH_LOADED=1

LAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_TEMPLATE_DIR=$(cd "$LAB_LIB_DIR/../lab" && pwd)

# --- addresses, names and ports (LAB.md) --------------------------------------------
LAB_CLIENT4=192.0.2.10 LAB_CLIENT6=2001:db8:0:1::10
LAB_ROUTER4=192.0.2.1 LAB_ROUTER6=2001:db8:0:1::1
LAB_CLIENT_IF=eth0 LAB_NET_IF=cl0 LAB_SRV_IF=srv0
LAB_PDNS1_4=198.51.100.53 LAB_PDNS1_6=2001:db8:53::53 LAB_PDNS1_NAME=pdns1.example.test
LAB_PDNS2_4=198.51.100.54 LAB_PDNS2_6=2001:db8:53::54 LAB_PDNS2_NAME=pdns2.example.test
LAB_MTLS_4=198.51.100.55 LAB_MTLS_6=2001:db8:53::55 LAB_MTLS_NAME=mtls.example.test
LAB_WRONGNAME_4=198.51.100.56 LAB_WRONGNAME_6=2001:db8:53::56 LAB_WRONGNAME_NAME=wrongname.example.test
LAB_WRONGNAME_CERT_NAME=other.example.test
LAB_UNTRUSTED_4=198.51.100.57 LAB_UNTRUSTED_6=2001:db8:53::57 LAB_UNTRUSTED_NAME=untrusted.example.test
LAB_MALFORMED_4=198.51.100.58 LAB_MALFORMED_6=2001:db8:53::58 LAB_MALFORMED_NAME=malformed.example.test
LAB_AUTH4=198.51.100.20 LAB_AUTH6=2001:db8:53::20 LAB_AUTH_NAME=ns.auth.test
LAB_ROGUE4=203.0.113.53 LAB_ROGUE6=2001:db8:80::53
LAB_UNKNOWN_DOH4=203.0.113.44 LAB_UNKNOWN_DOH6=2001:db8:80::44 LAB_UNKNOWN_DOH_NAME=unknown-doh.example.test
LAB_UNKNOWN_DOH_URL=https://203.0.113.44/dns-query
LAB_EXCEPTION4=203.0.113.200 LAB_EXCEPTION6=2001:db8:200::1
LAB_WEB4=203.0.113.80 LAB_WEB6=2001:db8:80::80 LAB_WEB_NAME=www.allowed.test
LAB_IPONLY4=203.0.113.81 LAB_IPONLY6=2001:db8:80::81
LAB_DOT_PORT=853 LAB_DOH_PORT=443 LAB_DOH_PATH=/dns-query LAB_HTTP_PORT=80 LAB_ECHO_PORT=7
LAB_BACKEND_DOH_PORT=8443 LAB_MALFORMED_BACKEND_PORT=5301
# zone contents (tests/e2e/README.md has the full table)
LAB_ALIAS_NAME=alias.allowed.test
LAB_CHAIN_NAME=www.chain.test LAB_CHAIN4=203.0.113.82 LAB_CHAIN6=2001:db8:80::82 LAB_CHAIN_MIN_TTL=30
LAB_TTL0_NAME=ttl0.allowed.test LAB_TTL0_4=203.0.113.84 LAB_TTL0_6=2001:db8:80::84
LAB_TTL2_NAME=ttl2.allowed.test LAB_TTL2_4=203.0.113.85 LAB_TTL2_6=2001:db8:80::85
LAB_LONGTTL_NAME=longttl.allowed.test LAB_LONGTTL_4=203.0.113.88 LAB_LONGTTL_6=2001:db8:80::88
LAB_V4ONLY_NAME=v4only.allowed.test LAB_V4ONLY_4=203.0.113.86
LAB_V6ONLY_NAME=v6only.allowed.test LAB_V6ONLY_6=2001:db8:80::86
LAB_MAPPED_NAME=mapped.allowed.test LAB_MAPPED_6=::ffff:203.0.113.83 LAB_MAPPED_4=203.0.113.83
LAB_LOOPBACK_NAME=loopback.allowed.test LAB_ZERO_NAME=zero.allowed.test LAB_MCAST_NAME=mcast.allowed.test
LAB_SVCB_NAME=svc.allowed.test LAB_SVCB_4=203.0.113.87 LAB_SVCB_6=2001:db8:80::87
LAB_MANY_NAME=many.allowed.test LAB_MANY_COUNT=40
LAB_TOBLOCKED_NAME=toblocked.allowed.test
LAB_BLOCKED_NAME=www.blocked.test LAB_SINKHOLE_NAME=www.sinkhole.test
LAB_HOSTSONLY_NAME=hostsonly.test LAB_HOSTSONLY4=203.0.113.90 LAB_HOSTSONLY6=2001:db8:80::90
LAB_RACE_COUNT=200
LAB_DHCP_RANGE4=192.0.2.100,192.0.2.199 LAB_DHCP_RANGE6=2001:db8:0:1::100,2001:db8:0:1::1ff
: "${LAB_PDNS_TCP_IDLE_MS:=30000}"

# Race names rN.race.test each have their own IPv4 address (the free parts of
# 203.0.113.0/24, in this order) and IPv6 2001:db8:80::1:N. many.allowed.test has 40 A
# (198.51.100.100-139) and 40 AAAA (2001:db8:80::2:1 .. ::2:40) records.
_LAB_RACE4=() _LAB_RACE6=() _LAB_MANY4=() _LAB_MANY6=()
for _i in {100..199} {201..254} {1..43} {45..47}; do _LAB_RACE4+=("203.0.113.$_i"); done
for ((_i = 1; _i <= LAB_RACE_COUNT; _i++)); do _LAB_RACE6+=("2001:db8:80::1:$_i"); done
for ((_i = 1; _i <= LAB_MANY_COUNT; _i++)); do
  _LAB_MANY4+=("198.51.100.$((99 + _i))") _LAB_MANY6+=("2001:db8:80::2:$_i")
done
# The web addresses (HTTP on port 80), by family.
_LAB_WEB4=() _LAB_WEB6=()
for _i in {80..90}; do _LAB_WEB4+=("203.0.113.$_i") _LAB_WEB6+=("2001:db8:80::$_i"); done
_LAB_WEB4+=("$LAB_EXCEPTION4" "$LAB_PDNS1_4" "$LAB_PDNS2_4" "${_LAB_MANY4[@]}" "${_LAB_RACE4[@]:0:LAB_RACE_COUNT}")
_LAB_WEB6+=("$LAB_EXCEPTION6" "$LAB_PDNS1_6" "$LAB_PDNS2_6" "${_LAB_MANY6[@]}" "${_LAB_RACE6[@]}")
unset _i

lab_race_name() { echo "r$1.race.test"; }
lab_race_addr4() { echo "${_LAB_RACE4[$1 - 1]}"; }
lab_race_addr6() { echo "${_LAB_RACE6[$1 - 1]}"; }
lab_many_addr4() { echo "${_LAB_MANY4[$1 - 1]}"; }
lab_many_addr6() { echo "${_LAB_MANY6[$1 - 1]}"; }

# Every LAB_* name above is exported so that "bash -c" and child scripts see it.
# shellcheck disable=SC2046
export $(compgen -v LAB_) LAB_PDNS_TCP_IDLE_MS

# --- small helpers -------------------------------------------------------------------
_lab_log() { echo "lab: $*" >&2; }
_lab_err() { echo "lab: ERROR: $*" >&2; return 1; }
_lab_now_us() { local t=${EPOCHREALTIME//[.,]/}; echo $((10#$t)); }
_lab_need_up() { [[ -n ${LAB_DIR:-} && -f $LAB_DIR/state ]] || _lab_err "no lab is up (call lab_up)"; }
_lab_alive() {  # PID: alive and not a zombie
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  [[ ${s:0:1} != Z ]]
}

# UDP echo (port 7) hosts: PDNS hosts, web, IP-only, exception, unknown DoH, rogue.
_lab_echo_addrs() {
  echo "$LAB_PDNS1_4" "$LAB_PDNS1_6" "$LAB_PDNS2_4" "$LAB_PDNS2_6" "$LAB_WEB4" "$LAB_WEB6" \
    "$LAB_IPONLY4" "$LAB_IPONLY6" "$LAB_EXCEPTION4" "$LAB_EXCEPTION6" \
    "$LAB_UNKNOWN_DOH4" "$LAB_UNKNOWN_DOH6" "$LAB_ROGUE4" "$LAB_ROGUE6"
}
# TCP echo (port 7) hosts: a connection that stays open and carries data on demand
# (allow-expiry tests): web and the TTL 2 name's addresses.
_lab_tcpecho_addrs() { echo "$LAB_WEB4" "$LAB_WEB6" "$LAB_TTL2_4" "$LAB_TTL2_6"; }

# The DNS servers a test can query or configure: address per family, TLS name, cert.
lab_pdns_names() { echo pdns1 pdns2 mtls wrongname untrusted malformed; }
_lab_srv_var() {  # SERVER 4|6|NAME -> LAB_<SERVER>_4, LAB_ROGUE4, LAB_UNKNOWN_DOH_NAME ...
  local v
  case $1 in
    pdns1 | pdns2 | mtls | wrongname | untrusted | malformed) v=LAB_${1^^}_$2 ;;
    rogue | auth | unknown-doh) v=${1^^} v=LAB_${v//-/_} && { [[ $2 == NAME ]] && v+=_NAME || v+=$2; } ;;
    *) _lab_err "unknown server '$1'"; return 1 ;;
  esac
  [[ -n ${!v:-} ]] || { _lab_err "$1 has no $2"; return 1; }
  echo "${!v}"
}
lab_pdns_addr() { _lab_srv_var "$1" "${2:-4}"; }  # SERVER [4|6]
lab_pdns_tls_name() { _lab_srv_var "$1" NAME; }   # the name a config checks
lab_cert() { echo "$LAB_CERT_DIR/$1.pem"; }         # NAME -> its certificate (key: .key)
lab_spki_pin() {  # CERTFILE -> base64 SHA-256 of its SubjectPublicKeyInfo (spkiPins)
  openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64
}

# The tools for tests (counters, blackholes, DHCP, capture, ztdnsd, configs, kdig).
# shellcheck source=lab_tools.sh
. "$LAB_LIB_DIR/lab_tools.sh"

# --- running things ------------------------------------------------------------------
lab_client() { _lab_need_up && ip netns exec "$LAB_CLIENT_NS" "$@"; }
lab_net() { _lab_need_up && ip netns exec "$LAB_NET_NS" "$@"; }
_lab_in() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }  # network namespace only

# _lab_spawn NAME NS CMD...: start CMD in namespace NS in its own session (so its whole
# process group can be stopped), output in $LAB_LOG_DIR/NAME.log. The client namespace
# gets "ip netns exec" (its /etc/netns resolv.conf and hosts matter there); the net
# namespace's servers need only the network namespace, and nsenter is several times quicker.
_lab_spawn() {
  local name=$1 ns=$2 pid m='' pre
  shift 2
  pre=(ip netns exec "$ns")
  [[ $ns != "$LAB_NET_NS" ]] || pre=(nsenter --net="/run/netns/$ns")
  [[ $- == *m* ]] && m=1 && set +m  # under job control setsid would fork: keep $! exact
  setsid "${pre[@]}" "$@" </dev/null >>"$LAB_LOG_DIR/$name.log" 2>&1 &
  pid=$!
  disown "$pid" 2>/dev/null || true
  [[ -n $m ]] && set -m
  printf '%s\n' "$pid" >"$LAB_DIR/run/$name.pid"
  echo "pg $name $pid" >>"$LAB_DIR/state"
}
_lab_pid() { cat "$LAB_DIR/run/$1.pid" 2>/dev/null || true; }  # empty when not running

# Processes inside the lab's namespaces.
_lab_ns_pids() {
  local ns
  for ns in "$@"; do [[ -e /run/netns/$ns ]] && ip netns pids "$ns" 2>/dev/null; done | sort -un
}

# Members of process group PG that are inside this lab's namespaces.
_lab_group_members() {
  local pg=$1 p
  local -A inns=()
  for p in $(_lab_ns_pids "$LAB_CLIENT_NS" "$LAB_NET_NS"); do inns[$p]=1; done
  for p in $(pgrep -g "$pg" 2>/dev/null); do [[ -n ${inns[$p]:-} ]] && echo "$p"; done
  return 0
}

# _lab_stop_pids TIMEOUT_S PID...: TERM, wait, then KILL. Fails if any survive.
_lab_stop_pids() {
  local t=$1 p left deadline
  shift
  (($#)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  deadline=$(($(_lab_now_us) + t * 1000000))
  while :; do
    left=()
    for p in "$@"; do _lab_alive "$p" && left+=("$p"); done
    ((${#left[@]})) || return 0
    (($(_lab_now_us) > deadline)) && break
    sleep 0.02
  done
  kill -KILL "${left[@]}" 2>/dev/null || true
  deadline=$(($(_lab_now_us) + 2000000))
  while (($(_lab_now_us) < deadline)); do
    left=()
    for p in "$@"; do _lab_alive "$p" && left+=("$p"); done
    ((${#left[@]})) || return 0
    sleep 0.02
  done
  _lab_err "processes would not die: ${left[*]}"
}

# What each server listens on ("tcp|udp ADDR:PORT" lines, IPv6 in brackets), so that
# readiness is "every socket is bound": the kernel queues anything that arrives before
# the server's first accept().
_lab_expect() {  # NAME LINE...
  local n=$1
  shift
  printf '%s\n' "$@" >"$LAB_DIR/run/$n.listen"
}
_lab_ep() {  # PROTO ADDR PORT: append "proto addr:port", as ss prints it, to the caller's l
  if [[ $2 == *:* ]]; then l+=("$1 [$2]:$3"); else l+=("$1 $2:$3"); fi
}

# _lab_wait_ready TIMEOUT_S NAME...: until every NAME's sockets are bound.
_lab_wait_ready() {
  local t=$1 n l line pid ns deadline missing=()
  shift
  deadline=$(($(_lab_now_us) + t * 1000000))
  while :; do
    local -A have=()
    for ns in "$LAB_NET_NS" "$LAB_CLIENT_NS"; do
      while read -r line; do have[$line]=1; done < <(_lab_in "$ns" ss -Hlntu 2>/dev/null |
        awk '{print $1, $5}')
    done
    missing=()
    for n in "$@"; do
      [[ -f $LAB_DIR/run/$n.listen ]] || continue
      while read -r l; do
        [[ -z $l || -n ${have[$l]:-} ]] || { missing+=("$n($l)"); break; }
      done <"$LAB_DIR/run/$n.listen"
    done
    ((${#missing[@]})) || return 0
    for n in "$@"; do
      pid=$(_lab_pid "$n")
      if [[ -n $pid ]] && ! _lab_alive "$pid"; then
        _lab_err "$n exited at start; last lines of $LAB_LOG_DIR/$n.log:"
        tail -n 15 "$LAB_LOG_DIR/$n.log" >&2
        return 1
      fi
    done
    if (($(_lab_now_us) > deadline)); then
      _lab_err "not listening after ${t}s: ${missing[*]}"
      return 1
    fi
    unset have
    sleep 0.02
  done
}

# --- templates -----------------------------------------------------------------------
# _lab_render TEMPLATE OUT [KEY=VALUE...]: {{KEY}} from the arguments, else from $KEY.
_lab_render() {
  local tpl=$1 out=$2 text k v a
  shift 2
  local -A kv=()
  for a in "$@"; do kv[${a%%=*}]=${a#*=}; done
  text=$(<"$tpl")
  while [[ $text =~ \{\{([A-Za-z0-9_]+)\}\} ]]; do
    k=${BASH_REMATCH[1]}
    if [[ -n ${kv[$k]+x} ]]; then
      v=${kv[$k]}
    elif [[ -v $k ]]; then
      v=${!k}
    else
      _lab_err "$tpl: no value for {{$k}}"
      return 1
    fi
    text=${text//"{{$k}}"/"$v"}
  done
  printf '%s\n' "$text" >"$out"
}

# --- certificates --------------------------------------------------------------------
_lab_cert() {  # NAME CA|- EXT CN SAN: key + certificate in $LAB_CERT_DIR (CA - = new root)
  local name=$1 ca=$2 ext=$3 cn=$4 san=$5 sign=()
  [[ $ca == - ]] || sign=(-CA "$LAB_CERT_DIR/$ca.pem" -CAkey "$LAB_CERT_DIR/$ca.key")
  LAB_SAN=$san openssl req -x509 -config "$LAB_TEMPLATE_DIR/openssl.cnf" -extensions "$ext" \
    "${sign[@]}" -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3 \
    -subj "/CN=$cn" -keyout "$LAB_CERT_DIR/$name.key" -out "$LAB_CERT_DIR/$name.pem" 2>/dev/null
}
_lab_srv_san() { echo "DNS:$1,IP:$2,IP:$3"; }
_lab_make_certs() {
  local pids=() p rc=0
  _lab_cert ca - ca "ztdns lab CA $LAB_ID" "DNS:ca.lab.test" & pids+=($!)
  _lab_cert untrusted-ca - ca "ztdns lab untrusted CA $LAB_ID" "DNS:untrusted-ca.lab.test" & pids+=($!)
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  ((rc == 0)) || return 1
  pids=()
  _lab_cert pdns1 ca server "$LAB_PDNS1_NAME" "$(_lab_srv_san "$LAB_PDNS1_NAME" "$LAB_PDNS1_4" "$LAB_PDNS1_6")" & pids+=($!)
  _lab_cert pdns2 ca server "$LAB_PDNS2_NAME" "$(_lab_srv_san "$LAB_PDNS2_NAME" "$LAB_PDNS2_4" "$LAB_PDNS2_6")" & pids+=($!)
  _lab_cert mtls ca server "$LAB_MTLS_NAME" "$(_lab_srv_san "$LAB_MTLS_NAME" "$LAB_MTLS_4" "$LAB_MTLS_6")" & pids+=($!)
  # names another host, and not its own addresses either
  _lab_cert wrongname ca server "$LAB_WRONGNAME_CERT_NAME" "DNS:$LAB_WRONGNAME_CERT_NAME" & pids+=($!)
  _lab_cert untrusted untrusted-ca server "$LAB_UNTRUSTED_NAME" \
    "$(_lab_srv_san "$LAB_UNTRUSTED_NAME" "$LAB_UNTRUSTED_4" "$LAB_UNTRUSTED_6")" & pids+=($!)
  _lab_cert unknown-doh ca server "$LAB_UNKNOWN_DOH_NAME" \
    "$(_lab_srv_san "$LAB_UNKNOWN_DOH_NAME" "$LAB_UNKNOWN_DOH4" "$LAB_UNKNOWN_DOH6")" & pids+=($!)
  _lab_cert malformed ca server "$LAB_MALFORMED_NAME" \
    "$(_lab_srv_san "$LAB_MALFORMED_NAME" "$LAB_MALFORMED_4" "$LAB_MALFORMED_6")" & pids+=($!)
  _lab_cert client ca client "ztdns lab client" "DNS:client.lab.test" & pids+=($!)
  _lab_cert untrusted-client untrusted-ca client "ztdns lab untrusted client" "DNS:client.lab.test" & pids+=($!)
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return $rc
}

# --- zones and configs ---------------------------------------------------------------
_lab_make_zones() {
  local z=$LAB_DIR/zones i zones="root test allowed.test chain.test cdn-a.test cdn-b.test blocked.test sinkhole.test race.test example.test"
  mkdir -p "$z"
  cp "$LAB_TEMPLATE_DIR"/zones/*.zone "$LAB_TEMPLATE_DIR/zones/policy.rpz" "$z/"
  printf 'many A %s\n' "${_LAB_MANY4[@]}" >>"$z/allowed.test.zone"
  printf 'many AAAA %s\n' "${_LAB_MANY6[@]}" >>"$z/allowed.test.zone"
  {
    echo "; race.test: rN.race.test, each with its own address (generated by lab.sh)"
    echo "\$ORIGIN race.test."
    echo "\$TTL 300"
    echo "@ SOA ns.auth.test. hostmaster.auth.test. 1 3600 600 86400 60"
    echo "@ NS ns.auth.test."
    for ((i = 1; i <= LAB_RACE_COUNT; i++)); do
      echo "r$i A ${_LAB_RACE4[i - 1]}"
      echo "r$i AAAA ${_LAB_RACE6[i - 1]}"
    done
  } >"$z/race.test.zone"
  AUTH_ZONES=
  for i in $zones; do
    AUTH_ZONES+="auth-zone:
  name: \"$([[ $i == root ]] || echo "$i").\"
  zonefile: \"$z/$i.zone\"
  for-downstream: yes
  for-upstream: no
"
  done
}

_lab_iface_lines() {  # ADDR@PORT... -> unbound interface: lines
  local a
  for a in "$@"; do echo "  interface: $a"; done
}

_lab_make_configs() {
  local c=$LAB_DIR/conf n a4 a6 rpz
  mkdir -p "$c"
  rpz="rpz:
  name: \"rpz.lab.\"
  zonefile: \"$LAB_DIR/zones/policy.rpz\"
  rpz-log: yes
  rpz-log-name: \"lab-policy\""
  _lab_render "$LAB_TEMPLATE_DIR/auth.conf.in" "$c/auth.conf" AUTH_ZONES="$AUTH_ZONES"
  for n in pdns1 pdns2; do
    a4=$(lab_pdns_addr $n 4) a6=$(lab_pdns_addr $n 6)
    _lab_render "$LAB_TEMPLATE_DIR/resolver.conf.in" "$c/$n.conf" SRV=$n \
      ROLE="protective DNS server $(lab_pdns_tls_name $n)" \
      INTERFACES="$(_lab_iface_lines "$a4@53" "$a6@53" "$a4@$LAB_DOT_PORT" "$a6@$LAB_DOT_PORT" \
        "$a4@$LAB_DOH_PORT" "$a6@$LAB_DOH_PORT")" \
      TLS_PORT=$LAB_DOT_PORT HTTPS_PORT=$LAB_DOH_PORT HTTP_NOTLS=no \
      TLS_KEYS="  tls-service-key: \"$LAB_CERT_DIR/$n.key\"
  tls-service-pem: \"$LAB_CERT_DIR/$n.pem\"" MODULES="respip iterator" POLICY="$rpz"
  done
  _lab_render "$LAB_TEMPLATE_DIR/resolver.conf.in" "$c/backend.conf" SRV=backend \
    ROLE="the PDNS behind the nginx fronts mtls, wrongname and untrusted; net namespace loopback only" \
    INTERFACES="$(_lab_iface_lines 127.0.0.1@53 "127.0.0.1@$LAB_BACKEND_DOH_PORT")" \
    TLS_PORT=$LAB_DOT_PORT HTTPS_PORT=$LAB_BACKEND_DOH_PORT HTTP_NOTLS=yes TLS_KEYS= \
    MODULES="respip iterator" POLICY="$rpz"
  _lab_render "$LAB_TEMPLATE_DIR/resolver.conf.in" "$c/rogue.conf" SRV=rogue \
    ROLE="rogue plaintext resolver on $LAB_ROGUE4/$LAB_ROGUE6 port 53, and an app's own DoT/DoH resolver on $LAB_UNKNOWN_DOH4/$LAB_UNKNOWN_DOH6; no policy" \
    INTERFACES="$(_lab_iface_lines "$LAB_ROGUE4@53" "$LAB_ROGUE6@53" \
      "$LAB_UNKNOWN_DOH4@$LAB_DOT_PORT" "$LAB_UNKNOWN_DOH6@$LAB_DOT_PORT" \
      "$LAB_UNKNOWN_DOH4@$LAB_DOH_PORT" "$LAB_UNKNOWN_DOH6@$LAB_DOH_PORT")" \
    TLS_PORT=$LAB_DOT_PORT HTTPS_PORT=$LAB_DOH_PORT HTTP_NOTLS=no \
    TLS_KEYS="  tls-service-key: \"$LAB_CERT_DIR/unknown-doh.key\"
  tls-service-pem: \"$LAB_CERT_DIR/unknown-doh.pem\"" MODULES=iterator POLICY=
  local verify roles=(
    "mtls|requires a client certificate from the lab CA"
    "wrongname|its certificate names $LAB_WRONGNAME_CERT_NAME, not $LAB_WRONGNAME_NAME"
    "untrusted|its certificate is from a CA nobody trusts")
  local r
  for r in "${roles[@]}"; do
    n=${r%%|*} verify=
    [[ $n == mtls ]] && verify="  ssl_verify_client on;
  ssl_client_certificate $LAB_CA;
  ssl_verify_depth 2;"
    _lab_render "$LAB_TEMPLATE_DIR/front.nginx.conf.in" "$c/$n.nginx.conf" SRV="$n" ROLE="${r#*|}" \
      ADDR4="$(lab_pdns_addr "$n" 4)" ADDR6="$(lab_pdns_addr "$n" 6)" CERT="$LAB_CERT_DIR/$n.pem" \
      KEY="$LAB_CERT_DIR/$n.key" VERIFY="$verify" BACKEND_DOH_PORT=$LAB_BACKEND_DOH_PORT
  done
  _lab_render "$LAB_TEMPLATE_DIR/malformed.nginx.conf.in" "$c/malformed.nginx.conf" \
    ADDR4="$LAB_MALFORMED_4" ADDR6="$LAB_MALFORMED_6" CERT="$LAB_CERT_DIR/malformed.pem" \
    KEY="$LAB_CERT_DIR/malformed.key" BACKEND_PORT="$LAB_MALFORMED_BACKEND_PORT"
  local listen=
  for a4 in "${_LAB_WEB4[@]}"; do listen+="    listen $a4:$LAB_HTTP_PORT;"$'\n'; done
  for a6 in "${_LAB_WEB6[@]}"; do listen+="    listen [$a6]:$LAB_HTTP_PORT;"$'\n'; done
  _lab_render "$LAB_TEMPLATE_DIR/web.nginx.conf.in" "$c/web.nginx.conf" LISTEN="${listen%$'\n'}"
}

# --- namespaces ----------------------------------------------------------------------
_lab_make_netns() {
  local c=$LAB_CLIENT_NS n=$LAB_NET_NS a b=$LAB_DIR/run/net.ip rc=0 p1 p2 p3
  ip netns add "$c" || return 1
  echo "ns $c" >>"$LAB_DIR/state"
  ip netns add "$n" || return 1
  echo "ns $n" >>"$LAB_DIR/state"
  # No DAD anywhere (addresses usable at once); ICMP errors not rate limited (tests
  # count them); the net namespace routes.
  _lab_in "$c" sh -c 'echo 0 >/proc/sys/net/ipv6/conf/all/accept_dad
    echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad
    echo 0 >/proc/sys/net/ipv4/icmp_ratelimit; echo 0 >/proc/sys/net/ipv6/icmp/ratelimit' &
  p1=$!
  _lab_in "$n" sh -c 'echo 0 >/proc/sys/net/ipv6/conf/all/accept_dad
    echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad
    echo 0 >/proc/sys/net/ipv4/icmp_ratelimit; echo 0 >/proc/sys/net/ipv6/icmp/ratelimit
    echo 1 >/proc/sys/net/ipv4/ip_forward; echo 1 >/proc/sys/net/ipv6/conf/all/forwarding' || rc=1
  wait "$p1" || rc=1
  ((rc == 0)) || return 1
  ip -n "$c" link add "$LAB_CLIENT_IF" type veth peer name "$LAB_NET_IF" netns "$n" || return 1
  # Three things at once: the client side, the net side, the counters.
  ip -n "$c" -b - <<EOF &
link set lo up
link set $LAB_CLIENT_IF up
addr add $LAB_CLIENT4/24 dev $LAB_CLIENT_IF
addr add $LAB_CLIENT6/64 dev $LAB_CLIENT_IF nodad
route add default via $LAB_ROUTER4
route add default via $LAB_ROUTER6
EOF
  p1=$!
  {
    # the server addresses sit on a dummy interface (ifb where the kernel has no dummy driver)
    ip -n "$n" link add "$LAB_SRV_IF" type dummy 2>/dev/null ||
      ip -n "$n" link add "$LAB_SRV_IF" type ifb || exit 1
    {
      echo "link set lo up"
      echo "link set $LAB_NET_IF up"
      echo "link set $LAB_SRV_IF up"
      echo "addr add $LAB_ROUTER4/24 dev $LAB_NET_IF"
      echo "addr add $LAB_ROUTER6/64 dev $LAB_NET_IF nodad"
      for a in "${_LAB_WEB4[@]}" "$LAB_AUTH4" "$LAB_MTLS_4" "$LAB_WRONGNAME_4" "$LAB_UNTRUSTED_4" \
        "$LAB_MALFORMED_4" "$LAB_ROGUE4" "$LAB_UNKNOWN_DOH4"; do echo "addr add $a/32 dev $LAB_SRV_IF"; done
      for a in "${_LAB_WEB6[@]}" "$LAB_AUTH6" "$LAB_MTLS_6" "$LAB_WRONGNAME_6" "$LAB_UNTRUSTED_6" \
        "$LAB_MALFORMED_6" "$LAB_ROGUE6" "$LAB_UNKNOWN_DOH6"; do echo "addr add $a/128 dev $LAB_SRV_IF nodad"; done
    } >"$b"
    ip -n "$n" -b "$b"
  } &
  p2=$!
  _lab_make_counters &
  p3=$!
  # Per-namespace /etc files that "ip netns exec" bind-mounts over /etc: clients in the
  # client namespace use ztdnsd's stub; tools in the net namespace use the backend.
  mkdir -p "/etc/netns/$c" "/etc/netns/$n"
  echo "etc /etc/netns/$c" >>"$LAB_DIR/state"
  echo "etc /etc/netns/$n" >>"$LAB_DIR/state"
  printf 'nameserver 127.0.0.1\n' >"/etc/netns/$c/resolv.conf"
  printf 'nameserver 127.0.0.1\n' >"/etc/netns/$n/resolv.conf"
  cat >"/etc/netns/$c/hosts" <<EOF
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
# in the client's hosts file only (not in DNS)
$LAB_HOSTSONLY4 $LAB_HOSTSONLY_NAME
$LAB_HOSTSONLY6 $LAB_HOSTSONLY_NAME
EOF
  printf '127.0.0.1 localhost\n::1 localhost\n' >"/etc/netns/$n/hosts"
  wait "$p1" || { _lab_err "client namespace setup failed"; rc=1; }
  wait "$p2" || { _lab_err "net namespace setup failed"; rc=1; }
  wait "$p3" || { _lab_err "packet counters failed"; rc=1; }
  return $rc
}

# Packet counters on the net side of the client link (netdev ingress): every packet
# that leaves the client namespace passes here, whatever its destination. Also the
# blackhole sets (lab_blackhole) and the chain for lab_count_add.
_lab_make_counters() {
  _lab_in "$LAB_NET_NS" nft -f - <<EOF
table netdev lab {
  set blackhole4 { type ipv4_addr; }
  set blackhole6 { type ipv6_addr; }
  counter total {}
  counter dns53 {}
  counter dns53_udp {}
  counter dns53_tcp {}
  counter dot {}
  counter doh {}
  counter mdns {}
  counter rogue {}
  counter icmp_all {}
  chain user {}
  chain ingress {
    type filter hook ingress device "$LAB_NET_IF" priority 0; policy accept;
    counter name "total"
    meta l4proto { tcp, udp } th dport 53 counter name "dns53"
    udp dport 53 counter name "dns53_udp"
    tcp dport 53 counter name "dns53_tcp"
    tcp dport $LAB_DOT_PORT counter name "dot"
    tcp dport $LAB_DOH_PORT counter name "doh"
    udp dport 5353 counter name "mdns"
    ip daddr $LAB_ROGUE4 counter name "rogue"
    ip6 daddr $LAB_ROGUE6 counter name "rogue"
    meta l4proto { icmp, ipv6-icmp } counter name "icmp_all"
    jump user
    ip daddr @blackhole4 drop
    ip6 daddr @blackhole6 drop
  }
}
EOF
}

# --- servers -------------------------------------------------------------------------
# _lab_exe NAME: the binary to run for NAME. Debian's AppArmor profiles for unbound,
# dhclient and tcpdump confine the packaged binaries to their own paths (/etc/unbound,
# /var/lib/dhcp ...), so where AppArmor enforces profiles the lab runs a private copy
# from $LAB_DIR/bin: the system's services and their profiles stay as they are.
# LAB_UNCONFINED_COPY=1 forces the copy, =0 forbids it.
_lab_exe() {
  local p
  p=$(command -v "$1") || { echo "$1"; return 0; }
  if [[ ${LAB_UNCONFINED_COPY:-} == 1 ]] ||
    { [[ ${LAB_UNCONFINED_COPY:-} != 0 ]] && grep -q '(enforce)' /sys/kernel/security/apparmor/profiles 2>/dev/null; }; then
    if [[ ! -x $LAB_DIR/bin/$1 ]]; then mkdir -p "$LAB_DIR/bin" && cp "$p" "$LAB_DIR/bin/$1.tmp" && mv "$LAB_DIR/bin/$1.tmp" "$LAB_DIR/bin/$1"; fi
    echo "$LAB_DIR/bin/$1"
  else
    echo "$p"
  fi
}

_lab_server_cmd() {  # NAME: spawn it (the command line is defined here, once)
  local n=$1 c=$LAB_DIR/conf a
  case $n in
    auth | pdns1 | pdns2 | backend | rogue)
      _lab_spawn "$n" "$LAB_NET_NS" "$(_lab_exe unbound)" -d -c "$c/$n.conf" ;;
    malformed-backend)
      _lab_spawn "$n" "$LAB_NET_NS" /usr/bin/python3 "$LAB_TEMPLATE_DIR/malformed_dns.py" 127.0.0.1 \
        "$LAB_MALFORMED_BACKEND_PORT" ;;
    mtls | wrongname | untrusted | malformed | web)
      _lab_spawn "$n" "$LAB_NET_NS" nginx -p "$LAB_DIR/run" -c "$c/$n.nginx.conf" -e stderr ;;
    tcpecho-*)
      a=${n#tcpecho-}
      if [[ $a == *:* ]]; then
        _lab_spawn "$n" "$LAB_NET_NS" socat "TCP6-LISTEN:$LAB_ECHO_PORT,bind=[$a],reuseaddr,fork" PIPE
      else
        _lab_spawn "$n" "$LAB_NET_NS" socat "TCP4-LISTEN:$LAB_ECHO_PORT,bind=$a,reuseaddr,fork" PIPE
      fi ;;
    echo-*)
      a=${n#echo-}
      if [[ $a == *:* ]]; then
        _lab_spawn "$n" "$LAB_NET_NS" socat -T 2 "UDP6-RECVFROM:$LAB_ECHO_PORT,bind=[$a],fork" PIPE
      else
        _lab_spawn "$n" "$LAB_NET_NS" socat -T 2 "UDP4-RECVFROM:$LAB_ECHO_PORT,bind=$a,fork" PIPE
      fi ;;
    dhcp)
      _lab_spawn dhcp "$LAB_NET_NS" dnsmasq --keep-in-foreground --conf-file=/dev/null \
        --port=0 --interface="$LAB_NET_IF" --bind-interfaces --user=root --group=root \
        --pid-file="$LAB_DIR/run/dnsmasq.pid" --dhcp-leasefile="$LAB_DIR/run/dnsmasq.leases" \
        --log-facility=- --log-dhcp --dhcp-authoritative \
        --dhcp-range="$LAB_DHCP_RANGE4,255.255.255.0,10m" \
        --dhcp-option=option:router,"$LAB_ROUTER4" \
        --dhcp-option=option:dns-server,"$LAB_ROGUE4" \
        --dhcp-range="$LAB_DHCP_RANGE6,64,10m" \
        --dhcp-option=option6:dns-server,"[$LAB_ROGUE6]" ;;
    *) _lab_err "unknown server '$n'"; return 1 ;;
  esac
}
_lab_server_expect() {  # NAME: write what it listens on
  local n=$1 a4 a6 l=() a p v
  case $n in
    auth) for a in "$LAB_AUTH4" "$LAB_AUTH6"; do _lab_ep udp "$a" 53; _lab_ep tcp "$a" 53; done ;;
    pdns1 | pdns2)
      v=LAB_${n^^}_4 a4=${!v} v=LAB_${n^^}_6 a6=${!v}
      for a in "$a4" "$a6"; do
        _lab_ep udp "$a" 53; _lab_ep tcp "$a" 53; _lab_ep tcp "$a" "$LAB_DOT_PORT"; _lab_ep tcp "$a" "$LAB_DOH_PORT"
      done ;;
    backend) l=("udp 127.0.0.1:53" "tcp 127.0.0.1:53" "tcp 127.0.0.1:$LAB_BACKEND_DOH_PORT") ;;
    malformed-backend) l=("tcp 127.0.0.1:$LAB_MALFORMED_BACKEND_PORT") ;;
    rogue)
      for a in "$LAB_ROGUE4" "$LAB_ROGUE6"; do _lab_ep udp "$a" 53; _lab_ep tcp "$a" 53; done
      for a in "$LAB_UNKNOWN_DOH4" "$LAB_UNKNOWN_DOH6"; do
        _lab_ep tcp "$a" "$LAB_DOT_PORT"; _lab_ep tcp "$a" "$LAB_DOH_PORT"
      done ;;
    mtls | wrongname | untrusted | malformed)
      v=LAB_${n^^}_4 a4=${!v} v=LAB_${n^^}_6 a6=${!v}
      for a in "$a4" "$a6"; do
        for p in $LAB_DOT_PORT $LAB_DOH_PORT; do _lab_ep tcp "$a" "$p"; done
      done ;;
    web)
      for a in "${_LAB_WEB4[@]}"; do l+=("tcp $a:$LAB_HTTP_PORT"); done
      for a in "${_LAB_WEB6[@]}"; do l+=("tcp [$a]:$LAB_HTTP_PORT"); done ;;
    echo-*) _lab_ep udp "${n#echo-}" "$LAB_ECHO_PORT" ;;
    tcpecho-*) _lab_ep tcp "${n#tcpecho-}" "$LAB_ECHO_PORT" ;;
    dhcp) l=("udp 0.0.0.0%$LAB_NET_IF:67" "udp [::]%$LAB_NET_IF:547") ;;
  esac
  _lab_expect "$n" "${l[@]}"
}
_lab_all_servers() {
  local a
  echo auth pdns1 pdns2 backend rogue mtls wrongname untrusted malformed malformed-backend web
  for a in $(_lab_echo_addrs); do echo "echo-$a"; done
  for a in $(_lab_tcpecho_addrs); do echo "tcpecho-$a"; done
}

# lab_server_stop NAME / lab_server_start NAME: stop or (re)start one lab server and wait
# until it is gone (its sockets closed) or ready. Names: auth pdns1 pdns2 backend rogue
# mtls wrongname untrusted malformed malformed-backend web echo-<addr> tcpecho-<addr> dhcp.
lab_server_stop() {
  _lab_need_up || return 1
  local n=$1 pg members
  pg=$(_lab_pid "$n")
  [[ -n $pg ]] || { _lab_err "$n is not running"; return 1; }
  members=$(_lab_group_members "$pg")
  # shellcheck disable=SC2086
  _lab_stop_pids 5 $members || return 1
  rm -f "$LAB_DIR/run/$n.pid"
  sed -i "/^pg $n /d" "$LAB_DIR/state"
}
lab_server_start() {
  _lab_need_up || return 1
  local n=$1 pid
  pid=$(_lab_pid "$n")
  if [[ -n $pid ]] && _lab_alive "$pid"; then _lab_err "$n is already running"; return 1; fi
  _lab_server_expect "$n" && _lab_server_cmd "$n" && _lab_wait_ready "${LAB_START_TIMEOUT:-20}" "$n"
}
lab_server_running() { local p; p=$(_lab_pid "$1") && [[ -n $p ]] && _lab_alive "$p"; }
# The PDNS servers by name: pdns1 pdns2 mtls wrongname untrusted malformed.
lab_pdns_stop() { lab_server_stop "$@"; }
lab_pdns_start() { lab_server_start "$@"; }
# unbound-control for auth pdns1 pdns2 backend rogue, e.g. lab_unbound_ctl pdns1 stats_noreset
lab_unbound_ctl() { _lab_need_up && unbound-control -c "$LAB_DIR/conf/$1.conf" "${@:2}"; }
lab_pdns_flush() {  # NAME: empty its cache
  local n=$1
  [[ $n != mtls && $n != wrongname && $n != untrusted ]] || n=backend
  lab_unbound_ctl "$n" flush_zone . >/dev/null && lab_unbound_ctl "$n" flush_infra all >/dev/null
}

# --- bring-up and teardown ---------------------------------------------------------------
_lab_check_tools() {
  local c missing=()
  for c in ip nft unbound unbound-control nginx socat openssl kdig ss setsid pgrep nsenter; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  [[ -r /usr/lib/nginx/modules/ngx_stream_module.so ]] || missing+=("libnginx-mod-stream")
  [[ -x /usr/bin/python3 ]] || missing+=("python3")
  ((${#missing[@]} == 0)) || _lab_err "missing: ${missing[*]} (run scripts/setup)"
}

# lab_at_exit CMD: run CMD (eval'd) when this shell exits, before the lab is torn down
# (last in, first run). Entries belong to the (sub)shell that added them.
_LAB_AT_EXIT=()
lab_at_exit() { _LAB_AT_EXIT=("$BASHPID:$*" "${_LAB_AT_EXIT[@]}"); }

_lab_on_exit() {
  local rc=$? c
  trap - EXIT
  for c in "${_LAB_AT_EXIT[@]}"; do
    [[ ${c%%:*} == "$BASHPID" ]] && { eval "${c#*:}" || true; }
  done
  if [[ -n ${_LAB_PREV_EXIT_TRAP:-} ]]; then eval "$_LAB_PREV_EXIT_TRAP" || true; fi
  lab_down "$rc" || { ((rc != 0)) || rc=1; }
  exit "$rc"
}

_lab_write_env() {
  {
    echo "# LAB_* variables of lab $LAB_ID; source it, then the lab_* functions work too"
    echo ". '$LAB_LIB_DIR/lab.sh'"
    local v
    for v in $(compgen -v LAB_); do
      [[ $v == LAB_LIB_DIR || $v == LAB_TEMPLATE_DIR || $v == LAB_KEEP ]] && continue
      printf 'export %s=%q\n' "$v" "${!v}"
    done
  } >"$LAB_DIR/env"
}

# lab_up: bring the whole lab up (servers started in parallel, readiness polled), install
# the EXIT trap that tears it down, print the bring-up time (also in LAB_UP_MS).
lab_up() {
  local t0 rc=0 certs n owner_start me
  t0=$(_lab_now_us)
  if [[ -n ${LAB_DIR:-} && -f ${LAB_DIR}/state ]]; then
    if [[ $(awk '$1 == "owner" {print $2}' "$LAB_DIR/state") == "$BASHPID" ]]; then
      _lab_err "lab $LAB_ID is already up"
      return 1
    fi
    # a lab of another shell (a parent's, or a kept one attached with its env file): start
    # a new one beside it
    [[ ${LAB_ID:-} != $(awk '$1 == "id" {print $2}' "$LAB_DIR/state") ]] || LAB_ID=''
  fi
  ((EUID == 0)) || { _lab_err "root is needed"; return 1; }
  _lab_check_tools || return 1
  LAB_ID=${LAB_ID:-zt-$BASHPID}
  LAB_CLIENT_NS=$LAB_ID-client LAB_NET_NS=$LAB_ID-net
  if [[ -e /run/netns/$LAB_CLIENT_NS || -e /run/netns/$LAB_NET_NS ]]; then
    _lab_err "namespaces of $LAB_ID exist already (a leaked lab? tests/e2e/lib/lab.sh down $LAB_ID)"
    return 1
  fi
  LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$LAB_ID.XXXXXX") || return 1
  LAB_LOG_DIR=$LAB_DIR/log LAB_CERT_DIR=$LAB_DIR/certs
  LAB_CA=$LAB_CERT_DIR/ca.pem LAB_CA_KEY=$LAB_CERT_DIR/ca.key
  LAB_UNTRUSTED_CA=$LAB_CERT_DIR/untrusted-ca.pem
  LAB_CLIENT_CERT=$LAB_CERT_DIR/client.pem LAB_CLIENT_KEY=$LAB_CERT_DIR/client.key
  LAB_UNTRUSTED_CLIENT_CERT=$LAB_CERT_DIR/untrusted-client.pem
  LAB_UNTRUSTED_CLIENT_KEY=$LAB_CERT_DIR/untrusted-client.key
  LAB_ZTDNSD_DIR=$LAB_DIR/ztdnsd LAB_ZTDNSD_RUN_DIR=$LAB_DIR/ztdnsd/run
  LAB_ZTDNSD_STATE_DIR=$LAB_DIR/ztdnsd/state LAB_ZTDNSD_LOG_DIR=$LAB_DIR/ztdnsd/log
  LAB_ZTDNSD_OUT=$LAB_DIR/log/ztdnsd.log LAB_ZTDNSD_PID='' LAB_ZTDNSD_CONFIG=''
  export LAB_ID LAB_CLIENT_NS LAB_NET_NS LAB_DIR LAB_LOG_DIR LAB_CERT_DIR LAB_CA LAB_CA_KEY \
    LAB_UNTRUSTED_CA LAB_CLIENT_CERT LAB_CLIENT_KEY LAB_UNTRUSTED_CLIENT_CERT \
    LAB_UNTRUSTED_CLIENT_KEY LAB_ZTDNSD_DIR LAB_ZTDNSD_RUN_DIR LAB_ZTDNSD_STATE_DIR \
    LAB_ZTDNSD_LOG_DIR LAB_ZTDNSD_OUT LAB_ZTDNSD_PID LAB_ZTDNSD_CONFIG
  mkdir -p "$LAB_DIR"/{run,log,certs,conf}
  me=$BASHPID  # (inside $(...) $BASHPID is the subshell's)
  owner_start=$(awk '{sub(/^.*\) /, ""); print $20}' "/proc/$me/stat")
  printf 'id %s\nowner %s %s\n' "$LAB_ID" "$me" "$owner_start" >"$LAB_DIR/state"

  # Teardown on every exit path from here on; keep (and call) an EXIT trap set before.
  if [[ ${_LAB_TRAP_SET:-} != "$BASHPID" ]]; then  # (a subshell has no trap of its own yet)
    _LAB_PREV_EXIT_TRAP=$(trap -p EXIT)
    if [[ -n $_LAB_PREV_EXIT_TRAP ]]; then eval "_lab_prev() { set -- $_LAB_PREV_EXIT_TRAP; echo \"\$3\"; }"
      _LAB_PREV_EXIT_TRAP=$(_lab_prev); unset -f _lab_prev; fi
    [[ $_LAB_PREV_EXIT_TRAP != _lab_on_exit ]] || _LAB_PREV_EXIT_TRAP=  # a subshell sees ours
    trap _lab_on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    _LAB_TRAP_SET=$BASHPID
  fi
  if [[ ${LAB_KEEP:-0} != 1 ]]; then _lab_start_watchdog; fi

  _lab_make_certs >"$LAB_LOG_DIR/certs.log" 2>&1 &
  certs=$!
  _lab_make_netns || rc=1
  _lab_make_zones || rc=1
  wait "$certs" || { _lab_err "certificates failed: $(tail -3 "$LAB_LOG_DIR/certs.log")"; rc=1; }
  ((rc == 0)) && { _lab_make_configs || rc=1; }
  if ((rc == 0)); then
    for n in $(_lab_all_servers); do _lab_server_expect "$n" && _lab_server_cmd "$n" || rc=1; done
    # shellcheck disable=SC2046
    ((rc == 0)) && { _lab_wait_ready "${LAB_START_TIMEOUT:-20}" $(_lab_all_servers) || rc=1; }
  fi
  ((rc == 0)) || { _lab_err "bring-up failed (logs in $LAB_LOG_DIR)"; return 1; }
  LAB_UP_MS=$((($(_lab_now_us) - t0) / 1000))
  export LAB_UP_MS
  _lab_write_env
  _lab_log "up in ${LAB_UP_MS} ms: $LAB_CLIENT_NS (client $LAB_CLIENT4, $LAB_CLIENT6), $LAB_NET_NS; dir $LAB_DIR"
}

# The watchdog removes the lab if its owner dies without running its traps (SIGKILL,
# e.g. a CTest timeout). It is a separate session in the root namespace.
_lab_start_watchdog() {
  local pid m='' owner=$BASHPID  # (in the background command $BASHPID would be the child's)
  [[ $- == *m* ]] && m=1 && set +m
  setsid bash "$LAB_LIB_DIR/lab.sh" _watch "$LAB_DIR" "$owner" </dev/null >/dev/null 2>&1 &
  pid=$!
  disown "$pid" 2>/dev/null || true
  [[ -n $m ]] && set -m
  echo "watchdog $pid" >>"$LAB_DIR/state"
}

# _lab_teardown DIR: remove the lab described by DIR/state. Signals only processes inside
# the lab's namespaces and the lab's own watchdog.
_lab_teardown() {
  local dir=$1 kind a b nss=() etcs=() wd='' pids id='' ok=1
  [[ -f $dir/state ]] || { _lab_err "$dir is not a lab directory"; return 1; }
  while read -r kind a b; do
    case $kind in
      id) id=$a ;;
      ns) nss+=("$a") ;;
      etc) etcs+=("$a") ;;
      watchdog) wd=$a ;;
    esac
  done <"$dir/state"
  if [[ -n $wd && $wd != "$BASHPID" ]] && _lab_alive "$wd"; then
    kill -TERM -- "-$wd" 2>/dev/null || true
  fi
  pids=$(_lab_ns_pids "${nss[@]}")
  # shellcheck disable=SC2086
  [[ -z $pids ]] || _lab_stop_pids 5 $pids || ok=
  pids=$(_lab_ns_pids "${nss[@]}")
  [[ -z $pids ]] || { _lab_err "still running in the lab: $pids"; ok=; }
  for a in "${nss[@]}"; do
    [[ ! -e /run/netns/$a ]] || ip netns del "$a" || ok=
  done
  for a in "${etcs[@]}"; do
    [[ $a == /etc/netns/"$id"-* ]] && rm -rf -- "$a"
  done
  [[ $(basename "$dir") == "$id".* ]] && rm -rf -- "$dir"
  [[ -n $ok ]]
}

# lab_down [STATUS]: tear the lab down (the EXIT trap calls it). With LAB_KEEP=1 the lab
# stays up and the way in is printed. On a failing STATUS under CTest, the logs, configs
# and any capture are copied to $LAB_ARTIFACTS (default $ZTDNS_BUILD_DIR/e2e-artifacts).
lab_down() {
  local rc=${1:-0} art wd
  [[ -n ${LAB_DIR:-} && -f $LAB_DIR/state ]] || return 0
  if [[ ${LAB_KEEP:-0} == 1 ]]; then
    wd=$(awk '$1 == "watchdog" {print $2}' "$LAB_DIR/state")
    [[ -z $wd ]] || { kill -TERM -- "-$wd" 2>/dev/null || true; sed -i '/^watchdog /d' "$LAB_DIR/state"; }
    echo "keep 1" >>"$LAB_DIR/state"
    _lab_write_env
    cat >&2 <<EOF
lab: kept up (LAB_KEEP=1): $LAB_ID
  enter the client namespace:  ip netns exec $LAB_CLIENT_NS bash
  the net namespace:           ip netns exec $LAB_NET_NS bash
  variables and functions:     . $LAB_DIR/env     (then e.g. lab_kdig pdns1 dot 4 www.allowed.test)
  logs and configs:            $LAB_DIR/log  $LAB_DIR/conf
  remove it:                   $LAB_LIB_DIR/lab.sh down $LAB_DIR
EOF
    LAB_DIR=
    return 0
  fi
  if ((rc != 0 && rc != 77)); then
    art=${LAB_ARTIFACTS:-${ZTDNS_BUILD_DIR:+$ZTDNS_BUILD_DIR/e2e-artifacts}}
    if [[ -n $art ]]; then
      art=$art/$(basename "$0" .sh)-$LAB_ID
      { mkdir -p "$art" && cp -r "$LAB_DIR/log" "$LAB_DIR/conf" "$LAB_DIR/zones" "$art/"; } 2>/dev/null || true
      [[ ! -d $LAB_ZTDNSD_LOG_DIR ]] || cp -r "$LAB_ZTDNSD_LOG_DIR" "$art/ztdnsd-log" 2>/dev/null || true
      _lab_log "failed (status $rc): logs kept in $art"
    fi
  fi
  _lab_teardown "$LAB_DIR" || { LAB_DIR=; return 1; }
  LAB_DIR=
}

# lab_attach DIR: use a kept lab from another shell (no trap, no teardown).
lab_attach() {
  [[ -f $1/env ]] || { _lab_err "$1 is not a kept lab"; return 1; }
  # shellcheck disable=SC1091
  . "$1/env"
}

# lab_info: the lab's addresses and where things are.
lab_info() {
  cat <<EOF
lab $LAB_ID  (up in ${LAB_UP_MS:-?} ms)  dir $LAB_DIR
client  $LAB_CLIENT_NS  $LAB_CLIENT_IF $LAB_CLIENT4/24 $LAB_CLIENT6/64, via $LAB_ROUTER4 / $LAB_ROUTER6
net     $LAB_NET_NS  $LAB_NET_IF (client link), $LAB_SRV_IF (servers)
PDNS    pdns1 $LAB_PDNS1_4 [$LAB_PDNS1_6] $LAB_PDNS1_NAME   pdns2 $LAB_PDNS2_4 [$LAB_PDNS2_6] $LAB_PDNS2_NAME
        mtls $LAB_MTLS_4 [$LAB_MTLS_6]   wrongname $LAB_WRONGNAME_4 (cert: $LAB_WRONGNAME_CERT_NAME)   untrusted $LAB_UNTRUSTED_4
        DoT $LAB_DOT_PORT, DoH $LAB_DOH_PORT $LAB_DOH_PATH; CA $LAB_CA
web     $LAB_WEB4 [$LAB_WEB6] $LAB_WEB_NAME; IP only $LAB_IPONLY4; exception $LAB_EXCEPTION4 [$LAB_EXCEPTION6]
rogue   $LAB_ROGUE4:53 [$LAB_ROGUE6]:53; unknown DoH $LAB_UNKNOWN_DOH_URL
EOF
}

# --- command mode --------------------------------------------------------------------
_lab_main() {
  local cmd=${1:-}
  case $cmd in
    up)
      LAB_KEEP=1
      lab_up || exit 1
      lab_info
      exit 0 ;;
    down)
      local arg=${2:-} d n found=
      [[ -n $arg ]] || { echo "usage: lab.sh down ID|DIR" >&2; exit 2; }
      if [[ -f $arg/state ]]; then
        _lab_teardown "$arg"
        exit
      fi
      for d in "${TMPDIR:-/tmp}/$arg".*; do
        [[ -f $d/state ]] || continue
        found=1
        _lab_teardown "$d" || exit 1
      done
      if [[ -z $found ]]; then  # no directory left: the namespaces and /etc/netns by name
        d=$(mktemp -d "${TMPDIR:-/tmp}/$arg.XXXXXX") && echo "id $arg" >"$d/state"
        for n in "$arg-client" "$arg-net"; do
          [[ -e /run/netns/$n || -d /etc/netns/$n ]] && found=1 && printf 'ns %s\netc /etc/netns/%s\n' "$n" "$n" >>"$d/state"
        done
        _lab_teardown "$d" || exit 1
      fi
      [[ -n $found ]] || { echo "lab.sh: no lab $arg" >&2; exit 1; } ;;
    list)
      local d
      for d in "${TMPDIR:-/tmp}"/*.*/state; do
        { [[ -f $d ]] && grep -q '^id ' "$d"; } || continue
        awk -v d="${d%/state}" '$1 == "id" {id = $2} $1 == "owner" {o = $2} $1 == "keep" {k = " (kept)"}
          END {print id, d, "owner " o k}' "$d"
      done
      ip netns list | awk '$1 ~ /-(client|net)$/ {print "namespace", $1}' | sort -u ;;
    _watch)  # DIR OWNER_PID: wait for the owner, then remove the lab unless it is gone
      local dir=$2 owner=$3 start
      trap '' HUP INT
      start=$(awk '$1 == "owner" {print $3}' "$dir/state" 2>/dev/null)
      while _lab_alive "$owner" && [[ -f $dir/state ]] &&
        [[ $(awk '{sub(/^.*\) /, ""); print $20}' "/proc/$owner/stat" 2>/dev/null) == "$start" ]]; do
        sleep 1
      done
      if [[ -f $dir/state ]] && ! grep -q '^keep ' "$dir/state"; then
        _lab_teardown "$dir" >/dev/null 2>&1
      fi ;;
    *)
      echo "usage: lab.sh up | down ID|DIR | list   (or source it: see tests/e2e/README.md)" >&2
      exit 2 ;;
  esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  _lab_main "$@"
fi
