// Filtering channel events for log.show: a helper for the daemon's handler, so that every
// reader applies since=, process= and dst= the same way.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>

#include "control/messages.h"

namespace ztdns::control {

// since: event "time" (RFC 3339) newer than now - sinceSeconds (events without a readable
// time never match a since= filter);
// process: the event's "process" equals it, or its basename does, or "unit" equals it;
// dst: the event's "dst" address lies inside the prefix.
bool logEventMatches(const nlohmann::json& event, const LogShowParams& params,
                     std::chrono::system_clock::time_point now);

}  // namespace ztdns::control
