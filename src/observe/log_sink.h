// LogSink: the EventSink that writes the three channels.
//
// emit() may be called from any thread and never waits for I/O: it stamps the time, puts
// the event on a bounded queue and returns; a full queue drops the event and counts it.
// One writer thread appends batches to BlockedConnections.jsonl,
// PermittedConnections.jsonl and Operational.jsonl in the log directory (rotated by
// size), and sends each event to journald when /run/systemd/journal/socket exists.
// Lines lost to an unwritable directory, a full disk or a full queue are counted per
// channel and reported in Operational (event_id::kLogLoss) as soon as Operational can be
// written again: at once when the failed channel recovers, otherwise at most once a minute.
// The PermittedConnections channel is off by default and can be switched at runtime.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "config/config.h"
#include "observe/event_sink.h"
#include "observe/time_format.h"

namespace ztdns::observe {

struct LogSinkOptions {
  std::string directory;  // --log-dir; created if missing
  config::LogSettings settings;
  bool permittedEnabled = false;
  size_t queueCapacity = 16384;
  enum class Journal { Auto, Off } journal = Journal::Auto;  // Auto: when journald runs
  std::chrono::milliseconds retryInterval{1000};  // idle wake-up: retries, journald check
  std::chrono::seconds lossReportInterval{60};    // while a channel keeps failing
};

struct ChannelStats {
  uint64_t written = 0;       // lines appended to the file
  uint64_t lost = 0;          // lines lost: write failures and queue overflow
  uint64_t queueDropped = 0;  // of those, dropped because the queue was full
  uint64_t lossReports = 0;   // kLogLoss events written about this channel
};

struct LogSinkStats {
  std::array<ChannelStats, 3> channels;  // indexed by Channel
  uint64_t permittedDisabled = 0;        // permits dropped because the channel is off
  uint64_t journalSent = 0;
  uint64_t journalFailed = 0;
  uint64_t rotations = 0;
};

class ChannelFile;

class LogSink final : public EventSink {
 public:
  explicit LogSink(LogSinkOptions options);
  ~LogSink() override;  // writes what is queued, then stops
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;

  void emit(Event event) override;

  void setPermittedEnabled(bool on) { permitted_.store(on); }
  bool permittedEnabled() const { return permitted_.load(); }
  void setSettings(const config::LogSettings& settings);

  // Waits until every event emitted before the call has been handled (written or counted
  // as lost). For tests and shutdown; false on timeout.
  bool flush(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  LogSinkStats stats() const;
  bool journalActive() const { return journalActive_.load(); }

 private:
  struct PendingLoss {
    uint64_t lines = 0;
    SystemTime since;
    std::string reason;
    std::chrono::steady_clock::time_point lastReport{};
  };

  void run();
  void writeBatch(std::deque<Event>& batch);
  void reportLosses(bool recovered[3]);
  void noteLoss(Channel channel, uint64_t lines, const std::string& reason);
  std::string lineFor(const Event& event) const;

  LogSinkOptions options_;
  std::atomic<bool> permitted_;
  std::atomic<bool> journalActive_{false};

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::deque<Event> queue_;
  std::array<uint64_t, 3> queueDropped_{};  // since the writer last looked
  uint64_t enqueued_ = 0;
  uint64_t handled_ = 0;
  bool stop_ = false;
  std::optional<config::LogSettings> newSettings_;
  LogSinkStats stats_;

  // Writer thread only.
  std::array<std::unique_ptr<ChannelFile>, 3> files_;
  std::array<PendingLoss, 3> losses_;
  std::chrono::steady_clock::time_point lastJournalCheck_{};

  std::thread writer_;
};

}  // namespace ztdns::observe
