#!/usr/bin/env bash
# End-to-end smoke test of the lab itself (tests/e2e/lib/lab.sh): it comes up, every
# server answers real clients from the client namespace as documented in
# tests/e2e/README.md, the negative servers fail in the way tests rely on, two labs run
# side by side, and teardown leaves nothing behind. Exit 77 without root or namespaces.
# shellcheck disable=SC2030,SC2031,SC2119  # the second lab lives in a subshell on purpose
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
require_lab

step "bring-up"
lab_up
assert_le "$LAB_UP_MS" 5000 "the lab is up in under 5 s (${LAB_UP_MS} ms)"
assert_eq "$(ip netns list | awk '{print $1}' | grep -c -x -e "$LAB_CLIENT_NS" -e "$LAB_NET_NS")" 2 \
  "namespaces $LAB_CLIENT_NS and $LAB_NET_NS exist"

step "topology"
addrs=$(lab_client ip -o addr show dev "$LAB_CLIENT_IF")
assert_contains "$addrs" "inet $LAB_CLIENT4/24" "client has $LAB_CLIENT4/24"
assert_contains "$addrs" "inet6 $LAB_CLIENT6/64" "client has $LAB_CLIENT6/64"
assert_not_contains "$(lab_client ip -o addr; lab_net ip -o addr)" tentative "no address waits for DAD"
assert_eq "$(lab_client ip -4 route show default)" "default via $LAB_ROUTER4 dev $LAB_CLIENT_IF " "client IPv4 default route"
assert_match "$(lab_client ip -6 route show default)" "^default via $LAB_ROUTER6 dev $LAB_CLIENT_IF" "client IPv6 default route"
assert_eq "$(lab_net cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding | tr -d '\n')" 11 \
  "forwarding is on in the net namespace"
assert_eq "$(lab_net ip -4 route show default; lab_net ip -6 route show default)" "" \
  "the net namespace has no default route: nothing leaves the lab"
assert_eq "$(lab_client cat /etc/resolv.conf)" "nameserver 127.0.0.1" "client resolv.conf points at the stub"
assert_eq "$(lab_client getent ahostsv4 "$LAB_HOSTSONLY_NAME" | awk 'NR == 1 {print $1}')" "$LAB_HOSTSONLY4" \
  "client hosts file has $LAB_HOSTSONLY_NAME"
assert_ok "ping over IPv4 to the web host" lab_client ping -c 1 -W 2 "$LAB_WEB4"
assert_ok "ping over IPv6 to the exception target" lab_client ping -c 1 -W 2 "$LAB_EXCEPTION6"

step "servers listen on lab addresses only"
bad=$(for ns in "$LAB_CLIENT_NS" "$LAB_NET_NS"; do ip netns exec "$ns" ss -Hlntu | awk '{print $5}'; done |
  grep -v -E '^(127\.0\.0\.1|\[::1\]|192\.0\.2\.[0-9]+|198\.51\.100\.[0-9]+|203\.0\.113\.[0-9]+|\[2001:db8:[0-9a-f:]+\]):[0-9]+$' || true)
assert_eq "$bad" "" "every listening socket in the lab is on a documentation or loopback address"
assert_eq "$(ss -Hlntu | awk '{print $5}' | grep -c -E '^(192\.0\.2\.|198\.51\.100\.|203\.0\.113\.|\[2001:db8:)' || true)" 0 \
  "nothing listens on a lab address in the root namespace"

