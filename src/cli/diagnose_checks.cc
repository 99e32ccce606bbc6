#include "cli/diagnose_checks.h"

#include <netdb.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "cli/exception_checks.h"
#include "cli/key_value_args.h"
#include "cli/render.h"
#include "control/protocol.h"

namespace ztdns::cli {

namespace {

bool isStub(const IpAddress& a, const std::vector<Endpoint>& listen) {
  return std::any_of(listen.begin(), listen.end(),
                     [&](const Endpoint& e) { return e.port == 53 && e.address == a; });
}

std::string joinEndpoints(const std::vector<Endpoint>& listen) {
  std::string out;
  for (const auto& e : listen) out += (out.empty() ? "" : ", ") + e.toString();
  return out;
}

std::string stubNameservers(const std::vector<Endpoint>& listen) {
  std::string out;
  for (const auto& e : listen)
    if (e.port == 53) out += (out.empty() ? "" : ", ") + e.address.toString();
  return out;
}

std::string joinAddresses(const std::vector<IpAddress>& list) {
  std::string out;
  for (const auto& a : list) out += (out.empty() ? "" : ", ") + a.toString();
  return out;
}

IpPrefix prefix(const char* text) {
  return *IpPrefix::parse(text);
}

}  // namespace

const std::vector<NamedRange>& privateRanges() {
  static const std::vector<NamedRange> kRanges = {
      {prefix("10.0.0.0/8"), "RFC 1918 private"},
      {prefix("172.16.0.0/12"), "RFC 1918 private"},
      {prefix("192.168.0.0/16"), "RFC 1918 private"},
      {prefix("100.64.0.0/10"), "CGNAT shared"},
      {prefix("169.254.0.0/16"), "IPv4 link-local"},
      {prefix("fc00::/7"), "IPv6 unique local (ULA)"},
      {prefix("fe80::/10"), "IPv6 link-local"},
  };
  return kRanges;
}

std::string daemonRemedy(const Error& error) {
  switch (control::errorCodeOf(error)) {
    case control::ErrorCode::kPermissionDenied:
      return "run it as root (sudo ztdns diagnose) or as a member of group ztdns (usermod -aG "
             "ztdns USER, then log in again); without that group, create it (groupadd ztdns) and "
             "restart ztdnsd (systemctl restart ztdnsd.service)";
    case control::ErrorCode::kUnavailable:
      return "start ztdnsd (systemctl start ztdnsd.service), or name its socket with --socket or "
             "ZTDNS_SOCKET";
    default:
      return "check ztdnsd (systemctl status ztdnsd.service, journalctl -u ztdnsd.service)";
  }
}

Check checkServersConfigured(const Result<control::ServerList>& servers) {
  Check c{1, "servers", "servers", CheckStatus::kPass, "", "", {}};
  if (!servers) {
    c.status = CheckStatus::kFail;
    c.message = servers.error().message;
    c.remedy = daemonRemedy(servers.error());
    return c;
  }
  size_t n = servers->servers.size();
  if (n == 0) {
    c.status = CheckStatus::kFail;
    c.message = "no trusted DNS server is configured";
    c.remedy =
        "add one: ztdns add server type=dot address=IP hostname=NAME (or type=doh "
        "template=https://...)";
    return c;
  }
  c.message = std::to_string(n) + (n == 1 ? " server configured: " : " servers configured: ");
  for (size_t i = 0; i < n; ++i) {
    const auto& s = servers->servers[i];
    c.message += (i ? ", " : "") + s.name + " (" + s.address.toString() + ")";
  }
  if (n == 1) {
    c.status = CheckStatus::kWarn;
    c.message += "; nothing to fail over to";
    c.remedy = "add a second server so that DNS survives the first one failing";
  }
  return c;
}

std::string probeRemedy(const std::string& reason, const control::ServerProbe& p) {
  std::string where = p.address.toString() + ":" + std::to_string(p.port);
  if (reason == "refused")
    return "nothing accepts connections on " + where +
           ": check the server and the port= given to ztdns add server";
  if (reason == "timeout")
    return "no answer from " + where +
           ": check routes and firewalls on the way; the server may be down";
  if (reason == "network")
    return "the network refused the connection to " + where + ": check routes (ip route get " +
           p.address.toString() + ")";
  if (reason == "certificate-expired")
    return "the server's certificate has expired: renew it on the server";
  if (reason == "name-mismatch")
    return "the certificate does not carry the configured name: fix hostname=/template= (delete "
           "and add the server) or the server's certificate";
  if (reason == "unknown-ca")
    return "the certificate chain does not verify: trust its CA with ztdns add trustedca file=PEM "
           "(see ztdns show trustedca)";
  if (reason == "certificate-invalid")
    return "the server's certificate is not valid for TLS server use: check it with openssl "
           "s_client -connect " +
           where;
  if (reason == "pin-mismatch")
    return "the server's key does not match the configured spkiPins: update the pins or the server";
  if (reason == "client-certificate-rejected")
    return "the server refused our client certificate: check ztdns show clientcert (expiry, "
           "clientAuth EKU, an issuer the server trusts)";
  if (reason == "tls")
    return "the TLS handshake failed: check that " + where + " speaks TLS 1.2 or 1.3";
  if (reason == "closed") return "the server closed the connection: check the server's logs";
  if (reason == "http")
    return "the DoH server answered with an HTTP error: check the template= path";
  if (reason == "bad-answer")
    return "the server's answer is not a DNS answer to the query: check the server";
  return "check the server and ztdns log show operational";
}

std::vector<Check> checkServerProbes(const control::ServerList& servers,
                                     const control::DiagnoseServerResult& probes) {
  std::vector<Check> out;
  for (const auto& s : servers.servers) {
    for (const auto& t : s.transports) {
      Check c{2,
              "server",
              s.name + " " + Endpoint{s.address, t.port}.toString() + " " +
                  control::protocolName(t.protocol),
              CheckStatus::kPass,
              "",
              "",
              {}};
      auto probe = std::find_if(probes.servers.begin(), probes.servers.end(),
                                [&](const control::ServerProbe& p) {
                                  return p.address == s.address && p.protocol == t.protocol;
                                });
      if (probe == probes.servers.end()) {
        c.status = CheckStatus::kWarn;
        c.message = "not probed";
        c.remedy =
            "ztdnsd did not report a probe for this server; check ztdns log show operational";
        out.push_back(c);
        continue;
      }
      static const std::map<std::string, std::string> kStepNames = {
          {"connect", "TCP connect"}, {"tls", "TLS handshake"}, {"query", "test query"}};
      std::string timings;
      const control::ProbeStep* failedStep = nullptr;
      for (const auto& step : probe->steps) {
        auto name = kStepNames.count(step.step) ? kStepNames.at(step.step) : step.step;
        if (!step.ok) {
          failedStep = &step;
          break;
        }
        timings += (timings.empty() ? "" : ", ") + name +
                   (step.step == "tls" && probe->mtls ? " (mTLS)" : "") +
                   (step.ms ? " " + millis(*step.ms) : "");
      }
      if (failedStep) {
        auto name =
            kStepNames.count(failedStep->step) ? kStepNames.at(failedStep->step) : failedStep->step;
        c.status = CheckStatus::kFail;
        c.message = name + " failed" + (failedStep->ms ? " after " + millis(*failedStep->ms) : "") +
                    ": " + (failedStep->error.empty() ? failedStep->reason : failedStep->error) +
                    (failedStep->reason.empty() ? "" : " [" + failedStep->reason + "]");
        if (!timings.empty()) c.details.push_back("before that: " + timings);
        c.remedy = probeRemedy(failedStep->reason, *probe);
      } else if (probe->steps.size() < 3) {
        c.status = CheckStatus::kWarn;
        c.message = "incomplete probe: " + (timings.empty() ? std::string("no steps") : timings);
        c.remedy = "check ztdns log show operational";
      } else {
        c.message = timings;
      }
      out.push_back(c);
    }
  }
  return out;
}

Check checkResolvConf(const Result<ResolvConf>& rc, const std::vector<Endpoint>& listen,
                      const std::string& path) {
  Check c{3, "resolv-conf", path, CheckStatus::kPass, "", "", {}};
  std::string stubs = stubNameservers(listen);
  std::string fix =
      "write 'nameserver " +
      (stubs.empty() ? std::string("127.0.0.1") : stubs.substr(0, stubs.find(','))) + "' to " +
      path +
      " and stop whatever rewrites it (NetworkManager dns=none, resolvconf, systemd-resolved)";
  if (!rc) {
    c.status = CheckStatus::kFail;
    c.message = rc.error().message;
    c.remedy = fix;
    return c;
  }
  if (stubs.empty()) {
    c.status = CheckStatus::kFail;
    c.message = "the stub listens on " + joinEndpoints(listen) +
                ", and resolv.conf can only name servers on port 53";
    c.remedy = "add a port-53 listener to listenAddresses (127.0.0.1:53)";
    return c;
  }
  const auto& ns = rc->nameservers;
  if (ns.empty()) {
    bool fallbackIsStub = isStub(*IpAddress::parse("127.0.0.1"), listen);
    c.status = fallbackIsStub ? CheckStatus::kWarn : CheckStatus::kFail;
    c.message = std::string("no nameserver lines: glibc falls back to 127.0.0.1, which ") +
                (fallbackIsStub ? "is" : "is not") + " the stub";
    c.remedy = fix;
    return c;
  }
  std::vector<IpAddress> others;
  for (const auto& a : ns)
    if (!isStub(a, listen)) others.push_back(a);
  if (!isStub(ns.front(), listen)) {
    c.status = CheckStatus::kFail;
    c.message =
        "the first nameserver is " + ns.front().toString() + ", not the stub (" + stubs + ")";
    if (ns.front().toString() == "127.0.0.53") c.message += "; 127.0.0.53 is systemd-resolved";
    c.remedy = fix;
  } else if (!others.empty()) {
    c.status = CheckStatus::kWarn;
    c.message = "the stub comes first, but resolv.conf also lists " + joinAddresses(others) +
                ", which applications fall back to";
    c.remedy = "remove the other nameserver lines from " + path;
  } else {
    c.message = "nameserver " + joinAddresses(ns) + ": the stub";
  }
  return c;
}

Check checkLookup(const std::string& name, const LookupOutcome& lookup) {
  Check c{3, "getaddrinfo", "getaddrinfo(" + name + ")", CheckStatus::kPass, "", "", {}};
  if (lookup.ok && !lookup.addresses.empty()) {
    c.message = joinAddresses(lookup.addresses) + " in " + millis(lookup.ms);
    return c;
  }
  c.status = CheckStatus::kFail;
  c.message = lookup.ok ? "no addresses" : lookup.error;
  if (lookup.timedOut || lookup.gaiError == EAI_AGAIN) {
    c.remedy =
        "the resolver did not answer: check resolv.conf, ztdns show state and ztdns show server";
  } else if (lookup.gaiError == EAI_NONAME || lookup.gaiError == EAI_NODATA ||
             (lookup.ok && lookup.addresses.empty())) {
    c.remedy = name +
               " does not resolve: the PDNS may block it (blocked names answer NXDOMAIN); try "
               "ztdns resolve " +
               name + ", or diagnose name= with a name the PDNS allows";
  } else {
    c.remedy = "check /etc/nsswitch.conf (hosts: files dns) and ztdns resolve " + name;
  }
  return c;
}

Check checkConnect(const std::string& name, const std::vector<ConnectOutcome>& attempts) {
  Check c{3, "connect", "connect to " + name, CheckStatus::kPass, "", "", {}};
  if (attempts.empty()) {
    c.status = CheckStatus::kSkip;
    c.message = "no address to connect to";
    return c;
  }
  for (const auto& a : attempts) {
    if (a.ok) {
      c.message = "TCP " + a.endpoint.toString() + " in " + millis(a.ms);
      return c;
    }
    c.details.push_back(a.endpoint.toString() + ": " + a.words);
  }
  c.status = CheckStatus::kFail;
  c.message = "no TCP connection succeeded";
  const auto& last = attempts.back();
  std::string addr = last.endpoint.address.toString();
  if (last.error == EPERM || last.error == EACCES) {
    c.remedy = "the local firewall refused it: the address is not allowed; check ztdns resolve " +
               name + " and ztdns log show blocked dst=" + addr;
  } else if (last.error == ECONNREFUSED) {
    c.remedy =
        "refused: nothing listens there, or a reject rule answered; check ztdns log show blocked "
        "dst=" +
        addr;
  } else {
    c.remedy = "no answer: check ztdns log show blocked dst=" + addr + " and the route to " + addr;
  }
  return c;
}

Check checkPort53(const std::vector<BoundSocket>& sockets,
                  const std::map<uint64_t, SocketOwner>& owners,
                  const std::vector<Endpoint>& listen, int64_t daemonPid) {
  Check c{4, "port53", "port 53", CheckStatus::kPass, "", "", {}};
  // owner description -> "addr/proto" list
  std::map<std::string, std::vector<std::string>> foreign;
  bool takesOurs = false;
  for (const auto& s : sockets) {
    if (s.port != 53) continue;
    auto owner = owners.find(s.inode);
    bool ourAddress = std::any_of(listen.begin(), listen.end(), [&](const Endpoint& e) {
      return e.port == 53 && e.address == s.address;
    });
    bool isDaemon = owner != owners.end() && ((daemonPid > 0 && owner->second.pid == daemonPid) ||
                                              owner->second.command == "ztdnsd");
    if (isDaemon || (owner == owners.end() && ourAddress)) continue;
    std::string who = owner == owners.end() ? "an unknown process"
                                            : owner->second.command + " (pid " +
                                                  std::to_string(owner->second.pid) + ")";
    foreign[who].push_back(Endpoint{s.address, s.port}.toString() + "/" + s.protocol);
    takesOurs = takesOurs || ourAddress;
  }
  if (foreign.empty()) {
    c.message = "no other DNS server listens on port 53";
    return c;
  }
  c.status = takesOurs ? CheckStatus::kFail : CheckStatus::kWarn;
  std::string names;
  for (const auto& [who, where] : foreign) {
    names += (names.empty() ? "" : ", ") + who;
    std::string list;
    for (const auto& w : where) list += (list.empty() ? "" : ", ") + w;
    c.details.push_back(who + ": " + list);
  }
  c.message = "another DNS server listens on port 53: " + names;
  if (takesOurs) c.message += ", on an address the stub must have";
  c.remedy =
      "stop and disable it unless it serves others (e.g. systemctl disable --now "
      "systemd-resolved), and make "
      "sure nothing on this host uses it as its resolver";
  return c;
}

std::vector<Check> checkExceptions(const std::vector<control::ExceptionInfo>& exceptions) {
  struct Entry {
    IpPrefix prefix;
    const std::string* name;
  };
  std::vector<Entry> entries;
  for (const auto& e : exceptions)
    for (const auto& p : e.subnets) entries.push_back({p.normalized(), &e.name});
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.prefix.family() != b.prefix.family()) return a.prefix.address().isV4();
    if (a.prefix.address() != b.prefix.address()) return a.prefix.address() < b.prefix.address();
    return a.prefix.length() < b.prefix.length();
  });

  // Overlaps and duplicates: a sweep in address order with a stack of enclosing prefixes.
  Check overlap{4, "exceptions-overlap", "exceptions: overlaps", CheckStatus::kPass, "", "", {}};
  std::vector<const Entry*> stack;
  size_t overlaps = 0;
  for (const auto& e : entries) {
    while (!stack.empty() && !stack.back()->prefix.contains(e.prefix)) stack.pop_back();
    if (!stack.empty()) {
      const Entry& outer = *stack.back();
      ++overlaps;
      if (overlap.details.size() < 10) {
        std::string where =
            *outer.name == *e.name ? "in " + *e.name : "in " + *outer.name + " and " + *e.name;
        overlap.details.push_back(outer.prefix == e.prefix
                                      ? e.prefix.toString() + " is listed twice (" + where + ")"
                                      : e.prefix.toString() + " lies inside " +
                                            outer.prefix.toString() + " (" + where + ")");
      }
    }
    stack.push_back(&e);
  }
  if (overlaps) {
    overlap.status = CheckStatus::kWarn;
    overlap.message = std::to_string(overlaps) + (overlaps == 1 ? " prefix is" : " prefixes are") +
                      " duplicated or inside another exception's prefix";
    overlap.remedy =
        "keep one exception per range, so that deleting one does not silently leave the range open";
  } else {
    overlap.message =
        exceptions.empty() ? "no exceptions" : "no duplicated or overlapping prefixes";
  }

  Check priv{4, "exceptions-private", "exceptions: private ranges", CheckStatus::kPass, "", "", {}};
  for (const auto& e : entries) {
    for (const auto& r : privateRanges()) {
      if (e.prefix.overlaps(r.prefix)) {
        if (priv.details.size() < 10) {
          priv.details.push_back(*e.name + ": " + e.prefix.toString() + " is " + r.name + " (" +
                                 r.prefix.toString() + ")");
        }
        priv.status = CheckStatus::kWarn;
        break;
      }
    }
  }
  if (priv.status == CheckStatus::kWarn) {
    priv.message =
        "exceptions cover private or link-local ranges, which mean different hosts on every "
        "network";
    priv.remedy =
        "reach such hosts by a DNS name the PDNS allows, or narrow the exception to the hosts that "
        "need it";
  } else {
    priv.message = "no exception covers a private or link-local range";
  }

  Check broad{4, "exceptions-broad", "exceptions: breadth", CheckStatus::kPass, "", "", {}};
  for (const auto& e : entries) {
    Breadth breadth = exceptionBreadth(e.prefix);
    bool everything = breadth == Breadth::kEverything;
    if (breadth != Breadth::kNarrow) {
      broad.details.push_back(*e.name + ": " + e.prefix.toString() +
                              (everything ? " allows every destination" : " is very broad"));
      if (everything)
        broad.status = CheckStatus::kFail;
      else if (broad.status == CheckStatus::kPass)
        broad.status = CheckStatus::kWarn;
    }
  }
  if (broad.status == CheckStatus::kPass) {
    broad.message = "no exception is broader than /8 (IPv4) or /16 (IPv6)";
  } else {
    broad.message = broad.status == CheckStatus::kFail
                        ? "an exception allows every destination: nothing is enforced"
                        : "an exception is very broad";
    broad.remedy =
        "replace it with the narrow ranges that are needed (ztdns suggest exceptions helps)";
  }
  return {overlap, priv, broad};
}

