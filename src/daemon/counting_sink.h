// CountingSink: an EventSink in front of the log writer that counts connection events by
// action, for `ztdns show stats` (blocked, would-block, permitted, suppressed). Counting
// here rather than in the channel files keeps the figures right when lines are lost.
#pragma once

#include <atomic>
#include <cstdint>

#include "observe/event_sink.h"

namespace ztdns::daemon {

class CountingSink final : public observe::EventSink {
 public:
  explicit CountingSink(observe::EventSink& next) : next_(next) {}

  void emit(observe::Event event) override {
    if (event.eventId == observe::event_id::kBlock) {
      (event.action == "AUDIT" ? audited_ : blocked_).fetch_add(1, std::memory_order_relaxed);
    } else if (event.eventId == observe::event_id::kPermit) {
      permitted_.fetch_add(1, std::memory_order_relaxed);
    } else if (event.eventId == observe::event_id::kSuppressed) {
      // A summary stands for `count` connection events (or packets the kernel did not log).
      auto count = event.fields.find("count");
      uint64_t n =
          count != event.fields.end() && count->is_number_unsigned() ? count->get<uint64_t>() : 1;
      suppressed_.fetch_add(n, std::memory_order_relaxed);
    }
    next_.emit(std::move(event));
  }

  uint64_t blocked() const { return blocked_.load(std::memory_order_relaxed); }
  uint64_t audited() const { return audited_.load(std::memory_order_relaxed); }
  uint64_t permitted() const { return permitted_.load(std::memory_order_relaxed); }
  uint64_t suppressed() const { return suppressed_.load(std::memory_order_relaxed); }

 private:
  observe::EventSink& next_;
  std::atomic<uint64_t> blocked_{0}, audited_{0}, permitted_{0}, suppressed_{0};
};

}  // namespace ztdns::daemon
