#!/usr/bin/env bash
# Issue 3's matrix through the running ztdnsd: IPv4 and IPv6 x TCP, UDP and ICMP echo x the
# destinations (PDNS server port, another port on the PDNS host, an exception, an address
# resolved through the stub, a hard-coded unresolved address, the rogue plaintext resolver
# on 53, DoH to a resolver that is not configured) x enforce, audit and disabled, with the
# mode switched by `ztdns set state` and the exception added by `ztdns add exception`.
# Enforce-blocked TCP must fail with "connection refused" in under 1 s. Along the way: the
# daemon's table is `inet ztdns` only, and a table of the administrator's own in the client
# namespace survives every change untouched; `enable=no` removes the table and connectivity
# returns at once; after re-enabling, an address is blocked until it is resolved again.
# shellcheck disable=SC2317  # helpers run through assert_* and wait_for
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/enforce_lib.sh"
require_lab

lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:both:1:4 --server pdns1:both:2:6 enabled=true auditModeEnabled=false

step "an administrator's own table in the client namespace, before ztdnsd starts"
lab_client nft -f - <<'EOF'
table inet admin {
  counter seen { }
  set keep4 { type ipv4_addr; elements = { 192.0.2.77 } }
  chain out {
    type filter hook output priority 10; policy accept;
    ip daddr @keep4 counter
    counter name "seen"
  }
}
table ip6 admin6 {
  chain post { type filter hook postrouting priority 0; policy accept; meta l4proto ipv6-icmp counter; }
}
EOF
admin_ref=$(lab_client nft -s list table inet admin; lab_client nft -s list table ip6 admin6)
admin_seen() { lab_client nft list counter inet admin seen | awk '/packets/ {print $2}'; }
last_seen=$(admin_seen)
check_admin() {  # WHEN
  assert_eq "$(lab_client nft -s list table inet admin; lab_client nft -s list table ip6 admin6)" "$admin_ref" \
    "$1: the administrator's tables are byte-for-byte as they were"
  local seen
  seen=$(admin_seen)
  assert_le "$last_seen" "$seen" "$1: their counter was never reset ($last_seen -> $seen packets): the chain was not recreated"
  last_seen=$seen
  local tables
  tables=$(lab_client nft list tables | sort | tr '\n' ' ')
  if enf_has_table; then
    assert_eq "$tables" "table inet admin table inet ztdns table ip6 admin6 " "$1: the only table ztdnsd added is inet ztdns"
  else
    assert_eq "$tables" "table inet admin table ip6 admin6 " "$1: no table of ztdnsd's is left"
  fi
}

lab_ztdnsd_start "$conf"
check_admin "after ztdnsd started enforcing"
assert_eq "$(enf_state enabled) $(enf_state audit)" "true false" "ztdnsd is enabled and enforcing"

step "an exception through the CLI"
assert_ok "ztdns add exception" lab_ztdns add exception name=relay description="media relay" \
  "subnets=$LAB_EXCEPTION4/32,$LAB_EXCEPTION6/128"
assert_contains "$ASSERT_OUT" "Added exception relay with 2 prefixes" "the CLI says what it did"
check_admin "after adding an exception"

# ID PROTO ADDR PORT ENFORCED OPEN (OPEN: audit and disabled)
cells() {
  local f=$1 pdns exc web iponly rogue udoh
  pdns=$(lab_pdns_addr pdns1 "$f") udoh=$(lab_pdns_addr unknown-doh "$f")
  if [[ $f == 4 ]]; then
    exc=$LAB_EXCEPTION4 web=$LAB_WEB4 iponly=$LAB_IPONLY4 rogue=$LAB_ROGUE4
  else
    exc=$LAB_EXCEPTION6 web=$LAB_WEB6 iponly=$LAB_IPONLY6 rogue=$LAB_ROGUE6
  fi
  cat <<EOF
v$f-tcp-pdns-port       tcp  $pdns   $LAB_DOT_PORT  connected connected
v$f-tcp-pdns-doh-port   tcp  $pdns   $LAB_DOH_PORT  connected connected
v$f-tcp-pdns-other-port tcp  $pdns   $LAB_HTTP_PORT refused   open
v$f-tcp-exception       tcp  $exc    $LAB_HTTP_PORT open      open
v$f-tcp-resolved        tcp  $web    $LAB_HTTP_PORT open      open
v$f-tcp-unresolved      tcp  $iponly $LAB_HTTP_PORT refused   open
v$f-tcp-rogue53         tcp  $rogue  53             refused   connected
v$f-tcp-unknown-doh     tcp  $udoh   $LAB_DOH_PORT  refused   connected
v$f-udp-pdns-port       udp  $pdns   $LAB_DOT_PORT  eperm     reply
v$f-udp-pdns-other-port udp  $pdns   $LAB_ECHO_PORT eperm     reply
v$f-udp-exception       udp  $exc    $LAB_ECHO_PORT reply     reply
v$f-udp-resolved        udp  $web    $LAB_ECHO_PORT reply     reply
v$f-udp-unresolved      udp  $iponly $LAB_ECHO_PORT eperm     reply
v$f-udp-rogue53         udp  $rogue  53             eperm     reply
v$f-udp-unknown-doh     udp  $udoh   $LAB_DOH_PORT  eperm     reply
v$f-icmp-pdns-host      icmp $pdns   0              eperm     reply
v$f-icmp-exception      icmp $exc    0              reply     reply
v$f-icmp-resolved       icmp $web    0              reply     reply
v$f-icmp-unresolved     icmp $iponly 0              eperm     reply
v$f-icmp-rogue          icmp $rogue  0              eperm     reply
v$f-icmp-unknown-doh    icmp $udoh   0              eperm     reply
EOF
}
all_cells() { cells 4; cells 6; }
counter() { lab_client nft list counter inet ztdns "$1" | awk '/packets/ {print $2}'; }

