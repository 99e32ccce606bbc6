#!/usr/bin/env bash
# ztdnsd as a process: its flags (--config --run-dir --state-dir --log-dir, their defaults,
# --check with valid and invalid files), a missing config file (the defaults: disabled), the
# readiness contract (the control socket answering; sd_notify READY=1), two instances side
# by side in two labs, a second instance on the same run directory refused, SIGTERM (a clean
# stop that leaves enforcement in place), persistence of changes made over the socket across
# a restart, and SIGHUP reloading the config file all or nothing.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/cli.sh"
require_lab

lab_up
zd=${ZTDNSD:-$(_lab_bin ztdnsd apps/ztdnsd/ztdnsd)}
zc=${ZTDNS:-$(_lab_bin ztdns apps/ztdns/ztdns)}
table() { lab_client nft -s list table inet ztdns 2>/dev/null || echo absent; }
web() { lab_client curl -sS --max-time 3 -o /dev/null -w '%{http_code}' "http://$1/" 2>/dev/null || true; }
# run CMD...: status in $RC, stdout in $OUT, stderr in $ERR
run() {
  RC=0
  "$@" >"$LAB_DIR/run.out" 2>"$LAB_DIR/run.err" || RC=$?
  OUT=$(<"$LAB_DIR/run.out") ERR=$(<"$LAB_DIR/run.err")
}

step "flags: --help names every flag with its default, --version, a bad flag is a usage error"
run "$zd" --help
assert_eq "$RC" 0 "ztdnsd --help exits 0"
assert_contains "$OUT" "--config TEXT=/etc/ztdns/ztdns.json" "... --config, default /etc/ztdns/ztdns.json"
assert_contains "$OUT" "--run-dir TEXT=/run/ztdns" "... --run-dir, default /run/ztdns"
assert_contains "$OUT" "--state-dir TEXT=/var/lib/ztdns" "... --state-dir, default /var/lib/ztdns"
assert_contains "$OUT" "--log-dir TEXT=/var/log/ztdns" "... --log-dir, default /var/log/ztdns"
assert_contains "$OUT" "--check" "... --check"
run "$zd" --version
assert_eq "$RC $OUT" "0 ztdnsd 0.1.0" "ztdnsd --version"
run "$zd" --bogus
assert_eq "$RC" 2 "ztdnsd --bogus exits 2"
assert_contains "$ERR" "--bogus" "... and names the flag"
if [[ ! -e /run/ztdns/control.sock ]]; then
  run ip netns exec "$LAB_CLIENT_NS" env -u ZTDNS_SOCKET "$zc" show state
  assert_eq "$RC" 1 "the CLI without --socket or ZTDNS_SOCKET exits 1 here"
  assert_contains "$ERR" "/run/ztdns/control.sock" "... it looked for the default socket <run-dir>/control.sock"
fi

step "--check: valid and invalid files, exit codes"
mkdir -p "$LAB_DIR/etc"
conf=$LAB_DIR/etc/ztdns.json
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh enabled=true auditModeEnabled=false
run "$zd" --check --config "$conf"
assert_eq "$RC" 0 "--check of a valid file exits 0"
assert_eq "$OUT" "ztdnsd: configuration file $conf test is successful" "... and says so"
jq '.secureDnsServers[0].ipAddress = "198.51.100.999" | .enabled = "yes" | .exemptionRules = [{"displayName": "lan", "ipAddresses": ["10.0.0.0/33"]}]' "$conf" >"$LAB_DIR/bad.json"
run "$zd" --check --config "$LAB_DIR/bad.json"
assert_eq "$RC" 1 "--check of an invalid file exits 1"
assert_contains "$ERR" "$LAB_DIR/bad.json: error: secureDnsServers[0].ipAddress: \"198.51.100.999\" is not an IP address" "... names the bad server address"
assert_contains "$ERR" "enabled: must be true or false" "... and the bad enabled"
assert_contains "$ERR" "exemptionRules[0].ipAddresses[0]" "... and the bad prefix"
assert_contains "$ERR" "test failed (3 errors)" "... every problem at once"
printf '{"enabled": true,' >"$LAB_DIR/broken.json"
run "$zd" --check --config "$LAB_DIR/broken.json"
assert_eq "$RC" 1 "--check of a file that is not JSON exits 1"
run "$zd" --check --config "$LAB_DIR/nosuch.json"
assert_eq "$RC" 1 "--check of a missing file exits 1"
assert_contains "$ERR" "does not exist" "... and says so"
run ip netns exec "$LAB_CLIENT_NS" "$zd" --config "$LAB_DIR/bad.json" --run-dir "$LAB_DIR/bad-run" \
  --state-dir "$LAB_DIR/bad-state" --log-dir "$LAB_DIR/bad-log"
