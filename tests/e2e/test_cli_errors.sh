#!/usr/bin/env bash
# Every error path of the CLI and the control plane against a running, enforcing ztdnsd:
# usage errors (exit 2) caught by the CLI, bad values only the daemon can check (exit 2 too,
# named by the argument the user gave, not by the config file's field path), refusals by the
# daemon (exit 1: conflicts, things not found), malformed protocol requests, and failures in
# the middle of the commit sequence (the kernel refuses the policy; the config file cannot be
# saved). Each one names what is wrong, and after each one the running policy
# (nft -s list table inet ztdns), the config file and the daemon's settings are byte for byte
# what they were.
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/assert.sh"
. "$here/lib/lab.sh"
. "$here/lib/cli.sh"
require_lab

lab_up
mkdir -p "$LAB_DIR/etc"
conf=$LAB_DIR/etc/ztdns.json
lab_config_write "$conf" --server pdns1:dot --server pdns2:doh enabled=true auditModeEnabled=false \
  "exemptionRules=[{\"displayName\": \"relay\", \"ipAddresses\": [\"$LAB_EXCEPTION4/32\"]}]"
lab_ztdnsd_start "$conf"
# The first commit rewrites the file in the daemon's own format; start from that one.
assert_cli 0 "log set permitted enable=yes" log set permitted enable=yes
assert_cli 0 "log set permitted enable=no" log set permitted enable=no

web() { lab_client curl -sS --max-time 3 -o /dev/null -w '%{http_code}' "http://$1/" 2>/dev/null || true; }
# The settings as the daemon reports them are part of "unchanged" too.
_settings() { lab_ztdns show settings 2>/dev/null || echo "unreachable"; }
snap() { cli_snapshot; _settings >"$LAB_DIR/snap.settings"; }
unchanged() {
  assert_unchanged "$1"
  assert_eq "$(_settings)" "$(cat "$LAB_DIR/snap.settings")" "... and so is show settings"
}
# refused RC MSG NEEDLE ARGS...: the CLI exits RC, its error contains NEEDLE, nothing changed.
refused() {
  local rc=$1 m=$2 needle=$3
  shift 3
  snap
  assert_cli "$rc" "$m" "$@"
  assert_contains "$CLI_ERR" "$needle" "... the error names it: $needle"
  unchanged "$m"
}
# usage RC MSG NEEDLE ARGS...: refused, and a usage error points at the verb's help.
usage() {
  refused 2 "$@"
  assert_contains "$CLI_ERR" "help' for usage." "... and points at the help"
}

