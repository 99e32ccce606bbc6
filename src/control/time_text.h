// RFC 3339 times as the log channels and the control protocol write them.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ztdns::control {

// "2026-05-01T12:00:00Z" (seconds), or with `micros` "2026-05-01T12:00:00.123456Z".
std::string formatRfc3339(std::chrono::system_clock::time_point t, bool micros = false);

// Accepts "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" (also 't'/'z'/space as separator).
std::optional<std::chrono::system_clock::time_point> parseRfc3339(std::string_view text);

}  // namespace ztdns::control
