#!/usr/bin/env bash
# ztdns diagnose against a running, enforcing ztdnsd, with each step of the guide's checklist
# made to fail on purpose: a stopped server, a blackholed one, the wrongname certificate, an
# untrusted CA, mTLS without a client certificate; resolv.conf pointing elsewhere (the client
# namespace's /etc/netns/<client>/resolv.conf, restored afterwards); a blocked name and an
# address the firewall refuses; private, overlapping and broad exceptions, another DNS
# server on port 53, blocked loopback, no IPv6 server, browser DoH policies; blocked
# connections in the audit window; no server at all; no daemon. Every check prints PASS,
# WARN, FAIL or SKIP, every WARN and FAIL a remedy line; the json form says the same; the
# exit status is 1 on any FAIL and 0 otherwise.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/cli.sh"
require_lab

lab_up
mkdir -p "$LAB_DIR/etc" "$LAB_DIR/browser"
conf=$LAB_DIR/etc/ztdns.json
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh --server pdns1:dot:3:6 enabled=true auditModeEnabled=false
lab_ztdnsd_start "$conf"
resolv=/etc/netns/$LAB_CLIENT_NS/resolv.conf
cp "$resolv" "$LAB_DIR/resolv.conf.orig"
lab_at_exit "cp '$LAB_DIR/resolv.conf.orig' '$resolv' 2>/dev/null || true"
# The browser policy folders are read under this root, so the machine's own browsers do
# not decide the outcome (docs/cli.md: ZTDNS_BROWSER_POLICY_ROOT).
diag() {
  ip netns exec "$LAB_CLIENT_NS" env ZTDNS_SOCKET="$LAB_ZTDNSD_RUN_DIR/control.sock" \
    ZTDNS_BROWSER_POLICY_ROOT="$LAB_DIR/browser" "${ZTDNS:-$(_lab_bin ztdns apps/ztdns/ztdns)}" "$@"
}
# shellcheck disable=SC2034  # read by cli_run
CLI_RUNNER=diag
name=$LAB_WEB_NAME

# line STATUS CHECK-SUBJECT-TEXT: the text form's line for it (from $CLI_OUT)
line() { grep -F "[$1] $2" <<<"$CLI_OUT" || true; }
# Every [WARN]/[FAIL] line is followed, before the next check, by a "remedy:" line.
remedies_ok() {
  awk '/^  \[(PASS|WARN|FAIL|SKIP)\]/ { if (need) bad++; need = ($0 ~ /\[(WARN|FAIL)\]/) ; next }
       /^ +remedy: ./ { need = 0 }
       END { if (need) bad++; exit bad > 0 }' <<<"$CLI_OUT"
}
# jcheck CHECK SUBJECT-PREFIX FIELD: a field of the json form's check
jcheck() { jq -r --arg c "$1" --arg s "$2" "[.checks[] | select(.check == \$c and (.subject | startswith(\$s)))][0] | $3" <<<"$JOUT"; }
# diagnose in both forms: text in $CLI_OUT (exit $CLI_RC), json in $JOUT (exit $JRC)
both() {
  local want=$1
  shift
  assert_cli "$want" "diagnose $*" diagnose "$@"
  assert_ok "... a remedy line under every WARN and FAIL" remedies_ok
  TEXT=$CLI_OUT
  assert_cli "$want" "diagnose $* json" diagnose "$@" json
  JOUT=$CLI_OUT
  CLI_OUT=$TEXT
  assert_eq "$(jq -r '[.ok, .summary.fail == ([.checks[] | select(.status == "FAIL")] | length),
      .summary.warn == ([.checks[] | select(.status == "WARN")] | length),
      .summary.pass == ([.checks[] | select(.status == "PASS")] | length)] | @tsv' <<<"$JOUT")" \
    "$(printf '%s\ttrue\ttrue\ttrue' "$([[ $want == 0 ]] && echo true || echo false)")" "... the json summary counts the checks; ok is $([[ $want == 0 ]] && echo true || echo false)"
  assert_eq "$(jq -r '[.checks[] | select(.status != "PASS" and .status != "SKIP" and (.remedy // "") == "")] | length' <<<"$JOUT")" 0 \
    "... and carries the remedies"
  local textn jsonn w
  w=$(jq -r .summary.warn <<<"$JOUT")
  assert_match "$TEXT" "[0-9]+ passed, $w warning$([[ $w == 1 ]] || echo s), [0-9]+ failed" "... the summary line: $w warning$([[ $w == 1 ]] || echo s)"
  textn=$(grep -cE '^  \[(PASS|WARN|FAIL|SKIP)\]' <<<"$TEXT")
  jsonn=$(jq '.checks | length' <<<"$JOUT")
  assert_eq "$textn" "$jsonn" "... text and json list the same $jsonn checks"
}