step "usage errors: the CLI names the bad argument and exits 2"
usage "a prefix longer than the address" 'subnets: "10.0.0.0/33" is not a prefix' add exception name=lan subnets=10.0.0.0/33
usage "an empty entry in subnets" 'subnets: "203.0.113.0/24," has an empty entry' add exception name=x subnets=203.0.113.0/24,
usage "an exception without subnets" 'subnets: required (subnets=CIDR[,CIDR...])' add exception name=x
usage "an exception without a name" 'name: required (name=NAME)' add exception subnets=203.0.113.0/24
many=$(for i in $(seq 0 250); do printf '203.0.113.%d,2001:db8:200::%x,' $((i % 256)) "$i"; done)
usage "more than 500 prefixes" 'subnets: 502 prefixes; at most 500 are allowed' add exception name=x subnets="${many%,}"
usage "a server address that is not an address" 'address: "1.2.3" is not an IP address' add server type=dot address=1.2.3 hostname=x.test
usage "port 0" 'port: "0" is not a port (1-65535)' add server type=dot address="$LAB_MTLS_4" hostname=x.test port=0
usage "port 70000" 'port: "70000" is not a port (1-65535)' add server type=dot address="$LAB_MTLS_4" hostname=x.test port=70000
usage "priority 0" 'priority: "0" is not a whole number from 1 to 1000' add server type=dot address="$LAB_MTLS_4" hostname=x.test priority=0
usage "an unknown server type" 'type: "dns" is not dot or doh' add server type=dns address="$LAB_MTLS_4"
usage "DoT without hostname" 'hostname: required with type=dot (hostname=NAME)' add server type=dot address="$LAB_MTLS_4"
usage "DoT with a template" 'template: not used with type=dot' add server type=dot address="$LAB_MTLS_4" hostname=x.test template=https://x.test/q
usage "DoH with a hostname" 'hostname: not used with type=doh' add server type=doh address="$LAB_MTLS_4" hostname=x.test template=https://x.test/q
usage "DoH without a template" 'template: required with type=doh' add server type=doh address="$LAB_MTLS_4"
usage "a template that is not https" 'template: "http://x.test/q" is not an https:// URL with a host' add server type=doh address="$LAB_MTLS_4" template=http://x.test/q
usage "a hostname that is not a name" 'hostname: ' add server type=dot address="$LAB_MTLS_4" hostname='bad name'
usage "an unknown argument" '"colour": unknown argument for "add server" (expected type, address, port, hostname, template, priority, name)' add server colour=red
usage "an argument given twice" 'port: given twice' add server type=dot address="$LAB_MTLS_4" hostname=x.test port=853 port=854
usage "a key without a value" 'name: needs a value (name=...)' delete exception name
usage "an empty value" 'name: must not be empty' delete exception name=
usage "enable=maybe" 'enable: "maybe" is not yes or no' set state enable=maybe
usage "set state without enable" 'enable: required (enable=yes|no)' set state audit=yes
usage "set something else" 'unknown object "colour" (only state can be set)' set colour
usage "delete server address=bad" 'address: "bad" is not an IP address' delete server address=bad
usage "add without an object" 'what to add? server, exception, trustedca or clientcert' add
usage "delete an unknown object" 'unknown object "everything"' delete everything
usage "show an unknown object" 'unknown object "nothing" (state, settings, server, exception, clientcert, trustedca, stats)' show nothing
usage "show server address=bad" 'address: "10.0.0.300" is not an IP address' show server address=10.0.0.300
usage "show state with an argument" '"colour": unknown argument for "show state" (it takes none)' show state colour=red
usage "add trustedca without file" 'file: required (file=PEM)' add trustedca
usage "add clientcert without keyfile" 'keyfile: required (keyfile=PEM)' add clientcert certfile="$LAB_CLIENT_CERT"
usage "log show an unknown channel" 'unknown channel "nothing" (blocked, permitted or operational)' log show nothing
usage "log show since=forever" 'since: "forever" is not a duration' log show blocked since=forever
usage "log show dst=bad" 'dst: "300.0.0.0" is not an IP address or prefix' log show blocked dst=300.0.0.0
usage "log show limit=0" 'limit: "0" is not a whole number from 1 to 1000000' log show blocked limit=0
usage "log set another channel" 'only the permitted channel can be switched' log set blocked enable=yes
usage "log set without enable" 'enable: required (enable=yes|no)' log set permitted
usage "resolve a bad name" 'name: "bad..name" has an empty label' resolve bad..name
usage "resolve without a name" 'name: required (ztdns resolve NAME)' resolve
usage "resolve type=NOPE" 'type: ' resolve "$LAB_WEB_NAME" type=NOPE
usage "resolve server=bad" 'server: "bad" is not an IP address' resolve "$LAB_WEB_NAME" server=bad
usage "diagnose since=0" 'since: must be longer than 0s' diagnose since=0
usage "diagnose port=0" 'port: "0" is not a port (1-65535)' diagnose port=0
usage "suggest exceptions min=0" 'min: "0" is not a whole number from 1 to 1000000000' suggest exceptions min=0
usage "suggest something else" 'suggest what?' suggest servers
refused 2 "an unknown verb" 'unknown verb "frobnicate"' frobnicate
refused 2 "--timeout that is not a number" '--timeout: "soon" is not a number of seconds (0.1 to 3600)' --timeout=soon show state
refused 2 "--timeout out of range" '--timeout: "0" is not a number of seconds (0.1 to 3600)' --timeout 0 show state
refused 2 "an unknown option before the verb" 'ztdns: unknown option "--bogus" (before the verb: --socket PATH, --json, --timeout SECONDS, --version, --help)' --bogus show state
refused 2 "an empty --socket" '--socket: the path must not be empty' --socket "" show state
usage "add exception with a prefix given twice" 'subnets: 203.0.113.40 is given twice' add exception name=x subnets=203.0.113.40,203.0.113.40
usage "add exception with the same prefix written twice" 'subnets: 203.0.113.41/31 and 203.0.113.40/31 are the same prefix (203.0.113.40/31)' add exception name=x subnets=203.0.113.41/31,203.0.113.40/31