resolve_web() {  # through the stub, as an application does
  assert_eq "$(enf_resolve "$LAB_WEB_NAME" A)" "$LAB_WEB4" "$1: $LAB_WEB_NAME A through the stub"
  assert_eq "$(enf_resolve "$LAB_WEB_NAME" AAAA)" "$LAB_WEB6" "$1: $LAB_WEB_NAME AAAA through the stub"
}
app_dns() {  # MODE: an application's own resolvers (the rogue on 53, an unconfigured DoH)
  if [[ $1 == enforce ]]; then
    assert_fails "$1: kdig to the rogue resolver fails" lab_kdig rogue udp 4 +short "$LAB_WEB_NAME"
    assert_fails "$1: curl --doh-url to the unconfigured DoH resolver fails" \
      lab_client curl -sS --max-time 5 --cacert "$LAB_CA" --doh-url "$LAB_UNKNOWN_DOH_URL" "http://$LAB_WEB_NAME/"
  else
    assert_eq "$(lab_kdig rogue udp 6 +short "$LAB_BLOCKED_NAME")" "$LAB_IPONLY4" "$1: the rogue resolver answers"
    assert_eq "$(lab_client curl -sS --max-time 5 --cacert "$LAB_CA" --doh-url "$LAB_UNKNOWN_DOH_URL" "http://$LAB_WEB_NAME/")" \
      "$LAB_WEB4" "$1: curl through the unconfigured DoH resolver works"
  fi
}

step "enforce"
ruleset=$(enf_table)
assert_contains "$ruleset" "meta l4proto tcp reject with tcp reset" "the ruleset rejects TCP with a reset"
assert_contains "$ruleset" "reject with icmpx admin-prohibited" "... and everything else with admin-prohibited"
assert_eq "$(enf_set_elements 4; enf_set_elements 6)" "" "nothing is allowed before anything was resolved"
assert_eq "$(enf_probe tcp "$LAB_WEB4" "$LAB_HTTP_PORT" | cut -d' ' -f1)" refused "before resolving, $LAB_WEB4 is blocked"
resolve_web enforce
assert_eq "$(enf_set_elements 4) $(enf_set_elements 6)" "$LAB_WEB4 $LAB_WEB6" "the stub put both addresses in the allow sets"
blocked_before=$(counter blocked)
enf_cells matrix enforce <<<"$(all_cells)"
assert_lt "$blocked_before" "$(counter blocked)" "the blocked counter counted the blocked cells"
app_dns enforce

step "audit (ztdns set state enable=yes audit=yes)"
assert_ok "set state audit=yes" lab_ztdns set state enable=yes audit=yes
assert_contains "$ASSERT_OUT" "audit mode" "the CLI says audit mode"
check_admin "after switching to audit"
ruleset=$(enf_table)
assert_contains "$ruleset" 'counter name "would_block" goto log_audit' "audit: would-be blocks are counted and accepted"
assert_not_contains "$ruleset" "reject" "audit: nothing is rejected"
assert_eq "$(enf_set_elements 4) $(enf_set_elements 6)" "$LAB_WEB4 $LAB_WEB6" "the allow sets kept their elements across the change"
resolve_web audit
would_before=$(counter would_block)
enf_cells matrix audit <<<"$(all_cells)"
assert_lt "$would_before" "$(counter would_block)" "the would_block counter counted the would-be blocked cells"
app_dns audit

step "disabled (ztdns set state enable=no): the table goes, connectivity returns at once"
assert_ok "set state enable=no" lab_ztdns set state enable=no
# No waiting: the first connection after the CLI returned must get through.
assert_eq "$(enf_probe tcp "$LAB_IPONLY4" "$LAB_HTTP_PORT" | cut -d' ' -f1)" open "right after enable=no, $LAB_IPONLY4 is reachable"
assert_fails "table inet ztdns is gone" enf_has_table
check_admin "after disabling"
assert_eq "$(enf_state enabled)" false "show state: disabled"
resolve_web disabled
enf_cells matrix disabled <<<"$(all_cells)"
app_dns disabled

step "enforce again (ztdns set state enable=yes audit=no)"
assert_ok "set state enable=yes audit=no" lab_ztdns set state enable=yes audit=no
assert_contains "$ASSERT_OUT" "enforcing" "the CLI says enforcing"
check_admin "after enabling again"
assert_eq "$(enf_set_elements 4; enf_set_elements 6)" "" "the new table starts with empty allow sets"
assert_eq "$(enf_probe tcp "$LAB_WEB4" "$LAB_HTTP_PORT" | cut -d' ' -f1)" refused "$LAB_WEB4 is blocked until it is resolved again"
assert_eq "$(enf_probe tcp "$LAB_WEB6" "$LAB_HTTP_PORT" | cut -d' ' -f1)" refused "$LAB_WEB6 too"
resolve_web "re-enabled (the stub's cache answers)"
assert_eq "$(enf_set_elements 4) $(enf_set_elements 6)" "$LAB_WEB4 $LAB_WEB6" "an answer from the cache allowed its addresses again"
enf_cells matrix enforce <<<"$(all_cells)"
check_admin "at the end"
finish
