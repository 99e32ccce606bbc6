// Reading the channel files back for `ztdns log show blocked|permitted|operational
// [since=DURATION] [process=NAME] [dst=IP|PREFIX] [json]`.
//
// queryLog() reads the current file and its rotated generations (oldest first), keeps the
// lines that pass the filter and returns them as JSON objects; renderLogTable() prints
// them as a readable table, renderJsonLines() as JSON lines. Pure functions over files:
// the CLI calls them directly (no daemon needed).
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/ip.h"
#include "common/result.h"
#include "observe/event_sink.h"
#include "observe/time_format.h"

namespace ztdns::observe {

struct LogFilter {
  std::optional<std::chrono::seconds> since;  // events newer than now - since
  std::optional<std::string> process;         // an executable path, or its basename
  std::optional<IpPrefix> dst;                // an address (host prefix) or a prefix
  std::optional<size_t> last;                 // keep only the newest N matches (bounded memory)
};

struct LogShowRequest {
  Channel channel = Channel::Blocked;
  LogFilter filter;
  bool json = false;
};

// ["blocked", "since=10m", "process=curl", "dst=203.0.113.0/24", "json"]: the words after
// `log show`. Errors name the offending word.
Result<LogShowRequest> parseLogShowArgs(const std::vector<std::string>& args);

struct LogQueryResult {
  std::vector<nlohmann::json> events;  // oldest first
  uint64_t malformedLines = 0;         // skipped: not JSON (e.g. cut by a crash)
  std::vector<std::string> files;      // what was read, oldest first
};

Result<LogQueryResult> queryLog(const std::string& logDir, Channel channel, const LogFilter& filter,
                                SystemTime now = std::chrono::system_clock::now());

// One line's verdict (exposed for tests).
bool matchesFilter(const nlohmann::json& event, const LogFilter& filter, SystemTime now);

// time, action, protocol, src -> dst:port, pid, process, unit, reason; Operational:
// time, event id, action, message.
std::string renderLogTable(Channel channel, const std::vector<nlohmann::json>& events);
std::string renderJsonLines(const std::vector<nlohmann::json>& events);

}  // namespace ztdns::observe