step "everything right: every check passes, exit 0"
both 0 name="$name"
assert_match "$CLI_OUT" "Step 1: trusted DNS servers are configured" "Step 1 heading"
assert_match "$(line PASS "servers:")" "3 servers configured: pdns1 \($LAB_PDNS1_4\), pdns2 \($LAB_PDNS2_4\), pdns1 \(IPv6\) \($LAB_PDNS1_6\)" "step 1: the servers"
assert_match "$(line PASS "pdns1 $LAB_PDNS1_4:853 DoT:")" "TCP connect [0-9.]+ ms, TLS handshake [0-9.]+ ms, test query [0-9.]+ ms" "step 2: pdns1 over DoT, with the time of each step"
assert_match "$(line PASS "pdns2 $LAB_PDNS2_4:443 DoH:")" "TCP connect" "step 2: pdns2 over DoH"
assert_match "$(line PASS "pdns1 (IPv6) [$LAB_PDNS1_6]:853 DoT:")" "TCP connect" "step 2: pdns1 over IPv6"
assert_match "$(line PASS "/etc/resolv.conf:")" "nameserver 127.0.0.1: the stub" "step 3: resolv.conf points at the stub"
assert_match "$(line PASS "getaddrinfo($name):")" "$LAB_WEB4" "step 3: getaddrinfo works"
assert_match "$(line PASS "connect to $name:")" "TCP .*:80 in" "step 3: a connection to the answer succeeds"
for c in "port 53:" "exceptions: overlaps:" "exceptions: private ranges:" "exceptions: breadth:" "loopback switch:" "browser DoH policies:"; do
  assert_ne "$(line PASS "$c")" "" "step 4: $c PASS"
done
assert_match "$(line PASS "IPv6:")" "answers over it" "step 4: IPv6 is configured and a server answers over it"
assert_match "$(line PASS "blocked connections:")" "no blocked connections in the last 1h" "step 5: nothing blocked"
assert_match "$CLI_OUT" "[0-9]+ passed, 0 warnings, 0 failed\.$" "the summary line"
assert_eq "$(jq -r '[.checks[].status] | unique | join(",")' <<<"$JOUT")" PASS "json: every check PASSes"
assert_eq "$(jq -r '[.checks[] | .step] | unique | map(tostring) | join(",")' <<<"$JOUT")" "1,2,3,4,5" "json: the five steps"

step "one warning is one warning"
# Nothing has been blocked yet, so a browser policy is the only WARN.
mkdir -p "$LAB_DIR/browser/etc/opt/chrome/policies/managed"
echo '{"DnsOverHttpsMode": "automatic"}' >"$LAB_DIR/browser/etc/opt/chrome/policies/managed/doh.json"
both 0 name="$name"
assert_match "$CLI_OUT" "[0-9]+ passed, 1 warning, 0 failed\.$" "the summary says 1 warning"
rm -r "$LAB_DIR/browser/etc"

step "a user who may not ask ztdnsd: step 1 FAILs with a remedy about permission"
if command -v setpriv >/dev/null && getent passwd nobody >/dev/null; then
  nobody_uid=$(id -u nobody)
  nobody_gid=$(getent passwd nobody | cut -d: -f4)
  as_nobody() {
    ip netns exec "$LAB_CLIENT_NS" setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups \
      env ZTDNS_SOCKET="$LAB_ZTDNSD_RUN_DIR/control.sock" ZTDNS_BROWSER_POLICY_ROOT="$LAB_DIR/browser" \
      "${ZTDNS:-$(_lab_bin ztdns apps/ztdns/ztdns)}" "$@"
  }
  CLI_RUNNER=as_nobody
  assert_cli 1 "diagnose as nobody" diagnose name="$name"
  assert_match "$(line FAIL "servers:")" "permission denied" "step 1 FAILs: permission denied"
  assert_contains "$CLI_OUT" "remedy: run it as root (sudo ztdns diagnose) or as a member of group ztdns" "... the remedy is about permission"
  assert_not_contains "$CLI_OUT" "remedy: start ztdnsd" "... not about starting a daemon that runs"
  assert_contains "$CLI_OUT" "ztdnsd refused this user (permission denied)" "... and the skipped checks say why"
  CLI_RUNNER=diag
