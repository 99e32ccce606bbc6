// Fuzz target: a client's query, as the stub receives it from the network. Parsing must
// never crash, and whatever it accepts must lead to well-formed messages: the padded
// upstream query (itself a valid query for the same question), every error answer, and a
// local answer served back to that client.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dns/client_query.h"
#include "dns/knot.h"
#include "dns/response_writer.h"
#include "dns/stored_answer.h"
#include "dns/upstream_query.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool knotParses(const uint8_t* wire, size_t size) {
  std::vector<uint8_t> copy(wire, wire + size);
  knot_pkt_t* pkt = knot_pkt_new(copy.data(), static_cast<uint16_t>(copy.size()), nullptr);
  int rc = knot_pkt_parse(pkt, 0);
  knot_pkt_free(pkt);
  return rc == KNOT_EOK;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ztdns::dns;
  QueryParse p = parseClientQuery({data, size});
  static std::vector<uint8_t> out(kMaxMessageSize);

  if (p.verdict != QueryVerdict::kDrop) {
    const uint16_t rcodes[] = {KNOT_RCODE_SERVFAIL, KNOT_RCODE_FORMERR, KNOT_RCODE_REFUSED,
                               KNOT_RCODE_NOTIMPL, KNOT_RCODE_BADVERS};
    for (uint16_t rcode : rcodes) {
      size_t n = writeError(p.query, p.hasQuestion, rcode, out);
      check(n <= kMaxErrorSize);
      check(knot_wire_get_id(out.data()) == p.query.id && knot_wire_get_qr(out.data()));
      if (rcode <= 0xF || p.query.edns.present) check(knotParses(out.data(), n));
    }
  }
  if (p.verdict != QueryVerdict::kOk) return 0;

  std::array<uint8_t, kMaxUpstreamQuerySize> up;
  size_t n = buildUpstreamQuery(p.query, up);
  check(n % kQueryPaddingBlock == 0 && n <= kMaxUpstreamQuerySize);
  QueryParse again = parseClientQuery({up.data(), n});
  check(again.verdict == QueryVerdict::kOk);
  check(again.query.qname == p.query.qnameLower);
  check(again.query.qtype == p.query.qtype && again.query.edns.present);
  check(again.query.edns.dnssecOk == p.query.edns.dnssecOk);
  check(knotParses(up.data(), n));

  // A local answer (the hosts-file path) served to this client, over UDP and TCP.
  const uint8_t v4[4] = {192, 0, 2, 1};
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  std::vector<ztdns::IpAddress> addresses = {ztdns::IpAddress::v4(v4), ztdns::IpAddress::v6(v6)};
  StoredAnswer local = makeLocalAnswer(p.query, addresses, 60);
  for (size_t limit : {p.query.udpLimit(), kMaxMessageSize}) {
    Written w = writeAnswer(local, p.query, 7, limit, out);
    check(w.size <= limit);
    check(knot_wire_get_id(out.data()) == p.query.id);
    check(std::equal(p.query.qname.data(), p.query.qname.data() + p.query.qname.size(),
                     out.data() + KNOT_WIRE_HEADER_SIZE));
    check(knotParses(out.data(), w.size));
  }
  return 0;
}
