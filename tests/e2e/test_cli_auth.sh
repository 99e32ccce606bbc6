#!/usr/bin/env bash
# Authorization on the control socket (SO_PEERCRED): the CLI run as an unprivileged user
# (setpriv, as nobody) is refused a change with a clear message and nothing changes; members
# of group ztdns, where it exists, may read but not change; CAP_NET_ADMIN may change
# anything; capabilities inside a user namespace of one's own prove nothing; and without a
# ztdns group nobody but root and CAP_NET_ADMIN may even read.
#
# The group is not created on the machine: it exists only for processes started with
# `ip netns exec` in this lab's client namespace (/etc/netns/<client>/group, removed with the
# lab), which is where ztdnsd and the CLI run. Its gid is one the machine does not use.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/cli.sh"
require_lab
command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
getent passwd nobody >/dev/null || skip "no user nobody"
nobody_uid=$(id -u nobody)
nobody_gid=$(getent passwd nobody | cut -d: -f4)
gid=''
for g in $(seq 64990 65020); do getent group "$g" >/dev/null || { gid=$g && break; }; done
[[ -n $gid ]] || skip "no free gid in 64990-65020"
getent group ztdns >/dev/null && skip "this machine has a ztdns group already; the test needs to control it"

lab_up
# nobody must be able to reach the socket: let it through the lab's private directory.
mkdir -p "$LAB_ZTDNSD_DIR"
chmod 0711 "$LAB_DIR" "$LAB_ZTDNSD_DIR"
mkdir -p "$LAB_DIR/etc"
conf=$LAB_DIR/etc/ztdns.json
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh enabled=true auditModeEnabled=false \
  "exemptionRules=[{\"displayName\": \"relay\", \"ipAddresses\": [\"$LAB_EXCEPTION4/32\"]}]"
{ cat /etc/group; echo "ztdns:x:$gid:"; } >"/etc/netns/$LAB_CLIENT_NS/group"
assert_eq "$(lab_client getent group ztdns)" "ztdns:x:$gid:" "group ztdns ($gid) exists inside the lab's client namespace"
assert_fails "... and not on the machine" getent group ztdns
lab_ztdnsd_start "$conf"
sock=$LAB_ZTDNSD_RUN_DIR/control.sock
assert_eq "$(stat -c '%a %u %g' "$sock")" "660 0 $gid" "the control socket is root:ztdns, mode 0660"
zbin=${ZTDNS:-$(_lab_bin ztdns apps/ztdns/ztdns)}

# as ARGS...: the CLI in the client namespace as nobody, with the setpriv options in $AS.
as() {
  local -a opts
  read -r -a opts <<<"$AS"
  ip netns exec "$LAB_CLIENT_NS" setpriv --reuid="$nobody_uid" "${opts[@]}" \
    env ZTDNS_SOCKET="$sock" "$zbin" "$@"
}
CLI_RUNNER=as
snap() { CLI_RUNNER=lab_ztdns; cli_snapshot; lab_ztdns show settings >"$LAB_DIR/snap.settings"; CLI_RUNNER=as; }
unchanged() {
  assert_unchanged "$1"
  assert_eq "$(lab_ztdns show settings)" "$(cat "$LAB_DIR/snap.settings")" "... and so is show settings"
}
# a change refused, with the reason, and nothing changed
change_refused() {  # MSG NEEDLE ARGS...
  local m=$1 needle=$2
  shift 2
  snap
  assert_cli 1 "$m" "$@"
  assert_contains "$CLI_ERR" "$needle" "... $needle"
  unchanged "$m"
}

step "nobody, not in group ztdns: refused at the socket, for reads and changes"
AS="--regid=$nobody_gid --clear-groups"
cli_run show state
assert_eq "$CLI_RC" 1 "show state as nobody exits 1"
assert_eq "$CLI_ERR" "ztdns: permission denied on $sock: ztdns needs root, CAP_NET_ADMIN or membership of group ztdns" "... and says what is needed"
change_refused "set state enable=no as nobody" "ztdns needs root, CAP_NET_ADMIN or membership of group ztdns" set state enable=no
change_refused "delete server as nobody" "permission denied" delete server address="$LAB_PDNS2_4"
assert_eq "$(lab_client nft list table inet ztdns >/dev/null 2>&1 && echo present)" present "... enforcement is still in place"

