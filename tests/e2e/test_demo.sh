#!/usr/bin/env bash
# The README's first command, scripts/demo, as a CTest test: every behaviour the demo shows
# is also checked by it, and it exits non-zero when one is missing. The binaries come from
# this build (not /usr/local/bin), and setup is skipped: scripts/test has just run it.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
require_lab
root=$(cd "$here/../.." && pwd)
export ZTDNSD=${ZTDNS_BUILD_DIR:?}/apps/ztdnsd/ztdnsd ZTDNS=$ZTDNS_BUILD_DIR/apps/ztdns/ztdns
exec "$root/scripts/demo" --no-setup
