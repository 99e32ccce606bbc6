#!/usr/bin/env bash
# Allow-set capacity events through the running ztdnsd (issue 5, Operational "allow-set
# capacity events"). The lab's zones have a few hundred addresses; the smallest allow set
# (maxAllowedAddresses 1024) needs more. So a small DoT server of the test's own, on a
# documentation address in the net namespace with a certificate from the lab CA, answers
# hN.cap.test AAAA with 2001:db8:ca::N (N = 1..1300). Asking 1300 names through the stub
# fills the set; ztdnsd then evicts the entries nearest expiry without live connections
# and says so in Operational (CAPACITY, event 102), and DNS keeps answering. When every
# allowed address carries a live flow, a new insert is refused (SERVFAIL) and said so too.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/logs.sh"
require_lab
command -v jq >/dev/null || skip "needs jq"

CAP_ADDR=198.51.100.59 CAP_NAME=cap.example.test N=1300
lab_up
lab_net ip addr add "$CAP_ADDR/32" dev "$LAB_SRV_IF"
_lab_cert cap ca server "$CAP_NAME" "DNS:$CAP_NAME,IP:$CAP_ADDR" || fail "no certificate for the test's DoT server"
cat >"$LAB_DIR/capdot.py" <<'EOF'
# A tiny DoT server: hN.cap.test AAAA -> 2001:db8:ca::N (hex of N), everything else NODATA.
import socket, ssl, struct, sys, threading
addr, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
def answer(q):
    qid, flags = struct.unpack("!HH", q[:4])
    i, labels = 12, []
    while q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode().lower()); i += 1 + q[i]
    qtype, = struct.unpack("!H", q[i + 1:i + 3])
    question = q[12:i + 5]
    an = b""
    if qtype == 28 and len(labels) == 3 and labels[1:] == ["cap", "test"] and labels[0][:1] == "h" and labels[0][1:].isdigit():
        n = int(labels[0][1:])
        an = b"\xc0\x0c" + struct.pack("!HHIH", 28, 1, 300, 16) + socket.inet_pton(socket.AF_INET6, "2001:db8:ca::%x" % n)
    return struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100), 1, 1 if an else 0, 0, 0) + question + an
def serve(c):
    try:
        s = ctx.wrap_socket(c, server_side=True)
        buf = b""
        while True:
            data = s.recv(65535)
            if not data: break
            buf += data
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                n = struct.unpack("!H", buf[:2])[0]
                r = answer(buf[2:2 + n]); buf = buf[2 + n:]
                s.sendall(struct.pack("!H", len(r)) + r)
    except Exception:
        pass
    finally:
        c.close()
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((addr, 853)); l.listen(64)
print("listening", flush=True)
while True:
    c, _ = l.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
_lab_spawn capdot "$LAB_NET_NS" "$LOGS_PY" "$LAB_DIR/capdot.py" "$CAP_ADDR" "$(lab_cert cap)" "$LAB_CERT_DIR/cap.key"
assert_eventually 10 "the test's DoT server listens" grep -q listening "$LAB_LOG_DIR/capdot.log"
assert_eq "$(lab_client kdig @"$CAP_ADDR" -p 853 +tls-ca="$LAB_CA" +tls-hostname="$CAP_NAME" +timeout=3 +retry=0 +short h7.cap.test AAAA)" \
  2001:db8:ca::7 "kdig over DoT: h7.cap.test AAAA 2001:db8:ca::7"

conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" enabled=true auditModeEnabled=false maxAllowedAddresses=1024 \
  "secureDnsServers=[{\"displayName\": \"cap\", \"ipAddress\": \"$CAP_ADDR\", \"dnsOverTlsConfiguration\": {\"tlsPort\": 853, \"certificateSubjectName\": \"$CAP_NAME\"}}]"
logs_ztdnsd_start "$conf"

step "asking $N names fills the allow set (1024)"
# one client asks them all through the stub, one after the other
out=$(lab_client "$LOGS_PY" -c 'import socket, struct, sys
n = int(sys.argv[1]); ok = 0
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
for i in range(1, n + 1):
    q = struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0)
    for l in ("h%d" % i, "cap", "test"): q += bytes([len(l)]) + l.encode()
    q += b"\x00" + struct.pack("!HH", 28, 1)
    s.sendto(q, ("127.0.0.1", 53))
    try:
        r = s.recv(4096)
        if (r[3] & 0x0f) == 0 and struct.unpack("!H", r[6:8])[0] == 1: ok += 1
    except socket.timeout: pass
print(ok)' "$N")
assert_eq "$out" "$N" "all $N names are answered through the stub"
stats=$(lab_ztdns show stats json)
note "allow set: $(jq -c .allowSet <<<"$stats")"
assert_le "$(jq .allowSet.size <<<"$stats")" 1024 "the allow set never holds more than its maximum, 1024 ($(jq .allowSet.size <<<"$stats"))"
assert_le $((N - 1024)) "$(jq .allowSet.evicted <<<"$stats")" "at least $((N - 1024)) entries were evicted early"
assert_eq "$(jq .allowSet.refused <<<"$stats")" 0 "no insert was refused (nothing had a live connection)"

step "the capacity events"
ev=$(logs_wait operational 10 '.eventId == 102') || fail "no capacity event"
note "$(jq -r .message <<<"$ev")"
assert_eq "$(jq -r '[.action, .capacity, (.count > 0), (.size > 0)] | join(" ")' <<<"$ev")" "CAPACITY 1024 true true" \
  "CAPACITY event (102): action, capacity 1024, a count and the size"
assert_match "$(jq -r .what <<<"$ev")" "evicted" "... what: $(jq -r .what <<<"$ev")"
assert_match "$(jq -r .message <<<"$ev")" "^CAPACITY - " "... message"
assert_match "$(jq -r .time <<<"$ev")" "$LOGS_TIME_RE" "... time format"
# At most one event a second per kind; the next one carries what was left unsaid. Each
# turn asks one more new name (one more eviction): once a second has passed, its event
# reports everything up to it.
k=$N
_all_reported() {
  k=$((k + 1))
  lab_client dig +short +tries=1 +timeout=3 "h$k.cap.test" AAAA >/dev/null
  local sum
  sum=$(logs_select operational '.eventId == 102' | jq -s 'map(.count) | add')
  ((sum == $(lab_ztdns show stats json | jq .allowSet.evicted)))
}
assert_eventually 10 "the events' counts add up to every eviction" _all_reported
note "$(logs_count operational '.eventId == 102') capacity events for $(lab_ztdns show stats json | jq .allowSet.evicted) evictions"
assert_eq "$(lab_client dig +short +tries=1 +timeout=3 "h$((k + 1)).cap.test" AAAA)" "$(printf '2001:db8:ca::%x' $((k + 1)))" \
  "DNS still answers with the set full"

step "nothing can be evicted: the insert is refused (SERVFAIL), and said so"
# An eviction frees a few slots at once; fill them, so that the set is exactly full.
size=$(lab_ztdns show stats json | jq .allowSet.size)
while ((size < 1024)); do
  k=$((k + 1))
  lab_client dig +short +tries=1 +timeout=3 "h$k.cap.test" AAAA >/dev/null
  size=$(lab_ztdns show stats json | jq .allowSet.size)
done
assert_eq "$size" 1024 "the allow set is exactly full"
evicted=$(lab_ztdns show stats json | jq .allowSet.evicted)
# One datagram to every allowed address gives each a live conntrack flow (UDP, 30 s).
lab_client nft -j list set inet ztdns allow6 | jq -r '.nftables[] | .set? // empty | .elem[]? | .elem?.val // .' >"$LAB_DIR/allowed6"
assert_eq "$(wc -l <"$LAB_DIR/allowed6")" 1024 "the kernel's allow6 holds the same 1024 addresses"
lab_client "$LOGS_PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for a in open(sys.argv[1]).read().split():
    try: s.sendto(b"x", (a, 9))
    except OSError: pass' "$LAB_DIR/allowed6"
k=$((k + 1))
assert_contains "$(lab_client dig +tries=1 +timeout=3 "h$k.cap.test" AAAA)" "status: SERVFAIL" \
  "a new name gets SERVFAIL: its address cannot be allowed, so the answer is not released"
ev=$(logs_wait operational 10 '.eventId == 102 and (.what | test("refused"))') || fail "no capacity event for the refused insert"
assert_eq "$(jq -r '[.action, .capacity, .count] | join(" ")' <<<"$ev")" "CAPACITY 1024 1" "CAPACITY: 1 insert refused"
note "$(jq -r .message <<<"$ev")"
assert_eq "$(lab_ztdns show stats json | jq '[.allowSet.refused, .allowSet.evicted] | join(" ")' -r)" "1 $evicted" \
  "show stats counts the refusal, and nothing carrying a flow was evicted"

finish
