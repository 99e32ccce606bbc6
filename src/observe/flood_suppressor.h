// FloodSuppressor: beyond a rate, connection events are summarised, never dropped silently.
//
// A token bucket (rate = burst = eventsPerSecond) admits events. An event over the rate is
// counted under its (action, process, destination) key; flush() returns the summaries
// ("N similar events suppressed") for the Operational channel. The table is capped: keys
// beyond the cap are counted in one catch-all row, so the totals stay exact while memory
// stays bounded. Pure logic, one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "observe/connection_event.h"

namespace ztdns::observe {

struct SuppressedSummary {
  std::string action;              // BLOCK, AUDIT, PERMIT; "*" in the catch-all row
  std::string process;             // executable path, "unknown", or "*"
  std::string dst;                 // address, or "*"
  std::string protocol;            // of the first suppressed event
  std::vector<uint16_t> dstPorts;  // up to kMaxPorts distinct ports
  uint64_t count = 0;
  SystemTime first;
  SystemTime last;
  bool overflow = false;  // the catch-all row
};

class FloodSuppressor {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxPorts = 8;

  explicit FloodSuppressor(unsigned eventsPerSecond, size_t maxKeys = 4096);

  void setRate(unsigned eventsPerSecond);
  // True: write the event. False: it was counted for a summary.
  bool admit(const ConnectionEvent& event, Clock::time_point now);
  // Summaries of everything suppressed since the last flush, largest first, and resets.
  // At most maxRows rows: the rest are folded into the catch-all row (overflow = true).
  std::vector<SuppressedSummary> flush(size_t maxRows = 32);

  uint64_t suppressedTotal() const { return suppressedTotal_; }
  size_t keys() const { return table_.size(); }

 private:
  struct Row {
    SuppressedSummary summary;
    std::set<uint16_t> ports;
  };
  void count(Row& row, const ConnectionEvent& e);

  double rate_;
  double tokens_;
  Clock::time_point last_{};
  size_t maxKeys_;
  std::unordered_map<std::string, Row> table_;
  std::optional<Row> overflow_;
  uint64_t suppressedTotal_ = 0;
};

}  // namespace ztdns::observe
