// An answer ready to be served any number of times: the upstream message without its
// OPT record, with the offsets of its TTL fields. Serving it (response_writer.h) copies
// it once, writes the client's ID and question spelling, lowers the TTLs by the age and
// appends the client's OPT.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/ip.h"
#include "dns/answer_analysis.h"
#include "dns/client_query.h"

namespace ztdns::dns {

struct StoredAnswer {
  std::vector<uint8_t> wire;         // header + question + records, OPT removed
  std::vector<uint16_t> ttlOffsets;  // into wire
  std::vector<uint8_t> ednsOptions;  // options for the client's OPT (EDE)
  std::vector<IpAddress> addresses;  // on the chain, as found (the resolver classifies them)
  uint16_t rcode = 0;                // 12-bit
  uint16_t questionEnd = 0;
  uint32_t chainTtl = 0;
  uint32_t cacheTtl = 0;
  bool negative = false;

  // Bytes held, for cache accounting.
  size_t footprint() const;
};

// Takes ownership of the upstream message and of a successful analysis of it.
StoredAnswer storeAnswer(std::vector<uint8_t> wire, AnswerAnalysis&& analysis);

// A locally made answer (hosts file): the A/AAAA records among `addresses` that fit the
// question type, with TTL `ttl`; NOERROR without records (NODATA) when none fit.
StoredAnswer makeLocalAnswer(const ClientQuery& query, std::span<const IpAddress> addresses,
                             uint32_t ttl);

}  // namespace ztdns::dns
