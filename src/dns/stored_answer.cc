#include "dns/stored_answer.h"

#include <cstring>

#include "dns/knot.h"

namespace ztdns::dns {

namespace {
constexpr size_t kMaxLocalRecords = 256;  // far below the 64 KiB message limit
}  // namespace

size_t StoredAnswer::footprint() const {
  return sizeof(StoredAnswer) + wire.capacity() + ttlOffsets.capacity() * sizeof(uint16_t) +
         ednsOptions.capacity() + addresses.capacity() * sizeof(IpAddress);
}

StoredAnswer storeAnswer(std::vector<uint8_t> wire, AnswerAnalysis&& analysis) {
  StoredAnswer s;
  if (analysis.optOffset != 0) {
    // The OPT record is the last record (the analysis insists), so cutting it off moves
    // nothing else and every compression pointer and TTL offset stays valid.
    wire.resize(analysis.optOffset);
    knot_wire_set_arcount(wire.data(), knot_wire_get_arcount(wire.data()) - 1);
  }
  s.wire = std::move(wire);
  s.ttlOffsets = std::move(analysis.ttlOffsets);
  s.ednsOptions = std::move(analysis.ednsOptions);
  s.addresses = std::move(analysis.addresses);
  s.rcode = analysis.rcode;
  s.questionEnd = analysis.questionEnd;
  s.chainTtl = analysis.chainTtl;
  s.cacheTtl = analysis.cacheTtl;
  s.negative = analysis.negative;
  return s;
}

StoredAnswer makeLocalAnswer(const ClientQuery& query, std::span<const IpAddress> addresses,
                             uint32_t ttl) {
  StoredAnswer s;
  const bool wantA = query.qtype == KNOT_RRTYPE_A || query.qtype == KNOT_RRTYPE_ANY;
  const bool wantAaaa = query.qtype == KNOT_RRTYPE_AAAA || query.qtype == KNOT_RRTYPE_ANY;
  auto fits = [&](const IpAddress& a) { return (a.isV4() && wantA) || (a.isV6() && wantAaaa); };
  size_t records = 0, size = KNOT_WIRE_HEADER_SIZE + query.qnameLower.size() + 4;
  for (const IpAddress& a : addresses) {
    if (fits(a) && records < kMaxLocalRecords) {
      ++records;
      size += 2 + 10 + a.size();
    }
  }
  s.wire.resize(size);
  uint8_t* w = s.wire.data();
  std::memset(w, 0, KNOT_WIRE_HEADER_SIZE);
  knot_wire_set_qr(w);
  knot_wire_set_aa(w);
  knot_wire_set_ra(w);
  knot_wire_set_qdcount(w, 1);
  knot_wire_set_ancount(w, static_cast<uint16_t>(records));
  size_t pos = KNOT_WIRE_HEADER_SIZE;
  std::memcpy(w + pos, query.qnameLower.data(), query.qnameLower.size());
  pos += query.qnameLower.size();
  knot_wire_write_u16(w + pos, query.qtype);
  knot_wire_write_u16(w + pos + 2, query.qclass);
  pos += 4;
  s.questionEnd = static_cast<uint16_t>(pos);
  for (const IpAddress& a : addresses) {
    if (!fits(a) || s.addresses.size() == records) continue;
    knot_wire_put_pointer(w + pos, KNOT_WIRE_HEADER_SIZE);
    knot_wire_write_u16(w + pos + 2, a.isV4() ? KNOT_RRTYPE_A : KNOT_RRTYPE_AAAA);
    knot_wire_write_u16(w + pos + 4, KNOT_CLASS_IN);
    knot_wire_write_u32(w + pos + 6, ttl);
    knot_wire_write_u16(w + pos + 10, static_cast<uint16_t>(a.size()));
    std::memcpy(w + pos + 12, a.bytes(), a.size());
    s.ttlOffsets.push_back(static_cast<uint16_t>(pos + 6));
    s.addresses.push_back(a);
    pos += 12 + a.size();
  }
  s.rcode = KNOT_RCODE_NOERROR;
  s.chainTtl = ttl;
  s.cacheTtl = 0;  // local answers are made afresh each time
  s.negative = records == 0;
  return s;
}

}  // namespace ztdns::dns
