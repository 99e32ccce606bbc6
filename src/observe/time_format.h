// Time as the log channels write it (RFC 3339, UTC, microseconds) and durations as the CLI
// reads them (since=10m).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ztdns::observe {

using SystemTime = std::chrono::system_clock::time_point;

// "2026-01-02T03:04:05.123456Z"
std::string formatTime(SystemTime time);

// RFC 3339: "2026-01-02T03:04:05Z", with optional fraction and a Z or +hh:mm offset.
std::optional<SystemTime> parseTime(std::string_view text);

// "90s", "10m", "2h", "1d", "1w", or a bare number of seconds. Rejects zero and negatives.
std::optional<std::chrono::seconds> parseDuration(std::string_view text);

// CLOCK_MONOTONIC (steady_clock, bpf_ktime_get_ns) to wall-clock time, using the offset
// between the two clocks now (good to the microsecond unless the wall clock jumps).
SystemTime wallTimeFromMonotonic(std::chrono::steady_clock::time_point monotonic);

}  // namespace ztdns::observe
