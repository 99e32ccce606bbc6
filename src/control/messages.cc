#include "control/messages.h"

namespace ztdns::control {

const char* protocolName(Protocol p) {
  return p == Protocol::kDoT ? "DoT" : "DoH";
}

const char* healthName(Health h) {
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

}  // namespace ztdns::control
