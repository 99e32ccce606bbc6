#include "dns/upstream_query.h"

#include <cstring>

#include "dns/knot.h"

namespace ztdns::dns {

size_t buildUpstreamQuery(const ClientQuery& query, std::span<uint8_t, kMaxUpstreamQuerySize> out) {
  uint8_t* w = out.data();
  std::memset(w, 0, KNOT_WIRE_HEADER_SIZE);
  knot_wire_set_rd(w);
  if (query.checkingDisabled()) knot_wire_set_cd(w);
  if (query.authenticData()) knot_wire_set_ad(w);
  knot_wire_set_qdcount(w, 1);
  knot_wire_set_arcount(w, 1);
  size_t pos = KNOT_WIRE_HEADER_SIZE;
  std::memcpy(w + pos, query.qnameLower.data(), query.qnameLower.size());
  pos += query.qnameLower.size();
  knot_wire_write_u16(w + pos, query.qtype);
  knot_wire_write_u16(w + pos + 2, query.qclass);
  pos += 4;

  // OPT: root owner, type, payload size, extended RCODE 0, version 0, DO, rdata length.
  size_t withoutPadding = pos + KNOT_EDNS_MIN_SIZE + KNOT_EDNS_OPTION_HDRLEN;
  size_t padding = (kQueryPaddingBlock - withoutPadding % kQueryPaddingBlock) % kQueryPaddingBlock;
  w[pos] = 0;
  knot_wire_write_u16(w + pos + 1, KNOT_RRTYPE_OPT);
  knot_wire_write_u16(w + pos + 3, kMaxUdpPayload);
  knot_wire_write_u32(w + pos + 5, query.edns.dnssecOk ? KNOT_EDNS_DO_MASK : 0);
  knot_wire_write_u16(w + pos + 9, static_cast<uint16_t>(KNOT_EDNS_OPTION_HDRLEN + padding));
  pos += KNOT_EDNS_MIN_SIZE;
  knot_wire_write_u16(w + pos, KNOT_EDNS_OPTION_PADDING);
  knot_wire_write_u16(w + pos + 2, static_cast<uint16_t>(padding));
  pos += KNOT_EDNS_OPTION_HDRLEN;
  std::memset(w + pos, 0, padding);
  return pos + padding;
}

}  // namespace ztdns::dns
