// EventSink: how every module reports to the three log channels without knowing how they
// are written. Thread-safe and non-blocking: emit() enqueues and returns; when the queue
// is full the event is counted as lost and reported later, never waited for.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace ztdns::observe {

enum class Channel { Blocked, Permitted, Operational };

// Event IDs 1-8 keep the meanings of Windows' Microsoft-Windows-ZTDNS provider;
// 100+ are ours.
namespace event_id {
inline constexpr int kPermit = 1;              // PermittedConnections
inline constexpr int kBlock = 2;               // BlockedConnections (audit: "would block")
inline constexpr int kServersUpdated = 3;      // UPDATE - Trusted servers
inline constexpr int kExceptionRemoved = 4;    // REMOVE - Exceptions
inline constexpr int kExceptionAdded = 5;      // ADD - Exceptions
inline constexpr int kStateUpdated = 6;        // UPDATE - State (enabled/audit)
inline constexpr int kServiceStart = 7;        // START
inline constexpr int kServiceStop = 8;         // STOP
inline constexpr int kUpstreamHealth = 101;    // server up/down, with the error in words
inline constexpr int kAllowCapacity = 102;     // allow set full: eviction or refused insert
inline constexpr int kSuppressed = 103;        // N similar connection events suppressed
inline constexpr int kLogLoss = 104;           // log lines lost (disk full, unwritable)
inline constexpr int kConfigUpdated = 105;     // other config changes (certs, log switch, reload)
inline constexpr int kEnforcementError = 106;  // a kernel apply failed; previous policy kept
inline constexpr int kAttribution = 107;  // how processes are named (BPF, or the procfs fallback)
}  // namespace event_id

struct Event {
  Channel channel = Channel::Operational;
  int eventId = 0;
  std::string action;     // BLOCK, AUDIT, PERMIT, START, STOP, UPDATE, ADD, REMOVE, HEALTH, ...
  std::string message;    // one readable line
  nlohmann::json fields;  // everything else, flat where possible; the writer adds time/channel
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void emit(Event event) = 0;
};

// Writes to stderr only; used before the log directory is ready and in tools.
class StderrEventSink final : public EventSink {
 public:
  void emit(Event event) override;
};

}  // namespace ztdns::observe
