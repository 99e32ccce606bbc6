#include "cli/usage.h"

#include <map>

namespace ztdns::cli {

namespace {

const char* kGeneral = R"(Usage: ztdns [--socket PATH] [--json] [--timeout SECONDS] VERB [ARGUMENTS]

Zero Trust DNS for Linux: the same verbs as Windows' netsh ztdns, with key=value arguments.

Show
  show state                      enabled, audit, uptime, servers, allowed addresses
  show settings                   the effective configuration (JSON)
  show server [address=IP]        trusted DNS servers and their health
  show exception [name=N]         IP exceptions
  show clientcert                 the mTLS client certificate
  show trustedca                  CAs trusted for the servers' certificates
  show stats                      counters
Change (root or CAP_NET_ADMIN)
  set state enable=yes|no [audit=yes|no]
  add server type=dot|doh address=IP ...      delete server [address=IP]
  add exception name=N subnets=CIDR[,CIDR]    delete exception name=N
  add trustedca file=PEM                      delete trustedca file=PEM
  add clientcert certfile=PEM keyfile=PEM     delete clientcert
  log set permitted enable=yes|no
  reload                          re-read the configuration file
Investigate
  log show blocked|permitted|operational [since=D] [process=NAME] [dst=IP|PREFIX]
  resolve NAME [type=A|AAAA|...] [server=IP]
  diagnose [since=D] [name=NAME]  the troubleshooting checklist, automated
  suggest exceptions [since=D] [min=N]

Every show, log, resolve, diagnose and suggest prints JSON with the keyword json or --json.
'ztdns VERB help' describes a verb. Exit status: 0 ok, 1 failure or failed check, 2 usage.

Options
  --socket PATH   the daemon's control socket (default $ZTDNS_SOCKET, else /run/ztdns/control.sock)
  --json          JSON output
  --timeout S     how long to wait for the daemon, in seconds
)";

const std::map<std::string, std::string>& topics() {
  static const std::map<std::string, std::string> kTopics = {
      {"show",
       R"(Usage: ztdns show state|settings|server|exception|clientcert|trustedca|stats [json]

  show state                 enabled, audit, uptime, servers healthy of total, allowed addresses,
                             exceptions
  show settings              the whole effective configuration as JSON, in the config-file schema
  show server [address=IP]   name, protocol, address, port, priority and health of each server;
                             with address=, exits 1 when that server is not configured
  show exception [name=N]    the IP exceptions; with name=, exits 1 when it does not exist
  show clientcert            file paths, subject, issuer, EKUs and expiry of the client certificate;
                             warns when it expires within 14 days
  show trustedca             the trusted CA files with subject and expiry
  show stats                 queries, cache hits, SERVFAILs by cause, allow-set inserts and
                             evictions, blocks and permits
)"},
      {"set", R"(Usage: ztdns set state enable=yes|no [audit=yes|no]

  enable=yes audit=yes   audit mode: connections that would be blocked are logged, not blocked
  enable=yes audit=no    enforcing
  enable=no              disabled: normal connectivity (audit= may be given for the next enable)
  enable=yes without audit= keeps the current audit flag, so the first enable of the default
  configuration is audit mode.
)"},
      {"add", R"(Usage:
  ztdns add server type=dot address=IP [port=853] hostname=NAME [priority=N] [name=NAME]
  ztdns add server type=doh address=IP [port=443] template=https://... [priority=N] [name=NAME]
  ztdns add exception name=NAME [description="TEXT"] subnets=CIDR[,CIDR...]
  ztdns add trustedca file=PEM
  ztdns add clientcert certfile=PEM keyfile=PEM
)"},
      {"add server", R"(Usage:
  ztdns add server type=dot address=IP [port=853] hostname=NAME [priority=N] [name=NAME]
  ztdns add server type=doh address=IP [port=443] template=https://... [priority=N] [name=NAME]

  address    the server's IP address; ztdnsd connects there and never resolves a server name
  hostname   DoT: the name (or IP) its certificate must carry
  template   DoH: the RFC 8484 URL; its host is the name the certificate must carry
  priority   1-1000, lower first (default 100)
  name       display name (default: the address)
Adding the other transport to an existing address gives that server both (DoT is tried first).
)"},
      {"add exception",
       R"(Usage: ztdns add exception name=NAME [description="TEXT"] subnets=CIDR[,CIDR...]

  Destinations in the subnets are always allowed. Bare addresses are host prefixes.
  Prefer globally unique ranges: private ranges (10/8, 192.168/16, fc00::/7, ...) mean
  different hosts on every network. Say why in the description.
)"},
      {"add trustedca",
       "Usage: ztdns add trustedca file=PEM\n\n  Trust the CA certificates in PEM for the servers' "
       "certificates (instead of the system store).\n"},
      {"add clientcert",
       "Usage: ztdns add clientcert certfile=PEM keyfile=PEM\n\n  Present this certificate to the "
       "servers (mTLS). The key must not be encrypted.\n"},
      {"delete", R"(Usage:
  ztdns delete server [address=IP]    without address=, deletes every server (as on Windows)
  ztdns delete exception name=NAME
  ztdns delete trustedca file=PEM
  ztdns delete clientcert
Deleting the last server while ZTDNS is enabled is refused: every name would fail to resolve.
)"},
      {"log", R"(Usage:
  ztdns log show blocked|permitted|operational [since=DURATION] [process=NAME] [dst=IP|PREFIX]
                 [limit=N] [json]
  ztdns log set permitted enable=yes|no

  since     only newer events: 90s, 30m, 1h, 7d (default: all)
  process   an executable path, its basename, or a systemd unit
  dst       a destination address or prefix
  limit     the newest N events (default 1000)
  json      one JSON object per line, as in the channel files
)"},
      {"resolve", R"(Usage: ztdns resolve NAME [type=A|AAAA|CNAME|HTTPS|...] [server=IP] [json]

  Resolves NAME through the stub (as applications do, so the answer's addresses become
  allowed), or with server=, directly over the configured encrypted transport to that server.
  Prints the records with TTLs, the server, protocol and round-trip time, and whether each
  address is allowed now and for how long. Exits 1 unless the answer is NOERROR.
)"},
      {"diagnose", R"(Usage: ztdns diagnose [since=DURATION] [name=NAME] [port=PORT] [json]

  The troubleshooting checklist, automated; each check prints PASS, WARN or FAIL with a remedy:
  1. at least one server is configured
  2. per server: TCP connect, TLS handshake (certificate and name; mTLS where configured), a query
  3. the system path: resolv.conf points at the stub, getaddrinfo(NAME) works, and a TCP
     connection to the answer succeeds (name= default network-test.debian.org; port= default:
     443, then 80)
  4. configuration sanity: other DNS daemons on port 53, overlapping, duplicate, private or very
     broad exceptions, the loopback switch, IPv6 without an IPv6 server, browser DoH policies
  5. audit findings: the top blocked destinations and processes (since= default 1h)
  Exits 1 when any check fails.
)"},
      {"suggest",
       R"(Usage: ztdns suggest exceptions [since=DURATION] [min=COUNT] [v4prefix=N] [v6prefix=N]
                                [file=JSONL] [json]

  Mines BlockedConnections (audit and enforce) for exceptions to propose: one proposal per
  process and kind of destination, with the destinations merged into the narrowest prefixes
  that cover exactly what was seen (two sibling prefixes merge into their parent, never
  shorter than /24 for IPv4 or /48 for IPv6 unless v4prefix=/v6prefix= say otherwise).
  Private, link-local and multicast destinations and telling ports (plaintext DNS, STUN/TURN,
  WebRTC-like UDP) are flagged. Each proposal ends with a ready-to-run 'ztdns add exception'.

  since     only events this recent (default: everything in the log)
  min       ignore destinations blocked fewer than COUNT times (default 1)
  file      read a BlockedConnections.jsonl file instead of asking the daemon
)"},
      {"reload",
       "Usage: ztdns reload\n\n  Re-reads the configuration file, all or nothing (as SIGHUP).\n"},
  };
  return kTopics;
}

}  // namespace

std::optional<std::string> usageFor(const std::string& topic) {
  if (topic.empty() || topic == "help") return std::string(kGeneral);
  const auto& t = topics();
  if (auto it = t.find(topic); it != t.end()) return it->second;
  // "show server" -> "show"; "delete server" -> "delete"; "log show" -> "log"
  auto space = topic.find(' ');
  if (space != std::string::npos) return usageFor(topic.substr(0, space));
  return std::nullopt;
}

}  // namespace ztdns::cli
