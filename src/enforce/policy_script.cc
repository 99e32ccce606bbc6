#include "enforce/policy_script.h"

#include <algorithm>
#include <limits>

namespace ztdns::enforce {

namespace {

constexpr const char* kTable = "inet ztdns";

// Helper chains, always present so that every apply has the same objects to flush.
struct LogChain {
  const char* chain;
  const char* prefix;
};
constexpr LogChain kPermitChains[] = {
    {"permit_loopback", log_prefix::kPermitLoopback},
    {"permit_dhcp", log_prefix::kPermitDhcp},
    {"permit_ndp", log_prefix::kPermitNdp},
    {"permit_server", log_prefix::kPermitServer},
    {"permit_exception", log_prefix::kPermitException},
    {"permit_resolved", log_prefix::kPermitResolved},
};
constexpr const char* kLogBlockChain = "log_block";
constexpr const char* kLogAuditChain = "log_audit";

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

class Script {
 public:
  void line(const std::string& text) { text_ += text + "\n"; }
  void comment(const std::string& text) { text_ += "# " + text + "\n"; }
  void rule(const char* chain, const std::string& body) {
    line(std::string("add rule ") + kTable + " " + chain + " " + body);
  }
  // A stateless object: `add` first so that the `delete` can never fail, then the new one.
  void replace(const char* kind, const char* name, const std::string& spec) {
    std::string head = std::string(kind) + " " + kTable + " " + name;
    line("add " + head + " { " + spec + " }");
    line("delete " + head);
    line("add " + head + " { " + spec + " }");
  }
  void elements(const char* set, const std::vector<std::string>& items) {
    if (items.empty()) return;  // `add element` with an empty list is a syntax error
    line(std::string("add element ") + kTable + " " + set + " { " + join(items) + " }");
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

std::string endpointElement(const Endpoint& e) {
  return e.address.toString() + " . " + std::to_string(e.port);
}

Status validatePolicy(const Policy& p) {
  if (p.logPacketsPerSecond == 0) return Error{"logPacketsPerSecond must be at least 1"};
  if (p.maxAllowedAddresses == 0) return Error{"maxAllowedAddresses must be at least 1"};
  for (const auto& s : p.servers) {
    if (s.port == 0) return Error{"server " + s.toString() + " has port 0"};
    if (s.address.isUnspecified())
      return Error{"server address " + s.toString() + " is unspecified"};
  }
  for (const auto& s : p.stubListeners) {
    if (s.port == 0) return Error{"stub listener " + s.toString() + " has port 0"};
  }
  return okStatus();
}

}  // namespace

uint32_t kernelAllowSetSize(uint32_t maxAllowedAddresses) {
  uint64_t size = uint64_t{maxAllowedAddresses} + maxAllowedAddresses / 4 + 1024;
  return static_cast<uint32_t>(std::min<uint64_t>(size, std::numeric_limits<uint32_t>::max()));
}

std::vector<IpPrefix> mergePrefixes(std::vector<IpPrefix> prefixes) {
  for (auto& p : prefixes) p = p.normalized();
  // Sorted by (family, address, length): a covering prefix sorts before what it covers.
  std::sort(prefixes.begin(), prefixes.end());
  std::vector<IpPrefix> out;
  for (const auto& p : prefixes) {
    if (!out.empty() && out.back().contains(p)) continue;
    out.push_back(p);
  }
  return out;
}

Result<std::string> buildPolicyScript(const Policy& p) {
  if (auto st = validatePolicy(p); !st) return st.error();

  std::vector<IpPrefix> all;
  for (const auto& rule : p.exceptions)
    all.insert(all.end(), rule.prefixes.begin(), rule.prefixes.end());
  std::vector<std::string> exc4, exc6, servers4, servers6, stubs4, stubs6;
  for (const auto& prefix : mergePrefixes(std::move(all))) {
    (prefix.family() == IpFamily::V4 ? exc4 : exc6).push_back(prefix.toString());
  }
  auto endpoints = [](std::vector<Endpoint> list, std::vector<std::string>& v4,
                      std::vector<std::string>& v6) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    for (auto& e : list) {
      e.address = e.address.unmapped();
      (e.address.isV4() ? v4 : v6).push_back(endpointElement(e));
    }
  };
  endpoints(p.servers, servers4, servers6);
  // A listener on 0.0.0.0 or :: (dual-stack) answers on every local address: match its port.
  std::vector<Endpoint> boundStubs;
  std::vector<std::string> anyStubPorts;
  for (const auto& e : p.stubListeners) {
    if (!e.address.isUnspecified()) {
      boundStubs.push_back(e);
    } else if (std::find(anyStubPorts.begin(), anyStubPorts.end(), std::to_string(e.port)) ==
               anyStubPorts.end()) {
      anyStubPorts.push_back(std::to_string(e.port));
    }
  }
  endpoints(boundStubs, stubs4, stubs6);

  const std::string group = std::to_string(p.nflogGroup);
  const uint32_t burst = std::max<uint32_t>(5, p.logPacketsPerSecond / 10);
  const std::string allowSize = std::to_string(kernelAllowSetSize(p.maxAllowedAddresses));

