#include "cli/usage.h"

#include <map>

#include "cli/arg_specs.h"

namespace ztdns::cli {

namespace {

// "ztdns VERB ARGUMENTS" for one verb, from its spec, after `prefix` ("Usage: ", "  "), so
// that wrapped arguments line up under the first one.
std::string line(const std::string& verb, const SynopsisOptions& options = {},
                 const std::string& prefix = "  ") {
  return usageLine(prefix + "ztdns " + verb, synopsis(argSpec(verb), options));
}
std::string usage(const std::string& verb, const SynopsisOptions& options = {}) {
  return line(verb, options, "Usage: ");
}

SynopsisOptions dotForm(bool keywords) {
  return {keywords,
          {{"type", "type=dot"},
           {"port", "[port=853]"},
           {"hostname", "hostname=NAME"},
           {"template", ""}}};
}
SynopsisOptions dohForm(bool keywords) {
  return {keywords,
          {{"type", "type=doh"},
           {"port", "[port=443]"},
           {"template", "template=https://..."},
           {"hostname", ""}}};
}

// One line of the overview: "  VERB ARGUMENTS", with a description in a second column
// when the line is short enough.
std::string entry(const std::string& verb, const std::string& description = "",
                  SynopsisOptions options = {false, {}}) {
  options.keywords = false;
  std::string text = usageLine("  " + verb, synopsis(argSpec(verb), options), 100);
  if (!description.empty() && text.find('\n') == std::string::npos && text.size() < 34)
    text += std::string(34 - text.size(), ' ') + description;
  return text + "\n";
}

std::string general() {
  std::string s =
      "Usage: ztdns [--socket PATH] [--json] [--timeout SECONDS] VERB [ARGUMENTS]\n"
      "       ztdns --version\n"
      "\n"
      "Zero Trust DNS for Linux: the same verbs as Windows' netsh ztdns, with key=value "
      "arguments.\n"
      "\n"
      "Show\n";
  s += entry("show state", "enabled, audit, uptime, servers, allowed addresses");
  s += entry("show settings", "the effective configuration (JSON)");
  s += entry("show server", "trusted DNS servers and their health");
  s += entry("show exception", "IP exceptions");
  s += entry("show clientcert", "the mTLS client certificate");
  s += entry("show trustedca", "CAs trusted for the servers' certificates");
  s += entry("show stats", "counters");
  s += "Change (root or CAP_NET_ADMIN)\n";
  s += entry("set state");
  s += entry("add server", "", dotForm(false));
  s += entry("add server", "", dohForm(false));
  s += entry("delete server", "without address=: every server");
  s += entry("add exception");
  s += entry("delete exception");
  s += entry("add trustedca");
  s += entry("delete trustedca");
  s += entry("add clientcert");
  s += entry("delete clientcert");
  s += entry("log set");
  s += entry("reload", "re-read the configuration file");
  s += "Investigate\n";
  s += entry("log show");
  s += entry("resolve", "", {false, {{"name", ""}}});
  s += entry("diagnose");
  s += entry("suggest exceptions");
  s += "\n"
       "Every show, log show, resolve, diagnose and suggest prints JSON with the keyword json or "
       "--json.\n"
       "'ztdns VERB help' describes a verb. Exit status: 0 ok, 1 failure or failed check, 2 "
       "usage.\n"
       "\n"
       "Options\n"
       "  --socket PATH   the daemon's control socket (default $ZTDNS_SOCKET, else "
       "/run/ztdns/control.sock)\n"
       "  --json          JSON output\n"
       "  --timeout S     how long to wait for the daemon, in seconds (0.1 to 3600)\n"
       "  --version       the CLI and control protocol versions\n";
  return s;
}

const char* kShowBodies[][2] = {
    {"show state",
     "  enabled, audit, uptime, servers healthy of total, allowed addresses, exceptions, the\n"
     "  loopback switch, the PermittedConnections log and the stub's listen addresses.\n"},
    {"show settings",
     "  the whole effective configuration as JSON, in the config-file schema (always JSON).\n"},
    {"show server",
     "  name, protocol, address, port, priority, health, last round trip, identity and last\n"
     "  error of each server and transport; with address=, only that server, and exit 1 when\n"
     "  it is not configured.\n"},
    {"show exception",
     "  the IP exceptions with their prefixes and descriptions; with name=, only that one, and\n"
     "  exit 1 when it does not exist.\n"},
    {"show clientcert",
     "  file paths, subject, issuer, serial, EKUs and expiry of the client certificate, and\n"
     "  whether the key matches; warns when it expires within 14 days, exits 1 when it is\n"
     "  unusable.\n"},
    {"show trustedca", "  the trusted CA files with the subject and expiry of each certificate.\n"},
    {"show stats",
     "  queries, cache hits, SERVFAILs by cause, allow-set inserts and evictions, blocks,\n"
     "  audits and permits, lost log lines.\n"},
};

std::map<std::string, std::string> makeTopics() {
  std::map<std::string, std::string> t;
  std::string show = "Usage:\n";
  for (const auto& b : kShowBodies) show += line(b[0]) + "\n";
  show += "\n";
  for (const auto& b : kShowBodies) {
    std::string body = b[1];
    show += "  " + std::string(b[0]).substr(5) + ":\n";
    for (size_t at = 0; at < body.size();) {  // the body, two more spaces in
      size_t end = body.find('\n', at);
      show += "  " + body.substr(at, end - at + 1);
      at = end + 1;
    }
    t[b[0]] = usage(b[0]) + "\n\n" + body;
  }
  t["show"] = show;

  t["set state"] = usage("set state") +
                   "\n\n"
                   "  enable=yes audit=yes   audit mode: connections that would be blocked are "
                   "logged, not blocked\n"
                   "  enable=yes audit=no    enforcing\n"
                   "  enable=no              disabled: normal connectivity (audit= may be given "
                   "for the next enable)\n"
                   "  enable=yes without audit= keeps the current audit flag, so the first "
                   "enable of the default\n"
                   "  configuration is audit mode.\n";
  t["set"] = t["set state"];

  const std::string server =
      "Usage:\n" + line("add server", dotForm(true)) + "\n" + line("add server", dohForm(true)) +
      "\n\n"
      "  address    the server's IP address; ztdnsd connects there and never resolves a server "
      "name\n"
      "  port       default 853 (DoT) or 443 (DoH)\n"
      "  hostname   DoT: the name (or IP) its certificate must carry\n"
      "  template   DoH: the RFC 8484 URL; its host is the name the certificate must carry\n"
      "  priority   1-1000, lower first (default 100)\n"
      "  name       display name (default: the address)\n"
      "Adding the other transport to an existing address gives that server both (DoT is tried "
      "first).\n";
  t["add server"] = server;
  const std::string exception =
      usage("add exception") +
      "\n\n"
      "  Destinations in the subnets are always allowed, without DNS. Bare addresses are host\n"
      "  prefixes. Prefer globally unique ranges: private ranges (10/8, 192.168/16, fc00::/7, "
      "...)\n"
      "  mean different hosts on every network. Say why in the description.\n"
      "  A prefix given twice is refused. A warning is printed for /0 (nothing is enforced for\n"
      "  that family), for prefixes shorter than /8 (IPv4) or /16 (IPv6), and for a name that\n"
      "  differs only in case from an existing exception's.\n";
  t["add exception"] = exception;
  t["add trustedca"] = usage("add trustedca") +
                       "\n\n  Trust the CA certificates in PEM for the servers' certificates "
                       "(instead of the system store).\n";
  t["add clientcert"] = usage("add clientcert") +
                        "\n\n  Present this certificate to the servers (mTLS). The key must not "
                        "be encrypted.\n";
  t["add"] = "Usage:\n" + line("add server", dotForm(true)) + "\n" +
             line("add server", dohForm(true)) + "\n" + line("add exception") + "\n" +
             line("add trustedca") + "\n" + line("add clientcert") +
             "\n'ztdns add OBJECT help' describes each.\n";

  const std::string lastServer =
      "Deleting the last server while ZTDNS is enabled is refused: every name would fail to "
      "resolve.\n";
  t["delete server"] = usage("delete server") +
                       "\n\n  Without address=, deletes every server (as on Windows).\n" +
                       lastServer;
  t["delete exception"] = usage("delete exception") + "\n";
  t["delete trustedca"] =
      usage("delete trustedca") +
      "\n\n  Without trusted CA files, server certificates are checked against the system "
      "store.\n";
  t["delete clientcert"] =
      usage("delete clientcert") + "\n\n  The servers are reached without mTLS.\n";
  t["delete"] = "Usage:\n" + line("delete server") + "\n" + line("delete exception") + "\n" +
                line("delete trustedca") + "\n" + line("delete clientcert") +
                "\nWithout address=, delete server deletes every server (as on Windows).\n" +
                lastServer;

  const std::string logShow =
      "  since     only newer events: 90s, 30m, 1h, 7d (default: all)\n"
      "  process   an executable path, its basename, or a systemd unit\n"
      "  dst       a destination address or prefix\n"
      "  limit     the newest N events (default 1000)\n"
      "  json      one JSON object per line, as in the channel files\n"
      "  Lines of blocked and permitted that are not connection events are skipped and counted.\n";
  t["log show"] = usage("log show") + "\n\n" + logShow;
  t["log set"] = usage("log set") +
                 "\n\n  Switches the PermittedConnections log (off by default; every allowed "
                 "connection is logged).\n";
  t["log"] = "Usage:\n" + line("log show") + "\n" + line("log set") + "\n\n" + logShow;

  t["resolve"] =
      usage("resolve", {true, {{"name", ""}}}) +
      "\n\n"
      "  Resolves NAME (or name=NAME) through the stub, as applications do, so the answer's\n"
      "  addresses become allowed; or with server=IP, directly over the configured encrypted\n"
      "  transport to that server. type= is A (default), AAAA, CNAME, HTTPS, SVCB, MX, TXT, ...\n"
      "  or TYPEnnn. Prints the records with TTLs, the server, protocol and round-trip time (or\n"
      "  why it failed), and whether a connection to each address, including HTTPS/SVCB address\n"
      "  hints, is allowed now and for how long. Exits 1 unless the answer is NOERROR.\n";

  t["diagnose"] =
      usage("diagnose") +
      "\n\n"
      "  The troubleshooting checklist, automated; each check prints PASS, WARN or FAIL with a "
      "remedy:\n"
      "  1. at least one server is configured\n"
      "  2. per server: TCP connect, TLS handshake (certificate and name; mTLS where "
      "configured), a query\n"
      "  3. the system path: resolv.conf points at the stub, getaddrinfo(NAME) works, and a TCP\n"
      "     connection to the answer succeeds (name= default network-test.debian.org; port= "
      "default:\n"
      "     443, then 80)\n"
      "  4. configuration sanity: other DNS daemons on port 53, overlapping, duplicate, private "
      "or very\n"
      "     broad exceptions, the loopback switch, IPv6 without an IPv6 server, browser DoH "
      "policies\n"
      "  5. audit findings: the top blocked destinations and processes (since= default 1h)\n"
      "  Exits 1 when any check fails.\n";

  t["suggest exceptions"] =
      usage("suggest exceptions") +
      "\n\n"
      "  Mines BlockedConnections (audit and enforce) for exceptions to propose: one proposal "
      "per\n"
      "  process and kind of destination, with the destinations merged into the narrowest "
      "prefixes\n"
      "  that cover exactly what was seen (two sibling prefixes merge into their parent, never\n"
      "  shorter than /24 for IPv4 or /48 for IPv6 unless v4prefix=/v6prefix= say otherwise).\n"
      "  Private, link-local and multicast destinations and telling ports (plaintext DNS, "
      "STUN/TURN,\n"
      "  WebRTC-like UDP) are flagged. Each proposal ends with a ready-to-run 'ztdns add "
      "exception'.\n"
      "\n"
      "  since     only events this recent (default: everything in the log)\n"
      "  min       ignore destinations blocked fewer than COUNT times (default 1)\n"
      "  v4prefix  the shortest IPv4 prefix a merge may produce, 8-32 (default 24)\n"
      "  v6prefix  the shortest IPv6 prefix a merge may produce, 16-128 (default 48)\n"
      "  file      read a BlockedConnections.jsonl file instead of asking the daemon\n"
      "  Lines that are not connection events are skipped and counted.\n";
  t["suggest"] = t["suggest exceptions"];

  t["reload"] =
      usage("reload") + "\n\n  Re-reads the configuration file, all or nothing (as SIGHUP).\n";
  return t;
}

}  // namespace

std::optional<std::string> usageFor(const std::string& topic) {
  if (topic.empty() || topic == "help") return general();
  static const std::map<std::string, std::string> kTopics = makeTopics();
  if (auto it = kTopics.find(topic); it != kTopics.end()) return it->second;
  // "log show blocked" -> "log show"; "add nothing" -> "add"
  auto space = topic.rfind(' ');
  if (space != std::string::npos) return usageFor(topic.substr(0, space));
  return std::nullopt;
}

}  // namespace ztdns::cli
