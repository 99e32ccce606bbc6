#!/usr/bin/env bash
# Flood behaviour through the running ztdnsd (issue 5, "Flood behaviour"): 10,000 blocked
# connection attempts per second for 10 s from the client namespace (two processes, three
# destinations, every attempt a new flow; bounded in count and time, self-stopping).
# Events beyond the rate limits are summarised ("N similar events suppressed", counted per
# process and destination; the kernel's rate guard reports what it did not log), and
# nothing is dropped silently: events + summaries + the kernel guard's count = the
# packets the enforcement table blocked. The daemon's memory stays bounded, and DNS
# through the stub keeps answering during the flood (the latencies are printed; the p99
# figure belongs to a benchmark on an idle machine, not to this test).
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/logs.sh"
require_lab
command -v jq >/dev/null || skip "needs jq"

RATE=${LOGS_FLOOD_RATE:-10000} SECONDS_=${LOGS_FLOOD_SECONDS:-10}
lab_up
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot enabled=true auditModeEnabled=false
logs_ztdnsd_start "$conf"
counter() { lab_client nft list counter inet ztdns "$1" | awk '/packets/ {for (i = 1; i < NF; i++) if ($i == "packets") {print $(i + 1); exit}}'; }
d_py4=$(lab_race_addr4 1) d_py6=$(lab_race_addr6 2) d_pl=$(lab_race_addr4 3)
py_exe=$LOGS_PY_EXE pl_exe=$(logs_exe perl)

step "before the flood"
assert_eq "$(lab_client dig +short +tries=1 +timeout=3 "$LAB_WEB_NAME" A | tail -n 1)" "$LAB_WEB4" "DNS answers"
rss0=$(logs_rss_kb "$LAB_ZTDNSD_PID")
blocked0=$(counter blocked) guard0=$(counter log_suppressed)
note "ztdnsd VmRSS $rss0 kB; blocked counter $blocked0, log_suppressed $guard0"

step "the flood: $RATE attempts/s for $SECONDS_ s"
# python3: 60% of the rate over two destinations; perl: 40% to one. Each paces itself in
# steps of 1 ms, stops after the duration (and at most RATE * SECONDS_ packets), and
# writes how many it sent.
py_rate=$((RATE * 6 / 10)) pl_rate=$((RATE - RATE * 6 / 10))
lab_client timeout $((SECONDS_ + 20)) "$LOGS_PY" -c 'import socket, sys, time
rate, secs, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
dsts = sys.argv[4:]
socks = [socket.socket(socket.AF_INET6 if ":" in d else socket.AF_INET, socket.SOCK_DGRAM) for d in dsts]
sent, t0, port = 0, time.monotonic(), 1024
limit = int(rate * secs)
while sent < limit:
    now = time.monotonic()
    if now - t0 >= secs: break
    due = min(limit, int((now - t0) * rate) + 1)
    while sent < due:
        i = sent % len(dsts)
        try: socks[i].sendto(b"x", (dsts[i], port))
        except OSError: pass
        sent += 1
        if i == len(dsts) - 1: port = port + 1 if port < 65535 else 1024
    time.sleep(0.001)
open(out, "w").write("%d %.3f\n" % (sent, time.monotonic() - t0))' "$py_rate" "$SECONDS_" "$LAB_DIR/py.sent" "$d_py4" "$d_py6" &
py_job=$!
lab_client timeout $((SECONDS_ + 20)) perl -MSocket -MIO::Socket::INET -MTime::HiRes=time,sleep -e '
my ($rate, $secs, $out, $dst) = @ARGV;
my $u = IO::Socket::INET->new(Proto => "udp") or die "socket: $!";
my $ip = inet_aton($dst);
my ($sent, $t0, $port, $limit) = (0, time, 1024, int($rate * $secs));
while ($sent < $limit) {
  my $now = time;
  last if $now - $t0 >= $secs;
  my $due = int(($now - $t0) * $rate) + 1;
  $due = $limit if $due > $limit;
  while ($sent < $due) {
    $u->send("x", 0, pack_sockaddr_in($port, $ip));
    $sent++;
    $port = $port < 65535 ? $port + 1 : 1024;
  }
  sleep(0.001);
}
open(my $f, ">", $out) or die;
printf $f "%d %.3f\n", $sent, time - $t0;' "$pl_rate" "$SECONDS_" "$LAB_DIR/pl.sent" "$d_pl" &
pl_job=$!
# While it runs: DNS through the stub (a cached name and a new one each turn) and
# ztdnsd's memory.
dns_ok=0 dns_fail=0 lat=() rss_peak=$rss0 k=10 start=$(now_us)
while kill -0 "$py_job" 2>/dev/null || kill -0 "$pl_job" 2>/dev/null; do
  for name in "$LAB_WEB_NAME" "$(lab_race_name $k)"; do
    t=$(now_us)
    if [[ -n $(lab_client dig +short +tries=1 +timeout=2 "$name" A | tail -n 1) ]]; then
      dns_ok=$((dns_ok + 1)) lat+=($((($(now_us) - t) / 1000)))
    else
      dns_fail=$((dns_fail + 1))
    fi
  done
  k=$((k + 1))
  r=$(logs_rss_kb "$LAB_ZTDNSD_PID") && ((r > rss_peak)) && rss_peak=$r
  (($(now_us) - start < (SECONDS_ + 30) * 1000000)) || break
  sleep 0.2