  Script s;
  s.comment("ztdns enforcement policy, generated by ztdnsd and applied as one transaction.");
  s.comment(std::string("mode: ") + (p.audit ? "audit" : "enforce") +
            "; loopback: " + (p.loopbackBlocked ? "blocked" : "allowed") +
            "; permitted-connection log: " + (p.logPermitted ? "on" : "off"));
  s.line(std::string("add table ") + kTable +
         " { comment \"ztdns: default-deny egress for Zero Trust DNS, managed by ztdnsd\"; }");

  s.comment(
      "Created once, never flushed: allows written by ztdnsd's resolver (a no-op when present;");
  s.comment("only the size follows maxAllowedAddresses).");
  for (auto [set, type] :
       {std::pair{kAllowSet4, "ipv4_addr"}, std::pair{kAllowSet6, "ipv6_addr"}}) {
    s.line(std::string("add set ") + kTable + " " + set + " { type " + type +
           "; flags timeout; size " + allowSize + "; }");
  }
  s.comment("Counters survive re-applies, so the daemon can read them at any time.");
  for (const char* counter :
       {nft_name::kLogSuppressed, nft_name::kBlockedCounter, nft_name::kWouldBlockCounter}) {
    s.line(std::string("add counter ") + kTable + " " + counter);
  }

  s.comment("Flush every chain: nothing references the objects replaced below any more.");
  s.line(std::string("add chain ") + kTable + " " + nft_name::kOutputChain +
         " { type filter hook output priority filter; policy accept; }");
  s.line(std::string("flush chain ") + kTable + " " + nft_name::kOutputChain);
  s.line(std::string("add chain ") + kTable + " " + nft_name::kNotrackChain +
         " { type filter hook output priority raw; policy accept; }");
  s.line(std::string("flush chain ") + kTable + " " + nft_name::kNotrackChain);
  std::vector<const char*> helpers = {kLogBlockChain, kLogAuditChain};
  for (const auto& c : kPermitChains) helpers.push_back(c.chain);
  for (const char* chain : helpers) {
    s.line(std::string("add chain ") + kTable + " " + chain);
    s.line(std::string("flush chain ") + kTable + " " + chain);
  }

  s.comment("Stateless objects: replaced whole.");
  s.replace("limit", nft_name::kLogGuard,
            "rate over " + std::to_string(p.logPacketsPerSecond) + "/second burst " +
                std::to_string(burst) + " packets;");
  s.replace("set", nft_name::kExceptions4, "type ipv4_addr; flags interval; auto-merge;");
  s.replace("set", nft_name::kExceptions6, "type ipv6_addr; flags interval; auto-merge;");
  s.replace("set", nft_name::kServers4, "type ipv4_addr . inet_service;");
  s.replace("set", nft_name::kServers6, "type ipv6_addr . inet_service;");
  s.replace("set", nft_name::kStubs4, "type ipv4_addr . inet_service;");
  s.replace("set", nft_name::kStubs6, "type ipv6_addr . inet_service;");
  s.elements(nft_name::kExceptions4, exc4);
  s.elements(nft_name::kExceptions6, exc6);
  s.elements(nft_name::kServers4, servers4);
  s.elements(nft_name::kServers6, servers6);
  s.elements(nft_name::kStubs4, stubs4);
  s.elements(nft_name::kStubs6, stubs6);

  // The guard: one token bucket shared by every log rule. Over the rate, a packet is not
  // logged but counted in log_suppressed; its verdict is unchanged.
  const std::string guard = std::string("limit name \"") + nft_name::kLogGuard +
                            "\" counter name \"" + nft_name::kLogSuppressed + "\"";
  auto logRule = [&](const char* prefix) {
    return std::string("log prefix \"") + prefix + "\" group " + group;
  };
  s.comment("Log chains: the first packet of a connection reaches NFLOG group " + group +
            " behind the guard.");
  s.rule(kLogBlockChain, guard + " return");
  s.rule(kLogBlockChain, logRule(log_prefix::kBlock));
  s.rule(kLogAuditChain, guard + " accept");
  s.rule(kLogAuditChain, logRule(log_prefix::kAudit) + " accept");
  for (const auto& c : kPermitChains) {
    s.rule(c.chain, guard + " accept");
    s.rule(c.chain, logRule(c.prefix) + " accept");
  }

