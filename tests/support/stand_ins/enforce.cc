// Stand-in for enforce::classifyAnswerAddress, linked into tests only while the real
// ztdns::enforce library is not part of the build. It follows enforce/allow_set.h.
#include "enforce/allow_set.h"

namespace ztdns::enforce {

AddressVerdict classifyAnswerAddress(IpAddress& address) {
  address = address.unmapped();
  if (address.isUnspecified()) return AddressVerdict::kSkipUnspecified;
  if (address.isMulticast() || address.isBroadcast()) return AddressVerdict::kSkipMulticast;
  if (address.isLoopback()) return AddressVerdict::kSkipLoopback;
  return AddressVerdict::kInsert;
}

}  // namespace ztdns::enforce
