// Fuzz target: an upstream answer, as a protective DNS server (or an attacker who got
// past TLS) could send it. The question asked is taken from the input itself so that
// most inputs get past the question check. Analysis must never crash; an accepted answer
// must serve (fresh, from cache with an age, truncated for UDP, in full for TCP) into a
// message that our analyzer accepts again with the same addresses, within the limit.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dns/answer_analysis.h"
#include "dns/client_query.h"
#include "dns/knot.h"
#include "dns/response_writer.h"
#include "dns/stored_answer.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ztdns::dns;
  if (size < KNOT_WIRE_HEADER_SIZE + 5) return 0;
  // The question: the input's own, when it parses as one.
  int nameSize = checkName({data, size}, KNOT_WIRE_HEADER_SIZE);
  if (nameSize < 0) return 0;
  size_t qend = KNOT_WIRE_HEADER_SIZE + static_cast<size_t>(nameSize);
  if (qend + 4 > size) return 0;
  ClientQuery client;
  unpackName(data, KNOT_WIRE_HEADER_SIZE, client.qname, false);
  client.qnameLower = client.qname.lowered();
  client.qtype = knot_wire_read_u16(data + qend);
  client.qclass = knot_wire_read_u16(data + qend + 2);
  client.id = 0x5a5a;
  client.flags1 = 0x01;

  AnswerAnalysis analysis;
  AnswerProblem problem =
      analyzeAnswer({data, size}, client.qnameLower, client.qtype, client.qclass, analysis);
  if (problem != AnswerProblem::kNone) return 0;
  check(analysis.cnamesFollowed <= kMaxCnameChain);
  check(analysis.addresses.empty() || analysis.rcode == KNOT_RCODE_NOERROR);
  check(!(analysis.chainLoop || analysis.chainTooLong) || analysis.addresses.empty());
  const size_t addressCount = analysis.addresses.size();
  const size_t records = analysis.ttlOffsets.size();

  StoredAnswer stored = storeAnswer(std::vector<uint8_t>(data, data + size), std::move(analysis));
  static std::vector<uint8_t> out(kMaxMessageSize);
  for (bool edns : {false, true}) {
    client.edns.present = edns;
    client.edns.udpSize = 1232;
    for (size_t limit : {client.udpLimit(), kMaxMessageSize}) {
      for (uint32_t age : {0u, 1u, 86400u}) {
        Written w = writeAnswer(stored, client, age, limit, out);
        check(w.size <= limit);
        check(knot_wire_get_id(out.data()) == client.id);
        AnswerAnalysis served;
        AnswerProblem p = analyzeAnswer({out.data(), w.size}, client.qnameLower, client.qtype,
                                        client.qclass, served);
        if (!w.truncated) {
          // A rcode above 15 without EDNS becomes SERVFAIL; everything else is the same.
          check(p == AnswerProblem::kNone);
          check(p != AnswerProblem::kNone || served.ttlOffsets.size() == records);
          check(p != AnswerProblem::kNone || served.rcode != stored.rcode ||
                served.addresses.size() == addressCount);
        } else {
          check(p == AnswerProblem::kTruncated);
          check(knot_wire_get_ancount(out.data()) == 0 && knot_wire_get_nscount(out.data()) == 0);
        }
      }
    }
  }
  return 0;
}
