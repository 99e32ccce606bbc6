// Channel names as files and journal fields know them.
#pragma once

#include <optional>
#include <string_view>

#include "observe/event_sink.h"

namespace ztdns::observe {

// "BlockedConnections", "PermittedConnections", "Operational"
const char* channelName(Channel channel);
// "BlockedConnections.jsonl", ...
const char* channelFileName(Channel channel);
// The CLI's words: "blocked", "permitted", "operational" (also the channel names).
std::optional<Channel> parseChannel(std::string_view word);

}  // namespace ztdns::observe
