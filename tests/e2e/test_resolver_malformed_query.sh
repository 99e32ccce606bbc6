#!/usr/bin/env bash
# Malformed client queries through the real ztdnsd (issue 4, "Listening"): a catalogue of
# broken messages over UDP and TCP to 127.0.0.1 and ::1 gets FORMERR (or, for what is
# well formed but not served, NOTIMP, REFUSED or BADVERS) with the client's ID, or is
# dropped (too short for a header, a response); broken TCP framing and random bytes
# (a fixed seed) never crash the daemon; and none of it reaches upstream (every query in
# the PDNS query logs is counted before and after).
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/resolver.sh"
require_lab

lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh enabled=true auditModeEnabled=false
lab_ztdnsd_start "$conf"
# Queries in the PDNS logs, less ztdnsd's own health checks (". NS", the idle check of an
# unused server every 30 s): those are no client's.
upstream_queries() { cat "$LAB_LOG_DIR/pdns1.log" "$LAB_LOG_DIR/pdns2.log" | grep -E 'info: [0-9a-f.:]+ .* IN$' | grep -c -v -E ' \. NS IN$' || true; }

step "the stub works, and both servers have answered once"
assert_eq "$(stub_kdig +short "$LAB_WEB_NAME" A)" "$LAB_WEB4" "www.allowed.test resolves"
before=$(upstream_queries)
note "$before queries in the PDNS logs so far"

declare -A want=(
  [empty]=none [short-header]=none [response-bit]=none
  [header-only-qd0]=FORMERR [qd2]=FORMERR [name-cut-short]=FORMERR [question-cut-short]=FORMERR
  [label-too-long]=FORMERR [pointer-loop]=FORMERR [pointer-forward]=FORMERR [trailing-garbage]=FORMERR
  [answer-in-query]=FORMERR [two-opt]=FORMERR [opt-owner-not-root]=FORMERR [opt-option-cut]=FORMERR
  [rdata-cut-short]=FORMERR [qtype-opt]=FORMERR
  [edns-version-1]=BADVERS [opcode-notify]=NOTIMP [opcode-update]=NOTIMP [axfr]=NOTIMP [class-chaos]=REFUSED
)
for server in 127.0.0.1 ::1; do
  step "the catalogue of broken queries, UDP and TCP to $server"
  out=$(dns_client --server "$server" --timeout 1 malformed)
  seen=0
  while IFS=$'\t' read -r case proto rcode id qr answers; do
    seen=$((seen + 1))
    w=${want[$case]:-?}
    if [[ $w == none ]]; then
      assert_eq "$rcode" None "$case over $proto: dropped, no answer"
    else
      assert_eq "$rcode $qr $answers" "$w True 0" "$case over $proto: $w, an answer with no records"
      [[ $case == empty || $case == short-header ]] || assert_eq "$((id & 0xFF00))" $((0x4200)) "... carrying the client's ID ($id)"
    fi
  done < <(python3 -c 'import json, sys
for l in sys.stdin:
    d = json.loads(l)
    print("\t".join(str(x) for x in (d["case"], d["proto"], d["rcode"], d.get("id", 0), d.get("qr"), len(d.get("answer", [])))))' <<<"$out")
  assert_eq "$seen" $((2 * ${#want[@]})) "all ${#want[@]} cases were sent both ways"
  assert_daemon_alive
done

step "broken TCP framing"
out=$(dns_client --timeout 2 tcpabuse)
note "$out"
assert_eq "$(jq_py 'd["after-dropped"]' <<<"$out")" $((0x5252)) "after a dropped message, the same connection answers the next query"
assert_eq "$(jq_py 'd["after-formerr"]' <<<"$out")" "[[$((0x5353)), \"FORMERR\"], [$((0x5454)), \"NOERROR\"]]" \
  "after a FORMERR, the same connection answers the next query"
assert_daemon_alive

step "random bytes (fixed seed): 400 datagrams and 100 TCP messages"
out=$(dns_client --timeout 0.2 fuzz 400 --seed 4)
note "UDP: $out"
out=$(dns_client --server ::1 --timeout 0.2 fuzz 400 --seed 5 --tcp)
note "UDP and TCP to ::1: $out"
assert_daemon_alive

step "none of it reached upstream, and the stub still works"
assert_eq "$(upstream_queries)" "$before" "the PDNS logs have no query beyond the $before from before"
assert_eq "$(stub_kdig +short "$LAB_CHAIN_NAME" A | tail -1)" "$LAB_CHAIN4" "a good query after all that resolves"
assert_eq "$(stub_kdig6 +tcp +short "$LAB_V6ONLY_NAME" AAAA)" "$LAB_V6ONLY_6" "... over TCP to ::1 too"
assert_eq "$(upstream_queries)" $((before + 2)) "... and goes upstream (the counting works)"
assert_eq "$(lab_count dns53)" 0 "no plaintext DNS left the client"
assert_daemon_alive
finish
