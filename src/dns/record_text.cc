#include "dns/record_text.h"

#include <memory>

#include "dns/knot.h"

namespace ztdns::dns {

namespace {

struct PktFree {
  void operator()(knot_pkt_t* p) const { knot_pkt_free(p); }
};

std::string ownerText(const knot_dname_t* name) {
  char buf[KNOT_DNAME_TXT_MAXLEN + 1];
  if (knot_dname_to_str(buf, name, sizeof buf) == nullptr) return "?";
  return buf;
}

std::string typeText(uint16_t type) {
  char buf[64];
  if (knot_rrtype_to_string(type, buf, sizeof buf) < 0) return "TYPE" + std::to_string(type);
  return buf;
}

// ipv4hint/ipv6hint of one SVCB/HTTPS rdata. A malformed rdata yields no hints (the text
// dump shows what it holds); AliasMode (priority 0) has none.
void readHints(const uint8_t* rd, size_t len, RecordText& out) {
  if (len < 3 || knot_wire_read_u16(rd) == 0) return;
  size_t pos = 2;
  while (true) {  // TargetName: uncompressed (RFC 9460 2.2)
    if (pos >= len) return;
    uint8_t label = rd[pos];
    if (label == 0) break;
    if (label > 63) return;
    pos += 1u + label;
  }
  ++pos;
  std::vector<IpAddress> v4, v6;
  while (pos < len) {
    if (pos + 4 > len) return;
    uint16_t key = knot_wire_read_u16(rd + pos);
    uint16_t size = knot_wire_read_u16(rd + pos + 2);
    pos += 4;
    if (pos + size > len) return;
    if (key == KNOT_SVCB_PARAM_IPV4HINT) {
      if (size == 0 || size % 4 != 0) return;
      for (size_t i = 0; i < size; i += 4) v4.push_back(IpAddress::v4(rd + pos + i));
    } else if (key == KNOT_SVCB_PARAM_IPV6HINT) {
      if (size == 0 || size % 16 != 0) return;
      for (size_t i = 0; i < size; i += 16) v6.push_back(IpAddress::v6(rd + pos + i));
    }
    pos += size;
  }
  out.ipv4Hints = std::move(v4);
  out.ipv6Hints = std::move(v6);
}

}  // namespace

std::string rcodeName(uint16_t rcode) {
  const knot_lookup_t* item = knot_lookup_by_id(knot_rcode_names, rcode);
  if (item == nullptr || item->name == nullptr) return "RCODE" + std::to_string(rcode);
  return item->name;
}

Result<MessageText> answerText(std::span<const uint8_t> wire) {
  // knot_pkt_new with a buffer parses in place and never writes to it.
  std::unique_ptr<knot_pkt_t, PktFree> pkt(
      knot_pkt_new(const_cast<uint8_t*>(wire.data()), wire.size(), nullptr));
  if (!pkt) return Error{"out of memory"};
  if (int rc = knot_pkt_parse(pkt.get(), 0); rc != KNOT_EOK) {
    return Error{std::string("not a DNS message: ") + knot_strerror(rc)};
  }
  MessageText out;
  out.rcode = rcodeName(knot_wire_get_rcode(pkt->wire));
  const knot_pktsection_t* answer = knot_pkt_section(pkt.get(), KNOT_ANSWER);
  std::vector<char> buf(4096);
  for (uint16_t i = 0; i < answer->count; ++i) {
    const knot_rrset_t* rr = knot_pkt_rr(answer, i);
    for (uint16_t j = 0; j < rr->rrs.count; ++j) {
      RecordText r;
      r.owner = ownerText(rr->owner);
      r.type = typeText(rr->type);
      r.ttl = rr->ttl;
      int n = knot_rrset_txt_dump_data(rr, j, buf.data(), buf.size(), &KNOT_DUMP_STYLE_DEFAULT);
      r.data = n >= 0 ? std::string(buf.data(), static_cast<size_t>(n)) : "(unprintable)";
      if (rr->type == KNOT_RRTYPE_SVCB || rr->type == KNOT_RRTYPE_HTTPS) {
        const knot_rdata_t* rd = knot_rdataset_at(&rr->rrs, j);
        readHints(rd->data, rd->len, r);
      }
      out.answers.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace ztdns::dns