done
wait "$py_job" "$pl_job" || true
read -r py_sent py_secs <"$LAB_DIR/py.sent" || fail "the python sender did not finish"
read -r pl_sent pl_secs <"$LAB_DIR/pl.sent" || fail "the perl sender did not finish"
sent=$((py_sent + pl_sent))
note "sent $sent attempts: python3 $py_sent in $py_secs s, perl $pl_sent in $pl_secs s ($(awk -v n="$sent" -v s="$py_secs" 'BEGIN {printf "%d", n / s}')/s)"
sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
p50=$(sed -n "$(((${#lat[@]} + 1) / 2))p" <<<"$sorted") pmax=$(tail -n 1 <<<"$sorted")
p99=$(sed -n "$(((${#lat[@]} * 99 + 99) / 100))p" <<<"$sorted")
note "DNS during the flood: $dns_ok answered, $dns_fail not; dig round trip incl. ip netns exec: p50 ${p50} ms, p99 ${p99} ms, max ${pmax} ms"
note "ztdnsd VmRSS: $rss0 kB before, peak $rss_peak kB during"
assert_le $((RATE * SECONDS_ * 8 / 10)) "$sent" "the senders got out at least 80% of $((RATE * SECONDS_)) attempts"
assert_le 10 "$dns_ok" "DNS was asked during the flood ($dns_ok times)"
assert_eq "$dns_fail" 0 "DNS through the stub answered every query during the flood"
assert_lt $((rss_peak - rss0)) 65536 "ztdnsd's memory stays bounded: +$(((rss_peak - rss0) / 1024)) MiB at the peak"

step "after the flood: summaries, and every blocked packet accounted for"
blocked=$(($(counter blocked) - blocked0))
assert_le "$sent" "$blocked" "the enforcement table blocked all $sent attempts ($blocked)"
# account: events + summarised + not logged by the kernel guard + NFLOG overruns
account() {
  local ev sum guard overrun
  ev=$(logs_count blocked '.dst == $a or .dst == $b or .dst == $c' --arg a "$d_py4" --arg b "$d_py6" --arg c "$d_pl")
  sum=$(logs_select operational '.eventId == 103 and .source != "kernel"' | jq -s 'map(.count) | add // 0')
  guard=$(logs_select operational '.eventId == 103 and .source == "kernel"' | jq -s 'map(.count) | add // 0')
  overrun=$(logs_select operational '.eventId == 104 and (.channel | startswith("NFLOG"))' | jq -s 'map(.count) | add // 0')
  echo "$ev $sum $guard $overrun"
}
_settled() { read -r a b c e <<<"$(account)"; ((a + b + c + e >= blocked)); }
# Summaries come every 10 s, the kernel guard is read every 10 s.
wait_for -i 1 40 _settled || true
read -r n_ev n_sum n_guard n_overrun <<<"$(account)"
note "blocked $blocked = $n_ev events + $n_sum summarised + $n_guard not logged by the kernel guard + $n_overrun NFLOG overruns"
assert_eq "$((n_ev + n_sum + n_guard + n_overrun))" "$blocked" "nothing was dropped silently: every blocked packet is an event, in a summary or in the guard's count"
assert_lt 0 "$n_sum" "the event rate limit summarised some"
assert_lt "$n_ev" "$sent" "... so far fewer events were written ($n_ev) than attempts ($sent)"
ev=$(logs_select operational '.eventId == 103 and .source == "kernel"' | head -n 1)
[[ -z $ev ]] || assert_match "$(jq -r .message <<<"$ev")" "^SUPPRESSED - [0-9]+ connection attempts over the kernel log rate were enforced but not logged" \
  "the kernel guard's summary says so"
for key in "$py_exe $d_py4" "$py_exe $d_py6" "$pl_exe $d_pl"; do
  exe=${key% *} dst=${key##* }
  rows=$(logs_select operational '.eventId == 103 and .process == $e and .dst == $d' --arg e "$exe" --arg d "$dst")
  assert_ne "$rows" "" "SUPPRESSED rows for $exe -> $dst"
  assert_match "$(head -n 1 <<<"$rows" | jq -r .message)" "^SUPPRESSED - [0-9]+ similar events suppressed in BlockedConnections: BLOCK $exe -> $dst" \
    "... \"N similar events suppressed\", per process and destination ($(jq -s 'map(.count) | add' <<<"$rows") in $(wc -l <<<"$rows") rows)"
done
assert_eq "$(logs_select operational '.eventId == 103 and .source != "kernel" and (.process != $a and .process != $b)' --arg a "$py_exe" --arg b "$pl_exe" | wc -l)" 0 \
  "no summary names another process"
assert_eq "$(logs_select blocked '(.dst == $a or .dst == $b) and .process != $e' --arg a "$d_py4" --arg b "$d_py6" --arg e "$py_exe" | wc -l)" 0 \
  "every python event names python"
assert_eq "$(logs_select blocked '.dst == $a and .process != $e' --arg a "$d_pl" --arg e "$pl_exe" | wc -l)" 0 "every perl event names perl"
stats=$(lab_ztdns show stats json)
note "show stats: $(jq -c '[.connections, .logs]' <<<"$stats")"
assert_eq "$(jq .logs.linesLost <<<"$stats")" 0 "no log line was lost"
rss1=$(logs_rss_kb "$LAB_ZTDNSD_PID")
note "ztdnsd VmRSS after: $rss1 kB"
assert_eq "$(lab_client dig +short +tries=1 +timeout=3 "$(lab_race_name 199)" A | tail -n 1)" "$(lab_race_addr4 199)" "DNS answers after the flood"

finish
