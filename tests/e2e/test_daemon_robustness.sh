#!/usr/bin/env bash
# ztdnsd against what a fresh user did to it:
# - a config file nested 100,000 levels deep, and one larger than 64 MiB: refused before
#   parsing by --check, at start-up and by SIGHUP, with the file and the limit named, in
#   bounded memory;
# - a second ztdnsd in the same network namespace (other run, state and log directories, other
#   listen addresses): refused with the first one's pid before it touches the kernel, the
#   first one's table byte for byte as it was; after the first is killed with -9, a new
#   ztdnsd starts and adopts the table;
# - hand edits of the config file that were not reloaded: CLI changes are refused and the
#   edits kept, until ztdns reload or SIGHUP loads them (a reformatted file and a deleted
#   file too);
# - IPv4-mapped server addresses and exception prefixes in a file: refused by --check.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/cli.sh"
require_lab

lab_up
zd=${ZTDNSD:-$(_lab_bin ztdnsd apps/ztdnsd/ztdnsd)}
table() { lab_client nft -s list table inet ztdns 2>/dev/null || echo absent; }
web() { lab_client curl -sS --max-time 3 -o /dev/null -w '%{http_code}' "http://$1/" 2>/dev/null || true; }
# run CMD...: status in $RC, stderr in $ERR
run() {
  RC=0
  "$@" >"$LAB_DIR/run.out" 2>"$LAB_DIR/run.err" || RC=$?
  ERR=$(<"$LAB_DIR/run.err")
}
# An address-space cap for ztdnsd runs that read a hostile file: should the refusal before
# parsing ever regress, the parser fails inside the cap instead of taking the machine's memory.
# shellcheck disable=SC2317  # called through run
capped() { prlimit --as=$((2 << 30)) "$@"; }
peak_rss_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
mkdir -p "$LAB_DIR/etc"
conf=$LAB_DIR/etc/ztdns.json
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh enabled=true auditModeEnabled=true \
  "exemptionRules=[{\"displayName\": \"relay\", \"ipAddresses\": [\"$LAB_EXCEPTION4/32\"]}]"

step "a config nested 100,000 levels deep: --check and start-up refuse it before parsing"
deep=$LAB_DIR/deep.json
python3 -c 'import sys; sys.stdout.write("[" * 100000 + "]" * 100000)' >"$deep"
assert_eq "$(stat -c %s "$deep")" 200000 "the issue's file: 200 KB of [ then ]"
start_us=$(now_us)
run capped /usr/bin/time -o "$LAB_DIR/time.out" -f '%M' "$zd" --check --config "$deep"
took_ms=$(($(elapsed_ms "$start_us")))
assert_eq "$RC" 1 "--check exits 1"
assert_eq "$(grep -c ': error: ' <<<"$ERR")" 1 "... with one error line"
assert_contains "$ERR" "$deep: error: the JSON nests deeper than 64 levels of [ and {" "... naming the file and the limit"
assert_le "$(tail -1 "$LAB_DIR/time.out")" 65536 "... in at most 64 MB of memory (it took gigabytes)"
assert_lt "$took_ms" 5000 "... at once"
run capped timeout 20 ip netns exec "$LAB_CLIENT_NS" "$zd" --config "$deep" --run-dir "$LAB_DIR/deep/run" \
  --state-dir "$LAB_DIR/deep/state" --log-dir "$LAB_DIR/deep/log"
assert_eq "$RC" 1 "starting with it exits 1"
assert_contains "$ERR" "$deep: error: the JSON nests deeper than 64 levels" "... and says why"
assert_eq "$(table)" absent "... having installed nothing"

step "a config file larger than 64 MiB is refused unread"
big=$LAB_DIR/big.json
truncate -s 65M "$big" # sparse: no disk space, and never read
run capped "$zd" --check --config "$big"
assert_eq "$RC" 1 "--check exits 1"
assert_contains "$ERR" "$big: error: \"$big\" is larger than 64 MiB, the most ztdnsd reads from a configuration file" \
  "... naming the file and the limit"

step "IPv4-mapped addresses in a file: --check refuses them and gives the IPv4 form"
jq --arg m "::ffff:$LAB_PDNS1_4" --arg e "::ffff:$LAB_EXCEPTION4" \
  '.secureDnsServers[1].ipAddress = $m | .secureDnsServers[1].dnsOverHttpsConfiguration = null
   | .secureDnsServers[1].dnsOverTlsConfiguration = {"tlsPort": 853, "certificateSubjectName": "a.test"}
   | .exemptionRules[0].ipAddresses = [$e]' "$conf" >"$LAB_DIR/mapped.json"