Check checkListeners(const std::vector<Endpoint>& listen) {
  Check c{4, "listener-not-loopback", "stub listeners", CheckStatus::kPass, "", "", {}};
  for (const auto& e : listen) {
    if (!e.address.isLoopback()) c.details.push_back(e.toString() + " is not a loopback address");
  }
  if (c.details.empty()) {
    c.message = "the stub listens on loopback addresses only (" + joinEndpoints(listen) + ")";
    return c;
  }
  c.status = CheckStatus::kWarn;
  c.message =
      "the stub listens beyond loopback: other hosts could query it, and every answer adds "
      "addresses to this host's allow set";
  c.remedy =
      "set listenAddresses in the config file to loopback addresses only (127.0.0.1:53, "
      "[::1]:53), then ztdns reload";
  return c;
}

Check checkLoopback(bool loopbackBlocked, const ResolvConf& rc,
                    const std::vector<Endpoint>& listen) {
  Check c{4, "loopback", "loopback switch", CheckStatus::kPass, "", "", {}};
  if (!loopbackBlocked) {
    c.message = "loopback traffic is allowed";
    return c;
  }
  std::vector<IpAddress> blocked;
  for (const auto& a : rc.nameservers)
    if (a.isLoopback() && !isStub(a, listen)) blocked.push_back(a);
  if (!blocked.empty()) {
    c.status = CheckStatus::kFail;
    c.message = "loopback traffic is blocked, and resolv.conf names " + joinAddresses(blocked) +
                ", a loopback address that is not a stub listener: those queries are blocked";
    c.remedy = "point resolv.conf at the stub (" + stubNameservers(listen) +
               "), or allow loopback traffic (loopbackTrafficBlocked=false)";
    return c;
  }
  c.message = "loopback traffic is blocked; the stub's listeners (" + joinEndpoints(listen) +
              ") are exempt";
  return c;
}

