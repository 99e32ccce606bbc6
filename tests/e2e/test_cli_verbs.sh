#!/usr/bin/env bash
# Every ztdns verb against a running ztdnsd in the lab, in both output forms (table and
# json), with the exit codes of issue 6: show state|settings|server|exception|clientcert|
# trustedca|stats, set state, add/delete server|exception|trustedca|clientcert, log show/set,
# resolve, reload, help. Each change is checked where it must land: the answer, the config
# file, the kernel's table inet ztdns, the data plane (a connection or a query that now
# works or fails), and an Operational event.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/cli.sh"
require_lab

lab_up
mkdir -p "$LAB_DIR/etc"
conf=$LAB_DIR/etc/ztdns.json
# The defaults but for the servers and the lab CA: "enabled" and "auditModeEnabled" are not
# in the file, so the daemon starts from their defaults (disabled, audit on).
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh
lab_ztdnsd_start "$conf"
cf() { jq -r "$1" "$conf"; }
web() { lab_client curl -sS --max-time 3 -o /dev/null -w '%{http_code}' "http://$1/" 2>/dev/null || true; }
web6() { lab_client curl -sS --max-time 3 -o /dev/null -w '%{http_code}' "http://[$1]/" 2>/dev/null || true; }

step "help and usage"
assert_cli 0 "ztdns help" help
assert_contains "$CLI_OUT" "Usage: ztdns [--socket PATH] [--json]" "... prints the general usage on stdout"
assert_contains "$CLI_OUT" "Exit status: 0 ok, 1 failure or failed check, 2 usage" "... with the exit codes"
assert_cli 0 "ztdns --help" --help
assert_cli 2 "ztdns without a verb is a usage error"
assert_contains "$CLI_ERR" "Usage: ztdns" "... and prints the usage on stderr"
for topic in "show" "set" "add" "delete" "log" "resolve" "diagnose" "suggest" "reload" \
  "add server" "add exception" "delete server" "show server" "log show" "suggest exceptions"; do
  # shellcheck disable=SC2086  # the topic's words are separate arguments
  assert_cli 0 "ztdns $topic help" $topic help
  assert_match "$CLI_OUT" "Usage:.*ztdns ${topic%% *}" "... prints the usage of $topic"
done
assert_cli 0 "ztdns help add exception" help add exception
assert_contains "$CLI_OUT" "subnets=CIDR" "... describes add exception"
assert_cli 0 "ztdns add exception ? (netsh style)" add exception "?"
assert_cli 2 "ztdns help nosuchverb" help nosuchverb
assert_contains "$CLI_ERR" 'no help for "nosuchverb"' "... says there is no such topic"
assert_cli 0 "ztdns --version" --version
assert_match "$CLI_OUT" "^ztdns [0-9.]+ \(control protocol 1\)$" "... names the CLI and protocol versions"
assert_cli 0 "ztdns help (what each command accepts)" help
for arg in 'description="TEXT"' 'limit=N' 'diagnose [since=DURATION] [name=NAME] [port=PORT]' 'v4prefix=N' 'v6prefix=N' 'file=JSONL' '--version'; do
  assert_contains "$CLI_OUT" "$arg" "... names $arg"
done
assert_cli 0 "ztdns show server help" show server help
assert_eq "$(head -1 <<<"$CLI_OUT")" "Usage: ztdns show server [address=IP] [json]" "... is show server's own help"
assert_cli 0 "ztdns show exception help" show exception help
assert_eq "$(head -1 <<<"$CLI_OUT")" "Usage: ztdns show exception [name=NAME] [json]" "... and show exception has its own"

step "show state: the defaults (disabled, audit on), table and json"
assert_cli 0 "show state" show state
assert_match "$CLI_OUT" "State: +disabled" "... disabled"
assert_match "$CLI_OUT" "Audit: +yes" "... the audit flag is on by default"
assert_match "$CLI_OUT" "Servers healthy: +[0-2] of 2" "... servers healthy out of 2"
assert_match "$CLI_OUT" "Allowed addresses: +0" "... no allowed address"
assert_match "$CLI_OUT" "Exceptions: +0" "... no exception"
assert_match "$CLI_OUT" "Uptime: +[0-9]+s" "... an uptime"
assert_match "$CLI_OUT" "Stub listens on: +127.0.0.1:53, \[::1\]:53" "... the stub's listeners"
assert_cli 0 "show state json" show state json
assert_eq "$(cli_json '[.enabled, .audit, .serversTotal, .exceptions, .allowedAddresses, .configFile, .pid] | @tsv')" \
  "$(printf 'false\ttrue\t2\t0\t0\t%s\t%s' "$conf" "$LAB_ZTDNSD_PID")" "... the same facts as JSON, with the config file and the daemon's pid"