step "values only the daemon can check: usage errors (exit 2) that name the argument, nothing changed"
printf 'not a certificate\n' >"$LAB_DIR/garbage.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-128-cbc -pass pass:secret -out "$LAB_DIR/encrypted.key" 2>/dev/null
openssl req -new -x509 -key "$LAB_DIR/encrypted.key" -passin pass:secret -subj /CN=enc -days 30 -out "$LAB_DIR/encrypted.pem" 2>/dev/null
usage "add trustedca of a file that does not exist" "file: $LAB_DIR/nosuch.pem does not exist" add trustedca file="$LAB_DIR/nosuch.pem"
usage "add trustedca of a file without a certificate" "ztdns add trustedca: file: \"$LAB_DIR/garbage.pem\" holds no PEM certificate" add trustedca file="$LAB_DIR/garbage.pem"
assert_not_contains "$CLI_ERR" "rootCertificatesForServerValidation" "... in the CLI's words, not the config file's"
usage "add clientcert with a key that is not the certificate's" "ztdns add clientcert: keyfile: \"$LAB_CERT_DIR/pdns1.key\" does not belong to the certificate" add clientcert certfile="$LAB_CLIENT_CERT" keyfile="$LAB_CERT_DIR/pdns1.key"
usage "add clientcert with an encrypted key" "keyfile: \"$LAB_DIR/encrypted.key\"" add clientcert certfile="$LAB_DIR/encrypted.pem" keyfile="$LAB_DIR/encrypted.key"
assert_contains "$CLI_ERR" "encrypted" "... says the key is encrypted"
usage "add clientcert with a key file that does not exist" "keyfile: $LAB_DIR/nosuch.key does not exist" add clientcert certfile="$LAB_CLIENT_CERT" keyfile="$LAB_DIR/nosuch.key"
usage "add clientcert with a certificate file that is not one" "certfile: \"$LAB_DIR/garbage.pem\" holds no PEM certificate" add clientcert certfile="$LAB_DIR/garbage.pem" keyfile="$LAB_CLIENT_KEY"
assert_not_contains "$CLI_ERR" "clientCertificate" "... in the CLI's words"
usage "add server at a multicast address" "ztdns add server: address: 233.252.0.1 is not a unicast address a server can have" add server type=dot address=233.252.0.1 hostname=x.test
usage "add server at 0.0.0.0" "address: 0.0.0.0 is not a unicast address a server can have" add server type=dot address=0.0.0.0 hostname=a.test
assert_not_contains "$CLI_ERR" "secureDnsServers" "... in the CLI's words"
usage "add server at an IPv4-mapped address" "address: ::ffff:198.51.100.60 is an IPv4-mapped address; use 198.51.100.60" add server type=dot address=::ffff:198.51.100.60 hostname=a.test
usage "add server at the IPv4-mapped form of a configured server" "address: ::ffff:$LAB_PDNS1_4 is an IPv4-mapped address; use $LAB_PDNS1_4" add server type=dot address="::ffff:$LAB_PDNS1_4" hostname="$LAB_PDNS1_NAME"
usage "add exception with an IPv4-mapped prefix" "subnets: ::ffff:203.0.113.9/128 is an IPv4-mapped prefix; use 203.0.113.9/32" add exception name=mapped subnets=203.0.113.8,::ffff:203.0.113.9
nft_lacks "... nothing of it in exc4" exc4 "203.0.113.8"

