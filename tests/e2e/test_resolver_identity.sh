#!/usr/bin/env bash
# Server identity and mTLS through the real ztdnsd (issue 4, "Identity", "mTLS", "No
# plaintext, ever"). Accepted: the mTLS server with the configured client certificate,
# SPKI pins that match (leaf or CA), IP-literal names checked against IP SANs. Refused,
# each on its own: the mTLS server without a client certificate, the wrong-name server,
# the untrusted-CA server, an SPKI pin mismatch, an IP-literal name that is not in the
# certificate, and a CA that is only in the config when the config lists none (system
# store). A refused server gives the client SERVFAIL within 2 s with nothing inserted;
# nothing leaves the client in plaintext (port-53 packets counted where they leave the
# client namespace: 0), nothing goes to any address but the configured server, and no
# query reaches a resolver behind it. A refused server in front of a good one fails over
# to the good one.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/resolver.sh"
require_lab

lab_up
conf=$LAB_DIR/ztdns.json
case_no=0
n=0
fresh() { n=$((n + 1)); NAME=$(lab_race_name "$n"); }
resolvers_asked() {  # NAME: queries for NAME logged by every resolver in the lab
  echo $(($(pdns_count pdns1 "$1") + $(pdns_count pdns2 "$1") + $(pdns_count backend "$1")))
}

# start_case LABEL SERVER FAMILY CONFIG-ARGS...: a fresh ztdnsd with that config, counters
# reset; SERVER's two addresses are the only ones anything may go to.
start_case() {
  local label=$1 srv=$2
  shift 2
  case_no=$((case_no + 1))
  step "$label"
  lab_config_write "$conf" "$@" enabled=true auditModeEnabled=false
  lab_ztdnsd_start "$conf"
  count_unconfigured_add "u$case_no" "$(lab_pdns_addr "$srv" 4)" "$(lab_pdns_addr "$srv" 6)"
  lab_count_reset
}
end_case() {
  assert_eq "$(lab_count dns53)" 0 "no port-53 packet left the client (plaintext DNS)"
  assert_eq "$(lab_count "u${case_no}_4")" 0 "no TCP/UDP to any other IPv4 address"
  assert_eq "$(lab_count "u${case_no}_6")" 0 "no TCP/UDP to any other IPv6 address"
  assert_eq "$(lab_count "u${case_no}_udp")" 0 "no UDP at all"
  assert_daemon_alive
  lab_ztdnsd_stop
  # ztdnsd leaves its table (and the allow sets) in place when it stops, as it should;
  # every case starts on a clean host instead.
  lab_client nft delete table inet ztdns
}

# accepted LABEL SERVER ID_TEXT CONFIG-ARGS...: answers come from the server.
accepted() {
  local label=$1 srv=$2 id=$3
  shift 3
  start_case "accepted: $label" "$srv" "$@"
  assert_eq "$(stub_kdig +short id.test TXT)" "\"$id\"" "id.test is answered by $id"
  fresh
  assert_eq "$(stub_kdig6 +tcp +short "$NAME" A)" "$(lab_race_addr4 "$n")" "$NAME resolves (TCP to ::1)"
  assert_ok "$(lab_race_addr4 "$n") is allowed" allow_has "$(lab_race_addr4 "$n")"
  assert_eq "$(lab_client curl -sS --max-time 5 "http://$LAB_WEB_NAME/" -4)" "$LAB_WEB4" "curl http://$LAB_WEB_NAME/ works"
  # HTTP to the web host is the one permitted exception to the counters above.
  lab_count_reset
  stub_kdig +short "$LAB_CHAIN_NAME" AAAA >/dev/null
  end_case
}

# refused LABEL SERVER DISPLAY ERROR_ERE CONFIG-ARGS...: every query is SERVFAIL within
# 2 s, nothing is allowed, nothing reaches a resolver, the error is named.
refused() {
  local label=$1 srv=$2 disp=$3 re=$4 r t names=()
  shift 4
  start_case "refused: $label" "$srv" "$@"
  local web_before
  web_before=$(resolvers_asked "$LAB_WEB_NAME")
  for _ in 1 2 3; do
    fresh
    names+=("$NAME")
    read -r r t <<<"$(time_query_ms "$NAME" A)"
    assert_eq "$r" SERVFAIL "$NAME A: SERVFAIL ($t ms)"
    assert_lt "$t" 2000 "... within 2 s"
  done
  fresh
  names+=("$NAME")
  assert_contains "$(stub_kdig6 +tcp "$NAME" AAAA)" "status: SERVFAIL" "$NAME AAAA over TCP to ::1: SERVFAIL"
  assert_fails "getent ahosts $LAB_WEB_NAME fails" lab_client getent ahosts "$LAB_WEB_NAME"
  assert_fails "curl http://$LAB_WEB_NAME/ cannot resolve" lab_client curl -sS --max-time 5 "http://$LAB_WEB_NAME/"
  assert_eq "$(allow_size)" 0 "nothing was inserted into the allow sets"
  local asked=0 nm
  for nm in "${names[@]}"; do asked=$((asked + $(resolvers_asked "$nm"))); done
  asked=$((asked + $(resolvers_asked "$LAB_WEB_NAME") - web_before))
  assert_eq "$asked" 0 "no resolver behind the server saw any of the queries"
  assert_eventually 5 "the Operational log names the failure" eval '[[ $(health_events "$disp" | tail -1) =~ $re ]]'
  note "$(health_events "$disp" | tail -1)"
  assert_match "$(lab_ztdns show server)" "$re" "ztdns show server shows it"
  end_case
}