step "PDNS over DoT and DoH, IPv4 and IPv6 (kdig from the client namespace)"
for srv in pdns1 pdns2; do
  for proto in dot doh; do
    for fam in 4 6; do
      out=$(lab_kdig "$srv" "$proto" "$fam" www.allowed.test A)
      addr=$(lab_pdns_addr "$srv" "$fam")
      if [[ $proto == dot ]]; then
        assert_contains "$out" ";; TLS session (TLS1.3)" "$srv $proto IPv$fam: TLS 1.3"
        assert_contains "$out" "From $addr@$LAB_DOT_PORT(TCP)" "$srv $proto IPv$fam: answered by $addr:$LAB_DOT_PORT"
      else
        assert_contains "$out" ";; HTTP session (HTTP/2-POST)-($(lab_pdns_tls_name "$srv")$LAB_DOH_PATH)-(status: 200)" \
          "$srv $proto IPv$fam: HTTP/2 POST to $LAB_DOH_PATH"
        assert_contains "$out" "From $addr@$LAB_DOH_PORT(TCP)" "$srv $proto IPv$fam: answered by $addr:$LAB_DOH_PORT"
      fi
      assert_match "$out" $'www\\.allowed\\.test\\.[ \t]+[0-9]+[ \t]+IN[ \t]+A[ \t]+203\\.0\\.113\\.80' \
        "$srv $proto IPv$fam: www.allowed.test A 203.0.113.80"
      assert_eq "$(lab_kdig "$srv" "$proto" "$fam" +short www.allowed.test AAAA)" "$LAB_WEB6" \
        "$srv $proto IPv$fam: www.allowed.test AAAA $LAB_WEB6"
      assert_eq "$(lab_kdig "$srv" "$proto" "$fam" +short id.test TXT)" "\"$srv\"" "$srv $proto IPv$fam: id.test says $srv"
    done
  done
done

resume() {  # ADDR VERSION [s_client args]: "New," then "Reused,"?
  local a=$1 v=$2 sess=$LAB_DIR/tls-session.pem fifo=$LAB_DIR/tls-hold pid hold
  shift 2
  rm -f "$sess" "$fifo"
  mkfifo "$fifo"
  # the first connection stays open (stdin from the fifo) until its session is saved:
  # a TLS 1.3 ticket arrives after the handshake
  lab_client openssl s_client "$v" -connect "$a:$LAB_DOT_PORT" -CAfile "$LAB_CA" -sess_out "$sess" "$@" \
    <"$fifo" 2>/dev/null | grep -E -o '^(New|Reused),' &
  pid=$!
  exec {hold}>"$fifo"
  wait_for 10 test -s "$sess" || true
  exec {hold}>&-
  wait "$pid" || true
  lab_client openssl s_client "$v" -connect "$a:$LAB_DOT_PORT" -CAfile "$LAB_CA" -sess_in "$sess" "$@" \
    </dev/null 2>/dev/null | grep -E -o '^(New|Reused),' || true
}
for v in -tls1_2 -tls1_3; do
  assert_eq "$(resume "$LAB_PDNS1_4" $v | tr '\n' ' ')" "New, Reused, " "pdns1 resumes TLS sessions ($v)"
  assert_eq "$(resume "$LAB_MTLS_4" $v -cert "$LAB_CLIENT_CERT" -key "$LAB_CLIENT_KEY" | tr '\n' ' ')" "New, Reused, " \
    "the mtls front resumes TLS sessions ($v)"
done

step "CNAME chain across zones: the PDNS recurses"
auth=$(lab_kdig auth udp 4 +norec www.chain.test A)
assert_contains "$auth" "Flags: qr aa;" "the authoritative server answers www.chain.test authoritatively"
assert_contains "$auth" "CNAME	edge.cdn-a.test." "... with only the first CNAME"
assert_not_contains "$auth" "$LAB_CHAIN4" "... and not the final address (it does not chase)"
for proto in dot doh; do
  chain=$(lab_kdig pdns1 "$proto" 4 www.chain.test A | sed -n '/ANSWER SECTION/,/^$/p' | awk 'NF >= 5 {print $1, $4, $5}')
  assert_eq "$chain" "www.chain.test. CNAME edge.cdn-a.test.
