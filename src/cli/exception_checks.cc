#include "cli/exception_checks.h"

namespace ztdns::cli {

Breadth exceptionBreadth(const IpPrefix& prefix) {
  if (prefix.length() == 0) return Breadth::kEverything;
  int floor = prefix.address().isV4() ? kBroadV4Prefix : kBroadV6Prefix;
  return prefix.length() < floor ? Breadth::kBroad : Breadth::kNarrow;
}

std::string breadthWarning(const IpPrefix& prefix, const std::string& given) {
  const char* family = prefix.address().isV4() ? "IPv4" : "IPv6";
  switch (exceptionBreadth(prefix)) {
    case Breadth::kNarrow:
      return "";
    case Breadth::kEverything:
      return given + " excepts every " + family + " destination: nothing is enforced for " +
             family + " (ztdns diagnose reports it as a FAIL)";
    case Breadth::kBroad:
      return given + " is very broad (shorter than /" +
             std::to_string(prefix.address().isV4() ? kBroadV4Prefix : kBroadV6Prefix) + " for " +
             family +
             "): everything in it is reachable without DNS; prefer the narrow ranges that are "
             "needed";
  }
  return "";
}

}  // namespace ztdns::cli