run "$zd" --check --config "$LAB_DIR/mapped.json"
assert_eq "$RC" 1 "--check of 198.51.100.53:853 next to ::ffff:198.51.100.53:853 exits 1"
assert_contains "$ERR" "secureDnsServers[1].ipAddress: ::ffff:$LAB_PDNS1_4 is an IPv4-mapped address; use $LAB_PDNS1_4" \
  "... the server address, with the IPv4 form"
assert_contains "$ERR" "exemptionRules[0].ipAddresses[0]: ::ffff:$LAB_EXCEPTION4/128 is an IPv4-mapped prefix; use $LAB_EXCEPTION4/32" \
  "... the exception prefix, with the IPv4 form"
assert_contains "$ERR" "test failed (2 errors)" "... exactly these two"

step "SIGHUP of the deep file: refused, the daemon keeps running in bounded memory"
# This daemon runs with the same guard (4 GiB of address space), set by prlimit on itself
# before it execs ztdnsd: the pid stays ztdnsd's.
printf '#!/bin/sh\nexec prlimit --as=%s -- "%s" "$@"\n' $((4 << 30)) "$zd" >"$LAB_DIR/ztdnsd-capped"
chmod +x "$LAB_DIR/ztdnsd-capped"
ZTDNSD=$LAB_DIR/ztdnsd-capped lab_ztdnsd_start "$conf"
assert_contains "$(prlimit --pid "$LAB_ZTDNSD_PID" --as --noheadings --raw)" "$((4 << 30))" "ztdnsd runs capped at 4 GiB of address space"
# The first commit rewrites the file in the daemon's own format: keep those bytes.
lab_ztdns log set permitted enable=no >/dev/null
lab_ztdns resolve "$LAB_WEB_NAME" >/dev/null
cp "$conf" "$LAB_DIR/saved.json"
good_table=$(table)
rss_before=$(peak_rss_kb "$LAB_ZTDNSD_PID")
cp "$deep" "$conf"
cli_ops_mark
kill -HUP "$LAB_ZTDNSD_PID"
assert_ops "Operational: the reload is refused, naming the file and the limit" \
  "reload refused, the running configuration stays: $conf: the JSON nests deeper than 64 levels"
assert_ok "ztdnsd is still running" kill -0 "$LAB_ZTDNSD_PID"
assert_le "$(($(peak_rss_kb "$LAB_ZTDNSD_PID") - rss_before))" 16384 "... its peak RSS grew by at most 16 MB"
assert_eq "$(table)" "$good_table" "... and its policy is unchanged"
cp "$LAB_DIR/saved.json" "$conf"

step "a second ztdnsd in the same network namespace is refused before it touches the kernel"
assert_contains "$(lab_client ss -xlp)" "@ztdnsd" "the running ztdnsd holds the abstract socket @ztdnsd"
assert_contains "$(lab_client ss -xlp | grep '@ztdnsd')" "pid=$LAB_ZTDNSD_PID," "... it is the lab's ztdnsd"
lab_config_write "$LAB_DIR/b.json" --server pdns2:dot enabled=true auditModeEnabled=false 'listenAddresses=["127.0.0.2:53"]'
lab_config_write "$LAB_DIR/b-off.json" enabled=false 'listenAddresses=["127.0.0.3:53"]'
for b in b b-off; do
  run timeout 20 ip netns exec "$LAB_CLIENT_NS" "$zd" --config "$LAB_DIR/$b.json" --run-dir "$LAB_DIR/$b/run" \
    --state-dir "$LAB_DIR/$b/state" --log-dir "$LAB_DIR/$b/log"
  assert_eq "$RC" 1 "$b.json (enabled=$(jq .enabled "$LAB_DIR/$b.json")): the second ztdnsd exits 1"
  assert_contains "$ERR" "another ztdnsd (pid $LAB_ZTDNSD_PID) already runs in this network namespace; only one ztdnsd may own table inet ztdns" \
    "... naming the first one's pid"
  assert_not_contains "$ERR" "NFLOG" "... before it got as far as the NFLOG group"
  assert_ok "... it wrote no Operational log" test ! -e "$LAB_DIR/$b/log/Operational.jsonl"
  assert_eq "$(table)" "$good_table" "... the first one's table is byte for byte as it was"