edge.cdn-a.test. CNAME host.cdn-b.test.
host.cdn-b.test. A $LAB_CHAIN4" "pdns1 $proto: the whole chain, three zones, down to $LAB_CHAIN4"
done
ttls=$(lab_kdig pdns2 dot 6 www.chain.test AAAA | sed -n '/ANSWER SECTION/,/^$/p' | awk 'NF >= 5 {print $2}' | tr '\n' ' ')
read -r t1 t2 t3 <<<"$ttls"
assert_ok "TTLs fall along the chain (300, 60, 30 at most): $ttls" test "$t1" -le 300 -a "$t2" -le 60 -a "$t3" -le "$LAB_CHAIN_MIN_TTL" -a "$t3" -lt "$t2"
assert_eq "$(lab_kdig pdns2 doh 6 +short www.chain.test AAAA | tail -1)" "$LAB_CHAIN6" "the chain ends in AAAA $LAB_CHAIN6"

step "policy: blocked, sinkhole, and the rogue resolver's real answers"
for n in www.blocked.test blocked.test "$LAB_TOBLOCKED_NAME"; do
  assert_contains "$(lab_kdig pdns1 dot 4 "$n" A)" "status: NXDOMAIN" "pdns1 answers NXDOMAIN for $n"
done
assert_contains "$(lab_kdig pdns2 doh 6 www.blocked.test AAAA)" "status: NXDOMAIN" "pdns2 over DoH too"
assert_eq "$(lab_kdig pdns1 dot 4 +short "$LAB_SINKHOLE_NAME" A)" 0.0.0.0 "sinkhole.test gets 0.0.0.0"
assert_eq "$(lab_kdig pdns1 dot 4 +short "$LAB_SINKHOLE_NAME" AAAA)" :: "sinkhole.test gets ::"
assert_contains "$(lab_kdig pdns1 dot 4 nothing.allowed.test A)" "status: NXDOMAIN" "a name that does not exist is NXDOMAIN"
assert_eq "$(lab_kdig rogue udp 4 +short www.blocked.test A)" "$LAB_IPONLY4" "the rogue resolver (UDP) gives blocked names' real address"
assert_eq "$(lab_kdig rogue tcp 6 +short www.blocked.test AAAA)" "$LAB_IPONLY6" "the rogue resolver over TCP and IPv6 too"
assert_eq "$(lab_client curl -4 -sS --max-time 5 --cacert "$LAB_CA" --doh-url "$LAB_UNKNOWN_DOH_URL" http://www.allowed.test/)" \
  "$LAB_WEB4" "an app's own DoH (curl --doh-url $LAB_UNKNOWN_DOH_URL) resolves, and the web host answers"
assert_eq "$(lab_client curl -6 -sS --max-time 5 --cacert "$LAB_CA" --doh-url "https://[$LAB_UNKNOWN_DOH6]$LAB_DOH_PATH" http://www.chain.test/)" \
  "$LAB_CHAIN6" "... over IPv6, through the CNAME chain"

step "mTLS server"
for proto in dot doh; do
  assert_fails "mtls $proto: a client without a certificate is refused" lab_kdig mtls "$proto" 4 +short www.allowed.test
  # With TLS 1.3 the server rejects a missing certificate after the client has finished its
  # side of the handshake, so kdig may report a TLS error or just a closed connection; the
  # server's own log (below) is the proof that TLS refused it.
  assert_not_contains "$ASSERT_OUT" "$LAB_WEB4" "... and no answer came back"
  assert_eq "$(lab_kdig --cert mtls "$proto" 4 +short www.allowed.test)" "$LAB_WEB4" "mtls $proto: the lab client certificate is answered"
  assert_eq "$(lab_kdig --cert mtls "$proto" 6 +short www.allowed.test)" "$LAB_WEB4" "mtls $proto over IPv6 too"
  assert_fails "mtls $proto: a certificate from another CA is refused" lab_kdig --untrusted-cert mtls "$proto" 6 +short www.allowed.test
done
assert_eq "$(lab_kdig --cert mtls dot 4 www.blocked.test | grep -o 'status: [A-Z]*')" "status: NXDOMAIN" "the mtls server applies the same policy"
assert_lt 1 "$(grep -c 'client sent no required SSL certificate' "$LAB_LOG_DIR/mtls.log")" \
  "the mtls server logged why, for DoT and DoH: no client certificate"

