// Presentation form of an answer, for people: `ztdns resolve` prints it. Not on the query
// path (it allocates per record), so it may be as slow as libknot's text dumper is.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/ip.h"
#include "common/result.h"

namespace ztdns::dns {

struct RecordText {
  std::string owner;  // with the final dot
  std::string type;   // "A", "CNAME", "TYPE65534"
  uint32_t ttl = 0;
  std::string data;  // the RDATA as a zone file writes it
  // SVCB/HTTPS in ServiceMode: the ipv4hint and ipv6hint addresses, from the wire (RFC 9460).
  std::vector<IpAddress> ipv4Hints;
  std::vector<IpAddress> ipv6Hints;
};

struct MessageText {
  std::string rcode;  // "NOERROR", "NXDOMAIN", ... ("RCODE4000" when unnamed)
  std::vector<RecordText> answers;
};

// The answer section of a DNS message. Errors: not a parsable message.
Result<MessageText> answerText(std::span<const uint8_t> wire);

// "NXDOMAIN" for 3, "RCODE4000" for an unnamed code.
std::string rcodeName(uint16_t rcode);

}  // namespace ztdns::dns
