#!/usr/bin/env bash
# The stub in each ZTDNS state and with the hosts file (issue 4, "Audit and disabled",
# "Hosts file"), through the real ztdnsd:
# - audit mode: answers still insert their addresses (the allow sets fill, so the logs
#   can tell would-be-permitted from would-be-blocked);
# - disabled: no nftables table; the stub still forwards over TLS only (no port-53
#   packet leaves) and inserts nothing; enabling at run time inserts again;
# - hostsFileResolutionEnabled (off by default): when on, hostsonly.test (only in the
#   client's /etc/hosts) is answered by the stub from that file, never asked upstream,
#   and every address in the file is kept allowed (glibc reads the file itself and never
#   asks the stub), so a connection to it passes enforcement, also for a line added while
#   the daemon runs; when off, the stub asks the PDNS (NXDOMAIN), allows nothing, and a
#   connection to the address glibc found is blocked.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/resolver.sh"
require_lab

lab_up
conf=$LAB_DIR/ztdns.json
stat_value() { lab_ztdns show stats | awk -v k="$1" 'index($0, k) == 1 {print $NF}'; }

step "audit mode: answers still insert"
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh enabled=true auditModeEnabled=true
lab_ztdnsd_start "$conf"
assert_contains "$(lab_ztdns show state)" "audit" "ztdns show state: audit"
assert_eq "$(stub_kdig +short "$(lab_race_name 1)" A)" "$(lab_race_addr4 1)" "$(lab_race_name 1) resolves"
assert_eq "$(stub_kdig6 +tcp +short "$(lab_race_name 2)" AAAA)" "$(lab_race_addr6 2)" "$(lab_race_name 2) AAAA resolves"
assert_ok "$(lab_race_addr4 1) is in allow4" allow_has "$(lab_race_addr4 1)"
assert_ok "$(lab_race_addr6 2) is in allow6" allow_has "$(lab_race_addr6 2)"
assert_near "$(allow_timeout "$(lab_race_addr4 1)")" 330 1 "... for the usual clamp(TTL + grace)"
assert_eq "$(jq_py '[a["allowed"] for a in d["addresses"]]' <<<"$(lab_ztdns resolve "$LAB_CHAIN_NAME" --json)")" '[true]' \
  "ztdns resolve $LAB_CHAIN_NAME: allowed"
assert_eq "$(lab_client curl -sS --max-time 5 "http://$LAB_IPONLY4/")" "$LAB_IPONLY4" "an unresolved address still connects (audit)"
lab_ztdnsd_stop
lab_client nft delete table inet ztdns

step "disabled: the stub forwards over TLS and inserts nothing"
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh enabled=false
lab_ztdnsd_start "$conf"
assert_contains "$(lab_ztdns show state)" "disabled" "ztdns show state: disabled"
assert_fails "there is no table inet ztdns" lab_client nft list table inet ztdns
lab_count_reset
assert_eq "$(stub_kdig +short "$(lab_race_name 3)" A)" "$(lab_race_addr4 3)" "$(lab_race_name 3) resolves through the stub (UDP)"
assert_eq "$(stub_kdig6 +tcp +short "$(lab_race_name 4)" AAAA)" "$(lab_race_addr6 4)" "$(lab_race_name 4) AAAA resolves (TCP to ::1)"
assert_eq "$(stub_kdig +short id.test TXT)" '"pdns1"' "answered by pdns1"
assert_lt 0 "$(lab_count dot)" "over DoT ($(lab_count dot) packets to port 853)"
assert_eq "$(lab_count dns53)" 0 "no port-53 packet left the client"
assert_eq "$(stat_value 'allow set: inserted')" 0 "ztdns show stats: 0 inserted"
assert_eq "$(stat_value 'allow set: size')" 0 "... allow set size 0"
assert_eq "$(jq_py '[a["allowed"] for a in d["addresses"]]' <<<"$(lab_ztdns resolve "$LAB_CHAIN_NAME" --json)")" '[false]' \
  "ztdns resolve $LAB_CHAIN_NAME: not allowed (nothing to allow into)"
lab_pdns_stop pdns1
assert_eq "$(stub_kdig +short id.test TXT)" '"pdns2"' "disabled still fails over: pdns2 (DoH) answers"
lab_count_reset
lab_pdns_stop pdns2
assert_contains "$(stub_kdig "$(lab_race_name 5)" A)" "status: SERVFAIL" "with both down: SERVFAIL, not a plaintext fallback"
assert_eq "$(lab_count dns53)" 0 "... and no port-53 packet left the client"
lab_pdns_start pdns1
lab_pdns_start pdns2

step "disabled -> enabled at run time: inserts start"
assert_ok "ztdns set state enable=yes audit=no" lab_ztdns set state enable=yes audit=no
assert_ok "table inet ztdns exists now" lab_client nft list table inet ztdns
assert_eventually 10 "pdns1 answers again" eval '[[ $(stub_kdig +short id.test TXT) == "\"pdns1\"" ]]'
assert_eq "$(stub_kdig +short "$(lab_race_name 6)" A)" "$(lab_race_addr4 6)" "$(lab_race_name 6) resolves"
assert_ok "... and $(lab_race_addr4 6) is allowed" allow_has "$(lab_race_addr4 6)"
assert_eq "$(lab_client curl -sS --max-time 5 "http://$(lab_race_name 7)/" -4)" "$(lab_race_addr4 7)" "curl http://$(lab_race_name 7)/ connects (enforcing)"
assert_ok "ztdns set state enable=no" lab_ztdns set state enable=no
assert_eq "$(stub_kdig +short "$(lab_race_name 8)" A)" "$(lab_race_addr4 8)" "disabled again: $(lab_race_name 8) still resolves"
assert_fails "... and there is no table" lab_client nft list table inet ztdns
lab_ztdnsd_stop