step "certificate validation failures"
for proto in dot doh; do
  assert_fails "wrongname $proto: refused when checking $LAB_WRONGNAME_NAME" lab_kdig wrongname "$proto" 4 +short www.allowed.test
  assert_contains "$ASSERT_OUT" "handshake failed" "... in the TLS handshake"
  assert_eq "$(lab_kdig --hostname "$LAB_WRONGNAME_CERT_NAME" wrongname "$proto" 4 +short www.allowed.test)" "$LAB_WEB4" \
    "wrongname $proto: answers when checked as $LAB_WRONGNAME_CERT_NAME (the name is the only fault)"
  assert_fails "untrusted $proto: refused with the lab CA" lab_kdig untrusted "$proto" 6 +short www.allowed.test
  assert_contains "$ASSERT_OUT" "handshake failed" "... in the TLS handshake"
  assert_eq "$(lab_kdig --ca "$LAB_UNTRUSTED_CA" untrusted "$proto" 6 +short www.allowed.test)" "$LAB_WEB4" \
    "untrusted $proto: answers with its own CA (the CA is the only fault)"
done

step "malformed PDNS"
for proto in dot doh; do
  for fam in 4 6; do
    assert_fails "malformed $proto IPv$fam: the answer cannot be parsed" lab_kdig malformed "$proto" "$fam" +short www.allowed.test
    assert_contains "$ASSERT_OUT" "malformed reply packet" "... kdig says it is malformed (TLS and HTTP/2 worked)"
  done
done
mcurl() { lab_client curl -sS --max-time 5 --cacert "$LAB_CA" --resolve "$LAB_MALFORMED_NAME:$LAB_DOH_PORT:$LAB_MALFORMED_4" \
  -o /dev/null -w '%{http_code} %{content_type} HTTP/%{http_version}' "https://$LAB_MALFORMED_NAME$1"; }
assert_eq "$(mcurl /status-500)" "500 text/html HTTP/2" "malformed DoH: /status-500 answers 500"
assert_eq "$(mcurl /wrong-type)" "200 text/html HTTP/2" "malformed DoH: /wrong-type answers 200 text/html"

step "zone contents"
q() { lab_kdig pdns1 udp 4 "$@"; }
assert_eq "$(q "$LAB_TTL0_NAME" A | awk '$1 == "'"$LAB_TTL0_NAME"'." {print $2, $5}')" "0 $LAB_TTL0_4" "$LAB_TTL0_NAME: TTL 0"
assert_match "$(q "$LAB_TTL2_NAME" AAAA | awk '$1 == "'"$LAB_TTL2_NAME"'." {print $2, $5}')" "^[0-2] $LAB_TTL2_6\$" "$LAB_TTL2_NAME: TTL 2"
assert_eq "$(q +short "$LAB_ALIAS_NAME" A | tr '\n' ' ')" "www.allowed.test. $LAB_WEB4 " "$LAB_ALIAS_NAME: CNAME in the same zone"
many() { lab_kdig pdns1 tcp 4 +short "$LAB_MANY_NAME" "$1" | sort -u | wc -l; }
assert_eq "$(many A) $(many AAAA)" "$LAB_MANY_COUNT $LAB_MANY_COUNT" "$LAB_MANY_NAME: 40 A and 40 AAAA (over TCP)"
assert_contains "$(q "$LAB_MANY_NAME" A)" "Flags: qr tc" "... truncated over UDP without EDNS"
assert_eq "$(q +bufsize=1232 +short "$LAB_MANY_NAME" A | wc -l)" "$LAB_MANY_COUNT" "... and whole over UDP with a 1232-byte EDNS buffer"
assert_eq "$(q +short "$LAB_SVCB_NAME" HTTPS)" "1 . alpn=h2,http/1.1 ipv4hint=$LAB_SVCB_4 ipv6hint=$LAB_SVCB_6" \
  "$LAB_SVCB_NAME: HTTPS record with address hints"
