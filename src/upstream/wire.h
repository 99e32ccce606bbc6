// Minimal DNS wire helpers the transports need: find the question, check that an answer
// answers a query, and EDNS(0) padding (RFC 7830 option, RFC 8467 block policy).
// Full parsing lives in src/dns; these stay here so the transport depends on nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace ztdns::upstream::wire {

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kPaddingBlock = 128;  // RFC 8467 section 4.1: queries in 128-byte blocks
inline constexpr uint16_t kEdnsPayloadSize = 1232;

inline uint16_t readU16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline void writeU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// Offset just past the end of the first question, or nullopt when malformed/absent.
std::optional<size_t> questionEnd(std::span<const uint8_t> msg);

// The answer has QR set, the same opcode and the same question (name compared
// case-insensitively, as servers may not echo 0x20 case), and its records fit in it
// (recordsFit). IDs are not compared here. A false answer makes the pool try the next
// server, so a server that sends broken answers is failed over like one that is down.
bool answerMatchesQuery(std::span<const uint8_t> query, std::span<const uint8_t> answer);

// Every record after the question (answer, authority, additional) has a name and a fixed
// header that fit, and RDATA no longer than what is left. The resolver parses the answer in
// full later; this is the cheap walk that catches truncated or lying lengths per server.
bool recordsFit(std::span<const uint8_t> msg, size_t afterQuestion);

// Pads `msg` so its length is a multiple of `block`: replaces any padding option of an
// existing OPT record, or adds an OPT record (UDP size 1232, DO clear) when there is none.
// Returns false (leaving msg unchanged) when msg is malformed.
bool padQuery(std::vector<uint8_t>& msg, size_t block = kPaddingBlock);

// The answer's RCODE (header bits only), or -1 when too short.
int rcode(std::span<const uint8_t> msg);

// A query for "<name> IN <type>" with RD set and the given ID (probes, tests, benchmarks).
// `name` is dotted text without the trailing dot ("" = the root).
std::vector<uint8_t> makeQuery(const char* name, uint16_t type, uint16_t id);

}  // namespace ztdns::upstream::wire
