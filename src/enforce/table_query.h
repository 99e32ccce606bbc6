// Cheap questions about table inet ztdns over raw nf_tables netlink (libnftnl + libmnl).
//
// libnftables (nft 1.0.6) fetches every set element into its cache even for `list tables`
// or `list counters`; with a large allow set that takes seconds to minutes (the kernel
// resumes set dumps by skipping what it already sent). These GETs touch one object each.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace ztdns::enforce {

// Does table inet ztdns exist? (NFT_MSG_GETTABLE; ENOENT is "no", other errors are errors.)
Result<bool> ztdnsTableExists();

// Packets counted by the named counter object in table inet ztdns (NFT_MSG_GETOBJ).
Result<uint64_t> ztdnsCounterPackets(const std::string& name);

}  // namespace ztdns::enforce