assert_eq "$(q +short "$LAB_MAPPED_NAME" AAAA)|$(q +short "$LAB_MAPPED_NAME" A)" "$LAB_MAPPED_6|" "$LAB_MAPPED_NAME: IPv4-mapped AAAA only"
assert_eq "$(q +short "$LAB_V4ONLY_NAME" A)|$(q +short "$LAB_V4ONLY_NAME" AAAA)" "$LAB_V4ONLY_4|" "$LAB_V4ONLY_NAME: A only"
assert_eq "$(q +short "$LAB_V6ONLY_NAME" A)|$(q +short "$LAB_V6ONLY_NAME" AAAA)" "|$LAB_V6ONLY_6" "$LAB_V6ONLY_NAME: AAAA only"
assert_eq "$(for n in "$LAB_LOOPBACK_NAME" "$LAB_ZERO_NAME" "$LAB_MCAST_NAME"; do q +short "$n" A; q +short "$n" AAAA; done | tr '\n' ' ')" \
  "127.0.0.1 ::1 0.0.0.0 :: 233.252.0.1 ff0e::db8:0:1 " "loopback, unspecified and multicast answers"
assert_eq "$(q +short "$LAB_LONGTTL_NAME" A)" "$LAB_LONGTTL_4" "$LAB_LONGTTL_NAME resolves"
assert_eq "$(q +short "$LAB_HOSTSONLY_NAME" A)" "" "$LAB_HOSTSONLY_NAME is not in DNS"

names=() want4=() want6=() urls4=() urls6=()
for ((i = 1; i <= LAB_RACE_COUNT; i++)); do
  names+=("$(lab_race_name "$i")")
  want4+=("$(lab_race_addr4 "$i")") want6+=("$(lab_race_addr6 "$i")")
  urls4+=("http://${want4[-1]}/") urls6+=("http://[${want6[-1]}]/")
done
# shellcheck disable=SC2046  # one kdig, many "NAME TYPE" queries
got=$(lab_client kdig @"$LAB_PDNS1_4" +timeout=3 +short $(printf '%s A ' "${names[@]}") | tr '\n' ' ')
assert_eq "$got" "${want4[*]} " "$LAB_RACE_COUNT race names, each with its own IPv4 address"
# shellcheck disable=SC2046
got=$(lab_client kdig @"$LAB_PDNS2_6" +timeout=3 +short $(printf '%s AAAA ' "${names[@]}") | tr '\n' ' ')
assert_eq "$got" "${want6[*]} " "... and its own IPv6 address"
assert_eq "$(printf '%s\n' "${want4[@]}" "${want6[@]}" | sort -u | wc -l)" $((2 * LAB_RACE_COUNT)) "... all distinct"

step "web hosts, UDP echo, the PDNS host's other port"
got=$(lab_client curl -sS --max-time 10 "${urls4[@]}" "${urls6[@]}" | tr '\n' ' ')
assert_eq "$got" "${want4[*]} ${want6[*]} " "the web host answers on every race address with the address hit"
urls=()
for ((i = 1; i <= LAB_MANY_COUNT; i++)); do urls+=("http://$(lab_many_addr4 "$i")/" "http://[$(lab_many_addr6 "$i")]/"); done
assert_eq "$(lab_client curl -sS --max-time 10 "${urls[@]}" | wc -l)" $((2 * LAB_MANY_COUNT)) "... and on all of $LAB_MANY_NAME's addresses"
for a in "$LAB_WEB4" "$LAB_IPONLY4" "$LAB_EXCEPTION4" "$LAB_PDNS1_4" "$LAB_CHAIN4" "$LAB_HOSTSONLY4" "[$LAB_EXCEPTION6]" "[$LAB_PDNS2_6]"; do
  assert_eq "$(lab_client curl -sS --max-time 5 "http://$a:$LAB_HTTP_PORT/")" "$(tr -d '[]' <<<"$a")" "HTTP on $a:$LAB_HTTP_PORT"
done
assert_contains "$(lab_client curl -sSI --max-time 5 "http://$LAB_WEB4/")" "X-Lab-Client: $LAB_CLIENT4" "the web host reports the client address"
echo_addrs=$(_lab_echo_addrs)
for a in $echo_addrs; do  # in parallel: socat waits a moment after its input ends
  if [[ $a == *:* ]]; then ep="UDP6:[$a]:$LAB_ECHO_PORT"; else ep="UDP4:$a:$LAB_ECHO_PORT"; fi
  echo "echo $a" | lab_client socat -t 2 -T 3 - "$ep" >"$LAB_DIR/echo.$a" 2>&1 &