assert_eq "$RC" 1 "starting with an invalid file exits 1"
assert_contains "$ERR" "secureDnsServers[0].ipAddress" "... naming the problem"
assert_eq "$(table)" absent "... and installs nothing"

step "relative paths are refused before anything is created; a control socket path too long is named once"
mkdir -p "$LAB_DIR/rel-cwd"
for flag in --config --run-dir --state-dir --log-dir; do
  args=(--config "$LAB_DIR/rel/etc/ztdns.json" --run-dir "$LAB_DIR/rel/run" --state-dir "$LAB_DIR/rel/state" --log-dir "$LAB_DIR/rel/log")
  for i in "${!args[@]}"; do
    if [[ ${args[i]} == "$flag" ]]; then args[i+1]=relative-dir; fi
  done
  run timeout 20 env -C "$LAB_DIR/rel-cwd" ip netns exec "$LAB_CLIENT_NS" "$zd" "${args[@]}"
  assert_eq "$RC" 2 "a relative $flag exits 2"
  assert_eq "$ERR" "ztdnsd: $flag: \"relative-dir\" is not an absolute path" "... with one line naming it"
done
assert_eq "$(ls -A "$LAB_DIR/rel-cwd")" "" "... nothing was created in the working directory"
assert_ok "... nor from the absolute flags" test ! -e "$LAB_DIR/rel"
# sun_path holds 107 bytes: <run-dir>/control.sock does not fit.
long=$LAB_DIR/$(printf 'r%.0s' {1..100})
run timeout 20 ip netns exec "$LAB_CLIENT_NS" "$zd" --config "$LAB_DIR/long/etc/ztdns.json" --run-dir "$long" \
  --state-dir "$LAB_DIR/long/state" --log-dir "$LAB_DIR/long/log"
assert_eq "$RC" 1 "a run dir too long for the control socket: ztdnsd exits 1"
assert_contains "$ERR" "ztdnsd: control socket: path $long/control.sock is too long for a Unix socket" "... and says why"
assert_not_contains "$ERR" "control socket: control socket:" "... with the prefix once"
assert_eq "$(table)" absent "... and leaves no table"

step "a missing config file: the defaults (ZTDNS disabled), with every directory from the flags"
missing=$LAB_DIR/fresh/etc/ztdns.json
notify=$LAB_DIR/notify.sock
python3 - "$notify" "$LAB_DIR/notify.log" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(1)
end = time.time() + 150  # bounded: stops by itself
with open(sys.argv[2], "a", buffering=1) as log:
    while time.time() < end:
        try:
            log.write(s.recv(4096).decode().replace("\n", " ") + "\n")
        except socket.timeout:
            pass
EOF
notify_pid=$!
lab_at_exit "kill $notify_pid 2>/dev/null || true"
wait_for 5 test -S "$notify" || fail "the notify listener did not come up"
fresh=$LAB_DIR/fresh
NOTIFY_SOCKET=$notify ip netns exec "$LAB_CLIENT_NS" "$zd" --config "$missing" --run-dir "$fresh/run" \
  --state-dir "$fresh/state" --log-dir "$fresh/log" >"$LAB_DIR/fresh.out" 2>&1 &
fresh_pid=$!
lab_at_exit "kill $fresh_pid 2>/dev/null || true"
fz() { ip netns exec "$LAB_CLIENT_NS" env ZTDNS_SOCKET="$fresh/run/control.sock" "$zc" "$@"; }
fz_ready() { fz show state >/dev/null 2>&1; }
assert_eventually 20 "it becomes ready: the control socket answers" fz_ready
assert_eventually 5 "... and it told systemd READY=1 with its pid" grep -q "READY=1.*MAINPID=$fresh_pid" "$LAB_DIR/notify.log"
assert_contains "$(cat "$LAB_DIR/notify.log")" "STATUS=ZTDNS disabled, 0 server(s)" "... and a status line"
assert_eq "$(fz show state json | jq -r '[.enabled, .audit, .serversTotal, .configFile, .logDir, .pid] | @tsv')" \
  "$(printf 'false\ttrue\t0\t%s\t%s\t%s' "$missing" "$fresh/log" "$fresh_pid")" "disabled, audit flag on, no server; the config and log paths from the flags"