step "nobody in group ztdns (supplementary): reads work, changes are refused by the daemon"
AS="--regid=$nobody_gid --groups=$gid"
assert_cli 0 "show state" show state
assert_match "$CLI_OUT" "State: +enabled, enforcing" "... the state"
assert_cli 0 "show state json" show state json
assert_eq "$(cli_json .enabled)" true "... as JSON"
assert_cli 0 "show settings" show settings
assert_eq "$(jq -r '.secureDnsServers | length' <<<"$CLI_OUT")" 2 "... the settings"
assert_cli 0 "show server" show server
assert_contains "$CLI_OUT" "pdns1" "... the servers"
assert_cli 0 "show exception name=relay" show exception name=relay
assert_cli 0 "show trustedca (the daemon reads the PEM files for the reader)" show trustedca json
assert_eq "$(cli_json '.files[0].certificates[0].subject')" "CN=ztdns lab CA $LAB_ID" "... with the subject"
assert_cli 0 "show stats" show stats
assert_cli 0 "log show operational" log show operational limit=5
assert_cli 0 "resolve" resolve "$LAB_WEB_NAME"
assert_contains "$CLI_OUT" "Status NOERROR" "... resolves"
cli_ops_mark
refusal="permission denied: changing ZTDNS needs root or CAP_NET_ADMIN, and uid $nobody_uid (nobody) has neither; run it with sudo"
change_refused "set state enable=no as a reader" "$refusal" set state enable=no
change_refused "add exception as a reader" "$refusal" add exception name=x subnets=203.0.113.0/24
change_refused "delete exception as a reader" "$refusal" delete exception name=relay
change_refused "add server as a reader" "$refusal" add server type=dot address="$LAB_MTLS_4" hostname="$LAB_MTLS_NAME"
change_refused "delete server as a reader" "$refusal" delete server address="$LAB_PDNS2_4"
change_refused "add trustedca as a reader" "$refusal" add trustedca file="$LAB_UNTRUSTED_CA"
change_refused "delete trustedca as a reader" "$refusal" delete trustedca file="$LAB_CA"
change_refused "add clientcert as a reader" "$refusal" add clientcert certfile="$LAB_CLIENT_CERT" keyfile="$LAB_CLIENT_KEY"
change_refused "log set as a reader" "$refusal" log set permitted enable=yes
change_refused "reload as a reader" "$refusal" reload
assert_eq "$(cli_ops_since "$_CLI_OPS_MARK" | grep -c '"eventId"' || true)" 0 "... no change was logged to Operational"

step "nobody with ztdns as its primary group: reads work"
AS="--regid=$gid --clear-groups"
assert_cli 0 "show state" show state
change_refused "set state enable=no" "$refusal" set state enable=no

step "CAP_NET_ADMIN may change anything"
AS="--regid=$nobody_gid --groups=$gid --inh-caps=+net_admin --ambient-caps=+net_admin"
cli_ops_mark
assert_cli 0 "add exception as nobody with CAP_NET_ADMIN" add exception name=byadmin subnets=203.0.113.0/24
assert_eq "$(jq -r '.exemptionRules[].displayName' "$conf" | tr '\n' ' ')" "relay byadmin " "... persisted"
assert_ops "... Operational names the changer's uid" "\"uid\":$nobody_uid"
assert_cli 0 "delete exception as nobody with CAP_NET_ADMIN" delete exception name=byadmin

step "capabilities in a user namespace of one's own prove nothing"
if ip netns exec "$LAB_CLIENT_NS" setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --groups="$gid" unshare -Ur true 2>/dev/null; then
  as() {
    ip netns exec "$LAB_CLIENT_NS" setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --groups="$gid" \
      unshare -Ur env ZTDNS_SOCKET="$sock" "$zbin" "$@"
  }
  caps=$(ip netns exec "$LAB_CLIENT_NS" setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --groups="$gid" unshare -Ur awk '/^CapEff/ {print $2}' /proc/self/status)
  assert_eq "$(((0x$caps >> 12) & 1))" 1 "\"root\" in its own user namespace has CAP_NET_ADMIN there (CapEff $caps)"
  assert_cli 0 "show state from inside it (a group member)" show state
  change_refused "set state enable=no from inside it" "permission denied: changing ZTDNS needs root or CAP_NET_ADMIN" set state enable=no
else
  note "unprivileged user namespaces are not available here; step skipped"
fi

step "without a group ztdns, only root and CAP_NET_ADMIN may read"
rm -f "/etc/netns/$LAB_CLIENT_NS/group"
lab_ztdnsd_stop
lab_ztdnsd_start "$conf"
assert_eq "$(stat -c '%a %u' "$sock")" "600 0" "the control socket is root's alone, mode 0600"
# CAP_DAC_OVERRIDE gets nobody past the file mode, so the daemon's own check answers.
AS="--regid=$nobody_gid --groups=$gid --inh-caps=+dac_override --ambient-caps=+dac_override"
as() {
  local -a opts
  read -r -a opts <<<"$AS"
  ip netns exec "$LAB_CLIENT_NS" setpriv --reuid="$nobody_uid" "${opts[@]}" env ZTDNS_SOCKET="$sock" "$zbin" "$@"
}
cli_run show state
assert_eq "$CLI_RC" 1 "show state as nobody (gid $gid means nothing now) exits 1"
assert_eq "$CLI_ERR" "ztdns: permission denied: reading ZTDNS needs root or CAP_NET_ADMIN (there is no group ztdns whose members could read), and uid $nobody_uid (nobody) has neither" \
  "... and the daemon says why"
change_refused "set state enable=no" "permission denied: changing ZTDNS needs root or CAP_NET_ADMIN" set state enable=no
AS="--regid=$nobody_gid --clear-groups --inh-caps=+dac_override,+net_admin --ambient-caps=+dac_override,+net_admin"
assert_cli 0 "show state as nobody with CAP_NET_ADMIN" show state
CLI_RUNNER=lab_ztdns
assert_cli 0 "root reads" show state
assert_cli 0 "root changes" log set permitted enable=yes

finish
