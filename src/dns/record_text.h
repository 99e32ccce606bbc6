// Presentation form of an answer, for people: `ztdns resolve` prints it. Not on the query
// path (it allocates per record), so it may be as slow as libknot's text dumper is.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace ztdns::dns {

struct RecordText {
  std::string owner;  // with the final dot
  std::string type;   // "A", "CNAME", "TYPE65534"
  uint32_t ttl = 0;
  std::string data;  // the RDATA as a zone file writes it
};

struct MessageText {
  std::string rcode;  // "NOERROR", "NXDOMAIN", ... ("RCODE23" when unnamed)
  std::vector<RecordText> answers;
};

// The answer section of a DNS message. Errors: not a parsable message.
Result<MessageText> answerText(std::span<const uint8_t> wire);

// "NXDOMAIN" for 3, "RCODE23" for an unnamed code.
std::string rcodeName(uint16_t rcode);

}  // namespace ztdns::dns