assert_cli 0 "--json before the verb" --json show state
assert_eq "$(cli_json .enabled)" false "... is JSON too"
assert_eq "$(lab_client nft list table inet ztdns >/dev/null 2>&1 && echo present || echo absent)" absent "disabled: no table inet ztdns in the kernel"
# (a name of its own: the cache would keep later steps from seeing which server answered)
assert_cli 0 "resolve while disabled" resolve "$LAB_LONGTTL_NAME"
assert_contains "$CLI_OUT" "ZTDNS is disabled: nothing is enforced, nothing was allowed." "... says nothing is enforced"
assert_match "$CLI_OUT" "$LAB_LONGTTL_4 +not enforced +-" "... and the address is not enforced (not \"ALLOWED no\")"
assert_not_contains "$CLI_OUT" " no " "... no address shows as not allowed"
assert_cli 0 "resolve while disabled, json" resolve "$LAB_LONGTTL_NAME" json
assert_eq "$(cli_json '[.enforcement, .addresses[0].source] | @tsv')" "$(printf 'disabled\tanswer')" "... enforcement: disabled"

step "set state: enable=yes without audit= keeps the audit flag, so the first enable is audit mode"
cli_ops_mark
assert_cli 0 "set state enable=yes" set state enable=yes
assert_eq "$CLI_OUT" "ZTDNS is now enabled, audit mode (would-be blocks are logged, not blocked)." "... audit mode"
assert_eq "$(cf '[.enabled, .auditModeEnabled] | @tsv')" "$(printf 'true\ttrue')" "... persisted: enabled, audit"
assert_contains "$(lab_client nft -s list chain inet ztdns output)" "goto log_audit" "... the kernel's policy logs would-be blocks and accepts"
assert_eq "$(web "$LAB_IPONLY4")" 200 "... an unresolved address is still reachable (audit)"
assert_cli 0 "resolve a sinkholed-style answer in audit mode" resolve "$LAB_ZERO_NAME"
assert_contains "$CLI_OUT" "Audit mode: connections to addresses that are not allowed are logged, not blocked." "... says what audit mode does with them"
assert_match "$CLI_OUT" "0\.0\.0\.0 +no \(unspecified address: never allowed\) +-" "... 0.0.0.0 is never allowed"
assert_ops "... Operational: state updated to audit" 'State to enabled \(audit\)'
assert_cli 0 "set state enable=yes audit=no json" set state enable=yes audit=no json
assert_eq "$(cli_json '[.enabled, .audit] | @tsv')" "$(printf 'true\tfalse')" "... the new state as JSON: enforcing"
assert_eq "$(cf .auditModeEnabled)" false "... persisted"
assert_contains "$(lab_client nft -s list chain inet ztdns output)" "jump log_block" "... the kernel's policy blocks"
assert_eq "$(web "$LAB_IPONLY4")" 000 "... the unresolved address is refused now"
assert_cli 0 "set state enable=yes (no audit=) once enforcing" set state enable=yes
assert_eq "$CLI_OUT" "ZTDNS is now enabled, enforcing." "... stays enforcing: audit= absent keeps the flag"
cli_ops_mark
assert_cli 0 "set state enable=no" set state enable=no
assert_eq "$CLI_OUT" "ZTDNS is now disabled." "... disabled"
assert_eq "$(lab_client nft list table inet ztdns >/dev/null 2>&1 && echo present || echo absent)" absent "... the table is gone"
assert_eq "$(cf .enabled)" false "... persisted"
assert_ops "... Operational: state updated to disabled" 'State to disabled'
assert_cli 0 "set state enable=no audit=yes (the flag for the next enable)" set state enable=no audit=yes
assert_cli 0 "set state enable=yes" set state enable=yes
assert_contains "$CLI_OUT" "audit mode" "... audit mode again, from the flag set while disabled"
assert_cli 0 "set state enable=yes audit=no" set state enable=yes audit=no
assert_cli 0 "show state (table)" show state
assert_match "$CLI_OUT" "State: +enabled, enforcing" "... show state says enforcing"

step "show settings: the whole effective config, JSON in the config-file schema"
assert_cli 0 "show settings" show settings
assert_eq "$(cli_json 'keys | length > 10')" true "... every key is present"
assert_eq "$(jq -S . <<<"$CLI_OUT")" "$(jq -S . "$conf")" "... the same JSON as the saved config file"
assert_eq "$(cli_json '[.enabled, .auditModeEnabled, .secureDnsServers[0].ipAddress, .secureDnsServers[1].dnsOverHttpsConfiguration.queryUrl] | @tsv')" \
  "$(printf 'true\tfalse\t%s\thttps://%s%s' "$LAB_PDNS1_4" "$LAB_PDNS2_NAME" "$LAB_DOH_PATH")" "... with the Intune key names"
settings=$CLI_OUT
assert_cli 0 "show settings json" show settings json
assert_eq "$CLI_OUT" "$settings" "... the same with json"

step "show server, address= (present and absent)"
assert_cli 0 "show server" show server
assert_match "$(head -1 <<<"$CLI_OUT")" "^NAME +PROTOCOL +ADDRESS +PORT +PRIORITY +HEALTH +LAST RTT +IDENTITY +LAST ERROR" "... a table with the issue's columns"
assert_match "$CLI_OUT" "pdns1 +DoT +$LAB_PDNS1_4 +853 +1 +(up|down) " "... pdns1 over DoT"
assert_match "$CLI_OUT" "pdns2 +DoH +$LAB_PDNS2_4 +443 +2 +(up|down) .*https://$LAB_PDNS2_NAME$LAB_DOH_PATH" "... pdns2 over DoH, with its template"
assert_cli 0 "show server json" show server json
assert_eq "$(cli_json '[.servers[] | .name + "/" + .transports[0].protocol + "/" + (.transports[0].port | tostring)] | join(" ")')" \
  "pdns1/DoT/853 pdns2/DoH/443" "... the same servers as JSON"