assert_eq "$(fz show settings | jq -r '[.enabled, .auditModeEnabled, (.secureDnsServers | length), (.listenAddresses | join(","))] | @tsv')" \
  "$(printf 'false\ttrue\t0\t127.0.0.1:53,[::1]:53')" "show settings: the defaults"
assert_eq "$(table)" absent "no table inet ztdns: a fresh install is harmless"
assert_eq "$(web "$LAB_IPONLY4")" 200 "... connectivity is normal"
assert_ok "the run dir holds the control socket and the lock" test -S "$fresh/run/control.sock" -a -f "$fresh/run/ztdnsd.lock"
assert_eq "$(stat -c %a "$fresh/state")" 700 "the state dir was made, mode 0700"
assert_eventually 5 "the log dir holds Operational.jsonl with START" grep -q '"action":"START"' "$fresh/log/Operational.jsonl"
assert_ok "the missing file is not written until something changes" test ! -e "$missing"
assert_eq "$(fz add server type=dot address="$LAB_PDNS1_4" hostname="$LAB_PDNS1_NAME" name=pdns1)" \
  "Server pdns1 ($LAB_PDNS1_4) now has DoT on port 853, priority 100." "add server to the fresh daemon"
assert_eq "$(jq -r '.secureDnsServers[0].ipAddress' "$missing")" "$LAB_PDNS1_4" "... the file and its directory now exist"
assert_eq "$(fz set state enable=yes)" "ZTDNS is now enabled, audit mode (would-be blocks are logged, not blocked)." \
  "the first enable from the defaults is audit mode"
assert_ne "$(table)" absent "... the table is in place"
fz set state enable=no >/dev/null
kill -TERM "$fresh_pid"
rc=0
wait "$fresh_pid" || rc=$?
assert_eq "$rc" 0 "SIGTERM: ztdnsd exits 0"
assert_contains "$(cat "$LAB_DIR/fresh.out")" "stopping (ZTDNS is disabled: nothing is enforced)" "... and says nothing is enforced (it was disabled)"
assert_not_contains "$(cat "$LAB_DIR/fresh.out")" "enforcement stays in place" "... not that enforcement stays"
assert_eventually 5 "... it told systemd STOPPING=1" grep -q "STOPPING=1" "$LAB_DIR/notify.log"
assert_contains "$(tail -1 "$fresh/log/Operational.jsonl")" '"action":"STOP"' "... and wrote STOP last"
kill "$notify_pid" 2>/dev/null || true

step "readiness: when the control socket answers, enforcement and the stub are up"
lab_ztdnsd_start "$conf"
assert_ne "$(table)" absent "the table is in place as soon as the socket answers"
assert_eq "$(lab_client kdig @127.0.0.1 +short +timeout=2 +retry=0 "$LAB_WEB_NAME" A)" "$LAB_WEB4" "... and the stub answers"
assert_eq "$(web "$LAB_WEB4")" 200 "... with the answer's address allowed"
assert_eq "$(web "$LAB_IPONLY4")" 000 "... and an unresolved address refused (enforcing)"

step "a second instance on the same run directory is refused"
before=$(table)
run timeout 20 ip netns exec "$LAB_CLIENT_NS" "$zd" --config "$conf" --run-dir "$LAB_ZTDNSD_RUN_DIR" \
  --state-dir "$LAB_DIR/second-state" --log-dir "$LAB_DIR/second-log"
assert_eq "$RC" 1 "the second ztdnsd exits 1"
assert_contains "$ERR" "another ztdnsd (pid $LAB_ZTDNSD_PID) already uses run directory $LAB_ZTDNSD_RUN_DIR" "... and names the first one"
assert_eq "$(lab_ztdns show state json | jq -r .pid)" "$LAB_ZTDNSD_PID" "the first still answers on its socket"
assert_eq "$(table)" "$before" "... and its policy is untouched"

