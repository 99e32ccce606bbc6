#include "observe/channels.h"

namespace ztdns::observe {

const char* channelName(Channel channel) {
  switch (channel) {
    case Channel::Blocked:
      return "BlockedConnections";
    case Channel::Permitted:
      return "PermittedConnections";
    case Channel::Operational:
      return "Operational";
  }
  return "?";
}

const char* channelFileName(Channel channel) {
  switch (channel) {
    case Channel::Blocked:
      return "BlockedConnections.jsonl";
    case Channel::Permitted:
      return "PermittedConnections.jsonl";
    case Channel::Operational:
      return "Operational.jsonl";
  }
  return "unknown.jsonl";
}

std::optional<Channel> parseChannel(std::string_view w) {
  if (w == "blocked" || w == "BlockedConnections") return Channel::Blocked;
  if (w == "permitted" || w == "PermittedConnections") return Channel::Permitted;
  if (w == "operational" || w == "Operational") return Channel::Operational;
  return std::nullopt;
}

}  // namespace ztdns::observe
