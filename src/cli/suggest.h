// suggest exceptions: mine blocked connection events for exception proposals (pure).
//
// The rule, in full:
//  1. Events are grouped by process (executable path; else the systemd unit; else
//     "unknown") and by kind of destination: public, private (RFC 1918, CGNAT, ULA),
//     link-local, multicast/broadcast, loopback. Each group is one proposal, so that a
//     flagged private or discovery range never rides along with a public one.
//  2. Destinations blocked fewer than `minCount` times, and destinations an existing
//     exception already covers, are left out (and counted).
//  3. Addresses become host prefixes; two sibling prefixes (the two halves of one parent)
//     that are both present merge into the parent, repeatedly, but never into a prefix
//     shorter than /v4MinPrefix (24) or /v6MinPrefix (48). The result covers exactly the
//     addresses seen and nothing else: no unrelated address is ever allowed by a proposal.
//  4. Ports are summarised per protocol (adjacent ports merged into ranges), and flags name
//     what deserves a second look: private, link-local, multicast, loopback, plaintext-dns,
//     dns-over-tls, stun-turn, discovery, webrtc-udp, quic, ntp, icmp.
//  5. Each proposal gets a unique name (from the executable's basename), a description that
//     says where it came from, and ready-to-run `ztdns add exception` lines (500 prefixes
//     per line at most). Proposals are ordered by event count, then name.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/connection_event.h"
#include "common/ip.h"

namespace ztdns::cli {

struct SuggestOptions {
  uint64_t minCount = 1;
  int v4MinPrefix = 24;
  int v6MinPrefix = 48;
  std::vector<IpPrefix> existing;          // prefixes already excepted
  std::vector<std::string> existingNames;  // exception names already taken
};

enum class DestinationKind { kPublic, kPrivate, kLinkLocal, kMulticast, kLoopback };
const char* destinationKindName(DestinationKind k);
DestinationKind destinationKind(const IpAddress& a);

struct PrefixProposal {
  IpPrefix prefix;
  uint64_t events = 0;
  uint64_t addresses = 0;
  friend bool operator==(const PrefixProposal&, const PrefixProposal&) = default;
};

struct PortRange {
  std::string protocol;
  uint16_t first = 0;
  uint16_t last = 0;
  uint64_t events = 0;
  std::string text() const;  // "udp/3478", "udp/50000-50009", "icmp"
  friend bool operator==(const PortRange&, const PortRange&) = default;
};

struct Proposal {
  std::string name;
  std::string process;             // executable path, "unit NAME", or "unknown"
  std::vector<std::string> units;  // systemd units seen
  DestinationKind kind = DestinationKind::kPublic;
  std::vector<PrefixProposal> prefixes;
  uint64_t events = 0;
  uint64_t auditEvents = 0;
  uint64_t blockEvents = 0;
  uint64_t addresses = 0;
  std::vector<PortRange> ports;
  std::vector<std::string> flags;
  std::vector<std::string> notes;  // one line per flag, in words
  std::optional<std::chrono::system_clock::time_point> first, last;
  std::string description;
  std::vector<std::string> commands;
};

struct SuggestResult {
  std::vector<Proposal> proposals;
  uint64_t eventsSeen = 0;
  uint64_t alreadyExcepted = 0;  // events to destinations an exception covers
  uint64_t belowMin = 0;         // events to destinations under minCount
  uint64_t unspecified = 0;      // events to 0.0.0.0 / :: (ignored)
};

SuggestResult suggestExceptions(const std::vector<ConnectionEvent>& events,
                                const SuggestOptions& options);

// Exact sibling merging of host prefixes (rule 3); exposed for tests.
std::vector<PrefixProposal> mergeSiblings(std::vector<PrefixProposal> hosts, int v4MinPrefix,
                                          int v6MinPrefix);

nlohmann::json toJson(const SuggestResult& result);

}  // namespace ztdns::cli