step "two instances side by side, in two labs"
first_ns=$LAB_CLIENT_NS first_sock=$LAB_ZTDNSD_RUN_DIR/control.sock
side=$LAB_DIR/side-by-side
(
  lab_up 2>/dev/null # a subshell gets its own lab
  c2=$LAB_DIR/ztdns.json
  lab_config_write "$c2" --server pdns2:dot enabled=true auditModeEnabled=true
  lab_ztdnsd_start "$c2"
  lab_ztdns add exception name=only-in-second subnets="$LAB_EXCEPTION4/32" >/dev/null
  {
    echo "ids $LAB_ID $LAB_ZTDNSD_PID"
    echo "second $(lab_ztdns show state json | jq -r '[.pid, .audit, .serversTotal, .exceptions] | map(tostring) | join(",")')"
    echo "first $(ip netns exec "$first_ns" env ZTDNS_SOCKET="$first_sock" "$zc" show state json | jq -r '[.pid, .audit, .serversTotal, .exceptions] | map(tostring) | join(",")')"
    echo "servers2 $(lab_client nft -s list set inet ztdns servers4 | tr -s ' \n\t' ' ')"
    echo "exc2 $(lab_client nft -s list set inet ztdns exc4 | tr -s ' \n\t' ' ')"
  } >"$side"
)
[[ -s $side ]] || fail "the second lab or its ztdnsd did not come up"
read -r _ id2 pid2 < <(grep '^ids ' "$side")
assert_eq "$(grep '^second ' "$side" | cut -d' ' -f2)" "$pid2,true,1,1" "the second lab's ztdnsd ($id2) answers with its own state: audit, 1 server, 1 exception"
assert_eq "$(grep '^first ' "$side" | cut -d' ' -f2)" "$LAB_ZTDNSD_PID,false,2,0" "... while this lab's answers with its own: enforcing, 2 servers, none"
assert_contains "$(grep '^servers2 ' "$side")" "$LAB_PDNS2_4 . 853" "... each kernel has its own policy (second: pdns2)"
assert_not_contains "$(grep '^servers2 ' "$side")" "$LAB_PDNS1_4" "... (and not pdns1)"
assert_contains "$(grep '^exc2 ' "$side")" "$LAB_EXCEPTION4" "... the second's exception is in the second's kernel"
nft_lacks "... and not in this one" exc4 "$LAB_EXCEPTION4"
assert_eq "$(table)" "$before" "this lab's policy is untouched by the other instance"

step "changes over the socket, then SIGTERM: enforcement stays in place"
lab_ztdns add exception name=relay description="media relay" subnets="$LAB_EXCEPTION4/31,$LAB_EXCEPTION6" >/dev/null
lab_ztdns add server type=doh address="$LAB_PDNS1_4" template="https://$LAB_PDNS1_NAME$LAB_DOH_PATH" >/dev/null
lab_ztdns add server type=dot address="$LAB_MTLS_4" hostname="$LAB_MTLS_NAME" name=mtls priority=7 >/dev/null
lab_ztdns add clientcert certfile="$LAB_CLIENT_CERT" keyfile="$LAB_CLIENT_KEY" >/dev/null
lab_ztdns add trustedca file="$LAB_UNTRUSTED_CA" >/dev/null
lab_ztdns log set permitted enable=yes >/dev/null
lab_ztdns resolve "$LAB_CHAIN_NAME" >/dev/null
settings=$(lab_ztdns show settings)
assert_eq "$(jq -r '[(.exemptionRules | length), (.secureDnsServers | length), .permittedConnectionsLogEnabled, .clientCertificate.certificateFile, (.rootCertificatesForServerValidation | length)] | @tsv' <<<"$settings")" \
  "$(printf '1\t3\ttrue\t%s\t2' "$LAB_CLIENT_CERT")" "five kinds of change made over the socket"
before=$(table)
assert_contains "$before" "$LAB_CHAIN4" "the allow set holds a resolved address"
lab_ztdnsd_stop TERM
assert_contains "$(cat "$LAB_ZTDNSD_OUT")" "stopping (enforcement stays in place)" "ztdnsd stopped on SIGTERM"
assert_contains "$(tail -1 "$LAB_ZTDNSD_LOG_DIR/Operational.jsonl")" '"action":"STOP"' "... STOP is the last Operational event"
assert_cli 1 "the CLI finds no daemon" show state
assert_eq "$(table)" "$before" "the table is exactly as it was: a stop is not a disable"
assert_eq "$(web "$LAB_IPONLY4")" 000 "... an unresolved address is still refused"
assert_eq "$(web "$LAB_CHAIN4")" 200 "... a resolved one still allowed"
assert_eq "$(web "$LAB_EXCEPTION4")" 200 "... and the exception still in force"
assert_fails "... no DNS answers meanwhile (the stub is down, and nothing else gets out)" \
  lab_client kdig @"$LAB_ROGUE4" +timeout=1 +retry=0 "$LAB_WEB_NAME"