else
  note "no setpriv or no user nobody: the permission case is covered by the unit tests only"
fi

step "the default test name (network-test.debian.org) is NXDOMAIN in the lab: step 3 fails and says why"
both 1
assert_match "$(line FAIL "getaddrinfo(network-test.debian.org):")" "." "getaddrinfo of the default name FAILs"
assert_contains "$CLI_OUT" "remedy: network-test.debian.org does not resolve: the PDNS may block it (blocked names answer NXDOMAIN)" "... the remedy tells NXDOMAIN from no answer"
assert_match "$(line SKIP "connect to network-test.debian.org:")" "the name did not resolve" "... and the connect step is skipped"

step "step 2: a stopped server"
lab_pdns_stop pdns2
both 1 name="$name"
assert_match "$(line FAIL "pdns2 $LAB_PDNS2_4:443 DoH:")" "TCP connect failed after [0-9.]+ ms: .*\[refused\]" "pdns2 FAILs at TCP connect: refused, with the time it took"
assert_contains "$CLI_OUT" "remedy: nothing accepts connections on $LAB_PDNS2_4:443" "... with the remedy for refused"
assert_eq "$(jcheck server pdns2 '[.status, (.message | test("\\[refused\\]"))] | @tsv')" "$(printf 'FAIL\ttrue')" "... json: FAIL [refused]"
assert_ne "$(line PASS "pdns1 $LAB_PDNS1_4:853 DoT:")" "" "... pdns1 still PASSes"
assert_ne "$(line PASS "getaddrinfo($name):")" "" "... and the system path still works through pdns1"
assert_match "$CLI_OUT" "[0-9]+ passed, 0 warnings, 1 failed\.$" "... one FAIL"
lab_pdns_start pdns2

step "step 2: a server that times out (blackholed)"
lab_pdns_drop pdns2
both 1 name="$name"
assert_match "$(line FAIL "pdns2 $LAB_PDNS2_4:443 DoH:")" "failed after [0-9.]+ ms: .*\[timeout\]" "pdns2 FAILs: timeout, after its time"
assert_contains "$CLI_OUT" "remedy: no answer from $LAB_PDNS2_4:443" "... with the remedy for timeout"
lab_pdns_undrop pdns2

step "step 2: a broken certificate name (wrongname), an unknown CA (untrusted), mTLS without a certificate"
assert_cli 0 "add server wrongname" add server type=dot address="$LAB_WRONGNAME_4" hostname="$LAB_WRONGNAME_NAME" name=wrongname priority=8
assert_cli 0 "add server untrusted" add server type=doh address="$LAB_UNTRUSTED_4" template="https://$LAB_UNTRUSTED_NAME$LAB_DOH_PATH" name=untrusted priority=9
assert_cli 0 "add server mtls" add server type=dot address="$LAB_MTLS_4" hostname="$LAB_MTLS_NAME" name=mtls priority=10
both 1 name="$name"
assert_match "$(line FAIL "wrongname $LAB_WRONGNAME_4:853 DoT:")" "TLS handshake failed after [0-9.]+ ms: .*\[name-mismatch\]" "wrongname FAILs at the TLS handshake: name mismatch, with its time"
assert_contains "$CLI_OUT" "remedy: the certificate does not carry the configured name" "... with the remedy"
assert_match "$(grep -A1 -F "[FAIL] wrongname" <<<"$CLI_OUT" | tail -1)" "before that: TCP connect [0-9.]+ ms" "... after a TCP connect that worked, with its time"
assert_match "$(line FAIL "untrusted $LAB_UNTRUSTED_4:443 DoH:")" "TLS handshake failed after [0-9.]+ ms: .*\[unknown-ca\]" "untrusted FAILs: unknown CA"
assert_contains "$CLI_OUT" "remedy: the certificate chain does not verify: trust its CA with ztdns add trustedca" "... with the remedy"
assert_match "$(line FAIL "mtls $LAB_MTLS_4:853 DoT:")" "TLS handshake failed.*\[client-certificate-rejected\]" "mtls FAILs without a client certificate: rejected"
assert_contains "$CLI_OUT" "remedy: the server refused our client certificate: check ztdns show clientcert" "... with the remedy"
assert_eq "$(jcheck server wrongname '[.status, (.message | test("name-mismatch"))] | @tsv')" "$(printf 'FAIL\ttrue')" "... json: wrongname FAIL name-mismatch"
assert_eq "$(jcheck server untrusted '[.status, (.message | test("unknown-ca"))] | @tsv')" "$(printf 'FAIL\ttrue')" "... json: untrusted FAIL unknown-ca"
assert_cli 0 "add clientcert" add clientcert certfile="$LAB_CLIENT_CERT" keyfile="$LAB_CLIENT_KEY"
both 1 name="$name"
assert_match "$(line PASS "mtls $LAB_MTLS_4:853 DoT:")" "TLS handshake \(mTLS\)" "with the client certificate, mtls PASSes, over mTLS"
for s in "$LAB_WRONGNAME_4" "$LAB_UNTRUSTED_4" "$LAB_MTLS_4"; do lab_ztdns delete server address="$s" >/dev/null; done
lab_ztdns delete clientcert >/dev/null

