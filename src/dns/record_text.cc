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
      out.answers.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace ztdns::dns