assert_cli 0 "show server address=pdns1" show server address="$LAB_PDNS1_4"
assert_eq "$(wc -l <<<"$CLI_OUT")" 2 "... one server: the header and one row"
assert_cli 0 "show server address=pdns2 json" show server address="$LAB_PDNS2_4" json
assert_eq "$(cli_json '[.servers[].name] | join(" ")')" pdns2 "... only pdns2"
assert_cli 1 "show server address= of an absent server" show server address=198.51.100.99
assert_eq "$CLI_ERR" "ztdns: no server with address 198.51.100.99 is configured" "... says so"
assert_cli 1 "show server address= of an absent server, json" show server address=198.51.100.99 json

step "add server: DoT, DoH on the same address, IPv6 with the defaults"
cli_ops_mark
assert_cli 0 "add server type=dot (mtls)" add server type=dot address="$LAB_MTLS_4" hostname="$LAB_MTLS_NAME" priority=5 name=mtls
assert_eq "$CLI_OUT" "Server mtls ($LAB_MTLS_4) now has DoT on port 853, priority 5." "... the answer"
assert_eq "$(cf ".secureDnsServers[] | select(.ipAddress == \"$LAB_MTLS_4\") | [.displayName, .priority, .dnsOverTlsConfiguration.tlsPort, .dnsOverTlsConfiguration.certificateSubjectName] | @tsv")" \
  "$(printf 'mtls\t5\t853\t%s' "$LAB_MTLS_NAME")" "... persisted"
nft_has "... the kernel lets DoT to it out" servers4 "$LAB_MTLS_4 . 853"
assert_ops "... Operational: servers updated" "mtls $LAB_MTLS_4 DoT:853 priority 5"
assert_cli 0 "add server type=doh on the same address, json" add server type=doh address="$LAB_MTLS_4" template="https://$LAB_MTLS_NAME$LAB_DOH_PATH" json
assert_eq "$(cli_json '[.name, .priority, (.transports | map(.protocol + ":" + (.port | tostring)) | join(","))] | @tsv')" \
  "$(printf 'mtls\t5\tDoT:853,DoH:443')" "... the server now has both transports"
nft_has "... and DoH to it is let out" servers4 "$LAB_MTLS_4 . 443"
assert_cli 0 "add server type=dot address=IPv6 (default port, name and priority)" add server type=dot address="$LAB_PDNS2_6" hostname="$LAB_PDNS2_NAME"
assert_eq "$CLI_OUT" "Server $LAB_PDNS2_6 ($LAB_PDNS2_6) now has DoT on port 853, priority 100." "... name = the address, priority 100, port 853"
nft_has "... servers6 has it" servers6 "$LAB_PDNS2_6 . 853"
assert_cli 0 "show server address=IPv6" show server address="$LAB_PDNS2_6"
assert_match "$CLI_OUT" "$LAB_PDNS2_6 +DoT +$LAB_PDNS2_6 +853 +100 " "... listed"
assert_cli 0 "resolve through the new IPv6 server" resolve id.test type=TXT server="$LAB_PDNS2_6"
assert_contains "$CLI_OUT" '"pdns2"' "... the data plane uses it"

step "delete server: one, then the last one while enabled is refused, then all while disabled"
cli_ops_mark
assert_cli 0 "delete server address=IPv6" delete server address="$LAB_PDNS2_6"
assert_eq "$CLI_OUT" "Deleted server $LAB_PDNS2_6; 3 servers remain." "... the answer"
nft_lacks "... servers6 no longer has it" servers6 "$LAB_PDNS2_6"
assert_ops "... Operational: servers updated" 'servers|Servers'
assert_cli 0 "delete server address=mtls json" delete server address="$LAB_MTLS_4" json
assert_eq "$(cli_json '[(.deleted | join(",")), .remaining] | @tsv')" "$(printf '%s\t2' "$LAB_MTLS_4")" "... deleted and remaining as JSON"
assert_eq "$(cf '[.secureDnsServers[].displayName] | join(" ")')" "pdns1 pdns2" "... persisted"
cli_snapshot
assert_cli 1 "delete server (all) while enabled" delete server
assert_eq "$CLI_ERR" "ztdns: deleting every server would leave no server while ZTDNS is enabled, and every name would fail to resolve; add another server first, or disable ZTDNS with: ztdns set state enable=no" "... is refused with the explanation"
assert_unchanged "delete server (all) while enabled"
assert_cli 0 "delete server address=pdns2" delete server address="$LAB_PDNS2_4"
assert_eq "$CLI_OUT" "Deleted server $LAB_PDNS2_4; 1 server remains." "... one remains"
cli_snapshot
assert_cli 1 "delete server address= of the last server while enabled" delete server address="$LAB_PDNS1_4"
assert_contains "$CLI_ERR" "deleting server $LAB_PDNS1_4 would leave no server while ZTDNS is enabled" "... is refused with the explanation"
assert_unchanged "deleting the last server while enabled"
assert_cli 0 "add server type=doh (pdns2 back)" add server type=doh address="$LAB_PDNS2_4" template="https://$LAB_PDNS2_NAME$LAB_DOH_PATH" name=pdns2 priority=2
assert_cli 0 "set state enable=no" set state enable=no
assert_cli 0 "delete server (all) while disabled" delete server
assert_eq "$CLI_OUT" "Deleted 2 servers: $LAB_PDNS1_4, $LAB_PDNS2_4; 0 servers remain." "... deletes every server, as on Windows"
assert_eq "$(cf '.secureDnsServers | length')" 0 "... persisted"
assert_cli 0 "show server with none" show server
assert_eq "$CLI_OUT" "No trusted DNS servers are configured." "... says so"
assert_cli 0 "show server json with none" show server json
assert_eq "$(cli_json '.servers | length')" 0 "... an empty list"
assert_cli 0 "delete server (all) with none" delete server
assert_eq "$CLI_OUT" "There was no server to delete." "... says there was none"
cli_snapshot
assert_cli 1 "set state enable=yes without a server" set state enable=yes
assert_contains "$CLI_ERR" "cannot enable ZTDNS: no protective DNS server is configured" "... is refused with the reason"
assert_unchanged "enabling without a server"
assert_cli 0 "add server pdns1 (DoT)" add server type=dot address="$LAB_PDNS1_4" hostname="$LAB_PDNS1_NAME" priority=1 name=pdns1
assert_cli 0 "add server pdns2 (DoH)" add server type=doh address="$LAB_PDNS2_4" template="https://$LAB_PDNS2_NAME$LAB_DOH_PATH" priority=2 name=pdns2
assert_cli 0 "set state enable=yes audit=no" set state enable=yes audit=no