step "step 3: resolv.conf points elsewhere"
echo "nameserver $LAB_ROGUE4" >"$resolv"
both 1 name="$name"
assert_match "$(line FAIL "/etc/resolv.conf:")" "the first nameserver is $LAB_ROGUE4, not the stub \(127.0.0.1, ::1\)" "resolv.conf FAILs: the first nameserver is not the stub"
assert_contains "$CLI_OUT" "remedy: write 'nameserver 127.0.0.1' to /etc/resolv.conf" "... with the remedy"
assert_match "$(line FAIL "getaddrinfo($name):")" "." "... getaddrinfo FAILs (the rogue resolver is blocked)"
assert_contains "$CLI_OUT" "remedy: the resolver did not answer" "... and says the resolver did not answer"
assert_ne "$(line SKIP "connect to $name:")" "" "... connect is skipped"
assert_eq "$(jcheck resolv-conf / .status)" FAIL "... json: resolv-conf FAIL"
printf 'nameserver 127.0.0.1\nnameserver %s\n' "$LAB_ROGUE4" >"$resolv"
both 0 name="$name"
assert_match "$(line WARN "/etc/resolv.conf:")" "the stub comes first, but resolv.conf also lists $LAB_ROGUE4" "the stub first, another after it: WARN"
assert_contains "$CLI_OUT" "remedy: remove the other nameserver lines from /etc/resolv.conf" "... with the remedy"
echo "nameserver 127.0.0.53" >"$resolv"
both 1 name="$name"
assert_contains "$(line FAIL "/etc/resolv.conf:")" "127.0.0.53 is systemd-resolved" "127.0.0.53: names systemd-resolved"
cp "$LAB_DIR/resolv.conf.orig" "$resolv"
both 0 name="$name"
assert_ne "$(line PASS "/etc/resolv.conf:")" "" "resolv.conf restored: PASS again"

step "step 3: a blocked name, and an address the firewall refuses"
both 1 name="$LAB_BLOCKED_NAME"
assert_match "$(line FAIL "getaddrinfo($LAB_BLOCKED_NAME):")" "." "a blocked name FAILs getaddrinfo"
assert_contains "$CLI_OUT" "the PDNS may block it (blocked names answer NXDOMAIN)" "... the remedy says the PDNS may block it"
# hostsonly.test comes from the client's /etc/hosts: getaddrinfo works, the stub never saw it,
# so its address is not allowed and the connection is refused.
both 1 name="$LAB_HOSTSONLY_NAME"
assert_ne "$(line PASS "getaddrinfo($LAB_HOSTSONLY_NAME):")" "" "a hosts-file name resolves"
assert_match "$(line FAIL "connect to $LAB_HOSTSONLY_NAME:")" "no TCP connection succeeded" "... but no connection succeeds"
assert_match "$CLI_OUT" "remedy: (refused|the local firewall refused it)" "... and the remedy says it was refused"

step "step 4: exceptions: private, overlapping, broad"
assert_cli 0 "add a private exception" add exception name=lan subnets=192.168.0.0/16
both 0 name="$name"
assert_match "$(line WARN "exceptions: private ranges:")" "exceptions cover private or link-local ranges" "a private exception WARNs"
assert_contains "$CLI_OUT" "lan: 192.168.0.0/16 is RFC 1918 private (192.168.0.0/16)" "... names the exception and the range"
assert_contains "$CLI_OUT" "remedy: reach such hosts by a DNS name the PDNS allows" "... with the remedy"
assert_eq "$(jcheck exceptions-private exceptions '[.status, (.details | join(";"))] | @tsv')" \
  "$(printf 'WARN\tlan: 192.168.0.0/16 is RFC 1918 private (192.168.0.0/16)')" "... json: WARN with the detail"
