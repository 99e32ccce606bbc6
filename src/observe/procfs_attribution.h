// The fallback attribution without BPF: find the socket of a logged packet with sock_diag
// (inet_diag, by local port and peer) and its owner by scanning /proc/<pid>/fd.
//
// It is inherently late: by the time the NFLOG message is read, a refused TCP socket is
// already unhashed and a short-lived sender may have exited. It reports unknown then, and
// when more than one process holds the socket. See docs/design.md (Attribution) for the
// measured rates.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "observe/packet.h"

namespace ztdns::observe {

struct ProcfsOwner {
  uint32_t pid = 0;
  uint64_t startTicks = 0;
  std::string executable;
  std::optional<uint32_t> uid;  // the socket's owner uid from sock_diag
  std::string cgroupPath;
};

class ProcfsAttribution {
 public:
  explicit ProcfsAttribution(std::string procRoot = "/proc", unsigned lookupsPerSecond = 200);

  // TCP and UDP over IPv4/IPv6 only (raw/ICMP sockets have no diag here).
  std::optional<ProcfsOwner> lookup(const PacketSummary& packet);

  uint64_t lookups() const { return lookups_; }
  uint64_t overBudget() const { return overBudget_; }

 private:
  std::optional<uint32_t> socketInode(const PacketSummary& packet, uint32_t* uid);
  std::optional<uint32_t> ownerOf(uint32_t inode);

  std::string procRoot_;
  unsigned budgetPerSecond_;
  unsigned usedThisSecond_ = 0;
  std::chrono::steady_clock::time_point second_{};
  uint64_t lookups_ = 0;
  uint64_t overBudget_ = 0;
};

}  // namespace ztdns::observe