step "exceptions: add, show (name= present and absent), delete; the kernel follows"
assert_eq "$(web "$LAB_EXCEPTION4")" 000 "before: the exception target is refused"
cli_ops_mark
assert_cli 0 "add exception name=relay" add exception name=relay description="media relay" subnets="$LAB_EXCEPTION4/31,$LAB_EXCEPTION6"
assert_eq "$CLI_OUT" "Added exception relay with 2 prefixes." "... the answer"
nft_has "... exc4 has the IPv4 prefix" exc4 "$LAB_EXCEPTION4/31"
nft_has "... exc6 has the IPv6 address" exc6 "$LAB_EXCEPTION6"
assert_eq "$(web "$LAB_EXCEPTION4")" 200 "... the exception target is reachable without DNS (IPv4)"
assert_eq "$(web6 "$LAB_EXCEPTION6")" 200 "... and over IPv6"
assert_eq "$(cf '.exemptionRules[] | select(.displayName == "relay") | [.description, (.ipAddresses | join(","))] | @tsv')" \
  "$(printf 'media relay\t%s/31,%s' "$LAB_EXCEPTION4" "$LAB_EXCEPTION6")" "... persisted (a host prefix as a bare address)"
assert_ops "... Operational: exception added" 'Exceptions? relay|relay'
assert_cli 0 "add exception with host bits in a private prefix, json" add exception name=lan subnets=10.1.2.3/16 json
assert_eq "$(cli_json '[.name, (.subnets | join(","))] | @tsv')" "$(printf 'lan\t10.1.0.0/16')" "... stored normalised"
assert_contains "$CLI_ERR" "note: subnets: 10.1.2.3/16 has host bits set; it is stored as 10.1.0.0/16" "... with a note on the host bits"
assert_contains "$CLI_ERR" "is a private or link-local range" "... and on the private range"
cli_snapshot
assert_cli 2 "add exception with a prefix given twice" add exception name=twice subnets=203.0.113.40,203.0.113.40
assert_contains "$CLI_ERR" "subnets: 203.0.113.40 is given twice" "... is refused, naming the prefix"
assert_unchanged "a prefix given twice"
assert_cli 0 "add exception with a name that differs only in case" add exception name=RELAY subnets=203.0.113.202
assert_contains "$CLI_ERR" 'warning: name: "RELAY" differs from the existing exception "relay" only in case' "... warns"
assert_cli 0 "delete exception name=RELAY" delete exception name=RELAY
assert_cli 0 "add exception 0.0.0.0/0" add exception name=zero subnets=0.0.0.0/0
assert_contains "$CLI_ERR" "warning: subnets: 0.0.0.0/0 excepts every IPv4 destination: nothing is enforced for IPv4" "... warns that nothing is enforced for IPv4"
assert_eq "$(web "$LAB_IPONLY4")" 200 "... and indeed an unresolved address is reachable"
assert_cli 0 "resolve an address inside it" resolve "$LAB_LONGTTL_NAME"
assert_match "$CLI_OUT" "$LAB_LONGTTL_4 +yes \(exception zero\)" "... resolve says the exception allows it"
assert_cli 0 "delete exception name=zero" delete exception name=zero
assert_eq "$(web "$LAB_IPONLY4")" 000 "... refused again"
assert_cli 0 "add exception with a very broad prefix" add exception name=wide subnets=2001:db8::/15
assert_contains "$CLI_ERR" "warning: subnets: 2001:db8::/15 is very broad (shorter than /16 for IPv6)" "... warns"
assert_cli 0 "delete exception name=wide" delete exception name=wide
assert_cli 0 "show exception" show exception
assert_match "$(head -1 <<<"$CLI_OUT")" "^NAME +SUBNET +DESCRIPTION" "... a table"
assert_match "$CLI_OUT" "relay +$LAB_EXCEPTION4/31 +media relay" "... relay's first prefix and description"
assert_match "$CLI_OUT" "lan +10.1.0.0/16" "... and lan"
assert_cli 0 "show exception json" show exception json
assert_eq "$(cli_json '[.exceptions[].name] | join(" ")')" "relay lan" "... both as JSON"
assert_cli 0 "show exception name=relay json" show exception name=relay json
assert_eq "$(cli_json '[.exceptions[] | .name, .description, (.subnets | join(","))] | @tsv')" \
  "$(printf 'relay\tmedia relay\t%s/31,%s/128' "$LAB_EXCEPTION4" "$LAB_EXCEPTION6")" "... only relay"