step "refusals by the daemon: exit 1, in words, nothing changed"
refused 1 "add trustedca of a CA already trusted" "$LAB_CA is already a trusted CA file" add trustedca file="$LAB_CA"
refused 1 "delete trustedca of a file not trusted" "$LAB_UNTRUSTED_CA is not a trusted CA file" delete trustedca file="$LAB_UNTRUSTED_CA"
refused 1 "delete clientcert when there is none" "no client certificate is configured" delete clientcert
refused 1 "add exception with a name that exists" 'an exception named "relay" exists already; delete it first or choose another name' add exception name=relay subnets=203.0.113.0/24
refused 1 "delete exception that does not exist" 'no exception named "nosuch" (see ztdns show exception)' delete exception name=nosuch
refused 1 "add server with a transport it has" "server $LAB_PDNS1_4 already has DoT (port 853); delete the server first to change it" add server type=dot address="$LAB_PDNS1_4" hostname="$LAB_PDNS1_NAME"
refused 1 "add server with a name another server has" 'a server named "pdns1" exists already' add server type=dot address="$LAB_MTLS_4" hostname="$LAB_MTLS_NAME" name=pdns1
refused 1 "delete server that does not exist" "no server with address 198.51.100.99 is configured (see ztdns show server)" delete server address=198.51.100.99
refused 1 "delete every server while enabled" "deleting every server would leave no server while ZTDNS is enabled" delete server
refused 1 "resolve through a server that is not configured" "server $LAB_ROGUE4 is not configured" resolve "$LAB_WEB_NAME" server="$LAB_ROGUE4"
refused 1 "show server address= absent" "no server with address 198.51.100.99 is configured" show server address=198.51.100.99
refused 1 "show exception name= absent" 'no exception named "nosuch"' show exception name=nosuch

step "malformed requests on the socket (raw protocol): named, answered, nothing changed"
sock=$LAB_ZTDNSD_RUN_DIR/control.sock
raw() { printf '%s\n' "$1" | lab_client socat -t 5 - "UNIX-CONNECT:$sock"; }
raw_refused() {  # MSG REQUEST CODE NEEDLE
  local out
  snap
  out=$(raw "$2")
  assert_eq "$(jq -r '[.ok, .code] | @tsv' <<<"$out")" "$(printf 'false\t%s' "$3")" "$1: refused with $3"
  assert_contains "$(jq -r .error <<<"$out")" "$4" "... the error names it: $4"
  unchanged "$1"
}
raw_refused "a prefix the CLI would have caught" '{"version":1,"id":1,"method":"add.exception","params":{"name":"x","subnets":["10.0.0.0/33"]}}' \
  invalid-params 'params.subnets[0]: "10.0.0.0/33" is not a prefix'
raw_refused "port 0" '{"version":1,"id":2,"method":"add.server","params":{"type":"dot","address":"198.51.100.60","port":0,"hostname":"x.test"}}' \
  invalid-params 'params.port: expected an integer from 1 to 65535, got 0'
raw_refused "an unknown params field" '{"version":1,"id":3,"method":"delete.exception","params":{"name":"relay","force":true}}' \
  invalid-params 'force'
raw_refused "a relative CA path" '{"version":1,"id":4,"method":"add.trustedca","params":{"file":"ca.pem"}}' \
  invalid-params 'params.file'
raw_refused "not JSON" 'add exception please' bad-request 'not valid JSON'
raw_refused "protocol version 2" '{"version":2,"id":5,"method":"set.state","params":{"enable":false}}' unsupported-version 'protocol version 2 is not supported'
raw_refused "an unknown method" '{"version":1,"id":6,"method":"drop.table"}' unknown-method 'unknown method "drop.table"'
raw_refused "an unknown envelope field" '{"version":1,"id":7,"method":"set.state","params":{"enable":false},"sudo":true}' bad-request 'sudo'
raw_refused "nesting too deep" "{\"version\":1,\"id\":8,\"method\":\"add.exception\",\"params\":$(printf '[%.0s' $(seq 40))$(printf ']%.0s' $(seq 40))}" bad-request 'deep'
assert_eq "$(raw '{"version":1,"id":9,"method":"ping"}' | jq -r '[.ok, .result.pid] | @tsv')" "$(printf 'true\t%s' "$LAB_ZTDNSD_PID")" "the daemon still answers"

step "the kernel refuses the new policy: the data plane is rolled back too"
# An administrator's chain in table inet ztdns uses the exception set, which every apply
# replaces: the kernel refuses the whole transaction (EBUSY).
lab_client nft add chain inet ztdns intruder
lab_client nft add rule inet ztdns intruder ip daddr @exc4 accept
cli_ops_mark
refused 1 "add server while the kernel refuses" "the kernel refused the new policy, the previous one stays: nftables: ztdns-policy:" \
  add server type=dot address="$LAB_MTLS_4" hostname="$LAB_MTLS_NAME" name=mtls
