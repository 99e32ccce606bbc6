#!/usr/bin/env bash
# DHCP while ztdnsd enforces: dhclient in the client namespace obtains a DHCPv4 and a DHCPv6
# lease from the lab's dnsmasq (client ports 68 -> 67 and 546 -> 547 pass the policy), and
# the DNS server the lease offers (the rogue resolver) is never used: resolv.conf still names
# the stub, names resolve through it, and direct queries to the offered server are blocked
# without a packet leaving the client namespace.
# shellcheck disable=SC2317  # helpers run through assert_* and wait_for
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/enforce_lib.sh"
require_lab

lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh enabled=true auditModeEnabled=false
lab_ztdnsd_start "$conf"
lab_start_dhcp
# A watcher after ztdns's output chain (priority 10 > filter): it sees only what ztdns accepted.
lab_client nft -f - <<'EOF'
table inet dhcpwatch {
  counter v4 { }
  counter v6 { }
  chain out {
    type filter hook output priority 10; policy accept;
    udp sport 68 udp dport 67 counter name "v4"
    udp sport 546 udp dport 547 counter name "v6"
  }
}
EOF
watched() { lab_client nft list counter inet dhcpwatch "$1" | awk '/packets/ {print $2}'; }

in_range() {  # ADDR FIRST,LAST (same /24 or same /120 in the lab's pools)
  python3 -c 'import ipaddress, sys
a = ipaddress.ip_address(sys.argv[1]); lo, hi = (ipaddress.ip_address(x) for x in sys.argv[2].split(","))
sys.exit(0 if lo <= a <= hi else 1)' "$1" "$2"
}

step "DHCPv4 lease while enforcing"
lab_count_reset
assert_ok "dhclient -4 obtains a lease" lab_dhcp_request 4
lease4=$ASSERT_OUT
note "$lease4"
addr4=$(sed -nE 's/.*address=([^ ]*).*/\1/p' <<<"$lease4") dns4=$(sed -nE 's/.*dns=([^ ]*).*/\1/p' <<<"$lease4")
assert_ok "the leased address $addr4 is in the pool $LAB_DHCP_RANGE4" in_range "$addr4" "$LAB_DHCP_RANGE4"
assert_eq "$dns4" "$LAB_ROGUE4" "the lease offers the rogue resolver as DNS server"
# ISC dhclient sends DHCPv4 through a packet socket, which netfilter's output hook never sees.
# A client on a UDP socket (and any unicast renewal) goes through the policy's DHCPv4 rule:
note "DHCPv4 packets of dhclient seen by netfilter's output hook: $(watched v4) (it uses a packet socket)"
assert_ok "a DHCPDISCOVER from a UDP socket (68 -> 67) gets an OFFER" lab_client python3 "$ENF_PROBE" dhcp4 "$LAB_CLIENT_IF"
note "$ASSERT_OUT"
assert_match "$ASSERT_OUT" "^offer yiaddr=192\\.0\\.2\\.[0-9]+ dns=$LAB_ROGUE4\$" "... offering a pool address and the rogue resolver"
assert_lt 0 "$(watched v4)" "that DISCOVER passed ztdns's output chain ($(watched v4) packets)"

step "DHCPv6 lease while enforcing"
assert_ok "dhclient -6 obtains a lease" lab_dhcp_request 6
lease6=$ASSERT_OUT
note "$lease6"
addr6=$(sed -nE 's/.*address=([^ ]*).*/\1/p' <<<"$lease6") dns6=$(sed -nE 's/.*dns=([^ ]*).*/\1/p' <<<"$lease6")
assert_ok "the leased address $addr6 is in the pool $LAB_DHCP_RANGE6" in_range "$addr6" "$LAB_DHCP_RANGE6"
assert_eq "$dns6" "$LAB_ROGUE6" "the lease offers the rogue resolver's IPv6 address"
assert_lt 0 "$(watched v6)" "the DHCPv6 messages (UDP 546 -> 547) passed ztdns's output chain ($(watched v6) packets)"
assert_eq "$(lab_count dns53)" 0 "no plaintext DNS left the client namespace during the exchanges"
assert_eq "$(lab_count rogue)" 0 "nothing was sent to the rogue resolver"

step "the offered DNS server stays blocked, the stub answers"
assert_eq "$(lab_client cat /etc/resolv.conf)" "nameserver 127.0.0.1" "resolv.conf still points at the stub"
assert_eq "$(lab_client getent ahostsv4 "$LAB_WEB_NAME" | awk 'NR == 1 {print $1}')" "$LAB_WEB4" "names resolve through the stub"
lab_count_reset
enf_cells "DHCP-offered DNS" enforce <<EOF
v4-udp53 udp $dns4 53 eperm   reply
v4-tcp53 tcp $dns4 53 refused connected
v6-udp53 udp $dns6 53 eperm   reply
v6-tcp53 tcp $dns6 53 refused connected
EOF
assert_fails "kdig to the offered server fails" lab_client kdig @"$dns4" +timeout=2 +retry=0 "$LAB_WEB_NAME"
assert_eq "$(lab_count rogue)" 0 "not one packet reached the offered DNS server"
assert_eq "$(lab_count dns53)" 0 "no plaintext DNS left the client namespace"
finish