assert_cli 0 "add a link-local exception" add exception name=ll subnets=fe80::/64
assert_cli 0 "add an overlapping exception" add exception name=relay subnets="$LAB_EXCEPTION4/31"
assert_cli 0 "add one inside it" add exception name=relay-host subnets="$LAB_EXCEPTION4"
assert_cli 0 "add a broad exception" add exception name=broad subnets=198.0.0.0/7
both 0 name="$name"
assert_contains "$CLI_OUT" "ll: fe80::/64 is IPv6 link-local (fe80::/10)" "the link-local exception is named"
assert_match "$(line WARN "exceptions: overlaps:")" "1 prefix is duplicated or inside another exception's prefix" "overlap WARNs"
assert_contains "$CLI_OUT" "$LAB_EXCEPTION4/32 lies inside $LAB_EXCEPTION4/31 (in relay and relay-host)" "... names both"
assert_match "$(line WARN "exceptions: breadth:")" "an exception is very broad" "a /7 WARNs as broad"
assert_contains "$CLI_OUT" "broad: 198.0.0.0/7 is very broad" "... names it"
for n in lan ll relay relay-host broad; do lab_ztdns delete exception name="$n" >/dev/null; done

step "step 4: another DNS server on port 53"
lab_client timeout 120 socat -u UDP4-RECVFROM:53,bind="$LAB_CLIENT4",fork - >/dev/null 2>&1 &
other=$!
lab_at_exit "kill $other 2>/dev/null || true"
other53() { lab_client ss -Hlun "sport = :53" | grep -q "$LAB_CLIENT4:53"; }
wait_for 5 other53 || fail "the second listener did not come up"
both 0 name="$name"
assert_match "$(line WARN "port 53:")" "another DNS server listens on port 53: (timeout|socat) \(pid [0-9]+\)" "another listener on port 53 WARNs, naming it"
assert_contains "$CLI_OUT" "$LAB_CLIENT4:53/udp" "... and where it listens"
kill "$other" 2>/dev/null || true
wait "$other" 2>/dev/null || true

step "step 4: blocked loopback with resolv.conf at a loopback address that is not the stub"
jq '.loopbackTrafficBlocked = true' "$conf" >"$LAB_DIR/lo.json" && cp "$LAB_DIR/lo.json" "$conf"
assert_cli 0 "reload with loopbackTrafficBlocked" reload
both 0 name="$name"
assert_match "$(line PASS "loopback switch:")" "loopback traffic is blocked; the stub's listeners .* are exempt" "blocked loopback with resolv.conf at the stub: PASS"
echo "nameserver 127.0.0.2" >"$resolv"
both 1 name="$name"
assert_match "$(line FAIL "loopback switch:")" "resolv.conf names 127.0.0.2, a loopback address that is not a stub listener" "... with resolv.conf at 127.0.0.2: FAIL"
assert_contains "$CLI_OUT" "or allow loopback traffic (loopbackTrafficBlocked=false)" "... with the remedy"
cp "$LAB_DIR/resolv.conf.orig" "$resolv"
jq '.loopbackTrafficBlocked = false' "$conf" >"$LAB_DIR/lo.json" && cp "$LAB_DIR/lo.json" "$conf"
assert_cli 0 "reload" reload

step "step 4: IPv6 configured but no IPv6 server"
assert_cli 0 "delete the IPv6 server" delete server address="$LAB_PDNS1_6"
both 0 name="$name"
assert_match "$(line WARN "IPv6:")" "no server has an IPv6 address" "IPv6 WARNs"
assert_contains "$CLI_OUT" "remedy: add a server over IPv6" "... with the remedy"
assert_cli 0 "add the IPv6 server back" add server type=dot address="$LAB_PDNS1_6" hostname="$LAB_PDNS1_NAME" name=pdns1-v6