assert_contains "$CLI_ERR" "Error: Could not process rule: Device or resource busy | delete set inet ztdns exc4" "... the kernel's error and the command it refused"
assert_ops "... Operational: the enforcement error" '"action":"ERROR".*Device or resource busy'
assert_cli 1 "... the server did not reach the data plane" resolve "$LAB_WEB_NAME" server="$LAB_MTLS_4"
assert_contains "$CLI_ERR" "is not configured" "... (not configured)"
refused 1 "add exception while the kernel refuses" "the kernel refused the new policy" add exception name=x subnets=203.0.113.0/24
refused 1 "set state audit while the kernel refuses" "the kernel refused the new policy" set state enable=yes audit=yes
lab_client nft delete chain inet ztdns intruder
assert_cli 0 "the same change applies once the chain is gone" add exception name=x subnets=203.0.113.0/24
assert_cli 0 "... and goes again" delete exception name=x

step "the config file cannot be saved: the kernel change is undone"
# The config's directory becomes read-only for the daemon alone (its own mount namespace).
ro() { nsenter -t "$LAB_ZTDNSD_PID" -m mount --bind -o ro "$LAB_DIR/etc" "$LAB_DIR/etc"; }
rw() { nsenter -t "$LAB_ZTDNSD_PID" -m umount "$LAB_DIR/etc"; }
ro
assert_fails "the daemon cannot write there" nsenter -t "$LAB_ZTDNSD_PID" -m touch "$LAB_DIR/etc/probe"
refused 1 "add exception while the file cannot be saved" "cannot save $conf, nothing changed" add exception name=x subnets=203.0.113.0/24
assert_contains "$CLI_ERR" "Read-only file system" "... with the reason"
assert_eq "$(web 203.0.113.1)" 000 "... the exception is not in force"
refused 1 "disable while the file cannot be saved" "cannot save $conf, nothing changed" set state enable=no
refused 1 "audit mode while the file cannot be saved" "cannot save $conf, nothing changed" set state enable=yes audit=yes
rw
assert_cli 0 "set state enable=no once the file can be saved" set state enable=no
ro
refused 1 "enable while the file cannot be saved (the new table goes again)" "cannot save $conf, nothing changed" set state enable=yes
assert_eq "$(lab_client nft list table inet ztdns >/dev/null 2>&1 && echo present || echo absent)" absent "... no table inet ztdns"
rw
assert_cli 0 "set state enable=yes once the file can be saved" set state enable=yes

step "a reload of a bad file is refused and changes nothing"
cp "$conf" "$LAB_DIR/good.json"
jq '.secureDnsServers[0].ipAddress = "198.51.100.999"' "$LAB_DIR/good.json" >"$conf"
refused 1 "reload of an invalid file" 'secureDnsServers[0].ipAddress: "198.51.100.999" is not an IP address' reload
assert_contains "$CLI_ERR" "$conf" "... names the file"
cp "$LAB_DIR/good.json" "$conf"

step "a CA file deleted since it was added locks out no change (a tester's find)"
cp "$LAB_CA" "$LAB_DIR/ca2.pem"
assert_cli 0 "add trustedca of a second CA file" add trustedca file="$LAB_DIR/ca2.pem"
rm "$LAB_DIR/ca2.pem"
assert_cli 0 "add exception after the file was deleted" add exception name=afterrm subnets=203.0.113.250
assert_contains "$CLI_ERR" "warning: the config already had this problem: rootCertificatesForServerValidation[1]: \"$LAB_DIR/ca2.pem\" does not exist" "... warns about the config's problem"
assert_contains "$CLI_ERR" "(remove it from the config with: ztdns delete trustedca file=$LAB_DIR/ca2.pem)" "... and names the fix"
assert_cli 0 "set state enable=no works too" set state enable=no
assert_eq "$(lab_client nft list table inet ztdns >/dev/null 2>&1 && echo present || echo absent)" absent "... the table is gone"
assert_cli 0 "delete trustedca of the missing file" delete trustedca file="$LAB_DIR/ca2.pem"
assert_not_contains "$CLI_ERR" "warning" "... and the warning is gone"
assert_cli 0 "set state enable=yes audit=no again" set state enable=yes audit=no
assert_cli 0 "delete exception afterrm" delete exception name=afterrm