done
wait
for a in $echo_addrs; do assert_eq "$(cat "$LAB_DIR/echo.$a")" "echo $a" "UDP echo on $a:$LAB_ECHO_PORT"; done
for a in $(_lab_tcpecho_addrs); do
  if [[ $a == *:* ]]; then ep="TCP6:[$a]:$LAB_ECHO_PORT"; else ep="TCP4:$a:$LAB_ECHO_PORT"; fi
  assert_eq "$(printf 'one\ntwo\n' | lab_client socat -T 3 - "$ep")" "one
two" "TCP echo on $a:$LAB_ECHO_PORT"
done
# one HTTP connection, two requests: the keep-alive that expiry tests lean on
assert_eq "$(lab_client curl -sS --max-time 5 "http://$LAB_TTL2_4/" "http://$LAB_TTL2_4/" -w '%{num_connects}\n' | tr '\n' ' ')" \
  "$LAB_TTL2_4 1 $LAB_TTL2_4 0 " "HTTP keep-alive: the second request reuses the connection"

step "packet counters, capture and blackhole"
lab_count_reset
lab_capture_start udp port 53
lab_kdig pdns1 dot 4 +short www.allowed.test >/dev/null
lab_kdig pdns2 doh 6 +short www.allowed.test >/dev/null
assert_eq "$(lab_count dns53)" 0 "DoT and DoH queries send no port-53 packet"
assert_lt 0 "$(lab_count dot)" "... the DoT counter saw them"
assert_lt 0 "$(lab_count doh)" "... the DoH counter saw them"
lab_kdig rogue udp 4 +short www.allowed.test >/dev/null
assert_eq "$(lab_count dns53) $(lab_count dns53_udp) $(lab_count rogue)" "1 1 1" "one UDP query to the rogue resolver counts once"
lab_kdig rogue tcp 6 +short www.allowed.test >/dev/null
assert_lt 1 "$(lab_count dns53_tcp)" "a TCP query counts its packets"
lab_count_add to_web ip daddr "$LAB_WEB4" tcp dport "$LAB_HTTP_PORT"
lab_client curl -sS --max-time 5 -o /dev/null "http://$LAB_WEB4/"
assert_lt 0 "$(lab_count to_web)" "a counter added by lab_count_add counts"
pcap=$(lab_capture_stop)
assert_eq "$(tcpdump -r "$pcap" -n 2>/dev/null | grep -c "$LAB_ROGUE4.53: ")" 1 "the capture has the one UDP query to the rogue resolver"
lab_pdns_drop pdns2
t=$(now_us)
assert_fails "a blackholed PDNS times out" lab_kdig pdns2 dot 4 +timeout=1 +short www.allowed.test
assert_contains "$ASSERT_OUT" "timeout" "... with a timeout, not a refusal"
lab_pdns_undrop pdns2
assert_eq "$(lab_kdig pdns2 dot 4 +short www.allowed.test)" "$LAB_WEB4" "... and answers again once let through"

step "stopping and starting a PDNS (failover tests)"
lab_pdns_stop pdns1
assert_fails "stopped pdns1 refuses DoT" lab_kdig pdns1 dot 4 +short www.allowed.test
assert_contains "$ASSERT_OUT" "connect" "... the connection is refused"
assert_eq "$(lab_kdig pdns2 dot 4 +short id.test TXT)" '"pdns2"' "pdns2 still answers"
lab_pdns_start pdns1
assert_eq "$(lab_kdig pdns1 doh 6 +short id.test TXT)" '"pdns1"' "restarted pdns1 answers again"
lab_pdns_stop mtls
assert_fails "stopped mtls refuses" lab_kdig --cert mtls dot 4 +short www.allowed.test
lab_pdns_start mtls
assert_eq "$(lab_kdig --cert mtls dot 4 +short www.allowed.test)" "$LAB_WEB4" "restarted mtls answers again"
lab_pdns_flush pdns1
assert_eq "$(lab_kdig pdns1 dot 4 +short www.allowed.test)" "$LAB_WEB4" "pdns1 answers after a cache flush"

