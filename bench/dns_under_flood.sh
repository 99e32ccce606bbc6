#!/usr/bin/env bash
# bench/dns_under_flood.sh: DNS through ztdnsd's stub while a flood of blocked connection
# attempts hits the enforcement policy (issue 5: 10,000 attempts/s for 10 s; the stub's p99
# must stay under 10 ms). A benchmark, not a test: it prints numbers for docs/performance.md.
#
#   bench/dns_under_flood.sh [BUILD_DIR]        (root; BUILD_DIR defaults to build/release)
#
# In a fresh lab (tests/e2e/lib/lab.sh): ztdnsd enforcing with pdns1 over DoT. dnsperf asks
# the stub at QPS queries/s for ROUND_SECONDS, cycling over the 200 race names (A and AAAA), so the
# first 400 queries go upstream and the rest are cache hits (each re-asserts its allow).
# Round 1 without a flood, round 2 while `observe_flood --generator-only` makes RATE blocked
# attempts/s (TCP and UDP to 100 unresolved addresses) from the client namespace. Prints the
# latency of each round, their ratio, the daemon's CPU and peak RSS, and what the logs did.
# Environment: QPS [500] ROUND_SECONDS [10] RATE [10000].
set -Eeuo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build/release}" && pwd)
: "${QPS:=500}" "${ROUND_SECONDS:=10}" "${RATE:=10000}"
export ZTDNS_BUILD_DIR=$build
. "$root/tests/e2e/lib/assert.sh"
. "$root/tests/e2e/lib/lab.sh"
require_lab
command -v dnsperf >/dev/null || skip "needs dnsperf"
flood=$build/bench/observe_flood
[[ -x $flood ]] || skip "build $flood first (cmake --build $build --target observe_flood)"

lab_up 2>/dev/null
conf=$LAB_DIR/ztdns.json
lab_config_write "$conf" --server pdns1:dot enabled=true auditModeEnabled=false
lab_ztdnsd_start "$conf"
queries=$LAB_DIR/queries.txt
for ((i = 1; i <= LAB_RACE_COUNT; i++)); do printf '%s A\n%s AAAA\n' "$(lab_race_name "$i")" "$(lab_race_name "$i")"; done >"$queries"

ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$LAB_ZTDNSD_PID/stat"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$LAB_ZTDNSD_PID/status"; }
# round NAME: dnsperf at QPS for ROUND_SECONDS; prints "p50 p99 max answered lost"
round() {
  lab_client dnsperf -s 127.0.0.1 -p 53 -d "$queries" -Q "$QPS" -l "$ROUND_SECONDS" -c 1 -q 100 -v \
    >"$LAB_DIR/$1.out" 2>&1 || true
  awk '/^> /{print $NF * 1000}' "$LAB_DIR/$1.out" | sort -g | awk -v out="$LAB_DIR/$1.out" '
    {a[NR] = $1} END {
      lost = 0; while ((getline l < out) > 0) if (l ~ /Queries lost:/) { split(l, f, " "); lost = f[3] }
      if (!NR) { print "- - - 0", lost; exit }
      p50 = a[int(NR * 0.50) > 0 ? int(NR * 0.50) : 1]; i = int(NR * 0.99); if (i < NR * 0.99) i++
      printf "%.2f %.2f %.2f %d %s\n", p50, a[i], a[NR], NR, lost }'
}
clk=$(getconf CLK_TCK)

t0=$(ticks)
read -r b50 b99 bmax bn blost < <(round quiet)
t1=$(ticks)
lab_pdns_flush pdns1
lab_ztdnsd_stop && lab_ztdnsd_start "$conf"  # the same cold cache for round 2
blocked0=$(lab_ztdns show stats json | jq '.connections.blocked + .connections.suppressed')
ip netns exec "$LAB_CLIENT_NS" "$flood" --generator-only --rate "$RATE" --seconds $((ROUND_SECONDS + 2)) \
  >"$LAB_DIR/flood.out" 2>&1 &
gen=$!
t2=$(ticks)
read -r f50 f99 fmax fn flost < <(round flood)
t3=$(ticks)
wait "$gen" || true
stats=$(lab_ztdns show stats json)
hwm=$(hwm_kb)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
cpu() { awk -v t="$1" -v c="$clk" -v s="$ROUND_SECONDS" 'BEGIN { printf "%.0f%%", 100 * t / c / s }'; }
cat <<EOF
DNS through the stub at $QPS queries/s for $ROUND_SECONDS s (race names, A+AAAA; first 400 uncached)
| round | answered | lost | p50 ms | p99 ms | max ms | ztdnsd CPU |
| --- | --- | --- | --- | --- | --- | --- |
| no flood | $bn | $blost | $b50 | $b99 | $bmax | $(cpu $((t1 - t0))) |
| $RATE blocked attempts/s | $fn | $flost | $f50 | $f99 | $fmax | $(cpu $((t3 - t2))) |
| flood / no flood | | | $(ratio "$f50" "$b50") | $(ratio "$f99" "$b99") | | |
connection events during round 2: $(jq '.connections.blocked + .connections.suppressed' <<<"$stats") blocked or summarised (before: $blocked0), log lines lost $(jq '.logs.linesLost' <<<"$stats")
ztdnsd peak RSS: $((hwm / 1024)) MiB
EOF