assert_cli 0 "show exception Name=lan (keys in any case)" show exception Name=lan
assert_eq "$(wc -l <<<"$CLI_OUT")" 2 "... one exception"
assert_cli 1 "show exception name= of an absent exception" show exception name=nosuch
assert_contains "$CLI_ERR" 'no exception named "nosuch"' "... says so"
assert_cli 1 "show exception name= of an absent exception, json" show exception name=nosuch json
assert_cli 0 "delete exception name=lan" delete exception name=lan
assert_eq "$CLI_OUT" "Deleted exception lan." "... the answer"
nft_lacks "... exc4 no longer has 10.1.0.0/16" exc4 "10.1.0.0/16"
cli_ops_mark
assert_cli 0 "delete exception name=relay json" delete exception name=relay json
assert_eq "$(cli_json 'tojson')" "{}" "... an empty JSON result"
assert_eq "$(web "$LAB_EXCEPTION4")" 000 "... the exception target is refused again"
assert_eq "$(cf '.exemptionRules | length')" 0 "... persisted"
assert_ops "... Operational: exception removed" 'REMOVE.*relay'

step "trusted CAs: show, add (relative path), delete; the data plane follows"
assert_cli 0 "show trustedca" show trustedca
assert_match "$(head -1 <<<"$CLI_OUT")" "^FILE +SUBJECT +EXPIRES" "... a table"
assert_match "$CLI_OUT" "$LAB_CA +CN=ztdns lab CA $LAB_ID +[0-9-]+T[0-9:]+Z \(in " "... the lab CA with subject and expiry"
assert_contains "$CLI_OUT" "WARNING: CN=ztdns lab CA $LAB_ID in $LAB_CA expires in" "... warns: the lab CA expires within 14 days"
assert_cli 0 "show trustedca json" show trustedca json
assert_eq "$(cli_json '[.files[0].file, .files[0].certificates[0].subject, (.files[0].certificates[0].expiresInSeconds > 0)] | @tsv')" \
  "$(printf '%s\tCN=ztdns lab CA %s\ttrue' "$LAB_CA" "$LAB_ID")" "... the same as JSON"
assert_cli 0 "add server untrusted" add server type=dot address="$LAB_UNTRUSTED_4" hostname="$LAB_UNTRUSTED_NAME" name=untrusted priority=9
assert_cli 1 "resolve via the untrusted server fails" resolve "$LAB_WEB_NAME" server="$LAB_UNTRUSTED_4"
assert_match "$CLI_OUT" "Status SERVFAIL: every protective DNS server failed: .*untrusted.*(unknown CA|certificate)" "... and says why: the certificate's CA is not trusted"
assert_cli 1 "... json" resolve "$LAB_WEB_NAME" server="$LAB_UNTRUSTED_4" json
assert_eq "$(cli_json '[.rcode, .serverName, (.failure | startswith("every protective DNS server failed: "))] | @tsv')" "$(printf 'SERVFAIL\t\ttrue')" "... the reason in failure, serverName left for names"
cli_ops_mark
pushd "$LAB_CERT_DIR" >/dev/null
cli_run add trustedca file=untrusted-ca.pem
popd >/dev/null
assert_eq "$CLI_RC" 0 "add trustedca file=RELATIVE (exit 0)"
assert_eq "$CLI_OUT" "Trusted CA file added: $LAB_UNTRUSTED_CA." "... made absolute by the CLI"
assert_eq "$(cf '.rootCertificatesForServerValidation | join(" ")')" "$LAB_CA $LAB_UNTRUSTED_CA" "... persisted"
assert_ops "... Operational: configuration updated" 'rootCertificatesForServerValidation'
assert_cli 0 "resolve via the untrusted server now works" resolve "$LAB_WEB_NAME" server="$LAB_UNTRUSTED_4"
assert_contains "$CLI_OUT" "Status NOERROR from untrusted ($LAB_UNTRUSTED_4:853, DoT)" "... the data plane trusts the new CA"
assert_cli 0 "delete trustedca json" delete trustedca file="$LAB_UNTRUSTED_CA" json
assert_eq "$(cli_json '[.files[].file] | join(" ")')" "$LAB_CA" "... the remaining files as JSON"
assert_cli 1 "resolve via the untrusted server fails again" resolve "$LAB_WEB_NAME" server="$LAB_UNTRUSTED_4"
assert_cli 0 "add trustedca json" add trustedca file="$LAB_UNTRUSTED_CA" json
assert_eq "$(cli_json '[.files[].file] | join(" ")')" "$LAB_CA $LAB_UNTRUSTED_CA" "... the files as JSON"
assert_cli 0 "delete trustedca" delete trustedca file="$LAB_UNTRUSTED_CA"
assert_eq "$CLI_OUT" "Trusted CA file removed: $LAB_UNTRUSTED_CA." "... the answer"
assert_cli 0 "delete server untrusted" delete server address="$LAB_UNTRUSTED_4"

