#include "enforce/allow_set.h"

namespace ztdns::enforce {

AddressVerdict classifyAnswerAddress(IpAddress& address) {
  address = address.unmapped();  // ::ffff:a.b.c.d belongs in allow4
  if (address.isUnspecified()) return AddressVerdict::kSkipUnspecified;
  if (address.isMulticast() || address.isBroadcast()) return AddressVerdict::kSkipMulticast;
  if (address.isLoopback()) return AddressVerdict::kSkipLoopback;
  return AddressVerdict::kInsert;
}

}  // namespace ztdns::enforce