step "a CA file and a client key both deleted: every change, and each fix, still works"
cp "$LAB_CA" "$LAB_DIR/ca3.pem"
cp "$LAB_CLIENT_CERT" "$LAB_DIR/c.pem" && cp "$LAB_CLIENT_KEY" "$LAB_DIR/c.key"
assert_cli 0 "add trustedca ca3.pem" add trustedca file="$LAB_DIR/ca3.pem"
assert_cli 0 "add clientcert c.pem c.key" add clientcert certfile="$LAB_DIR/c.pem" keyfile="$LAB_DIR/c.key"
rm "$LAB_DIR/ca3.pem" "$LAB_DIR/c.key"
assert_cli 0 "add server mtls (the TLS material in force is kept)" add server type=dot address="$LAB_MTLS_4" hostname="$LAB_MTLS_NAME" priority=50 name=mtls
assert_contains "$CLI_ERR" "ztdns delete trustedca file=$LAB_DIR/ca3.pem" "... warns, naming the trustedca fix"
assert_contains "$CLI_ERR" "ztdns delete clientcert" "... and the clientcert fix"
assert_eventually 5 "mtls is up: the client certificate read before still works" \
  eval '[[ $(lab_ztdns show server json | jq -r ".servers[] | select(.name == \"mtls\") | .transports[0].health") == up ]]'
assert_cli 0 "delete server mtls" delete server address="$LAB_MTLS_4"
assert_cli 0 "delete trustedca ca3.pem, while the client key is still missing" delete trustedca file="$LAB_DIR/ca3.pem"
assert_cli 0 "delete clientcert" delete clientcert
assert_not_contains "$CLI_ERR" "warning" "... and no problem is left"
assert_cli 0 "reload: the file is whole again" reload

step "add server: the config's warnings reach the CLI; a second transport keeps the server's name"
assert_cli 0 "a DoH template naming another port than port=" add server type=doh address="$LAB_MTLS_4" template="https://$LAB_MTLS_NAME:444/dns-query" name=porty
assert_contains "$CLI_ERR" "warning: " "... warns"
assert_contains "$CLI_ERR" "names port 444 but httpsPort is 443" "... that the template names another port"
assert_cli 0 "delete that server" delete server address="$LAB_MTLS_4"
refused 1 "add DoH to pdns1 under another name" 'is server "pdns1" already; leave out name= to add DoH to it' add server type=doh address="$LAB_PDNS1_4" template="https://$LAB_PDNS1_NAME/dns-query" name=othername

step "no daemon: the CLI says so and exits 1"
assert_cli 1 "a socket path where nothing listens" --socket "$LAB_DIR/nosuch.sock" show state
assert_contains "$CLI_ERR" "$LAB_DIR/nosuch.sock" "... names the socket"
CLI_RUNNER=_nosock
_nosock() { ip netns exec "$LAB_CLIENT_NS" env ZTDNS_SOCKET="$LAB_DIR/garbage.pem" "${ZTDNS:-$(_lab_bin ztdns apps/ztdns/ztdns)}" "$@"; }
assert_cli 1 "ZTDNS_SOCKET naming a file that is not a socket" show state
assert_contains "$CLI_ERR" "$LAB_DIR/garbage.pem is not a socket (it is a regular file)" "... names it, and says it is not a socket"
unset CLI_RUNNER
assert_cli 1 "--socket /etc/passwd" --socket /etc/passwd show state
assert_eq "$CLI_ERR" "ztdns: cannot reach ztdnsd: /etc/passwd is not a socket (it is a regular file); --socket or ZTDNS_SOCKET must name ztdnsd's control socket, <run-dir>/control.sock" "... is not a socket, not \"is ztdnsd running?\""
assert_cli 1 "--socket naming a directory" --socket "$LAB_DIR" show state
assert_contains "$CLI_ERR" "$LAB_DIR is not a socket (it is a directory)" "... says it is a directory"

finish