step "client certificate: show (none), add, show, delete; mTLS follows"
assert_cli 0 "show clientcert (none)" show clientcert
assert_eq "$CLI_OUT" "No client certificate is configured: the servers are reached without mTLS." "... says so"
assert_cli 0 "show clientcert json (none)" show clientcert json
assert_eq "$(cli_json .configured)" false "... configured: false"
assert_cli 0 "add server mtls" add server type=dot address="$LAB_MTLS_4" hostname="$LAB_MTLS_NAME" name=mtls priority=9
assert_cli 1 "resolve via mtls without a client certificate fails" resolve "$LAB_WEB_NAME" server="$LAB_MTLS_4"
assert_match "$CLI_OUT" "Status SERVFAIL: every protective DNS server failed: .*mtls" "... and names the server that failed"
cli_ops_mark
assert_cli 0 "add clientcert" add clientcert certfile="$LAB_CLIENT_CERT" keyfile="$LAB_CLIENT_KEY"
assert_contains "$CLI_OUT" "Client certificate set; the servers will be reached with mTLS." "... the answer"
assert_ops "... Operational: configuration updated" 'clientCertificate'
assert_eq "$(cf '[.clientCertificate.certificateFile, .clientCertificate.privateKeyFile] | @tsv')" "$(printf '%s\t%s' "$LAB_CLIENT_CERT" "$LAB_CLIENT_KEY")" "... persisted"
assert_cli 0 "resolve via mtls now works" resolve "$LAB_WEB_NAME" server="$LAB_MTLS_4"
assert_contains "$CLI_OUT" "Status NOERROR from mtls" "... the data plane presents the certificate"
assert_cli 0 "show clientcert" show clientcert
assert_match "$CLI_OUT" "Certificate file: +$LAB_CLIENT_CERT" "... the certificate file"
assert_match "$CLI_OUT" "Key file: +$LAB_CLIENT_KEY" "... the key file"
assert_match "$CLI_OUT" "Subject: +CN=ztdns lab client" "... subject"
assert_match "$CLI_OUT" "Issuer: +CN=ztdns lab CA $LAB_ID" "... issuer"
assert_match "$CLI_OUT" "EKUs: +clientAuth" "... EKUs"
assert_match "$CLI_OUT" "Expires: +[0-9-]+T[0-9:]+Z \(in " "... expiry"
assert_match "$CLI_OUT" "Key matches: +yes" "... the key matches"
assert_match "$CLI_OUT" "WARNING: the client certificate expires in .* renew it" "... warns: the lab certificate expires within 14 days"
assert_cli 0 "show clientcert json" show clientcert json
assert_eq "$(cli_json '[.configured, .keyMatches, (.certificate.ekus | join(",")), .certificate.subject, (.certificate.expiresInSeconds < 14*86400)] | @tsv')" \
  "$(printf 'true\ttrue\tclientAuth\tCN=ztdns lab client\ttrue')" "... the same as JSON"
assert_cli 0 "delete clientcert" delete clientcert
assert_eq "$CLI_OUT" "Client certificate removed; the servers are reached without mTLS." "... the answer"
assert_eq "$(cf .clientCertificate)" null "... persisted"
assert_cli 1 "resolve via mtls fails again" resolve "$LAB_WEB_NAME" server="$LAB_MTLS_4"
assert_cli 0 "add clientcert json" add clientcert certfile="$LAB_CLIENT_CERT" keyfile="$LAB_CLIENT_KEY" json
assert_eq "$(cli_json '[.configured, .certFile] | @tsv')" "$(printf 'true\t%s' "$LAB_CLIENT_CERT")" "... the certificate as JSON"
assert_cli 0 "delete clientcert json" delete clientcert json
assert_eq "$(cli_json 'tojson')" "{}" "... an empty JSON result"
assert_cli 0 "delete server mtls" delete server address="$LAB_MTLS_4"

