#!/usr/bin/env bash
# STUB_CMD for /work/shared/bench/peers.sh that runs a *caching* peer in the stub-* rows, so
# that ztdnsd's cache can be compared with the caches a user would otherwise rely on
# (peers.sh's own peer rows have caching switched off on purpose).
#
#   STUB_CMD='exec /path/to/ztdns/bench/peers-cached.sh' CACHED_PEER=unbound NAMES=500 \
#     PEERS=stub-dot ../shared/bench/peers.sh
#
# CACHED_PEER: unbound (DoT), kresd (DoT) or dnsdist (DoT or DoH, with a packet cache).
# With a small NAMES the query file repeats every 2*NAMES queries, so after the first round
# every answer comes from the cache. Configured only from the variables peers.sh exports.
set -euo pipefail
: "${UP_PROTO:?run me from peers.sh}" "${WORKDIR:?}" "${LISTEN_ADDR:?}" "${LISTEN_PORT:?}"
peer=${CACHED_PEER:-unbound}
dir=$WORKDIR/cached-$peer-$UP_PROTO
mkdir -p "$dir"
case $peer/$UP_PROTO in
  unbound/dot)
    cat >"$dir/unbound.conf" <<EOF
server:
  username: ""
  chroot: ""
  directory: "$dir"
  pidfile: ""
  use-syslog: no
  num-threads: 1
  interface: $LISTEN_ADDR@$LISTEN_PORT
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "iterator"
  tls-cert-bundle: "$UP_CA"
  msg-cache-size: 64m
  rrset-cache-size: 128m
forward-zone:
  name: "."
  forward-tls-upstream: yes
  forward-addr: $UP_ADDR@$UP_PORT#$UP_NAME
EOF
    exec unbound -d -c "$dir/unbound.conf" ;;
  kresd/dot)
    cat >"$dir/kresd.lua" <<EOF
net.listen('$LISTEN_ADDR', $LISTEN_PORT, { kind = 'dns' })
trust_anchors.remove('.')
cache.open(200 * MB, 'lmdb://$dir/cache')
policy.add(policy.all(policy.TLS_FORWARD({ { '$UP_ADDR@$UP_PORT', hostname = '$UP_NAME', ca_file = '$UP_CA' } })))
EOF
    exec kresd -n -c "$dir/kresd.lua" "$dir" ;;
  dnsdist/dot | dnsdist/doh)
    doh=
    [[ $UP_PROTO == doh ]] && doh=', dohPath="/dns-query"'
    cat >"$dir/dnsdist.lua" <<EOF
setLocal("$LISTEN_ADDR:$LISTEN_PORT")
setACL({"127.0.0.0/8"})
setSecurityPollSuffix("")
newServer({address="$UP_ADDR:$UP_PORT", tls="openssl", subjectName="$UP_NAME", caStore="$UP_CA",
           validateCertificates=true, checkName="h0.bench.example."$doh})
getPool(""):setCache(newPacketCache(200000, {maxTTL=86400}))
EOF
    exec dnsdist --supervised --disable-syslog -C "$dir/dnsdist.lua" ;;
  *) echo "peers-cached.sh: no $peer over $UP_PROTO" >&2; exit 2 ;;
esac