done
assert_eq "$(lab_ztdns show state json | jq -r '[.pid, .audit, .exceptions] | map(tostring) | join(",")')" \
  "$LAB_ZTDNSD_PID,true,1" "the first still answers with its own state: audit, one exception"
assert_eq "$(web "$LAB_IPONLY4")" 200 "... and audit mode is what the kernel does (an unresolved address passes)"

step "after kill -9 nothing holds the namespace: a new ztdnsd starts and adopts the table"
first_pid=$LAB_ZTDNSD_PID
lab_ztdnsd_stop KILL
assert_eq "$(table)" "$good_table" "the killed daemon's table stays in force"
assert_not_contains "$(lab_client ss -xl)" "@ztdnsd" "... and its claim is gone with it"
lab_ztdnsd_start "$conf"
assert_ne "$LAB_ZTDNSD_PID" "$first_pid" "a new ztdnsd started with the same directories"
assert_eq "$(table)" "$good_table" "... and adopted the table, allowed addresses included"
assert_contains "$good_table" "$LAB_WEB4" "... (the resolved address is in it)"

step "hand edits not loaded: CLI changes are refused and the edits kept"
jq '.exemptionRules += [{"displayName": "byhand", "description": "", "ipAddresses": ["203.0.113.2/32"]}]' \
  "$LAB_DIR/saved.json" >"$LAB_DIR/edited.json"
cp "$LAB_DIR/edited.json" "$conf"
cli_snapshot
for change in "add exception name=bycli subnets=203.0.113.1/32" "set state enable=yes audit=no" \
  "log set permitted enable=yes" "delete exception name=relay"; do
  # shellcheck disable=SC2086  # the words of the change
  assert_cli 1 "ztdns $change" $change
  assert_contains "$CLI_ERR" "ztdns: $conf was edited since ztdnsd read it, and this change would overwrite the edits; nothing changed. Run ztdns reload to load the edits" \
    "... refused: the file holds edits ztdnsd has not loaded"
  assert_unchanged "... $change"
done
assert_eq "$(jq -r '[.exemptionRules[].displayName] | join(",")' "$conf")" "relay,byhand" "the hand edit is still in the file"
assert_cli 1 "the hand-edited exception is not in force yet" show exception name=byhand
assert_cli 0 "ztdns reload loads the edits" reload
nft_has "... the hand-edited exception is in the kernel" exc4 "203.0.113.2"
assert_cli 0 "then the CLI change goes through" add exception name=bycli subnets=203.0.113.1/32
assert_eq "$(jq -r '[.exemptionRules[].displayName] | join(",")' "$conf")" "relay,byhand,bycli" "... and the file holds both"

step "SIGHUP loads hand edits too; a reformatted file counts as edited until reloaded"
jq '.exemptionRules += [{"displayName": "byhup", "description": "", "ipAddresses": ["203.0.113.3/32"]}]' "$conf" >"$LAB_DIR/edited.json"
cp "$LAB_DIR/edited.json" "$conf"
assert_cli 1 "a change before the SIGHUP is refused" delete exception name=bycli
cli_ops_mark
kill -HUP "$LAB_ZTDNSD_PID"
assert_ops "Operational: reloaded" "reloaded $conf"
assert_cli 0 "after the SIGHUP the change goes through" delete exception name=bycli
jq -c . "$conf" >"$LAB_DIR/compact.json" # the same settings, other bytes
cp "$LAB_DIR/compact.json" "$conf"
assert_cli 1 "the file reformatted by hand: refused (ztdnsd cannot tell it changed nothing)" delete exception name=byhup
assert_cli 0 "reload (nothing to apply, so the file is left as it is)" reload
assert_ok "... the file is still the reformatted one" cmp -s "$conf" "$LAB_DIR/compact.json"
assert_cli 0 "... and the change goes through" delete exception name=byhup

step "a deleted config file is written again by the next change"
rm -f "$conf"
assert_cli 0 "a change with the file gone" delete exception name=byhand
assert_eq "$(jq -r '[.exemptionRules[].displayName] | join(",")' "$conf")" "relay" "... writes the whole configuration again"
assert_cli 0 "... and the next change goes through too" add exception name=again subnets=203.0.113.4/32

finish