step "hostsFileResolutionEnabled off (the default): the stub asks the PDNS"
lab_config_write "$conf" --server pdns1:dot enabled=true auditModeEnabled=false
lab_ztdnsd_start "$conf"
assert_eq "$(jq_py 'd["hostsFileResolutionEnabled"]' <<<"$(lab_ztdns show settings)")" false "show settings: hostsFileResolutionEnabled false"
assert_contains "$(stub_kdig "$LAB_HOSTSONLY_NAME" A)" "status: NXDOMAIN" "$LAB_HOSTSONLY_NAME through the stub: NXDOMAIN"
assert_eq "$(pdns_count pdns1 "$LAB_HOSTSONLY_NAME" A)" 1 "... from pdns1"
assert_ok "$LAB_HOSTSONLY4 is not allowed" allow_lacks "$LAB_HOSTSONLY4"
assert_eq "$(lab_client getent ahostsv4 "$LAB_HOSTSONLY_NAME" | awk 'NR == 1 {print $1}')" "$LAB_HOSTSONLY4" \
  "libc still reads it from /etc/hosts itself (nsswitch files)"
assert_fails "... but a connection to it is blocked: the stub never allowed it" \
  lab_client curl -sS --max-time 2 "http://$LAB_HOSTSONLY_NAME/"
lab_ztdnsd_stop
lab_client nft delete table inet ztdns

step "hostsFileResolutionEnabled on: answered from /etc/hosts and allowed"
lab_config_write "$conf" --server pdns1:dot enabled=true auditModeEnabled=false hostsFileResolutionEnabled=true
lab_ztdnsd_start "$conf"
# glibc answers hosts-file names itself (nsswitch "files" first) and never asks the stub,
# so the daemon keeps every address in the file allowed while the switch is on.
assert_eventually 5 "$LAB_HOSTSONLY4 is allowed before anyone asked the stub" allow_has "$LAB_HOSTSONLY4"
assert_eq "$(lab_client curl -4 -sS --max-time 5 "http://$LAB_HOSTSONLY_NAME/")" "$LAB_HOSTSONLY4" \
  "curl -4 http://$LAB_HOSTSONLY_NAME/ (glibc reads /etc/hosts itself) connects"
asked=$(pdns_count pdns1 "$LAB_HOSTSONLY_NAME")
out=$(dns_client query "$LAB_HOSTSONLY_NAME" A --id 777)
assert_eq "$(jq_py '[d["id"], d["rcode"], d["addresses"]]' <<<"$out")" "[777, \"NOERROR\", [\"$LAB_HOSTSONLY4\"]]" \
  "$LAB_HOSTSONLY_NAME A through the stub: $LAB_HOSTSONLY4"
assert_eq "$(stub_kdig6 +tcp +short "$LAB_HOSTSONLY_NAME" AAAA)" "$LAB_HOSTSONLY6" "$LAB_HOSTSONLY_NAME AAAA (TCP to ::1): $LAB_HOSTSONLY6"
assert_eq "$(pdns_count pdns1 "$LAB_HOSTSONLY_NAME")" "$asked" "nothing went upstream for it"
assert_ok "$LAB_HOSTSONLY4 is in allow4" allow_has "$LAB_HOSTSONLY4"
assert_ok "$LAB_HOSTSONLY6 is in allow6" allow_has "$LAB_HOSTSONLY6"
assert_eq "$(allow_timeout "$LAB_HOSTSONLY4")" 300 "... for the minimum (hosts entries have no TTL)"
assert_eq "$(lab_client curl -4 -sS --max-time 5 "http://$LAB_HOSTSONLY_NAME/")" "$LAB_HOSTSONLY4" "curl -4 http://$LAB_HOSTSONLY_NAME/ connects (enforcing)"
assert_eq "$(lab_client curl -6 -sS --max-time 5 "http://$LAB_HOSTSONLY_NAME/")" "$LAB_HOSTSONLY6" "curl -6 too"
assert_contains "$(stub_kdig "$LAB_WEB_NAME" A)" "$LAB_WEB4" "other names still go to the PDNS"
added4=${LAB_HOSTSONLY4%.*}.89
assert_ok "$added4 is not allowed" allow_lacks "$added4"
echo "$added4 added.hostsonly.test" >>"/etc/netns/$LAB_CLIENT_NS/hosts"
assert_eventually 15 "a line added to /etc/hosts: $added4 becomes allowed" allow_has "$added4"
assert_eq "$(lab_client curl -4 -sS --max-time 5 http://added.hostsonly.test/)" "$added4" "curl http://added.hostsonly.test/ connects"
assert_eq "$(stub_kdig +short added.hostsonly.test A)" "$added4" "... and the stub answers it"
assert_daemon_alive
finish