Check checkIpv6(const Ipv6Facts& facts, const control::ServerList& servers,
                const std::optional<control::DiagnoseServerResult>& probes) {
  Check c{4, "ipv6", "IPv6", CheckStatus::kPass, "", "", {}};
  if (!facts.configured()) {
    c.message = facts.globalAddresses.empty()
                    ? "no global IPv6 address: IPv6 is not in use"
                    : "a global IPv6 address but no default route: IPv6 is not in use";
    return c;
  }
  std::vector<IpAddress> v6;
  for (const auto& s : servers.servers)
    if (s.address.isV6()) v6.push_back(s.address);
  if (v6.empty()) {
    c.status = CheckStatus::kWarn;
    c.message = "IPv6 is configured (" + facts.globalAddresses.front().toString() +
                ", default route) but no server has an IPv6 address: DNS depends on IPv4 alone";
    c.remedy = "add a server over IPv6: ztdns add server ... address=IPV6";
    return c;
  }
  if (!probes) {
    c.status = CheckStatus::kSkip;
    c.message = "IPv6 servers " + joinAddresses(v6) + " were not probed";
    return c;
  }
  for (const auto& p : probes->servers) {
    bool ok = p.address.isV6() && p.steps.size() >= 3 &&
              std::all_of(p.steps.begin(), p.steps.end(),
                          [](const control::ProbeStep& s) { return s.ok; });
    if (ok) {
      c.message = "IPv6 is configured and " + p.address.toString() + " answers over it";
      return c;
    }
  }
  c.status = CheckStatus::kWarn;
  c.message = "IPv6 is configured but no server answered over IPv6 (" + joinAddresses(v6) + ")";
  c.remedy = "see the step 2 failures for the IPv6 servers; check the IPv6 route to them";
  return c;
}

