// EventSource: where `suggest exceptions` and `diagnose` get BlockedConnections events.
// Two sources: the daemon (log.show over the control socket) and a JSONL file (a channel
// file, or one copied from another host). When the logs module's reader lands, a third
// implementation can wrap it without touching the mining code.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli/connection_event.h"
#include "common/result.h"

namespace ztdns::cli {

class Context;

struct EventBatch {
  std::vector<ConnectionEvent> events;  // BLOCK and AUDIT events, oldest first
  size_t unreadable = 0;                // lines that were not connection events
  bool truncated = false;               // the source held more than it returned
};

class EventSource {
 public:
  virtual ~EventSource() = default;
  virtual Result<EventBatch> blocked(std::optional<uint64_t> sinceSeconds) = 0;
};

// Reads a BlockedConnections.jsonl file (or any JSONL of connection events).
class JsonlFileEventSource final : public EventSource {
 public:
  JsonlFileEventSource(std::string path, std::function<std::chrono::system_clock::time_point()> now)
      : path_(std::move(path)), now_(std::move(now)) {}
  Result<EventBatch> blocked(std::optional<uint64_t> sinceSeconds) override;

 private:
  std::string path_;
  std::function<std::chrono::system_clock::time_point()> now_;
};

// Asks the daemon (log.show channel=blocked, up to `limit` events).
class ControlEventSource final : public EventSource {
 public:
  ControlEventSource(Context& ctx, uint32_t limit) : ctx_(ctx), limit_(limit) {}
  Result<EventBatch> blocked(std::optional<uint64_t> sinceSeconds) override;

 private:
  Context& ctx_;
  uint32_t limit_;
};

// True for the events mining looks at: blocks and would-be blocks.
bool isBlockEvent(const ConnectionEvent& e);

}  // namespace ztdns::cli
