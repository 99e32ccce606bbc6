#include "observe/log_sink.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "observe/channel_file.h"
#include "observe/channels.h"
#include "observe/journal.h"
#include "observe/operational_events.h"

namespace ztdns::observe {

namespace {

size_t indexOf(Channel c) {
  return static_cast<size_t>(c);
}

constexpr Channel kChannels[3] = {Channel::Blocked, Channel::Permitted, Channel::Operational};

}  // namespace

LogSink::LogSink(LogSinkOptions options)
    : options_(std::move(options)), permitted_(options_.permittedEnabled) {
  std::error_code ec;
  std::filesystem::create_directories(options_.directory, ec);  // failures show up as losses
  for (Channel c : kChannels) {
    files_[indexOf(c)] =
        std::make_unique<ChannelFile>(options_.directory, channelFileName(c),
                                      options_.settings.maxFileBytes, options_.settings.keepFiles);
  }
  writer_ = std::thread([this] { run(); });
}

LogSink::~LogSink() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  writer_.join();
}

void LogSink::emit(Event event) {
  if (event.channel == Channel::Permitted && !permitted_.load(std::memory_order_relaxed)) {
    std::lock_guard lock(mutex_);
    ++stats_.permittedDisabled;
    return;
  }
  if (!event.fields.is_object()) event.fields = nlohmann::json::object();
  if (!event.fields.contains("time"))
    event.fields["time"] = formatTime(std::chrono::system_clock::now());
  {
    std::lock_guard lock(mutex_);
    ++enqueued_;
    if (queue_.size() >= options_.queueCapacity || stop_) {
      ++queueDropped_[indexOf(event.channel)];
      ++handled_;
      return;
    }
    queue_.push_back(std::move(event));
  }
  wake_.notify_one();
}

void LogSink::setSettings(const config::LogSettings& settings) {
  std::lock_guard lock(mutex_);
  newSettings_ = settings;
}

bool LogSink::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  uint64_t target = enqueued_;
  wake_.notify_one();
  return done_.wait_for(lock, timeout, [&] { return handled_ >= target; });
}

LogSinkStats LogSink::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::string LogSink::lineFor(const Event& e) const {
  nlohmann::ordered_json line;
  line["time"] = e.fields.value("time", "");
  line["eventId"] = e.eventId;
  line["action"] = e.action;
  for (const auto& [k, v] : e.fields.items()) {
    if (k == "time" || k == "eventId" || k == "action" || k == "message") continue;
    line[k] = v;
  }
  line["message"] = e.message;
  // Invalid UTF-8 (a strange executable name) must not cost the line.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void LogSink::noteLoss(Channel channel, uint64_t lines, const std::string& reason) {
  auto& l = losses_[indexOf(channel)];
  if (l.lines == 0) l.since = std::chrono::system_clock::now();
  l.lines += lines;
  l.reason = reason;
  std::lock_guard lock(mutex_);
  stats_.channels[indexOf(channel)].lost += lines;
}

void LogSink::writeBatch(std::deque<Event>& batch) {
  std::array<std::string, 3> text;
  std::array<uint64_t, 3> count{};
  for (const auto& e : batch) {
    text[indexOf(e.channel)] += lineFor(e);
    ++count[indexOf(e.channel)];
  }
  bool recovered[3] = {false, false, false};
  for (Channel c : kChannels) {
    size_t i = indexOf(c);
    if (count[i] == 0) continue;
    auto st = files_[i]->append(text[i]);
    if (st) {
      recovered[i] = true;
      std::lock_guard lock(mutex_);
      stats_.channels[i].written += count[i];
      stats_.rotations = 0;
      for (const auto& f : files_) stats_.rotations += f->rotations();
    } else {
      noteLoss(c, count[i], st.error().message);
    }
  }
  if (journalActive_.load()) {
    for (const auto& e : batch) {
      int r = sendToJournal(journalFields(e));
      std::lock_guard lock(mutex_);
      ++(r < 0 ? stats_.journalFailed : stats_.journalSent);
    }
  }
  reportLosses(recovered);
}

void LogSink::reportLosses(bool recovered[3]) {
  auto now = std::chrono::steady_clock::now();
  std::string text;
  std::deque<Event> reports;
  std::array<bool, 3> reporting{};
  for (Channel c : kChannels) {
    size_t i = indexOf(c);
    auto& l = losses_[i];
    if (l.lines == 0) continue;
    bool due = recovered[i] || l.lastReport == std::chrono::steady_clock::time_point{} ||
               now - l.lastReport >= options_.lossReportInterval;
    if (!due) continue;
    Event e = ops::logLoss(channelFileName(c), l.lines, l.since, l.reason);
    e.fields["time"] = formatTime(std::chrono::system_clock::now());
    text += lineFor(e);
    reports.push_back(std::move(e));
    reporting[i] = true;
  }
  if (reports.empty()) return;
  auto& operational = files_[indexOf(Channel::Operational)];
  if (!operational->append(text)) {
    // Operational itself cannot be written: keep the counts and try again later.
    for (size_t i = 0; i < 3; ++i) {
      if (reporting[i]) losses_[i].lastReport = now;
    }
    return;
  }
  for (size_t i = 0; i < 3; ++i) {
    if (!reporting[i]) continue;
    losses_[i] = PendingLoss{};
    losses_[i].lastReport = now;
    std::lock_guard lock(mutex_);
    ++stats_.channels[i].lossReports;
  }
  if (journalActive_.load()) {
    for (const auto& e : reports) sendToJournal(journalFields(e));
  }
}

void LogSink::run() {
  for (;;) {
    std::deque<Event> batch;
    std::array<uint64_t, 3> dropped{};
    std::optional<config::LogSettings> settings;
    bool stopping;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.retryInterval, [&] { return stop_ || !queue_.empty(); });
      batch.swap(queue_);
      dropped = queueDropped_;
      queueDropped_ = {};
      settings.swap(newSettings_);
      stopping = stop_;
    }
    if (settings) {
      for (auto& f : files_) f->setLimits(settings->maxFileBytes, settings->keepFiles);
    }
    auto now = std::chrono::steady_clock::now();
    if (options_.journal == LogSinkOptions::Journal::Auto &&
        now - lastJournalCheck_ >= std::chrono::seconds(5)) {
      lastJournalCheck_ = now;
      journalActive_.store(::access(kJournalSocket, W_OK) == 0);
    }
    for (Channel c : kChannels) {
      size_t i = indexOf(c);
      if (dropped[i] == 0) continue;
      noteLoss(c, dropped[i], "the log queue was full (writer too slow)");
      std::lock_guard lock(mutex_);
      stats_.channels[i].queueDropped += dropped[i];
    }
    size_t n = batch.size();
    if (!batch.empty()) {
      writeBatch(batch);
    } else {
      bool none[3] = {false, false, false};
      reportLosses(none);
    }
    {
      std::lock_guard lock(mutex_);
      handled_ += n;
      if (stopping && queue_.empty()) {
        handled_ = enqueued_;
        done_.notify_all();
        return;
      }
    }
    done_.notify_all();
  }
}

}  // namespace ztdns::observe