step "resolve NAME [type=] [server=]"
assert_cli 0 "resolve www.allowed.test" resolve "$LAB_WEB_NAME"
assert_match "$(head -1 <<<"$CLI_OUT")" "^NAME +TTL +TYPE +DATA" "... a records table"
assert_match "$CLI_OUT" "$LAB_WEB_NAME\. +[0-9]+ +A +$LAB_WEB4" "... the A record with its TTL"
assert_match "$CLI_OUT" "Status NOERROR from pdns1 \($LAB_PDNS1_4:853, DoT\)( in [0-9.]+ ms)?" "... the server, protocol and round trip"
assert_match "$CLI_OUT" "$LAB_WEB4 +yes +[0-9]+m" "... the address is allowed, with the time left"
nft_has "... and in the kernel's allow set" allow4 "$LAB_WEB4"
assert_eq "$(web "$LAB_WEB4")" 200 "... so a connection to it works (enforcing)"
assert_cli 0 "resolve type=AAAA json" resolve "$LAB_WEB_NAME" type=AAAA json
assert_eq "$(cli_json '[.rcode, .answers[0].type, .answers[0].data, .addresses[0].allowed, (.addresses[0].remainingSeconds > 0), .protocol, .serverName] | @tsv')" \
  "$(printf 'NOERROR\tAAAA\t%s\ttrue\ttrue\tDoT\tpdns1' "$LAB_WEB6")" "... the AAAA record, allowed, as JSON"
assert_cli 0 "resolve type=txt (any case) server=pdns2" resolve id.test type=txt server="$LAB_PDNS2_4"
assert_match "$CLI_OUT" 'id\.test\. +[0-9]+ +TXT +"pdns2"' "... asked pdns2 directly"
assert_contains "$CLI_OUT" "Status NOERROR from pdns2 ($LAB_PDNS2_4:443, DoH)" "... over its DoH transport"
assert_cli 0 "resolve a name with HTTPS address hints" resolve "$LAB_SVCB_NAME" type=HTTPS
assert_match "$(grep -E '^ADDRESS' <<<"$CLI_OUT")" "^ADDRESS +FROM +ALLOWED +REMAINING" "... the addresses table has a FROM column"
assert_match "$CLI_OUT" "$LAB_SVCB_4 +ipv4hint +yes +[0-9]+m" "... the ipv4hint is listed, allowed"
assert_match "$CLI_OUT" "$LAB_SVCB_6 +ipv6hint +yes +[0-9]+m" "... and the ipv6hint"
nft_has "... the hint is in the kernel's allow set" allow4 "$LAB_SVCB_4"
assert_cli 0 "... json" resolve "$LAB_SVCB_NAME" type=HTTPS json
assert_eq "$(cli_json '[.addresses[] | .source + "/" + .verdict] | join(" ")')" "ipv4hint/resolved ipv6hint/resolved" "... source and verdict of each hint"
assert_cli 0 "resolve a loopback answer" resolve "$LAB_LOOPBACK_NAME"
assert_match "$CLI_OUT" "127\.0\.0\.1 +yes \(loopback: loopbackTrafficBlocked=false\) +-" "... loopback is allowed by the loopback switch"
assert_cli 0 "resolve a multicast answer" resolve "$LAB_MCAST_NAME"
assert_match "$CLI_OUT" "233\.252\.0\.1 +no \(multicast or broadcast: never allowed\)" "... multicast is never allowed"
assert_cli 0 "resolve a CNAME chain" resolve "$LAB_CHAIN_NAME"
assert_match "$CLI_OUT" "$LAB_CHAIN_NAME\. +[0-9]+ +CNAME +edge\.cdn-a\.test\." "... the chain's CNAMEs"
assert_match "$CLI_OUT" "$LAB_CHAIN4 +yes " "... the final address is allowed"
assert_cli 1 "resolve a blocked name (NXDOMAIN exits 1)" resolve "$LAB_BLOCKED_NAME"
assert_contains "$CLI_OUT" "Status NXDOMAIN" "... the status"
assert_cli 1 "resolve a blocked name json" resolve "$LAB_BLOCKED_NAME" json
assert_eq "$(cli_json .rcode)" NXDOMAIN "... the rcode as JSON"
assert_cli 1 "resolve server= that is not configured" resolve "$LAB_WEB_NAME" server="$LAB_ROGUE4"
assert_contains "$CLI_ERR" "server $LAB_ROGUE4 is not configured" "... refused: only configured servers are asked"

step "log show blocked|permitted|operational, log set permitted"
assert_eq "$(web "$LAB_IPONLY4")" 000 "a connection to an unresolved address is refused (enforcing)"
blocked_row() { lab_ztdns log show blocked dst="$LAB_IPONLY4" 2>/dev/null | grep -q "BLOCK"; }
assert_eventually 5 "... and shows up in log show blocked" blocked_row
assert_cli 0 "log show blocked dst=" log show blocked dst="$LAB_IPONLY4"
assert_match "$(head -1 <<<"$CLI_OUT")" "^TIME +ACTION +PROTO +SOURCE +DESTINATION +PROCESS +UNIT" "... a table"
assert_match "$CLI_OUT" "BLOCK +tcp +$LAB_CLIENT4:[0-9]+ +$LAB_IPONLY4:80 +/usr/bin/curl \([0-9]+\)" "... the blocked curl"
assert_cli 0 "log show blocked dst=PREFIX process=curl since=1h json" log show blocked dst=203.0.113.0/24 process=curl since=1h json
assert_eq "$(jq -r 'select(.dst == "'"$LAB_IPONLY4"'") | [.action, .protocol, .dstPort, .process] | @tsv' <<<"$CLI_OUT" | tail -1)" \
  "$(printf 'BLOCK\ttcp\t80\t/usr/bin/curl')" "... JSON lines as in the channel file"
