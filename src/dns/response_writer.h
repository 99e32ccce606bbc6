// Writing answers for clients: a stored answer served fresh or from cache, and the
// SERVFAIL/FORMERR/REFUSED/NOTIMP/BADVERS answers the stub makes itself.
//
// What the client gets back is its own: its ID, its question spelling (0x20 case), its RD
// and CD bits, AD only when it asked with DO or AD (RFC 6840 5.8), and an OPT record only
// when it sent one (ours: our payload size, its DO bit, the extended RCODE, and the
// upstream's Extended DNS Errors; padding, cookies and keepalive are hop-by-hop and
// never copied).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dns/client_query.h"
#include "dns/stored_answer.h"

namespace ztdns::dns {

inline constexpr size_t kMaxMessageSize = 65535;
// Any error answer fits: header, the longest question, and an OPT.
inline constexpr size_t kMaxErrorSize = 12 + kMaxNameSize + 4 + 11;

struct Written {
  size_t size = 0;
  bool truncated = false;
};

// Serves `answer` to `query`'s client, `ageSeconds` after it arrived from upstream (every
// TTL lowered by it, never below 0). When the message is larger than `limit` (the
// client's UDP limit, or kMaxMessageSize over TCP) it goes back truncated as servers
// do: TC=1, the question, no answer/authority/additional records, and the OPT.
// `out` must hold at least min(limit, kMaxMessageSize) bytes.
Written writeAnswer(const StoredAnswer& answer, const ClientQuery& query, uint32_t ageSeconds,
                    size_t limit, std::span<uint8_t> out);

// An answer with `rcode` and no records; the question is echoed when `withQuestion`.
// `out` must hold kMaxErrorSize bytes.
size_t writeError(const ClientQuery& query, bool withQuestion, uint16_t rcode,
                  std::span<uint8_t> out);

}  // namespace ztdns::dns
