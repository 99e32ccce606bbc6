#!/usr/bin/env bash
# loopbackTrafficBlocked through the running ztdnsd (config file + `ztdns reload`): loopback
# traffic to a local service is blocked (TCP refused in under 1 s, UDP and ICMP refused
# locally) while DNS through the stub still works on 127.0.0.1 and ::1, over UDP and TCP,
# for kdig, getaddrinfo and curl; a DNS answer naming a loopback address does not open
# loopback; switching it off again restores local traffic.
# shellcheck disable=SC2317  # helpers run through assert_* and wait_for
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/enforce_lib.sh"
require_lab

lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh enabled=true auditModeEnabled=false \
  loopbackTrafficBlocked=false

step "local echo services on loopback in the client namespace (port $LAB_ECHO_PORT)"
for f in 4:127.0.0.1 '6:[::1]'; do
  lab_client socat "TCP${f%%:*}-LISTEN:$LAB_ECHO_PORT,bind=${f#*:},reuseaddr,fork" PIPE >/dev/null 2>&1 &
  lab_client socat "UDP${f%%:*}-RECVFROM:$LAB_ECHO_PORT,bind=${f#*:},reuseaddr,fork" PIPE >/dev/null 2>&1 &
done
local_up() { [[ $(lab_client ss -Hlntu | grep -c -E "(127\.0\.0\.1|\[::1\]):$LAB_ECHO_PORT ") -ge 4 ]]; }
assert_eventually 10 "the local echo services listen" local_up
lab_ztdnsd_start "$conf"

# ID PROTO ADDR PORT ENFORCED(blocked) OPEN
local_cells() {
  cat <<EOF
v4-tcp  tcp  127.0.0.1 $LAB_ECHO_PORT refused open
v6-tcp  tcp  ::1       $LAB_ECHO_PORT refused open
v4-udp  udp  127.0.0.1 $LAB_ECHO_PORT eperm   reply
v6-udp  udp  ::1       $LAB_ECHO_PORT eperm   reply
v4-icmp icmp 127.0.0.1 0              eperm   reply
v6-icmp icmp ::1       0              eperm   reply
EOF
}
stub_dns_works() {  # WHEN
  local a t
  for a in 127.0.0.1 ::1; do
    for t in +notcp +tcp; do
      assert_eq "$(lab_client kdig @"$a" $t +timeout=5 +retry=0 +short "$LAB_WEB_NAME" A)" "$LAB_WEB4" \
        "$1: the stub answers on $a ($t)"
    done
  done
  assert_eq "$(lab_client getent ahostsv6 "$LAB_CHAIN_NAME" | awk 'NR == 1 {print $1}')" "$LAB_CHAIN6" \
    "$1: getaddrinfo through resolv.conf ($LAB_CHAIN_NAME AAAA)"
  assert_eq "$(lab_client curl -4 -sS --max-time 5 "http://$LAB_WEB_NAME/")" "$LAB_WEB4" "$1: curl -4 http://$LAB_WEB_NAME/"
  assert_eq "$(lab_client curl -6 -sS --max-time 5 "http://$LAB_WEB_NAME/")" "$LAB_WEB6" "$1: curl -6 http://$LAB_WEB_NAME/"
}

step "loopback allowed (the default)"
assert_eq "$(enf_state loopbackBlocked)" false "show state: loopback allowed"
enf_cells "loopback allowed" enforce <<<"$(local_cells | awk '{print $1, $2, $3, $4, $6, $6}')"
stub_dns_works "loopback allowed"

step "loopbackTrafficBlocked=true (ztdns reload)"
assert_ok "reload with loopbackTrafficBlocked=true" enf_config_set loopbackTrafficBlocked=true
assert_eq "$(enf_state loopbackBlocked)" true "show state: loopback blocked"
assert_not_contains "$(enf_table)" 'oif "lo" accept' "the ruleset no longer accepts all of lo"
enf_cells "loopback blocked" enforce <<<"$(local_cells)"
stub_dns_works "loopback blocked"

step "an answer naming a loopback address does not open loopback"
assert_eq "$(enf_resolve "$LAB_LOOPBACK_NAME" A)" 127.0.0.1 "$LAB_LOOPBACK_NAME resolves to 127.0.0.1 through the stub"
assert_eq "$(enf_resolve "$LAB_LOOPBACK_NAME" AAAA)" ::1 "... and ::1"
assert_eq "$(enf_set_elements 4 | grep -c -x 127.0.0.1 || true)" 0 "127.0.0.1 is not in the allow set"
assert_eq "$(enf_set_elements 6 | grep -c -x ::1 || true)" 0 "::1 is not in the allow set"
enf_cells "after resolving $LAB_LOOPBACK_NAME" enforce <<<"$(local_cells | grep tcp)"

step "loopbackTrafficBlocked=false again"
assert_ok "reload with loopbackTrafficBlocked=false" enf_config_set loopbackTrafficBlocked=false
enf_cells "loopback allowed again" enforce <<<"$(local_cells | awk '{print $1, $2, $3, $4, $6, $6}')"
stub_dns_works "loopback allowed again"
finish
