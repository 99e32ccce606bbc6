// Stand-in for the config module's Config defaults and allow timing, linked into tests
// only while the real ztdns::config library is not part of the build (the modules are
// built in parallel). It follows the contract in config/config.h to the letter.
#include "config/config.h"

#include <algorithm>

namespace ztdns::config {

Config::Config() {
  listenAddresses = {Endpoint::parse("127.0.0.1:53").value(), Endpoint::parse("[::1]:53").value()};
}

uint32_t Config::allowSecondsForTtl(uint32_t ttl) const {
  uint64_t want = static_cast<uint64_t>(ttl) + allowGraceSeconds;
  want = std::max<uint64_t>(want, minimumAllowTimeInSeconds);
  want = std::min<uint64_t>(want, maximumConnectionTimeInSeconds);
  return static_cast<uint32_t>(want);
}

}  // namespace ztdns::config