Check checkBrowserPolicies(const std::vector<BrowserPolicyFinding>& findings,
                           const std::vector<std::string>& files) {
  Check c{4, "browser-policy", "browser DoH policies", CheckStatus::kPass, "", "", {}};
  int worst = 0;
  bool firefox = false, chrome = false;
  for (const auto& f : findings) {
    if (f.severity == 0) continue;
    worst = std::max(worst, f.severity);
    c.details.push_back(f.file + ": " + f.setting + ": " + f.words);
    (f.browser == "Firefox" ? firefox : chrome) = true;
  }
  if (worst == 0) {
    c.message = files.empty() ? "no browser policy files found; none turns on a built-in DoH client"
                              : "no browser policy turns on a built-in DoH client (" +
                                    std::to_string(files.size()) +
                                    (files.size() == 1 ? " file" : " files") + " read)";
    return c;
  }
  c.status = worst == 2 ? CheckStatus::kFail : CheckStatus::kWarn;
  c.message = "a browser policy leaves a built-in DoH client on, which bypasses the stub";
  std::string remedy;
  if (chrome)
    remedy =
        "set DnsOverHttpsMode to \"off\" and BuiltInDnsClientEnabled to false in the managed "
        "policy";
  if (firefox)
    remedy += std::string(remedy.empty() ? "" : "; ") +
              "set DNSOverHTTPS {\"Enabled\": false, \"Locked\": true} in policies.json";
  c.remedy = remedy;
  return c;
}