  // A permit either accepts or, with the permitted-connection log on, logs then accepts.
  auto permit = [&](const char* chain, const char* comment) {
    return std::string(p.logPermitted ? std::string("goto ") + chain : std::string("accept")) +
           " comment \"" + comment + "\"";
  };
  // The stub's own loopback traffic (queries to it, its answers) is accepted by rule 2
  // whatever its state, so connection tracking would only cost: two hash lookups and a
  // conntrack entry per client query, a third of the kernel's work for a cached answer.
  const char* notrack = nft_name::kNotrackChain;
  s.comment("Loopback traffic of the stub's listeners is not tracked.");
  for (const char* dir : {"daddr . th dport", "saddr . th sport"}) {
    s.rule(notrack, std::string("oif \"lo\" meta l4proto { tcp, udp } ip ") + dir + " @" +
                        nft_name::kStubs4 + " notrack");
    s.rule(notrack, std::string("oif \"lo\" meta l4proto { tcp, udp } ip6 ") + dir + " @" +
                        nft_name::kStubs6 + " notrack");
  }
  if (!anyStubPorts.empty()) {
    for (const char* dir : {"dport", "sport"}) {
      s.rule(notrack, std::string("oif \"lo\" meta l4proto { tcp, udp } th ") + dir + " { " +
                          join(anyStubPorts) + " } notrack");
    }
  }

  const char* out = nft_name::kOutputChain;
  s.comment("The output chain, in the order of docs/enforcement.md.");
  s.rule(out,
         "ct state established,related accept comment \"1 established flows and their errors\"");
  s.rule(out, std::string("oif \"lo\" meta l4proto { tcp, udp } ip daddr . th dport @") +
                  nft_name::kStubs4 + " accept comment \"2 the stub's own listeners\"");
  s.rule(out, std::string("oif \"lo\" meta l4proto { tcp, udp } ip6 daddr . th dport @") +
                  nft_name::kStubs6 + " accept comment \"2 the stub's own listeners\"");
  s.rule(out, std::string("oif \"lo\" meta l4proto { tcp, udp } ip saddr . th sport @") +
                  nft_name::kStubs4 + " accept comment \"2 the stub's answers (untracked)\"");
  s.rule(out, std::string("oif \"lo\" meta l4proto { tcp, udp } ip6 saddr . th sport @") +
                  nft_name::kStubs6 + " accept comment \"2 the stub's answers (untracked)\"");
  if (!anyStubPorts.empty()) {
    s.rule(out, "oif \"lo\" meta l4proto { tcp, udp } th dport { " + join(anyStubPorts) +
                    " } accept comment \"2 the stub's own listeners (any address)\"");
    s.rule(out, "oif \"lo\" meta l4proto { tcp, udp } th sport { " + join(anyStubPorts) +
                    " } accept comment \"2 the stub's answers (any address, untracked)\"");
  }
  if (!p.loopbackBlocked) {
    s.rule(out, "oif \"lo\" " + permit("permit_loopback", "2 loopback"));
  } else {
    // Rejects of our own answer local sockets over lo with ICMP errors; let them through.
    s.rule(out,
           "oif \"lo\" icmp type { destination-unreachable, time-exceeded, parameter-problem } "
           "accept comment \"2 loopback blocked: ICMP errors to local sockets pass\"");
    s.rule(out,
           "oif \"lo\" icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, "
           "parameter-problem } accept comment \"2 loopback blocked: ICMP errors to local sockets "
           "pass\"");
  }
  s.rule(out, "meta nfproto ipv4 udp sport 68 udp dport 67 " + permit("permit_dhcp", "3 DHCPv4"));
  s.rule(out, "meta nfproto ipv6 udp sport 546 udp dport 547 " + permit("permit_dhcp", "3 DHCPv6"));
  s.rule(out,
         "icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, "
         "nd-neighbor-advert, nd-redirect, mld-listener-report, mld-listener-done, "
         "mld2-listener-report } " +
             permit("permit_ndp", "3 NDP and MLD"));
  s.rule(out, std::string("ip daddr . tcp dport @") + nft_name::kServers4 + " " +
                  permit("permit_server", "4 PDNS servers"));
  s.rule(out, std::string("ip6 daddr . tcp dport @") + nft_name::kServers6 + " " +
                  permit("permit_server", "4 PDNS servers"));
  s.rule(out, std::string("ip daddr @") + nft_name::kExceptions4 + " " +
                  permit("permit_exception", "5 exceptions"));
  s.rule(out, std::string("ip6 daddr @") + nft_name::kExceptions6 + " " +
                  permit("permit_exception", "5 exceptions"));
  s.rule(out, std::string("ip daddr @") + kAllowSet4 + " " +
                  permit("permit_resolved", "6 resolved addresses"));
  s.rule(out, std::string("ip6 daddr @") + kAllowSet6 + " " +
                  permit("permit_resolved", "6 resolved addresses"));
  if (p.audit) {
    s.rule(out, std::string("counter name \"") + nft_name::kWouldBlockCounter + "\" goto " +
                    kLogAuditChain + " comment \"7 audit: log as would-block, then accept\"");
  } else {
    s.rule(out, std::string("counter name \"") + nft_name::kBlockedCounter + "\" jump " +
                    kLogBlockChain + " comment \"7 enforce: log, then reject\"");
    s.rule(out,
           "meta l4proto tcp reject with tcp reset comment \"7 TCP: connection refused at once\"");
    s.rule(out,
           "reject with icmpx admin-prohibited comment \"7 other: ICMP administratively "
           "prohibited\"");
  }
  return s.take();
}

std::string buildRemoveScript() {
  return std::string("delete table ") + kTable + "\n";
}

}  // namespace ztdns::enforce
