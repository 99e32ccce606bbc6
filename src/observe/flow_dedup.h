// FlowDeduper: one connection event per flow, not one per packet.
//
// The enforcement table logs every conntrack-NEW packet, so a TCP SYN retransmit, the
// second datagram of an unanswered UDP flow and the next echo request of a ping all log
// again. Those are the same connection: the first event stands (its attribution was taken
// in the sender's context; a retransmit runs in a timer with an unrelated `current`).
// A later packet on the same 5-tuple is a new event only when the kernel attributed it,
// in the sender's context, to a different process than the first (the tuple was reused),
// or when the window since the first event has passed.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>

#include "common/ip.h"
#include "observe/connection_event.h"

namespace ztdns::observe {

struct FlowKey {
  uint8_t protocol = 0;
  IpAddress src;
  IpAddress dst;
  uint16_t srcPort = 0;  // or the ICMP echo id
  uint16_t dstPort = 0;
  ConnectionAction action = ConnectionAction::Block;
  bool operator==(const FlowKey&) const = default;
};

struct FlowKeyHash {
  size_t operator()(const FlowKey& k) const noexcept;
};

// Who sent a packet, as far as the kernel could tell in the sender's context.
struct SenderId {
  uint32_t hostPid = 0;
  uint64_t startBoottimeNs = 0;
  bool operator==(const SenderId&) const = default;
};

class FlowDeduper {
 public:
  using Clock = std::chrono::steady_clock;
  explicit FlowDeduper(std::chrono::seconds window = std::chrono::seconds(30),
                       size_t maxFlows = 65536)
      : window_(window), maxFlows_(maxFlows) {}

  // True: log this packet as a connection event. False: a repeat of a logged flow.
  bool admit(const FlowKey& key, const std::optional<SenderId>& sender, Clock::time_point now);

  uint64_t duplicates() const { return duplicates_; }
  size_t size() const { return flows_.size(); }

 private:
  struct Flow {
    Clock::time_point first;
    std::optional<SenderId> sender;
    uint64_t generation;
  };
  void evict(Clock::time_point now);

  std::chrono::seconds window_;
  size_t maxFlows_;
  std::unordered_map<FlowKey, Flow, FlowKeyHash> flows_;
  std::deque<std::pair<FlowKey, uint64_t>> order_;  // by first sight
  uint64_t generation_ = 0;
  uint64_t duplicates_ = 0;
};

}  // namespace ztdns::observe
