// ConntrackProbe: which addresses are the destination of a live connection-tracking flow.
//
// Capacity eviction must not pick an address that carries a flow: the flow itself would
// survive (established traffic is accepted before the allow sets), but a second
// connection of the same application to the same address would then fail. One dump of the
// namespace's conntrack table answers a whole batch of candidates.
// Threading: blocking; called on the data-plane thread only when the allow sets are full.
#pragma once

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include <memory>
#include <unordered_set>
#include <vector>

#include "common/c_ptr.h"
#include "common/ip.h"
#include "common/result.h"

namespace ztdns::enforce {

class ConntrackProbe {
 public:
  static Result<std::unique_ptr<ConntrackProbe>> open();

  // The subset of `candidates` that is the original-direction destination of a flow that
  // is not closing (TCP TIME_WAIT and CLOSE do not count).
  Result<std::unordered_set<IpAddress>> withLiveFlows(const std::vector<IpAddress>& candidates);

 private:
  using Handle = CPtr<nfct_handle, nfct_close>;
  explicit ConntrackProbe(Handle handle) : handle_(std::move(handle)) {}
  Handle handle_;
};

}  // namespace ztdns::enforce
