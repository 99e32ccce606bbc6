// ConnectionMonitor: NFLOG messages in, BlockedConnections / PermittedConnections events
// out, each naming the process that made the connection.
//
// Pipeline, on its own thread (one epoll loop):
//   NflogReader ──┐
//                 ├─ AttributionJoiner ─ process/unit/reason ─ FlowDeduper ─ FloodSuppressor ─
//                 EventSink
//   KernelAttribution (BPF ring buffer) ┘
// Attribution modes: "kernel" (BPF tracepoints, the default when they load), "procfs"
// (sock_diag + /proc, when BPF cannot load; weaker, see docs/logging.md), "none".
// A process that cannot be determined is logged as unknown, never as another process.
//
// start() opens the NFLOG group and loads BPF in the calling thread's network namespace,
// which must be the namespace the enforcement table lives in.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "common/unique_fd.h"
#include "observe/attribution_joiner.h"
#include "observe/event_sink.h"
#include "observe/nflog_reader.h"

namespace ztdns::observe {

class PermitReasonSource;
class KernelRateGuard;

struct ConnectionMonitorOptions {
  NflogOptions nflog;  // group: enforce::kNflogGroup unless set
  enum class Attribution { Auto, Kernel, Procfs, None } attribution = Attribution::Auto;
  bool attributeAccepted = true;    // attribute audit/permit packets too (transmit tracepoint)
  unsigned eventsPerSecond = 1000;  // config::LogSettings::connectionEventsPerSecond
  size_t suppressionKeys = 4096;
  size_t summaryRows = 32;
  std::chrono::seconds summaryInterval{10};
  std::chrono::seconds dedupWindow{30};
  AttributionJoiner::Options join;
  std::chrono::seconds rateGuardInterval{10};
  std::chrono::seconds healthInterval{30};  // NFLOG overruns, lost BPF records
  unsigned procfsLookupsPerSecond = 200;
  // Whether a channel is written at all (e.g. the permitted switch): skipped events are
  // neither attributed nor summarised. Empty: every channel is on.
  std::function<bool(Channel)> channelEnabled;
};

struct ConnectionMonitorStats {
  uint64_t packets = 0;          // NFLOG messages
  uint64_t events = 0;           // connection events emitted
  uint64_t duplicates = 0;       // repeats of a logged flow
  uint64_t suppressed = 0;       // over the rate, summarised
  uint64_t byKernel = 0;         // events whose process the BPF record named
  uint64_t byProcfs = 0;         // ... that the procfs fallback named
  uint64_t unknown = 0;          // ... with an unknown process
  uint64_t kernelContext = 0;    // ... sent from kernel context (timers, softirq, kernel sockets)
  uint64_t foreignPrefix = 0;    // messages with a prefix that is not ours
  uint64_t unparsable = 0;       // messages whose payload is not an IP packet
  uint64_t disabledChannel = 0;  // permits while the permitted channel is off
  NflogStats nflog;
  JoinerStats join;
  uint64_t ringBufferFull = 0;
  uint64_t bpfRuns = 0;  // BPF program invocations (with BPF run-time stats enabled)
  uint64_t bpfRunTimeNs = 0;
  uint64_t bpfPacketRuns = 0;  // the drop/transmit programs only
  uint64_t bpfPacketRunTimeNs = 0;
};

class ConnectionMonitor {
 public:
  static Result<std::unique_ptr<ConnectionMonitor>> start(
      ConnectionMonitorOptions options, EventSink& sink,
      const PermitReasonSource* reasons = nullptr, KernelRateGuard* rateGuard = nullptr);
  ~ConnectionMonitor();
  ConnectionMonitor(const ConnectionMonitor&) = delete;
  ConnectionMonitor& operator=(const ConnectionMonitor&) = delete;

  // Thread-safe; take effect on the monitor thread.
  void setEventsPerSecond(unsigned eventsPerSecond);
  // With `wait`, returns once the monitor thread has attached (or detached) the transmit
  // tracepoint, or `wait` has passed: turning audit on must not leave the first accepted
  // packets of the new policy unattributed.
  void setAttributeAccepted(bool on, std::chrono::milliseconds wait = std::chrono::milliseconds(0));

  ConnectionMonitorStats stats() const;
  // "kernel", "procfs" or "none", and why when it is not "kernel".
  std::string attributionMode() const { return mode_; }
  std::string attributionDetail() const { return modeDetail_; }

  // Flushes suppression summaries and resolves waiting messages now (tests, shutdown).
  void flushForTest();

 private:
  class Pipeline;
  ConnectionMonitor() = default;
  void run();
  void wake();

  std::unique_ptr<Pipeline> pipeline_;
  std::string mode_;
  std::string modeDetail_;
  UniqueFd wakeFd_;
  std::atomic<bool> stop_{false};
  std::atomic<unsigned> eventsPerSecond_{0};
  std::atomic<int> attributeAccepted_{-1};
  std::mutex attributeMutex_;  // guards the two counters below
  std::condition_variable attributeApplied_;
  uint64_t attributeRequests_ = 0;
  uint64_t attributeDone_ = 0;
  std::atomic<int> flushRequests_{0};
  std::atomic<int> flushesDone_{0};
  mutable std::mutex statsMutex_;
  ConnectionMonitorStats stats_;
  std::thread thread_;
};

}  // namespace ztdns::observe