pin_ca=$(lab_spki_pin "$LAB_CA")
pin_pdns1=$(lab_spki_pin "$(lab_cert pdns1)")
pin_wrong=$(lab_spki_pin "$LAB_UNTRUSTED_CA")
pin_other=$(lab_spki_pin "$(lab_cert pdns2)")

accepted "mtls over DoT with the lab client certificate" mtls backend --server mtls:dot --mtls
accepted "mtls over DoH (IPv6) with the lab client certificate" mtls backend --server mtls:doh:1:6 --mtls
accepted "pdns1 over DoT with its leaf's SPKI pin (and a wrong one beside it)" pdns1 pdns1 \
  "secureDnsServers=[$(server_with pdns1 dot 1 4 "spkiPins=[\"$pin_wrong\", \"$pin_pdns1\"]")]"
accepted "pdns2 over DoH with the CA's SPKI pin" pdns2 pdns2 \
  "secureDnsServers=[$(server_with pdns2 doh 1 4 "spkiPins=[\"$pin_ca\"]")]"
accepted "pdns1 over DoT named by its IPv4 literal (IP SAN)" pdns1 pdns1 \
  "secureDnsServers=[$(server_with pdns1 dot 1 4 "dnsOverTlsConfiguration.certificateSubjectName=\"$LAB_PDNS1_4\"")]"
accepted "pdns1 over DoH with an IPv6-literal queryUrl (IP SAN)" pdns1 pdns1 \
  "secureDnsServers=[$(server_with pdns1 doh 1 6 "dnsOverHttpsConfiguration.queryUrl=\"https://[$LAB_PDNS1_6]$LAB_DOH_PATH\"")]"

refused "mtls over DoT without a client certificate" mtls mtls "client certificate|certificate required|bad certificate" \
  --server mtls:dot
refused "mtls over DoH without a client certificate" mtls mtls "client certificate|certificate required|bad certificate" \
  --server mtls:doh
refused "wrongname over DoT (certificate for $LAB_WRONGNAME_CERT_NAME)" wrongname wrongname "hostname mismatch" \
  --server wrongname:dot
refused "wrongname over DoH (IPv6)" wrongname "wrongname (IPv6)" "hostname mismatch" --server wrongname:doh:1:6
refused "untrusted over DoT (a CA nobody trusts)" untrusted untrusted "certificate verify failed" --server untrusted:dot
refused "untrusted over DoH" untrusted untrusted "certificate verify failed" --server untrusted:doh
refused "pdns1 over DoT with an SPKI pin that matches nothing in its chain" pdns1 pdns1 "SPKI pin mismatch" \
  "secureDnsServers=[$(server_with pdns1 dot 1 4 "spkiPins=[\"$pin_wrong\", \"$pin_other\"]")]"
refused "pdns2 over DoH with a pin mismatch" pdns2 pdns2 "SPKI pin mismatch" \
  "secureDnsServers=[$(server_with pdns2 doh 1 4 "spkiPins=[\"$pin_wrong\"]")]"
refused "pdns1 named by an IP literal its certificate does not carry ($LAB_PDNS2_4)" pdns1 pdns1 "IP address mismatch" \
  "secureDnsServers=[$(server_with pdns1 dot 1 4 "dnsOverTlsConfiguration.certificateSubjectName=\"$LAB_PDNS2_4\"")]"
refused "pdns1 with no configured roots: the system store does not know the lab CA" pdns1 pdns1 "certificate verify failed" \
  --server pdns1:dot "rootCertificatesForServerValidation=[]"

step "a refused server before a good one: failover over TLS to the next configured server"
lab_config_write "$conf" --server wrongname:dot:1 --server untrusted:doh:2 --server pdns2:dot:3 enabled=true auditModeEnabled=false
lab_ztdnsd_start "$conf"
lab_count_add good4 ip daddr != '{' "$LAB_WRONGNAME_4", "$LAB_UNTRUSTED_4", "$LAB_PDNS2_4" '}' meta l4proto '{ tcp, udp }'
lab_count_add good6 ip6 daddr != '{' "$LAB_WRONGNAME_6", "$LAB_UNTRUSTED_6", "$LAB_PDNS2_6" '}' meta l4proto '{ tcp, udp }'
lab_count_reset
fresh
read -r r t <<<"$(time_query_ms "$NAME" A)"
assert_eq "$r" NOERROR "$NAME is answered ($t ms)"
assert_lt "$t" 2000 "... within 2 s"
assert_eq "$(stub_kdig +short id.test TXT)" '"pdns2"' "by pdns2, the first server that proves its identity"
assert_eq "$(pdns_count backend "$NAME")" 0 "the resolver behind wrongname and untrusted never saw it"
assert_eventually 5 "wrongname and untrusted are down in the Operational log" \
  eval '[[ $(health_events wrongname | tail -1) == down:* && $(health_events untrusted | tail -1) == down:* ]]'
assert_eq "$(lab_count dns53)" 0 "no port-53 packet left the client"
assert_eq "$(($(lab_count good4) + $(lab_count good6)))" 0 "nothing went to an address that is not a configured server"
assert_daemon_alive
finish
