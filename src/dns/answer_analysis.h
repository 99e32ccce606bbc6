// What an upstream answer means for the stub: is it an answer to our question, which
// addresses it hands the client (the ones the allow set must hold before release), how
// long those may be trusted, and how long the whole message may be cached.
//
// One pass validates every record (names with libknot's checker, lengths, the OPT
// placement) and records the offset of every TTL field, so that serving from cache is a
// copy plus a few 32-bit stores. No allocation beyond the output vectors.
//
// Chain rule: start at the question name and follow CNAME records in the answer section
// (owner names compared ignoring case, records in any order), at most kMaxCnameChain
// hops; a loop or a longer chain yields no addresses. The addresses are the A and AAAA
// records owned by the final name, plus the ipv4hint/ipv6hint of SVCB/HTTPS records
// owned by it when the question asked for that type (ServiceMode only). Addresses
// elsewhere (intermediate names, authority, additional) are never used.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/ip.h"
#include "dns/name.h"

namespace ztdns::dns {

inline constexpr int kMaxCnameChain = 16;

enum class AnswerProblem : uint8_t {
  kNone,
  kMalformed,         // a header, name, record or rdata that does not parse
  kNotAResponse,      // QR=0 or an opcode other than QUERY
  kTruncated,         // TC=1: over a stream transport the answer is incomplete
  kQuestionMismatch,  // not the question that was asked
  kBadOpt,            // OPT outside the additional section, twice, not last, or malformed
};
const char* toText(AnswerProblem problem);

struct AnswerAnalysis {
  uint16_t rcode = 0;     // 12 bits: header RCODE plus the OPT's extended bits
  bool negative = false;  // NXDOMAIN, or NOERROR without data of the type at the chain end
  std::vector<IpAddress> addresses;  // as found: not yet classified or unmapped
  uint32_t chainTtl = 0;  // lowest TTL of the CNAMEs followed and the address records used
  uint32_t cacheTtl = 0;  // how long the message may be cached (RFC 2308 for negatives); 0: not
  uint8_t cnamesFollowed = 0;
  bool chainLoop = false;
  bool chainTooLong = false;
  std::vector<uint16_t> ttlOffsets;  // the TTL field of every record except OPT
  uint16_t questionEnd = 0;
  uint16_t optOffset = 0;            // where the OPT record starts (it is last); 0: none
  std::vector<uint8_t> ednsOptions;  // Extended DNS Error options (RFC 8914), kept for the client

  void reset();
};

AnswerProblem analyzeAnswer(std::span<const uint8_t> wire, const Name& qnameLower, uint16_t qtype,
                            uint16_t qclass, AnswerAnalysis& out);

}  // namespace ztdns::dns
