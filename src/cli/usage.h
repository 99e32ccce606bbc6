// Help texts: `ztdns help`, `ztdns <verb> help`, `ztdns <verb> <object> help`.
#pragma once

#include <optional>
#include <string>

namespace ztdns::cli {

// The help for "" (everything), "show", "show server", "add exception", ...;
// std::nullopt for an unknown topic.
std::optional<std::string> usageFor(const std::string& topic);

}  // namespace ztdns::cli
