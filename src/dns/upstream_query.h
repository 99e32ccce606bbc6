// The query the stub sends to a protective DNS server for a client's query.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dns/client_query.h"

namespace ztdns::dns {

// RFC 8467 block-length padding for queries.
inline constexpr size_t kQueryPaddingBlock = 128;
// Header + longest name + type/class + OPT + padding option, rounded up to the block.
inline constexpr size_t kMaxUpstreamQuerySize = 384;

// Writes ID 0 (the pool assigns wire IDs), RD, the client's CD and AD bits, the question
// lowercased (cache and coalescing keys are lowercase; the client's case is restored in
// the answer), and EDNS(0) with our payload size, the client's DO bit and a Padding
// option that makes the message a multiple of 128 bytes. No client EDNS option (cookie,
// client subnet) is forwarded. Returns the size; `out` always has room.
size_t buildUpstreamQuery(const ClientQuery& query, std::span<uint8_t, kMaxUpstreamQuerySize> out);

}  // namespace ztdns::dns
