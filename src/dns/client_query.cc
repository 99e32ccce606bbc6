#include "dns/client_query.h"

#include <algorithm>

#include "dns/knot.h"

namespace ztdns::dns {

namespace {

constexpr size_t kHeaderSize = KNOT_WIRE_HEADER_SIZE;

QueryParse verdict(QueryParse p, QueryVerdict v, const char* why) {
  p.verdict = v;
  p.reason = why;
  return p;
}

bool isFlat(const uint8_t* name) {
  while (*name != 0) {
    if ((*name & 0xC0) != 0) return false;
    name += *name + 1;
  }
  return true;
}

}  // namespace

size_t ClientQuery::udpLimit() const {
  if (!edns.present) return kMinUdpPayload;
  return std::clamp<size_t>(edns.udpSize, kMinUdpPayload, kMaxUdpPayload);
}

QueryParse parseClientQuery(std::span<const uint8_t> wire) {
  QueryParse p;
  if (wire.size() < kHeaderSize) return verdict(p, QueryVerdict::kDrop, "shorter than a header");
  const uint8_t* w = wire.data();
  ClientQuery& q = p.query;
  q.id = knot_wire_get_id(w);
  q.flags1 = knot_wire_get_flags1(w);
  q.flags2 = knot_wire_get_flags2(w);
  if (knot_wire_get_qr(w)) return verdict(p, QueryVerdict::kDrop, "a response, not a query");
  if (knot_wire_get_opcode(w) != KNOT_OPCODE_QUERY) {
    return verdict(p, QueryVerdict::kNotImp, "opcode is not QUERY");
  }

  if (knot_wire_get_qdcount(w) != 1) {
    return verdict(p, QueryVerdict::kFormErr, "question count is not 1");
  }
  int nameSize = checkName(wire, kHeaderSize);
  if (nameSize < 0 || !isFlat(w + kHeaderSize)) {
    return verdict(p, QueryVerdict::kFormErr, "malformed question name");
  }
  size_t pos = kHeaderSize + static_cast<size_t>(nameSize);
  if (pos + 4 > wire.size()) return verdict(p, QueryVerdict::kFormErr, "question cut short");
  q.qname.assign(w + kHeaderSize, static_cast<size_t>(nameSize));
  q.qnameLower = q.qname.lowered();
  q.qtype = knot_wire_read_u16(w + pos);
  q.qclass = knot_wire_read_u16(w + pos + 2);
  pos += 4;
  p.hasQuestion = true;

  if (knot_wire_get_ancount(w) != 0 || knot_wire_get_nscount(w) != 0) {
    return verdict(p, QueryVerdict::kFormErr, "a query with answer or authority records");
  }

  // Additional section: at most one OPT (owner root); other records are skipped, since
  // the upstream query is built afresh and carries none of them.
  bool badVersion = false;
  for (uint16_t i = 0, n = knot_wire_get_arcount(w); i < n; ++i) {
    int ownerSize = checkName(wire, pos);
    if (ownerSize < 0) return verdict(p, QueryVerdict::kFormErr, "malformed additional record");
    size_t owner = pos;
    pos += static_cast<size_t>(ownerSize);
    if (pos + 10 > wire.size()) return verdict(p, QueryVerdict::kFormErr, "record cut short");
    uint16_t type = knot_wire_read_u16(w + pos);
    uint16_t klass = knot_wire_read_u16(w + pos + 2);
    uint32_t ttl = knot_wire_read_u32(w + pos + 4);
    uint16_t rdlen = knot_wire_read_u16(w + pos + 8);
    pos += 10;
    if (pos + rdlen > wire.size()) return verdict(p, QueryVerdict::kFormErr, "rdata cut short");
    if (type == KNOT_RRTYPE_OPT) {
      if (q.edns.present) return verdict(p, QueryVerdict::kFormErr, "more than one OPT record");
      if (w[owner] != 0) return verdict(p, QueryVerdict::kFormErr, "OPT owner is not the root");
      for (size_t o = pos; o < pos + rdlen;) {
        if (o + 4 > pos + rdlen) return verdict(p, QueryVerdict::kFormErr, "malformed EDNS option");
        o += 4 + knot_wire_read_u16(w + o + 2);
        if (o > pos + rdlen) return verdict(p, QueryVerdict::kFormErr, "malformed EDNS option");
      }
      q.edns.present = true;
      q.edns.udpSize = klass;
      q.edns.version = static_cast<uint8_t>(ttl >> 16);
      q.edns.dnssecOk = (ttl & KNOT_EDNS_DO_MASK) != 0;
      badVersion = q.edns.version != 0;
    }
    pos += rdlen;
  }
  if (pos != wire.size()) return verdict(p, QueryVerdict::kFormErr, "bytes after the last record");
  if (badVersion) return verdict(p, QueryVerdict::kBadVers, "EDNS version is not 0");

  switch (q.qtype) {
    case 0:
    case KNOT_RRTYPE_OPT:
    case KNOT_RRTYPE_TKEY:
    case KNOT_RRTYPE_TSIG:
      return verdict(p, QueryVerdict::kFormErr, "question type not valid in a query");
    case KNOT_RRTYPE_IXFR:
    case KNOT_RRTYPE_AXFR:
    case 253:  // MAILB
    case 254:  // MAILA
      return verdict(p, QueryVerdict::kNotImp, "zone transfers and mail meta queries");
    default:
      break;
  }
  if (q.qclass != KNOT_CLASS_IN) return verdict(p, QueryVerdict::kRefused, "class is not IN");
  return verdict(p, QueryVerdict::kOk, "");
}

ClientQuery makeClientQuery(const Name& name, uint16_t qtype, bool dnssecOk, uint16_t id) {
  ClientQuery q;
  q.id = id;
  q.flags1 = 0x01;  // RD
  q.qtype = qtype;
  q.qclass = KNOT_CLASS_IN;
  q.qname = name;
  q.qnameLower = name.lowered();
  q.edns.present = true;
  q.edns.dnssecOk = dnssecOk;
  q.edns.udpSize = kMaxUdpPayload;
  return q;
}

}  // namespace ztdns::dns
