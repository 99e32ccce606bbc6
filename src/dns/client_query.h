// A client's query as the stub received it, and the rules for accepting it.
//
// Everything the answer must preserve is kept: the ID, the question as the client wrote
// it (case included, for 0x20-style checks), RD/CD/AD and the client's EDNS (payload
// size, DO bit). Malformed queries get a verdict instead of a query, and never go upstream.
#pragma once

#include <cstdint>
#include <span>

#include "dns/name.h"

namespace ztdns::dns {

inline constexpr uint16_t kMinUdpPayload = 512;
// Our UDP answer ceiling and the size we advertise: the DNS flag day 2020 value, which
// avoids IP fragmentation on every common path. Larger answers go back with TC=1.
inline constexpr uint16_t kMaxUdpPayload = 1232;

struct EdnsInfo {
  bool present = false;
  bool dnssecOk = false;  // DO bit
  uint8_t version = 0;
  uint16_t udpSize = 0;  // as advertised by the client
};

struct ClientQuery {
  uint16_t id = 0;
  uint8_t flags1 = 0;  // header byte 2 as received (QR, opcode, AA, TC, RD)
  uint8_t flags2 = 0;  // header byte 3 as received (RA, Z, AD, CD, RCODE)
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  Name qname;       // as the client wrote it
  Name qnameLower;  // the key for cache, coalescing and the upstream question
  EdnsInfo edns;

  bool recursionDesired() const { return flags1 & 0x01; }
  bool checkingDisabled() const { return flags2 & 0x10; }
  bool authenticData() const { return flags2 & 0x20; }

  // How large a UDP answer this client accepts: 512 without EDNS, else its advertised
  // size within [512, kMaxUdpPayload].
  size_t udpLimit() const;
};

enum class QueryVerdict : uint8_t {
  kOk,
  kDrop,     // not worth an answer: shorter than a header, or a response (QR=1)
  kFormErr,  // malformed: FORMERR
  kNotImp,   // opcode other than QUERY, zone transfers and other meta queries: NOTIMP
  kRefused,  // a class other than IN: REFUSED
  kBadVers,  // EDNS version other than 0: BADVERS (RFC 6891)
};

struct QueryParse {
  QueryVerdict verdict = QueryVerdict::kDrop;
  const char* reason = "";   // why, for counters and logs (static text)
  bool hasQuestion = false;  // the question was readable (echoed in error answers)
  ClientQuery query;         // id and flags are set whenever verdict != kDrop
};

QueryParse parseClientQuery(std::span<const uint8_t> wire);

// A query built in-process (ztdns resolve): RD set, EDNS with our payload size.
ClientQuery makeClientQuery(const Name& name, uint16_t qtype, bool dnssecOk, uint16_t id = 0);

}  // namespace ztdns::dns