step "DHCP on demand"
assert_eq "$(lab_server_running dhcp && echo running)" "" "no DHCP server unless asked"
lab_start_dhcp
lease=$(lab_dhcp_request 4)
assert_match "$lease" "^address=192\.0\.2\.1[0-9][0-9] dns=$LAB_ROGUE4\$" "DHCPv4 lease from the pool, DNS = the rogue resolver ($lease)"
lease=$(lab_dhcp_request 6)
assert_match "$lease" "^address=2001:db8:0:1::1[0-9a-f][0-9a-f] dns=$LAB_ROGUE6\$" "DHCPv6 lease, DNS = the rogue resolver ($lease)"
lab_stop_dhcp

step "config helper"
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh:7:6 --mtls enabled=true
assert_ok "lab_config_write writes valid JSON" python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$conf"
assert_eq "$(python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); s = c["secureDnsServers"]
print(c["enabled"], s[0]["ipAddress"], s[0]["dnsOverTlsConfiguration"]["certificateSubjectName"], s[1]["priority"],
      s[1]["dnsOverHttpsConfiguration"]["queryUrl"], c["clientCertificate"]["certificateFile"] == sys.argv[2])' "$conf" "$LAB_CLIENT_CERT")" \
  "True $LAB_PDNS1_4 $LAB_PDNS1_NAME 7 https://$LAB_PDNS2_NAME$LAB_DOH_PATH True" "... with the servers, priorities and client certificate asked for"
assert_eq "$(lab_spki_pin "$(lab_cert pdns1)")" \
  "$(openssl x509 -in "$(lab_cert pdns1)" -noout -pubkey | openssl pkey -pubin -outform der | openssl sha256 -binary | base64)" \
  "lab_spki_pin gives the certificate's SPKI pin"

step "a second lab side by side"
scratch=$LAB_DIR/second-lab
(
  lab_up 2>/dev/null  # a subshell gets its own lab, not its parent's
  echo "$LAB_ID $LAB_DIR" >"$scratch"
  [[ $(lab_kdig pdns1 dot 4 +short www.chain.test A | tail -1) == "$LAB_CHAIN4" ]]
) && second_ok=1 || second_ok=
read -r id2 dir2 <"$scratch"
assert_eq "$second_ok" 1 "a second lab ($id2) comes up and answers while this one ($LAB_ID) runs"
assert_eq "$(ip netns list | grep -c "^$id2-" || true)" 0 "... and is gone when its shell exits"
assert_ok "... leaving its directory gone" test ! -e "$dir2"
assert_eq "$(lab_kdig pdns2 dot 6 +short www.allowed.test)" "$LAB_WEB4" "this lab is unaffected"

step "teardown leaves nothing behind"
pids=$(_lab_ns_pids "$LAB_CLIENT_NS" "$LAB_NET_NS")
wd=$(awk '$1 == "watchdog" {print $2}' "$LAB_DIR/state")
assert_lt 20 "$(wc -w <<<"$pids")" "the lab runs its servers ($(wc -w <<<"$pids") processes)"
c_ns=$LAB_CLIENT_NS n_ns=$LAB_NET_NS dir=$LAB_DIR
lab_down
assert_eq "$(ip netns list | grep -c -e "^$c_ns\b" -e "^$n_ns\b" || true)" 0 "ip netns list has none of ours"
alive=
for p in $pids $wd; do _lab_alive "$p" && alive+=" $p($(cat "/proc/$p/comm"))"; done
assert_eq "$alive" "" "no process the lab started is alive"
assert_ok "/etc/netns entries are gone" test ! -e "/etc/netns/$c_ns" -a ! -e "/etc/netns/$n_ns"
assert_ok "the lab directory is gone" test ! -e "$dir"
finish