Check checkAuditFindings(const EventBatch& batch, uint64_t sinceSeconds) {
  Check c{5, "audit", "blocked connections", CheckStatus::kPass, "", "", {}};
  std::string window = formatDuration(sinceSeconds);
  if (batch.events.empty()) {
    c.message = "no blocked connections in the last " + window;
    return c;
  }
  std::map<std::string, uint64_t> destinations, processes;
  for (const auto& e : batch.events) {
    std::string dst = Endpoint{e.dst, e.dstPort}.toString();
    if (e.protocol == "icmp" || e.protocol == "icmpv6" || e.dstPort == 0) dst = e.dst.toString();
    destinations[dst + (e.protocol.empty() ? "" : "/" + e.protocol)]++;
    processes[e.process.empty() ? (e.unit.empty() ? "unknown" : "unit " + e.unit) : e.process]++;
  }
  auto top = [](const std::map<std::string, uint64_t>& m) {
    std::vector<std::pair<std::string, uint64_t>> v(m.begin(), m.end());
    std::stable_sort(v.begin(), v.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string out;
    for (size_t i = 0; i < v.size() && i < 5; ++i)
      out += (i ? ", " : "") + v[i].first + " (" + std::to_string(v[i].second) + ")";
    return out;
  };
  c.status = CheckStatus::kWarn;
  // Worded from what the window holds: a window can span a switch from audit to enforce.
  size_t audited = static_cast<size_t>(std::count_if(
      batch.events.begin(), batch.events.end(), [](const ConnectionEvent& e) { return e.audit; }));
  size_t blocked = batch.events.size() - audited;
  auto connections = [](size_t n) {
    return std::to_string(n) + (n == 1 ? " connection" : " connections");
  };
  std::string what;
  if (blocked && audited) {
    what = connections(blocked) + (blocked == 1 ? " was" : " were") + " blocked and " +
           std::to_string(audited) + " would have been blocked (audit mode)";
  } else if (audited) {
    what = connections(audited) + " would have been blocked (audit mode)";
  } else {
    what = connections(blocked) + (blocked == 1 ? " was blocked" : " were blocked");
  }
  c.message = what + " in the last " + window + (batch.truncated ? " (at least)" : "");
  c.details.push_back("top destinations: " + top(destinations));
  c.details.push_back("top processes: " + top(processes));
  c.remedy = "review them with ztdns log show blocked since=" + window.substr(0, window.find(' ')) +
             ", and let ztdns suggest exceptions since=" + window.substr(0, window.find(' ')) +
             " propose exceptions";
  return c;
}

}  // namespace ztdns::cli
