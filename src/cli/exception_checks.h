// What `add exception` and `diagnose` say about how broad an exception's prefix is, so that
// the two agree.
#pragma once

#include <string>
#include <vector>

#include "common/ip.h"

namespace ztdns::cli {

// Shorter than these is "very broad" (diagnose: exceptions-broad WARN); /0 excepts every
// destination of the family (FAIL): nothing is enforced for it.
inline constexpr int kBroadV4Prefix = 8;
inline constexpr int kBroadV6Prefix = 16;

enum class Breadth { kNarrow, kBroad, kEverything };
Breadth exceptionBreadth(const IpPrefix& prefix);

// The warning for /0 and very broad prefixes (`given` as the user wrote it); empty for a
// narrow one.
std::string breadthWarning(const IpPrefix& prefix, const std::string& given);

}  // namespace ztdns::cli
