// Stand-in for upstream::transportName, linked into tests only while the real
// ztdns::upstream library is not part of the build.
#include "upstream/server_pool.h"

namespace ztdns::upstream {

const char* transportName(Transport t) {
  return t == Transport::kDoT ? "DoT" : "DoH";
}

}  // namespace ztdns::upstream