step "persistence: the restarted daemon runs what was changed over the socket"
lab_ztdnsd_start "$conf"
assert_eq "$(table)" "$before" "the policy is the same, and the allowed addresses were adopted"
assert_eq "$(lab_ztdns show settings)" "$settings" "show settings after the restart: identical"
assert_eq "$(jq -S . "$conf")" "$(jq -S . <<<"$settings")" "... and so is the file"
assert_cli 0 "show exception name=relay" show exception name=relay
assert_cli 0 "show server address=mtls" show server address="$LAB_MTLS_4"
assert_cli 0 "the client certificate is in use: resolve via mtls" resolve "$LAB_WEB_NAME" server="$LAB_MTLS_4"
assert_cli 0 "show clientcert" show clientcert json
assert_eq "$(cli_json .certFile)" "$LAB_CLIENT_CERT" "... the client certificate persisted"
assert_cli 0 "show state" show state json
assert_eq "$(cli_json '[.permittedLogEnabled, (.allowedAddresses > 0)] | @tsv')" "$(printf 'true\ttrue')" "... the permitted log is on, the allowed addresses counted"

step "SIGHUP reloads the file"
jq '.exemptionRules += [{"displayName": "byfile", "description": "", "ipAddresses": ["203.0.113.1/32"]}] | .auditModeEnabled = true' "$conf" >"$LAB_DIR/next.json"
cp "$LAB_DIR/next.json" "$conf"
cli_ops_mark
kill -HUP "$LAB_ZTDNSD_PID"
assert_ops "Operational: reloaded" "reloaded $conf"
assert_cli 0 "show exception name=byfile" show exception name=byfile
nft_has "... in the kernel" exc4 "203.0.113.1"
assert_contains "$(lab_client nft -s list chain inet ztdns output)" "goto log_audit" "... and audit mode in force"
assert_eq "$(web "$LAB_IPONLY4")" 200 "... an unresolved address passes (audit)"

step "SIGHUP with a bad file changes nothing, all or nothing, and says why in Operational"
good_settings=$(lab_ztdns show settings)
good_table=$(table)
# one good change (a new exception) and one bad (a server address): neither may apply
jq '.exemptionRules += [{"displayName": "half", "description": "", "ipAddresses": ["203.0.113.2/32"]}] | .secureDnsServers[0].ipAddress = "198.51.100.999"' \
  "$LAB_DIR/next.json" >"$conf"
cp "$conf" "$LAB_DIR/bad-as-written.json"
cli_ops_mark
kill -HUP "$LAB_ZTDNSD_PID"
assert_ops "Operational: the reload is refused, with the reason" \
  "reload refused, the running configuration stays: $conf: secureDnsServers\\[0\\]\\.ipAddress: \\\\\"198\\.51\\.100\\.999\\\\\" is not an IP address"
assert_eventually 5 "... and on stderr" grep -q "reload failed, the running configuration stays" "$LAB_ZTDNSD_OUT"
assert_eq "$(lab_ztdns show settings)" "$good_settings" "the running settings are unchanged"
assert_eq "$(table)" "$good_table" "the running policy is unchanged"
assert_cli 1 "the good half was not applied either" show exception name=half
assert_ok "the file is left as the administrator wrote it" cmp -s "$conf" "$LAB_DIR/bad-as-written.json"
printf '{"enabled": false,' >"$conf"
cli_ops_mark
kill -HUP "$LAB_ZTDNSD_PID"
assert_ops "SIGHUP with a file that is not JSON: refused" "reload refused"
assert_eq "$(table)" "$good_table" "... the policy is unchanged (still enabled)"
rm -f "$conf"
cli_ops_mark
kill -HUP "$LAB_ZTDNSD_PID"
assert_ops "SIGHUP with the file gone: refused" "reload refused.*does not exist"
assert_eq "$(table)" "$good_table" "... the policy is unchanged"
assert_eq "$(lab_ztdns show settings)" "$good_settings" "... and the settings"
cp "$LAB_DIR/next.json" "$conf"
assert_cli 0 "the daemon is still serving" show state
assert_ok "... and still the same process" kill -0 "$LAB_ZTDNSD_PID"

finish
