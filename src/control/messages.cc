#include "control/messages.h"

namespace ztdns::control {

const char* protocolName(Protocol p) {
  return p == Protocol::kDoT ? "DoT" : "DoH";
}

const char* logChannelName(LogChannel c) {
  switch (c) {
    case LogChannel::kBlocked:
      return "blocked";
    case LogChannel::kPermitted:
      return "permitted";
    case LogChannel::kOperational:
      return "operational";
  }
  return "blocked";
}

const char* addressVerdictName(AddressVerdict v) {
  switch (v) {
    case AddressVerdict::kResolved:
      return "resolved";
    case AddressVerdict::kNotAllowed:
      return "not-allowed";
    case AddressVerdict::kException:
      return "exception";
    case AddressVerdict::kLoopback:
      return "loopback";
    case AddressVerdict::kUnspecified:
      return "unspecified";
    case AddressVerdict::kMulticast:
      return "multicast";
  }
  return "not-allowed";
}

const char* enforcementName(Enforcement e) {
  switch (e) {
    case Enforcement::kUnknown:
      return "";
    case Enforcement::kDisabled:
      return "disabled";
    case Enforcement::kAudit:
      return "audit";
    case Enforcement::kEnforce:
      return "enforce";
  }
  return "";
}

}  // namespace ztdns::control