step "step 4: browser policies that keep a built-in DoH client on"
mkdir -p "$LAB_DIR/browser/etc/opt/chrome/policies/managed" "$LAB_DIR/browser/etc/firefox/policies"
echo '{"DnsOverHttpsMode": "automatic"}' >"$LAB_DIR/browser/etc/opt/chrome/policies/managed/doh.json"
both 0 name="$name"
assert_match "$(line WARN "browser DoH policies:")" "a browser policy leaves a built-in DoH client on" "Chrome DnsOverHttpsMode=automatic WARNs"
assert_contains "$CLI_OUT" "/etc/opt/chrome/policies/managed/doh.json: DnsOverHttpsMode" "... names the file and setting"
echo '{"policies": {"DNSOverHTTPS": {"Enabled": true}}}' >"$LAB_DIR/browser/etc/firefox/policies/policies.json"
both 1 name="$name"
assert_match "$(line FAIL "browser DoH policies:")" "." "Firefox DNSOverHTTPS enabled FAILs"
assert_contains "$CLI_OUT" 'set DNSOverHTTPS {"Enabled": false, "Locked": true} in policies.json' "... with Firefox's remedy"
rm -r "$LAB_DIR/browser/etc"

step "step 5: blocked connections in the window"
for _ in 1 2 3; do lab_client curl -sS --max-time 3 -o /dev/null "http://$LAB_IPONLY4/" 2>/dev/null || true; done
three_blocked() { [[ $(lab_ztdns log show blocked dst="$LAB_IPONLY4" json 2>/dev/null | wc -l) -ge 3 ]]; }
assert_eventually 5 "three blocked connections are logged" three_blocked
both 0 name="$name" since=30m
assert_match "$(line WARN "blocked connections:")" "[0-9]+ connections were blocked in the last 30m" "the audit step WARNs, in the since= window"
# earlier steps' probes (diagnose's own lookups and connects) were blocked too
assert_match "$(grep 'top destinations:' <<<"$CLI_OUT")" "$LAB_IPONLY4:80/tcp \(3\)" "... the top destinations include curl's three"
assert_match "$(grep 'top processes:' <<<"$CLI_OUT")" "/usr/bin/curl \(3\)" "... and the top processes curl"
assert_contains "$CLI_OUT" "remedy: review them with ztdns log show blocked since=30m, and let ztdns suggest exceptions since=30m propose exceptions" "... and the remedy"

step "step 5: a window with real blocks and audit-mode would-be blocks"
assert_cli 0 "set state enable=yes audit=yes" set state enable=yes audit=yes
for _ in 1 2; do lab_client curl -sS --max-time 3 -o /dev/null "http://$LAB_IPONLY4/" 2>/dev/null || true; done
two_audited() { [[ $(lab_ztdns log show blocked dst="$LAB_IPONLY4" since=30m json 2>/dev/null | jq -s 'map(select(.action == "AUDIT")) | length') -ge 2 ]]; }
assert_eventually 5 "two would-be blocks are logged" two_audited
both 0 name="$name" since=30m
assert_match "$(line WARN "blocked connections:")" "[0-9]+ connections were blocked and 2 would have been blocked \(audit mode\) in the last 30m" "the count is worded from the mix of BLOCK and AUDIT events"
assert_cli 0 "set state enable=yes audit=no" set state enable=yes audit=no

step "step 1: one server, then none"
assert_cli 0 "delete server pdns2" delete server address="$LAB_PDNS2_4"
assert_cli 0 "delete server pdns1 IPv6" delete server address="$LAB_PDNS1_6"
both 0 name="$name"
assert_match "$(line WARN "servers:")" "1 server configured: pdns1 \($LAB_PDNS1_4\); nothing to fail over to" "one server WARNs"
assert_contains "$CLI_OUT" "remedy: add a second server" "... with the remedy"
assert_cli 0 "set state enable=no" set state enable=no
assert_cli 0 "delete server (all)" delete server
both 1 name="$name"
assert_match "$(line FAIL "servers:")" "no trusted DNS server is configured" "no server FAILs"
assert_contains "$CLI_OUT" "remedy: add one: ztdns add server type=dot address=IP hostname=NAME" "... with the remedy"
assert_match "$(line SKIP "server probes:")" "no server to probe" "... step 2 is skipped"

step "no daemon: the host checks still run"
lab_ztdnsd_stop
both 1 name="$name"
assert_match "$(line FAIL "servers:")" "." "step 1 FAILs: the daemon cannot be reached"
assert_contains "$CLI_OUT" "remedy: start ztdnsd (systemctl start ztdnsd.service)" "... with the remedy, naming the unit ztdnsd.service"
assert_contains "$CLI_OUT" "ztdnsd is not reachable: assumed it listens on 127.0.0.1:53 and [::1]:53" "... resolv.conf is checked against the default listeners"
assert_ne "$(line PASS "/etc/resolv.conf:")" "" "... and PASSes"
assert_ne "$(line SKIP "blocked connections:")" "" "... the audit step is skipped"

finish
