#include "dns/response_writer.h"

#include <algorithm>
#include <cstring>

#include "dns/knot.h"

namespace ztdns::dns {

namespace {

constexpr uint8_t kFlags1Qr = 0x80, kFlags1Opcode = 0x78, kFlags1Aa = 0x04, kFlags1Tc = 0x02,
                  kFlags1Rd = 0x01;
constexpr uint8_t kFlags2Ra = 0x80, kFlags2Ad = 0x20, kFlags2Cd = 0x10;

size_t writeOpt(uint8_t* p, const ClientQuery& query, uint16_t rcode,
                std::span<const uint8_t> options) {
  p[0] = 0;
  knot_wire_write_u16(p + 1, KNOT_RRTYPE_OPT);
  knot_wire_write_u16(p + 3, kMaxUdpPayload);
  uint32_t ttl = static_cast<uint32_t>(rcode >> 4) << 24;
  if (query.edns.dnssecOk) ttl |= KNOT_EDNS_DO_MASK;
  knot_wire_write_u32(p + 5, ttl);
  knot_wire_write_u16(p + 9, static_cast<uint16_t>(options.size()));
  if (!options.empty()) std::memcpy(p + 11, options.data(), options.size());
  return KNOT_EDNS_MIN_SIZE + options.size();
}

}  // namespace

Written writeAnswer(const StoredAnswer& answer, const ClientQuery& query, uint32_t ageSeconds,
                    size_t limit, std::span<uint8_t> out) {
  limit = std::min({limit, out.size(), kMaxMessageSize});
  const size_t questionEnd = KNOT_WIRE_HEADER_SIZE + query.qname.size() + 4;
  if (answer.questionEnd != questionEnd || answer.wire.size() < questionEnd) {
    // Not an answer to this question: a caller bug, answered safely.
    return {writeError(query, true, KNOT_RCODE_SERVFAIL, out), false};
  }
  const bool edns = query.edns.present;
  uint16_t rcode = answer.rcode;
  if (!edns && rcode > 0xF) rcode = KNOT_RCODE_SERVFAIL;  // not expressible without OPT

  const size_t optSize = edns ? KNOT_EDNS_MIN_SIZE + answer.ednsOptions.size() : 0;
  const bool truncated = answer.wire.size() + optSize > limit;
  const size_t body = truncated ? questionEnd : answer.wire.size();
  uint8_t* w = out.data();
  const uint8_t* src = answer.wire.data();
  std::memcpy(w, src, body);
  std::memcpy(w + KNOT_WIRE_HEADER_SIZE, query.qname.data(), query.qname.size());

  knot_wire_set_id(w, query.id);
  uint8_t flags1 = kFlags1Qr | (src[2] & kFlags1Aa) | (query.flags1 & kFlags1Rd);
  if (truncated) flags1 |= kFlags1Tc;
  uint8_t flags2 = (src[3] & kFlags2Ra) | (query.flags2 & kFlags2Cd) | (rcode & 0xF);
  if (query.edns.dnssecOk || query.authenticData()) flags2 |= src[3] & kFlags2Ad;
  knot_wire_set_flags1(w, flags1);
  knot_wire_set_flags2(w, flags2);

  uint16_t arcount = knot_wire_get_arcount(src);
  if (truncated) {
    knot_wire_set_ancount(w, 0);
    knot_wire_set_nscount(w, 0);
    arcount = 0;
  } else {
    for (uint16_t offset : answer.ttlOffsets) {
      uint32_t ttl = knot_wire_read_u32(src + offset);
      if (ttl & 0x80000000u) ttl = 0;  // RFC 2181 8
      knot_wire_write_u32(w + offset, ttl > ageSeconds ? ttl - ageSeconds : 0);
    }
  }
  size_t size = body;
  if (edns) {
    std::span<const uint8_t> options;
    if (!truncated) options = answer.ednsOptions;
    size += writeOpt(w + size, query, rcode, options);
    ++arcount;
  }
  knot_wire_set_arcount(w, arcount);
  return {size, truncated};
}

size_t writeError(const ClientQuery& query, bool withQuestion, uint16_t rcode,
                  std::span<uint8_t> out) {
  uint8_t* w = out.data();
  std::memset(w, 0, KNOT_WIRE_HEADER_SIZE);
  knot_wire_set_id(w, query.id);
  knot_wire_set_flags1(w, kFlags1Qr | (query.flags1 & (kFlags1Opcode | kFlags1Rd)));
  knot_wire_set_flags2(w, kFlags2Ra | (query.flags2 & kFlags2Cd) | (rcode & 0xF));
  size_t size = KNOT_WIRE_HEADER_SIZE;
  if (withQuestion && !query.qname.empty()) {
    std::memcpy(w + size, query.qname.data(), query.qname.size());
    size += query.qname.size();
    knot_wire_write_u16(w + size, query.qtype);
    knot_wire_write_u16(w + size + 2, query.qclass);
    size += 4;
    knot_wire_set_qdcount(w, 1);
  }
  if (query.edns.present) {
    size += writeOpt(w + size, query, rcode, {});
    knot_wire_set_arcount(w, 1);
  }
  return size;
}

}  // namespace ztdns::dns
