#!/usr/bin/env bash
# STUB_CMD for /work/shared/bench/peers.sh (or any copy of it): runs ztdnsd as the stub
# under test, configured only from the variables peers.sh exports.
#
#   STUB_CMD='exec /path/to/ztdns/bench/peers-stub.sh' ../shared/bench/peers.sh
#
# ZTDNS_BENCH_MODE picks the row flavour:
#   enforce   (default) enabled, enforcement on, allow insertion on
#   audit     enabled in audit mode (inserts still happen)
#   disabled  state disabled: forwarding only, no nftables, no inserts
# The cache is always on, as it is in production. peers.sh's default query file repeats no
# name before 2*NAMES queries, so a default run is uncached in effect; a run with a small
# NAMES (e.g. NAMES=500) measures cache hits.
set -euo pipefail
: "${UP_PROTO:?run me from peers.sh}" "${WORKDIR:?}" "${LISTEN_ADDR:?}" "${LISTEN_PORT:?}"
mode=${ZTDNS_BENCH_MODE:-enforce}
ztdnsd=${ZTDNSD:-ztdnsd}
dir=$WORKDIR/ztdns-$UP_PROTO
mkdir -p "$dir/run" "$dir/state" "$dir/log"

enabled=true audit=false
case $mode in
  enforce) ;;
  audit) audit=true ;;
  disabled) enabled=false ;;
  *) echo "peers-stub.sh: unknown ZTDNS_BENCH_MODE=$mode" >&2; exit 2 ;;
esac
if [[ $UP_PROTO == dot ]]; then
  transport="\"dnsOverTlsConfiguration\": {\"tlsPort\": $UP_PORT, \"certificateSubjectName\": \"$UP_NAME\"}"
else
  transport="\"dnsOverHttpsConfiguration\": {\"httpsPort\": $UP_PORT, \"queryUrl\": \"https://$UP_NAME:$UP_PORT$UP_PATH\"}"
fi
cat >"$dir/ztdns.json" <<JSON
{
  "enabled": $enabled,
  "auditModeEnabled": $audit,
  "secureDnsServers": [
    {"displayName": "bench-upstream", "ipAddress": "$UP_ADDR", "priority": 1, $transport}
  ],
  "rootCertificatesForServerValidation": ["$UP_CA"],
  "listenAddresses": ["$LISTEN_ADDR:$LISTEN_PORT"],
  "maxAllowedAddresses": 1048576
}
JSON
exec "$ztdnsd" --config "$dir/ztdns.json" --run-dir "$dir/run" --state-dir "$dir/state" --log-dir "$dir/log"
