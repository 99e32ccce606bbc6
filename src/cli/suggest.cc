#include "cli/suggest.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "control/time_text.h"

namespace ztdns::cli {

namespace {

struct Agg {
  uint64_t events = 0;
  uint64_t addresses = 0;
};

IpAddress withBit(const IpAddress& a, int bit, bool value) {
  uint8_t bytes[16];
  std::memcpy(bytes, a.bytes(), a.size());
  uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
  if (value)
    bytes[bit / 8] |= mask;
  else
    bytes[bit / 8] &= static_cast<uint8_t>(~mask);
  return a.isV4() ? IpAddress::v4(bytes) : IpAddress::v6(bytes);
}

bool bitOf(const IpAddress& a, int bit) {
  return (a.bytes()[bit / 8] >> (7 - bit % 8)) & 1;
}

std::string basename(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Names and descriptions end up in a shell line inside double quotes: keep them to
// characters that need no quoting there.
std::string safeName(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')
      out += c;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  while (!out.empty() && (out.front() == '-' || out.front() == '.')) out.erase(out.begin());
  if (out.size() > 48) out.resize(48);
  return out.empty() ? "unknown" : out;
}

std::string safeText(std::string_view s) {
  std::string out;
  for (char c : s) {
    bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || std::strchr(" .,:;/()+=@_-", c) != nullptr;
    out += ok ? c : '_';
  }
  return out;
}

bool isStun(uint16_t port) {
  return port == 3478 || port == 3479 || port == 5349 || port == 5350 ||
         (port >= 19302 && port <= 19309);
}

struct GroupKey {
  std::string process;
  DestinationKind kind;
  auto operator<=>(const GroupKey&) const = default;
};

struct Group {
  std::map<IpAddress, uint64_t> addresses;
  std::set<std::string> units;
};

std::vector<PortRange> portRanges(
    const std::map<std::pair<std::string, uint16_t>, uint64_t>& ports) {
  std::vector<PortRange> ranges;
  for (const auto& [key, count] : ports) {
    const auto& [proto, port] = key;
    bool portless = proto == "icmp" || proto == "icmpv6";
    if (!ranges.empty() && ranges.back().protocol == proto && !portless &&
        static_cast<uint32_t>(ranges.back().last) + 1 == port) {
      ranges.back().last = port;
      ranges.back().events += count;
    } else {
      ranges.push_back({proto, port, port, count});
    }
  }
  std::stable_sort(ranges.begin(), ranges.end(),
                   [](const PortRange& a, const PortRange& b) { return a.events > b.events; });
  return ranges;
}

void addFlag(Proposal& p, const std::string& flag, const std::string& note) {
  if (std::find(p.flags.begin(), p.flags.end(), flag) != p.flags.end()) return;
  p.flags.push_back(flag);
  p.notes.push_back(note);
}

void flagProposal(Proposal& p, const std::map<std::pair<std::string, uint16_t>, uint64_t>& ports) {
  switch (p.kind) {
    case DestinationKind::kPrivate:
      addFlag(p, "private",
              "private range: it means different hosts on every network; prefer a DNS name the "
              "PDNS allows");
      break;
    case DestinationKind::kLinkLocal:
      addFlag(
          p, "link-local",
          "link-local: meaningful on one link only, usually device discovery or cloud metadata");
      break;
    case DestinationKind::kMulticast:
      addFlag(p, "multicast",
              "multicast/broadcast: discovery protocols (mDNS, SSDP, LLMNR) that ZTDNS breaks by "
              "design");
      break;
    case DestinationKind::kLoopback:
      addFlag(
          p, "loopback",
          "loopback: governed by the loopback switch (loopbackTrafficBlocked), not by exceptions");
      break;
    case DestinationKind::kPublic:
      break;
  }
  for (const auto& [key, count] : ports) {
    const auto& [proto, port] = key;
    if (port == 53 && (proto == "udp" || proto == "tcp")) {
      addFlag(p, "plaintext-dns",
              "plaintext DNS to a resolver other than the stub: point the application at the "
              "system resolver instead");
    } else if (port == 853 && proto == "tcp") {
      addFlag(p, "dns-over-tls",
              "DNS over TLS to a resolver that is not configured: the application runs its own "
              "resolver");
    } else if (isStun(port)) {
      addFlag(p, "stun-turn",
              "STUN/TURN: WebRTC calls and video; use the relay ranges the vendor publishes");
    } else if (proto == "udp" && port == 443) {
      addFlag(p, "quic",
              "QUIC (HTTP/3) to addresses the PDNS did not give: the application may resolve on "
              "its own");
    } else if (proto == "udp" &&
               (port == 5353 || port == 5355 || port == 1900 || port == 137 || port == 138)) {
      addFlag(p, "discovery",
              "local discovery (mDNS, LLMNR, SSDP, NetBIOS): broken by design under ZTDNS; use DNS "
              "names");
    } else if (proto == "udp" && port == 123) {
      addFlag(p, "ntp",
              "NTP: give the NTP client server names, so that resolving them allows them");
    } else if (proto == "udp" && port >= 1024) {
      addFlag(p, "webrtc-udp",
              "UDP to high ports: WebRTC-like media; prefer the vendor's published media ranges");
    } else if (proto == "icmp" || proto == "icmpv6") {
      addFlag(p, "icmp",
              "ICMP (ping, traceroute) to addresses that were not resolved through the stub");
    }
  }
}

}  // namespace

const char* destinationKindName(DestinationKind k) {
  switch (k) {
    case DestinationKind::kPublic:
      return "public";
    case DestinationKind::kPrivate:
      return "private";
    case DestinationKind::kLinkLocal:
      return "link-local";
    case DestinationKind::kMulticast:
      return "multicast";
    case DestinationKind::kLoopback:
      return "loopback";
  }
  return "public";
}

DestinationKind destinationKind(const IpAddress& a) {
  if (a.isLoopback()) return DestinationKind::kLoopback;
  if (a.isMulticast() || a.isBroadcast()) return DestinationKind::kMulticast;
  if (a.isLinkLocal()) return DestinationKind::kLinkLocal;
  if (a.isPrivate()) return DestinationKind::kPrivate;
  return DestinationKind::kPublic;
}

std::string PortRange::text() const {
  if (protocol == "icmp" || protocol == "icmpv6" || (first == 0 && last == 0)) return protocol;
  std::string s = protocol + "/" + std::to_string(first);
  if (last != first) s += "-" + std::to_string(last);
  return s;
}

std::vector<PrefixProposal> mergeSiblings(std::vector<PrefixProposal> hosts, int v4MinPrefix,
                                          int v6MinPrefix) {
  std::map<IpPrefix, Agg> set;
  for (const auto& h : hosts) {
    auto& a = set[h.prefix.normalized()];
    a.events += h.events;
    a.addresses += h.addresses;
  }
  for (int len = 128; len >= 1; --len) {
    std::vector<IpPrefix> atLength;
    for (const auto& [p, a] : set)
      if (p.length() == len) atLength.push_back(p);
    for (const auto& p : atLength) {
      int floor = p.address().isV4() ? v4MinPrefix : v6MinPrefix;
      if (len <= floor || bitOf(p.address(), len - 1)) continue;  // at the floor, or a right half
      IpPrefix sibling(withBit(p.address(), len - 1, true), static_cast<uint8_t>(len));
      auto s = set.find(sibling);
      auto self = set.find(p);
      if (s == set.end() || self == set.end()) continue;
      Agg merged{self->second.events + s->second.events,
                 self->second.addresses + s->second.addresses};
      set.erase(s);
      set.erase(self);
      set[IpPrefix(p.address(), static_cast<uint8_t>(len - 1))] = merged;
    }
  }
  std::vector<PrefixProposal> out;
  for (const auto& [p, a] : set) out.push_back({p, a.events, a.addresses});
  return out;
}

SuggestResult suggestExceptions(const std::vector<ConnectionEvent>& events,
                                const SuggestOptions& options) {
  SuggestResult result;
  std::map<GroupKey, Group> groups;
  std::map<GroupKey, Proposal> meta;
  for (const auto& e : events) {
    ++result.eventsSeen;
    if (e.dst.isUnspecified()) {
      ++result.unspecified;
      continue;
    }
    if (std::any_of(options.existing.begin(), options.existing.end(),
                    [&](const IpPrefix& p) { return p.contains(e.dst); })) {
      ++result.alreadyExcepted;
      continue;
    }
    std::string process = !e.process.empty() ? e.process
                          : !e.unit.empty()  ? "unit " + e.unit
                                             : "unknown";
    GroupKey key{process, destinationKind(e.dst)};
    Group& g = groups[key];
    g.addresses[e.dst]++;
    if (!e.unit.empty()) g.units.insert(e.unit);
    Proposal& p = meta[key];
    if (e.time) {
      if (!p.first || *e.time < *p.first) p.first = e.time;
      if (!p.last || *e.time > *p.last) p.last = e.time;
    }
  }
  // Second pass for ports and counts, now that minCount can be applied per address.
  std::map<GroupKey, std::map<std::pair<std::string, uint16_t>, uint64_t>> ports;
  std::map<GroupKey, std::pair<uint64_t, uint64_t>> auditBlock;
  for (const auto& e : events) {
    if (e.dst.isUnspecified()) continue;
    if (std::any_of(options.existing.begin(), options.existing.end(),
                    [&](const IpPrefix& p) { return p.contains(e.dst); }))
      continue;
    std::string process = !e.process.empty() ? e.process
                          : !e.unit.empty()  ? "unit " + e.unit
                                             : "unknown";
    GroupKey key{process, destinationKind(e.dst)};
    if (groups[key].addresses[e.dst] < options.minCount) continue;
    bool portless = e.protocol == "icmp" || e.protocol == "icmpv6";
    ports[key][{e.protocol.empty() ? "ip" : e.protocol, portless ? uint16_t{0} : e.dstPort}]++;
    (e.audit ? auditBlock[key].first : auditBlock[key].second)++;
  }

  std::set<std::string> taken(options.existingNames.begin(), options.existingNames.end());
  for (auto& [key, g] : groups) {
    std::vector<PrefixProposal> hosts;
    for (const auto& [addr, count] : g.addresses) {
      if (count < options.minCount) {
        result.belowMin += count;
        continue;
      }
      hosts.push_back({IpPrefix(addr, addr.isV4() ? 32 : 128), count, 1});
    }
    if (hosts.empty()) continue;
    Proposal p = std::move(meta[key]);
    p.process = key.process;
    p.kind = key.kind;
    p.units.assign(g.units.begin(), g.units.end());
    p.addresses = hosts.size();
    p.prefixes = mergeSiblings(std::move(hosts), options.v4MinPrefix, options.v6MinPrefix);
    std::sort(p.prefixes.begin(), p.prefixes.end(),
              [](const PrefixProposal& a, const PrefixProposal& b) {
                if (a.prefix.family() != b.prefix.family()) return a.prefix.address().isV4();
                return a.prefix < b.prefix;
              });
    for (const auto& pp : p.prefixes) p.events += pp.events;
    p.auditEvents = auditBlock[key].first;
    p.blockEvents = auditBlock[key].second;
    p.ports = portRanges(ports[key]);
    flagProposal(p, ports[key]);
    result.proposals.push_back(std::move(p));
  }

  std::stable_sort(result.proposals.begin(), result.proposals.end(),
                   [](const Proposal& a, const Proposal& b) {
                     if (a.events != b.events) return a.events > b.events;
                     if (a.process != b.process) return a.process < b.process;
                     return a.kind < b.kind;
                   });

  for (auto& p : result.proposals) {
    std::string base = p.process == "unknown"             ? "unknown-process"
                       : p.process.rfind("unit ", 0) == 0 ? safeName(p.process.substr(5))
                                                          : safeName(basename(p.process));
    if (p.kind != DestinationKind::kPublic) base += std::string("-") + destinationKindName(p.kind);
    std::string name = base;
    for (int n = 2; taken.count(name); ++n) name = base + "-" + std::to_string(n);
    taken.insert(name);
    p.name = name;

    std::string portText;
    for (size_t i = 0; i < p.ports.size() && i < 4; ++i)
      portText += (i ? ", " : "") + p.ports[i].text();
    if (p.ports.size() > 4) portText += ", ...";
    std::string desc = "suggested by ztdns for " + p.process + ": " + std::to_string(p.events) +
                       (p.events == 1 ? " blocked connection" : " blocked connections");
    if (!portText.empty()) desc += " (" + portText + ")";
    if (p.first && p.last) {
      desc += " " + control::formatRfc3339(*p.first) + " to " + control::formatRfc3339(*p.last);
    }
    p.description = safeText(desc.substr(0, 400));

    for (size_t start = 0; start < p.prefixes.size(); start += 500) {
      std::string subnets;
      for (size_t i = start; i < p.prefixes.size() && i < start + 500; ++i) {
        subnets += (i == start ? "" : ",") + p.prefixes[i].prefix.toString();
      }
      std::string n =
          p.prefixes.size() > 500 ? p.name + "-part" + std::to_string(start / 500 + 1) : p.name;
      p.commands.push_back("ztdns add exception name=" + n + " description=\"" + p.description +
                           "\" subnets=" + subnets);
    }
  }
  return result;
}

nlohmann::json toJson(const SuggestResult& r) {
  nlohmann::json proposals = nlohmann::json::array();
  for (const auto& p : r.proposals) {
    nlohmann::json prefixes = nlohmann::json::array();
    for (const auto& pp : p.prefixes) {
      prefixes.push_back(
          {{"prefix", pp.prefix.toString()}, {"events", pp.events}, {"addresses", pp.addresses}});
    }
    nlohmann::json ports = nlohmann::json::array();
    for (const auto& pr : p.ports) {
      ports.push_back({{"protocol", pr.protocol},
                       {"first", pr.first},
                       {"last", pr.last},
                       {"events", pr.events}});
    }
    proposals.push_back({{"name", p.name},
                         {"process", p.process},
                         {"units", p.units},
                         {"kind", destinationKindName(p.kind)},
                         {"events", p.events},
                         {"auditEvents", p.auditEvents},
                         {"blockEvents", p.blockEvents},
                         {"addresses", p.addresses},
                         {"prefixes", prefixes},
                         {"ports", ports},
                         {"flags", p.flags},
                         {"notes", p.notes},
                         {"first", p.first ? nlohmann::json(control::formatRfc3339(*p.first))
                                           : nlohmann::json(nullptr)},
                         {"last", p.last ? nlohmann::json(control::formatRfc3339(*p.last))
                                         : nlohmann::json(nullptr)},
                         {"description", p.description},
                         {"commands", p.commands}});
  }
  return {{"proposals", proposals},
          {"eventsSeen", r.eventsSeen},
          {"alreadyExcepted", r.alreadyExcepted},
          {"belowMin", r.belowMin},
          {"unspecified", r.unspecified}};
}

}  // namespace ztdns::cli
