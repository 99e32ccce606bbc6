#include "observe/flow_dedup.h"

namespace ztdns::observe {

size_t FlowKeyHash::operator()(const FlowKey& k) const noexcept {
  size_t h = IpAddressHash{}(k.src) * 31 + IpAddressHash{}(k.dst);
  h = h * 131 + (static_cast<size_t>(k.srcPort) << 16 | k.dstPort);
  return h * 7 + k.protocol * 3 + static_cast<size_t>(k.action);
}

void FlowDeduper::evict(Clock::time_point now) {
  while (!order_.empty()) {
    auto& [key, generation] = order_.front();
    auto it = flows_.find(key);
    if (it == flows_.end() || it->second.generation != generation) {
      order_.pop_front();  // replaced since
      continue;
    }
    if (flows_.size() < maxFlows_ && it->second.first + window_ > now) break;
    flows_.erase(it);
    order_.pop_front();
  }
}

bool FlowDeduper::admit(const FlowKey& key, const std::optional<SenderId>& sender,
                        Clock::time_point now) {
  evict(now);
  auto it = flows_.find(key);
  if (it != flows_.end()) {
    bool differentSender = sender && it->second.sender && *sender != *it->second.sender;
    if (!differentSender) {
      ++duplicates_;
      return false;
    }
    flows_.erase(it);
  }
  uint64_t g = ++generation_;
  flows_.emplace(key, Flow{now, sender, g});
  order_.emplace_back(key, g);
  return true;
}

}  // namespace ztdns::observe
