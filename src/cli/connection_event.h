// ConnectionEvent: one BlockedConnections/PermittedConnections line, parsed.
//
// The fields follow the log channels (observe): time, eventId, action BLOCK|AUDIT|PERMIT,
// audit, protocol, src, srcPort, dst, dstPort, pid, process, uid, unit, reason. Parsing is
// lenient about extra fields and strict about the ones every reader relies on (time, action,
// dst).
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/ip.h"
#include "common/result.h"

namespace ztdns::cli {

struct ConnectionEvent {
  std::optional<std::chrono::system_clock::time_point> time;
  int eventId = 0;
  std::string action;    // BLOCK, AUDIT, PERMIT
  bool audit = false;    // a would-be block in audit mode
  std::string protocol;  // tcp, udp, icmp, icmpv6, or the IP protocol number
  std::optional<IpAddress> src;
  uint16_t srcPort = 0;
  IpAddress dst;
  uint16_t dstPort = 0;
  int64_t pid = 0;
  std::string process;  // executable path; empty when unknown
  int64_t uid = -1;
  std::string unit;
};

// A connection event has an RFC 3339 time, an action BLOCK, AUDIT or PERMIT (or, without
// one, eventId 1 or 2) and an IP dst; anything else in a connection channel is not one (a
// line cut by a crash, an edit by hand). Errors name the field ("dst: \"x\" is not an IP
// address").
Result<ConnectionEvent> parseConnectionEvent(const nlohmann::json& line);

}  // namespace ztdns::cli
