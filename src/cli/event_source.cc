#include "cli/event_source.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "cli/context.h"

namespace ztdns::cli {

bool isBlockEvent(const ConnectionEvent& e) {
  return e.action == "BLOCK" || e.action == "AUDIT" || (e.action.empty() && e.eventId == 2);
}

Result<EventBatch> JsonlFileEventSource::blocked(std::optional<uint64_t> sinceSeconds) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0)
    return Error{"file: cannot read " + path_ + ": " + std::strerror(errno)};
  if (S_ISDIR(st.st_mode)) return Error{"file: cannot read " + path_ + ": it is a directory"};
  errno = 0;
  std::ifstream in(path_);
  if (!in) {
    return Error{"file: cannot read " + path_ + ": " +
                 (errno ? std::strerror(errno) : "cannot open it")};
  }
  EventBatch batch;
  // (A plain time point, not an optional: g++ 12 warns falsely about the optional.)
  const bool limited = sinceSeconds.has_value();
  const auto cutoff = now_() - std::chrono::seconds(sinceSeconds.value_or(0));
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    auto event =
        j.is_discarded() ? Result<ConnectionEvent>(Error{"not JSON"}) : parseConnectionEvent(j);
    if (!event) {
      ++batch.unreadable;
      continue;
    }
    if (!isBlockEvent(*event)) continue;
    if (limited && (!event->time || *event->time < cutoff)) continue;
    batch.events.push_back(std::move(*event));
  }
  if (in.bad()) return Error{"file: reading " + path_ + " failed: " + std::strerror(errno)};
  return batch;
}

Result<EventBatch> ControlEventSource::blocked(std::optional<uint64_t> sinceSeconds) {
  control::LogShowParams p;
  p.channel = control::LogChannel::kBlocked;
  p.sinceSeconds = sinceSeconds;
  p.limit = limit_;
  auto result = ctx_.call<control::Method::kLogShow>(p);
  if (!result) return result.error();
  EventBatch batch;
  batch.truncated = result->truncated;
  for (const auto& j : result->events) {
    auto event = parseConnectionEvent(j);
    if (!event) {
      ++batch.unreadable;
      continue;
    }
    if (isBlockEvent(*event)) batch.events.push_back(std::move(*event));
  }
  return batch;
}

}  // namespace ztdns::cli