assert_cli 0 "log show blocked process= that never ran" log show blocked process=nosuchprogram
assert_eq "$CLI_OUT" "No matching events." "... nothing"
assert_cli 0 "log show operational limit=2" log show operational limit=2
assert_match "$(head -1 <<<"$CLI_OUT")" "^TIME +EVENT +ACTION +MESSAGE" "... a table"
assert_eq "$(($(wc -l <<<"$CLI_OUT") - 1))" 2 "... the newest two events"
assert_contains "$CLI_ERR" "note: only the newest 2 matching events are shown" "... and a note that there are more"
assert_cli 0 "log show operational json" log show operational json
assert_eq "$(jq -rs 'map(select(.action == "START")) | length > 0' <<<"$CLI_OUT")" true "... JSON lines, with the START event"
assert_cli 0 "log show permitted while the channel is off" log show permitted
assert_eq "$CLI_OUT" "No matching events." "... nothing"
cli_ops_mark
assert_cli 0 "log set permitted enable=yes" log set permitted enable=yes
assert_eq "$CLI_OUT" "The PermittedConnections log is now on." "... the answer"
assert_eq "$(cf .permittedConnectionsLogEnabled)" true "... persisted"
assert_ops "... Operational: configuration updated" 'permittedConnectionsLogEnabled'
assert_cli 0 "show state" show state
assert_match "$CLI_OUT" "PermittedConnections log: +on" "... show state says so"
assert_eq "$(web "$LAB_WEB4")" 200 "a connection to a resolved address"
permitted_row() { lab_ztdns log show permitted dst="$LAB_WEB4" 2>/dev/null | grep -q "PERMIT"; }
assert_eventually 5 "... shows up in log show permitted" permitted_row
assert_cli 0 "log show permitted dst= json" log show permitted dst="$LAB_WEB4" json
assert_eq "$(jq -r '.reason.type' <<<"$CLI_OUT" | tail -1)" resolved "... permitted because it was resolved"
assert_cli 0 "log set permitted enable=no json" log set permitted enable=no json
assert_eq "$(cli_json '[.channel, .enabled] | @tsv')" "$(printf 'permitted\tfalse')" "... the switch as JSON"
assert_eq "$(cf .permittedConnectionsLogEnabled)" false "... persisted"

step "show stats"
# ztdns resolve is not a client query; an application's lookup through resolv.conf is.
assert_eq "$(lab_client curl -4 -sS --max-time 5 "http://$LAB_WEB_NAME/")" "$LAB_WEB4" "an application resolves through the stub and connects"
assert_cli 0 "show stats" show stats
assert_match "$(head -1 <<<"$CLI_OUT")" "^COUNTER +VALUE" "... a table"
for row in "queries" "cache hits" "servfail: no servers" "servfail: all servers failed" "servfail: timeout" \
  "servfail: bad answer" "servfail: allow insert failed" "allow set: inserted" "allow set: evicted" \
  "connections blocked" "connections audited \(would block\)" "connections permitted"; do
  assert_match "$CLI_OUT" "$row +[0-9]+" "... row: $row"
done
assert_cli 0 "show stats json" show stats json
assert_eq "$(cli_json '[(.queries.total > 0), (.allowSet.inserted > 0), (.allowSet.size > 0), (.connections.blocked > 0), (.servfail | has("allServersFailed"))] | @tsv')" \
  "$(printf 'true\ttrue\ttrue\ttrue\ttrue')" "... counters that counted this test's query, inserts and blocks"

step "show server and show state: health, last RTT, last error"
assert_cli 0 "show server" show server
assert_match "$CLI_OUT" "pdns1 +DoT +$LAB_PDNS1_4 +853 +1 +up +[0-9.]+ ms " "pdns1 is up, with the RTT of its last answer"
lab_pdns_stop pdns1
assert_eq "$(lab_client kdig @127.0.0.1 +short +timeout=10 +retry=0 "$LAB_V4ONLY_NAME" A)" "$LAB_V4ONLY_4" "with pdns1 stopped, a client query fails over to pdns2"
assert_cli 0 "show server" show server
assert_match "$CLI_OUT" "pdns1 +DoT +$LAB_PDNS1_4 +853 +1 +down .*connect: connection refused" "... pdns1 is down, with the last error"
assert_cli 0 "show server json" show server json
assert_eq "$(cli_json '.servers[] | select(.name == "pdns1") | .transports[0] | [.healthy, .lastError] | @tsv')" \
  "$(printf 'false\tconnect: connection refused')" "... the same as JSON"
assert_eq "$(cli_json '.servers[] | select(.name == "pdns2") | .transports[0] | [.healthy, (.lastRttMs > 0)] | @tsv')" \
  "$(printf 'true\ttrue')" "... pdns2 up, with its last RTT"
assert_cli 0 "show state" show state
assert_match "$CLI_OUT" "Servers healthy: +1 of 2" "... show state counts 1 of 2 healthy"
lab_pdns_start pdns1

step "reload"
cli_ops_mark
assert_cli 0 "reload (the file is what runs)" reload
assert_eq "$CLI_OUT" "Configuration reloaded." "... the answer"
assert_ops "... Operational: reloaded" "reloaded $conf"
assert_cli 0 "reload json" reload json
assert_eq "$(cli_json 'tojson')" "{}" "... an empty JSON result"

finish
