#include "dns/answer_analysis.h"

#include <algorithm>
#include <array>
#include <limits>

#include "dns/knot.h"

namespace ztdns::dns {

namespace {

constexpr size_t kHeaderSize = KNOT_WIRE_HEADER_SIZE;
constexpr size_t kMaxEdnsOptionBytes = 512;  // EDE extra text is free-form; keep it bounded
constexpr uint32_t kNoTtl = std::numeric_limits<uint32_t>::max();

// RFC 2181 8: a TTL with the top bit set is treated as zero.
uint32_t effectiveTtl(uint32_t ttl) {
  return (ttl & 0x80000000u) ? 0 : ttl;
}

// Skips a name that already passed checkName().
size_t skipName(const uint8_t* w, size_t pos) {
  while (true) {
    uint8_t len = w[pos];
    if (len == 0) return pos + 1;
    if ((len & 0xC0) == 0xC0) return pos + 2;
    pos += len + 1u;
  }
}

struct Record {
  size_t owner = 0;
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  size_t rdata = 0;
  uint16_t rdlen = 0;
  size_t next = 0;
};

// Reads a record that already passed validation.
Record readRecord(const uint8_t* w, size_t pos) {
  Record r;
  r.owner = pos;
  size_t f = skipName(w, pos);
  r.type = knot_wire_read_u16(w + f);
  r.klass = knot_wire_read_u16(w + f + 2);
  r.ttl = effectiveTtl(knot_wire_read_u32(w + f + 4));
  r.rdlen = knot_wire_read_u16(w + f + 8);
  r.rdata = f + 10;
  r.next = r.rdata + r.rdlen;
  return r;
}

// An rdata name must be valid and end exactly where `end` says (or before it when
// `exact` is false); returns its size or -1.
int rdataName(std::span<const uint8_t> wire, size_t pos, size_t end) {
  if (pos >= end) return -1;
  int size = checkName(wire.first(end), pos);
  return size;
}

bool isFlatWithin(const uint8_t* w, size_t pos, size_t end) {
  while (pos < end) {
    uint8_t len = w[pos];
    if (len == 0) return true;
    if ((len & 0xC0) != 0) return false;
    pos += len + 1u;
  }
  return false;
}

// Serving rewrites the header (ID, flags, counts) and every TTL field (age). A name that
// reaches such bytes through a compression pointer would read differently in what the
// client gets than in what was analysed, so it makes the answer malformed. `ttls` are
// the TTL field offsets so far (ascending); bytes reached through a pointer must lie
// before the name itself, so they cover everything such bytes can overlap.
bool avoidsRewrittenBytes(const uint8_t* w, size_t offset, const std::vector<uint16_t>& ttls) {
  size_t pos = offset;
  bool viaPointer = false;
  while (true) {
    const uint8_t len = w[pos];
    const bool pointer = (len & 0xC0) == 0xC0;
    if (viaPointer) {
      // The bytes read here: a label [pos, pos + len], or a pointer [pos, pos + 1].
      const size_t last = pos + (pointer ? 1 : len);
      // Compression reuses a prior occurrence (RFC 1035 4.1.4): it lies wholly before
      // this name, past the header.
      if (pos < kHeaderSize || last >= offset) return false;
      // A TTL field [t, t + 4) overlaps [pos, last] when pos - 3 <= t <= last. Bytes
      // before the first TTL field (the question, mostly) need no search.
      if (!ttls.empty() && last >= ttls.front()) {
        auto it = std::lower_bound(ttls.begin(), ttls.end(), pos >= 3 ? pos - 3 : 0);
        if (it != ttls.end() && *it <= last) return false;
      }
    }
    if (pointer) {
      pos = (static_cast<size_t>(len & 0x3F) << 8) | w[pos + 1];
      viaPointer = true;
      continue;
    }
    if (len == 0) return true;
    pos += len + 1u;
  }
}

// ipv4hint/ipv6hint of one ServiceMode SVCB/HTTPS rdata; false when it is malformed.
bool collectHints(std::span<const uint8_t> wire, const Record& r, std::vector<IpAddress>& out,
                  bool& found) {
  const uint8_t* w = wire.data();
  size_t end = r.rdata + r.rdlen;
  if (r.rdlen < 3) return false;
  uint16_t priority = knot_wire_read_u16(w + r.rdata);
  size_t pos = r.rdata + 2;
  // RFC 9460 2.2: TargetName is never compressed.
  if (!isFlatWithin(w, pos, end)) return false;
  int nameSize = rdataName(wire, pos, end);
  if (nameSize < 0) return false;
  pos += static_cast<size_t>(nameSize);
  if (priority == 0) return true;  // AliasMode: SvcParams are ignored
  while (pos < end) {
    if (pos + 4 > end) return false;
    uint16_t key = knot_wire_read_u16(w + pos);
    uint16_t len = knot_wire_read_u16(w + pos + 2);
    pos += 4;
    if (pos + len > end) return false;
    if (key == KNOT_SVCB_PARAM_IPV4HINT) {
      if (len == 0 || len % 4 != 0) return false;
      for (size_t i = 0; i < len; i += 4) out.push_back(IpAddress::v4(w + pos + i));
      found = true;
    } else if (key == KNOT_SVCB_PARAM_IPV6HINT) {
      if (len == 0 || len % 16 != 0) return false;
      for (size_t i = 0; i < len; i += 16) out.push_back(IpAddress::v6(w + pos + i));
      found = true;
    }
    pos += len;
  }
  return true;
}

}  // namespace

const char* toText(AnswerProblem problem) {
  switch (problem) {
    case AnswerProblem::kNone:
      return "ok";
    case AnswerProblem::kMalformed:
      return "malformed answer";
    case AnswerProblem::kNotAResponse:
      return "not a response to a standard query";
    case AnswerProblem::kTruncated:
      return "truncated answer over a stream transport";
    case AnswerProblem::kQuestionMismatch:
      return "answer to a different question";
    case AnswerProblem::kBadOpt:
      return "malformed or misplaced OPT record";
  }
  return "unknown";
}

void AnswerAnalysis::reset() {
  rcode = 0;
  negative = false;
  addresses.clear();
  chainTtl = 0;
  cacheTtl = 0;
  cnamesFollowed = 0;
  chainLoop = false;
  chainTooLong = false;
  ttlOffsets.clear();
  questionEnd = 0;
  optOffset = 0;
  ednsOptions.clear();
}

AnswerProblem analyzeAnswer(std::span<const uint8_t> wire, const Name& qnameLower, uint16_t qtype,
                            uint16_t qclass, AnswerAnalysis& out) {
  out.reset();
  const uint8_t* w = wire.data();
  if (wire.size() < kHeaderSize || wire.size() > 65535) return AnswerProblem::kMalformed;
  if (!knot_wire_get_qr(w) || knot_wire_get_opcode(w) != KNOT_OPCODE_QUERY) {
    return AnswerProblem::kNotAResponse;
  }
  if (knot_wire_get_tc(w)) return AnswerProblem::kTruncated;

  // The question: exactly ours, uncompressed (the client's spelling is written over it).
  if (knot_wire_get_qdcount(w) != 1) return AnswerProblem::kQuestionMismatch;
  size_t pos = kHeaderSize;
  if (pos + qnameLower.size() + 4 > wire.size() || !isFlatWithin(w, pos, pos + qnameLower.size()) ||
      !packetNameEquals(w, pos, qnameLower)) {
    return AnswerProblem::kQuestionMismatch;
  }
  pos += qnameLower.size();
  if (knot_wire_read_u16(w + pos) != qtype || knot_wire_read_u16(w + pos + 2) != qclass) {
    return AnswerProblem::kQuestionMismatch;
  }
  pos += 4;
  out.questionEnd = static_cast<uint16_t>(pos);

  // Every record, once: validation, TTL offsets, OPT, SOA for negative caching.
  const uint16_t counts[3] = {knot_wire_get_ancount(w), knot_wire_get_nscount(w),
                              knot_wire_get_arcount(w)};
  const size_t answerStart = pos;
  uint32_t minTtl = kNoTtl;
  uint32_t soaNegativeTtl = kNoTtl;
  uint16_t extendedRcode = 0;
  out.ttlOffsets.reserve(static_cast<size_t>(counts[0]) + counts[1] + counts[2]);
  for (int section = 0; section < 3; ++section) {
    for (uint16_t i = 0; i < counts[section]; ++i) {
      int ownerSize = checkName(wire, pos);
      if (ownerSize < 0 || !avoidsRewrittenBytes(w, pos, out.ttlOffsets)) {
        return AnswerProblem::kMalformed;
      }
      size_t owner = pos;
      size_t f = pos + static_cast<size_t>(ownerSize);
      if (f + 10 > wire.size()) return AnswerProblem::kMalformed;
      uint16_t type = knot_wire_read_u16(w + f);
      uint32_t rawTtl = knot_wire_read_u32(w + f + 4);
      uint16_t rdlen = knot_wire_read_u16(w + f + 8);
      size_t rdata = f + 10;
      size_t end = rdata + rdlen;
      if (end > wire.size()) return AnswerProblem::kMalformed;

      if (type == KNOT_RRTYPE_OPT) {
        if (section != 2 || out.optOffset != 0 || w[owner] != 0 || i + 1 != counts[2]) {
          return AnswerProblem::kBadOpt;
        }
        out.optOffset = static_cast<uint16_t>(owner);
        extendedRcode = static_cast<uint16_t>(rawTtl >> 24);
        for (size_t o = rdata; o < end;) {
          if (o + 4 > end) return AnswerProblem::kBadOpt;
          uint16_t code = knot_wire_read_u16(w + o);
          size_t len = knot_wire_read_u16(w + o + 2);
          if (o + 4 + len > end) return AnswerProblem::kBadOpt;
          if (code == KNOT_EDNS_OPTION_EDE &&
              out.ednsOptions.size() + 4 + len <= kMaxEdnsOptionBytes) {
            out.ednsOptions.insert(out.ednsOptions.end(), w + o, w + o + 4 + len);
          }
          o += 4 + len;
        }
        pos = end;
        continue;
      }

      // Recorded before the rdata names are checked: they may point back at this TTL too.
      out.ttlOffsets.push_back(static_cast<uint16_t>(f + 4));
      switch (type) {
        case KNOT_RRTYPE_A:
          if (rdlen != 4) return AnswerProblem::kMalformed;
          break;
        case KNOT_RRTYPE_AAAA:
          if (rdlen != 16) return AnswerProblem::kMalformed;
          break;
        case KNOT_RRTYPE_CNAME:
          if (rdataName(wire, rdata, end) != static_cast<int>(rdlen) ||
              !avoidsRewrittenBytes(w, rdata, out.ttlOffsets)) {
            return AnswerProblem::kMalformed;
          }
          break;
        case KNOT_RRTYPE_SOA: {
          int mname = rdataName(wire, rdata, end);
          if (mname < 0 || !avoidsRewrittenBytes(w, rdata, out.ttlOffsets)) {
            return AnswerProblem::kMalformed;
          }
          size_t rnameAt = rdata + static_cast<size_t>(mname);
          int rname = rdataName(wire, rnameAt, end);
          if (rname < 0 || static_cast<size_t>(mname + rname) + 20 != rdlen ||
              !avoidsRewrittenBytes(w, rnameAt, out.ttlOffsets)) {
            return AnswerProblem::kMalformed;
          }
          if (section == 1) {
            uint32_t minimum = effectiveTtl(knot_wire_read_u32(w + end - 4));
            soaNegativeTtl = std::min({soaNegativeTtl, effectiveTtl(rawTtl), minimum});
          }
          break;
        }
        default:
          break;
      }
      minTtl = std::min(minTtl, effectiveTtl(rawTtl));
      pos = end;
    }
  }
  if (pos != wire.size()) return AnswerProblem::kMalformed;
  out.rcode = static_cast<uint16_t>((extendedRcode << 4) | knot_wire_get_rcode(w));

  if (out.rcode != KNOT_RCODE_NOERROR && out.rcode != KNOT_RCODE_NXDOMAIN)
    return AnswerProblem::kNone;

  // Follow the CNAME chain from the question name.
  std::array<Name, kMaxCnameChain + 1> visited;
  visited[0] = qnameLower;
  const Name* current = &visited[0];
  // Where the current name is written out in the packet: an owner at that offset, or a
  // pointer to it, is the same name without comparing labels (the common case).
  size_t currentAt = kHeaderSize;
  auto isCurrent = [&](size_t owner) {
    if (owner == currentAt) return true;
    if ((w[owner] & 0xC0) == 0xC0 &&
        ((static_cast<size_t>(w[owner] & 0x3F) << 8) | w[owner + 1]) == currentAt) {
      return true;
    }
    return packetNameEquals(w, owner, *current);
  };
  uint32_t chainTtl = kNoTtl;
  const uint16_t ancount = counts[0];
  if (qtype != KNOT_RRTYPE_CNAME) {
    while (true) {
      Record cname;
      bool found = false;
      for (size_t p = answerStart, i = 0; i < ancount; ++i) {
        Record r = readRecord(w, p);
        p = r.next;
        if (r.type == KNOT_RRTYPE_CNAME && r.klass == qclass && isCurrent(r.owner)) {
          cname = r;
          found = true;
          break;
        }
      }
      if (!found) break;
      if (out.cnamesFollowed == kMaxCnameChain) {
        out.chainTooLong = true;
        break;
      }
      Name& next = visited[out.cnamesFollowed + 1u];
      unpackName(w, cname.rdata, next, true);
      chainTtl = std::min(chainTtl, cname.ttl);
      for (size_t v = 0; v <= out.cnamesFollowed; ++v) {
        if (visited[v] == next) out.chainLoop = true;
      }
      if (out.chainLoop) break;
      ++out.cnamesFollowed;
      current = &next;
      currentAt = cname.rdata;
    }
  }

  bool hasData = false;
  if (!out.chainLoop && !out.chainTooLong) {
    const bool noerror = out.rcode == KNOT_RCODE_NOERROR;
    if (noerror) out.addresses.reserve(ancount);
    for (size_t p = answerStart, i = 0; i < ancount; ++i) {
      Record r = readRecord(w, p);
      p = r.next;
      if (r.klass != qclass || !isCurrent(r.owner)) continue;
      if (r.type == qtype || qtype == KNOT_RRTYPE_ANY) hasData = true;
      if (!noerror) continue;
      if (r.type == KNOT_RRTYPE_A) {
        out.addresses.push_back(IpAddress::v4(w + r.rdata));
        chainTtl = std::min(chainTtl, r.ttl);
      } else if (r.type == KNOT_RRTYPE_AAAA) {
        out.addresses.push_back(IpAddress::v6(w + r.rdata));
        chainTtl = std::min(chainTtl, r.ttl);
      } else if ((r.type == KNOT_RRTYPE_SVCB || r.type == KNOT_RRTYPE_HTTPS) && r.type == qtype) {
        bool hints = false;
        if (!collectHints(wire, r, out.addresses, hints)) return AnswerProblem::kMalformed;
        if (hints) chainTtl = std::min(chainTtl, r.ttl);
      }
    }
  }
  out.chainTtl = chainTtl == kNoTtl ? 0 : chainTtl;

  const bool broken = out.chainLoop || out.chainTooLong;
  out.negative = !broken && (out.rcode == KNOT_RCODE_NXDOMAIN || !hasData);
  if (broken) {
    out.cacheTtl = 0;
  } else if (out.negative) {
    // RFC 2308 5: without an SOA a negative answer is not cached.
    out.cacheTtl = soaNegativeTtl == kNoTtl ? 0 : std::min(minTtl, soaNegativeTtl);
  } else {
    out.cacheTtl = minTtl == kNoTtl ? 0 : minTtl;
  }
  return AnswerProblem::kNone;
}

}  // namespace ztdns::dns
