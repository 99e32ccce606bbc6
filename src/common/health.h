// A PDNS server's health as the daemon knows it. One type for the upstream pool, which
// tracks it, and the control protocol, which reports it, so the two cannot drift apart.
//   kUnknown  not checked yet: no answer and no conclusive failure since it was configured
//   kUp       answered over TLS with a verified identity (a query or a probe)
//   kDown     failed to connect, TLS or identity, timed out, or answered nothing usable
//             (HTTP failures, mismatched answers); skipped by queries
#pragma once

namespace ztdns {

enum class Health { kUnknown, kUp, kDown };

// "unknown" / "up" / "down": the words of `show server` and of the control protocol.
constexpr const char* healthName(Health h) {
  switch (h) {
    case Health::kUp:
      return "up";
    case Health::kDown:
      return "down";
    case Health::kUnknown:
      break;
  }
  return "unknown";
}

}  // namespace ztdns
