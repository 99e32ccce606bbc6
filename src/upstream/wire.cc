#include "upstream/wire.h"

#include <cstring>

namespace ztdns::upstream::wire {
namespace {

constexpr uint16_t kTypeOpt = 41;
constexpr uint16_t kOptionPadding = 12;

// Skips a (possibly compressed) name at `off`; returns the offset after it.
std::optional<size_t> skipName(std::span<const uint8_t> m, size_t off) {
  for (int labels = 0; labels < 128; ++labels) {
    if (off >= m.size()) return std::nullopt;
    uint8_t len = m[off];
    if (len == 0) return off + 1;
    if ((len & 0xC0) == 0xC0) {
      if (off + 2 > m.size()) return std::nullopt;
      return off + 2;
    }
    if (len & 0xC0) return std::nullopt;
    off += 1 + len;
  }
  return std::nullopt;
}

uint8_t lower(uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c;
}

}  // namespace

std::optional<size_t> questionEnd(std::span<const uint8_t> msg) {
  if (msg.size() < kHeaderSize || readU16(msg.data() + 4) == 0) return std::nullopt;
  auto end = skipName(msg, kHeaderSize);
  if (!end || *end + 4 > msg.size()) return std::nullopt;
  return *end + 4;
}

bool answerMatchesQuery(std::span<const uint8_t> query, std::span<const uint8_t> answer) {
  if (answer.size() < kHeaderSize || query.size() < kHeaderSize) return false;
  if (!(answer[2] & 0x80)) return false;                      // QR
  if ((answer[2] & 0x78) != (query[2] & 0x78)) return false;  // opcode
  if (readU16(query.data() + 4) == 0) return true;            // nothing to compare
  if (readU16(answer.data() + 4) == 0) {
    // FORMERR/NOTIMP answers may carry no question.
    int rc = answer[3] & 0x0F;
    return rc == 1 || rc == 4;
  }
  auto qe = questionEnd(query);
  auto ae = questionEnd(answer);
  if (!qe || !ae || *qe != *ae) return false;
  for (size_t i = kHeaderSize; i < *qe; ++i) {
    if (lower(query[i]) != lower(answer[i])) return false;
  }
  return recordsFit(answer, *ae);
}

bool recordsFit(std::span<const uint8_t> msg, size_t afterQuestion) {
  size_t records =
      size_t{readU16(msg.data() + 6)} + readU16(msg.data() + 8) + readU16(msg.data() + 10);
  size_t off = afterQuestion;
  for (size_t i = 0; i < records; ++i) {
    auto e = skipName(msg, off);
    if (!e || *e + 10 > msg.size()) return false;
    size_t rdlength = readU16(msg.data() + *e + 8);
    off = *e + 10 + rdlength;
    if (off > msg.size()) return false;
  }
  return true;
}

int rcode(std::span<const uint8_t> msg) {
  if (msg.size() < kHeaderSize) return -1;
  return msg[3] & 0x0F;
}

bool padQuery(std::vector<uint8_t>& msg, size_t block) {
  std::span<const uint8_t> m(msg);
  if (m.size() < kHeaderSize || block == 0) return false;
  size_t qd = readU16(m.data() + 4), an = readU16(m.data() + 6), ns = readU16(m.data() + 8),
         ar = readU16(m.data() + 10);
  size_t off = kHeaderSize;
  for (size_t i = 0; i < qd; ++i) {
    auto e = skipName(m, off);
    if (!e || *e + 4 > m.size()) return false;
    off = *e + 4;
  }
  std::optional<size_t> optStart;  // offset of the OPT RR's owner name
  size_t optRdlenAt = 0, optRdataEnd = 0;
  for (size_t i = 0; i < an + ns + ar; ++i) {
    size_t start = off;
    auto e = skipName(m, off);
    if (!e || *e + 10 > m.size()) return false;
    uint16_t type = readU16(m.data() + *e);
    size_t rdlen = readU16(m.data() + *e + 8);
    size_t end = *e + 10 + rdlen;
    if (end > m.size()) return false;
    if (type == kTypeOpt && i >= an + ns && !optStart) {
      optStart = start;
      optRdlenAt = *e + 8;
      optRdataEnd = end;
    }
    off = end;
  }
  if (off != m.size()) return false;  // trailing garbage

  std::vector<uint8_t> out;
  out.reserve(msg.size() + block + 16);
  if (optStart) {
    // Keep every option except an old padding option.
    out.assign(msg.begin(), msg.begin() + static_cast<long>(optRdlenAt + 2));
    size_t o = optRdlenAt + 2;
    while (o + 4 <= optRdataEnd) {
      uint16_t code = readU16(m.data() + o);
      size_t len = readU16(m.data() + o + 2);
      if (o + 4 + len > optRdataEnd) return false;
      if (code != kOptionPadding)
        out.insert(out.end(), m.begin() + static_cast<long>(o),
                   m.begin() + static_cast<long>(o + 4 + len));
      o += 4 + len;
    }
    if (o != optRdataEnd) return false;
    size_t rest = msg.size() - optRdataEnd;
    size_t unpadded = out.size() + 4 + rest;
    size_t pad = (block - unpadded % block) % block;
    if (unpadded + pad > 65535) return false;
    out.push_back(0);
    out.push_back(kOptionPadding);
    out.push_back(static_cast<uint8_t>(pad >> 8));
    out.push_back(static_cast<uint8_t>(pad));
    out.insert(out.end(), pad, 0);
    size_t rdlen = out.size() - (optRdlenAt + 2);
    writeU16(out.data() + optRdlenAt, static_cast<uint16_t>(rdlen));
    out.insert(out.end(), msg.begin() + static_cast<long>(optRdataEnd), msg.end());
  } else {
    out.assign(msg.begin(), msg.end());
    const uint8_t rr[] = {0, 0, kTypeOpt, kEdnsPayloadSize >> 8, kEdnsPayloadSize & 0xFF, 0,
                          0, 0, 0};
    out.insert(out.end(), rr, rr + sizeof rr);
    size_t unpadded = out.size() + 2 + 4;
    size_t pad = (block - unpadded % block) % block;
    if (unpadded + pad > 65535 || ar == 0xFFFF) return false;
    size_t rdlen = 4 + pad;
    out.push_back(static_cast<uint8_t>(rdlen >> 8));
    out.push_back(static_cast<uint8_t>(rdlen));
    out.push_back(0);
    out.push_back(kOptionPadding);
    out.push_back(static_cast<uint8_t>(pad >> 8));
    out.push_back(static_cast<uint8_t>(pad));
    out.insert(out.end(), pad, 0);
    writeU16(out.data() + 10, static_cast<uint16_t>(ar + 1));
  }
  msg.swap(out);
  return true;
}

std::vector<uint8_t> makeQuery(const char* name, uint16_t type, uint16_t id) {
  std::vector<uint8_t> q(kHeaderSize, 0);
  writeU16(q.data(), id);
  q[2] = 0x01;  // RD
  writeU16(q.data() + 4, 1);
  const char* p = name;
  while (*p) {
    const char* dot = std::strchr(p, '.');
    size_t len = dot ? static_cast<size_t>(dot - p) : std::strlen(p);
    q.push_back(static_cast<uint8_t>(len));
    q.insert(q.end(), p, p + len);
    p += len;
    if (*p == '.') ++p;
  }
  q.push_back(0);
  q.push_back(static_cast<uint8_t>(type >> 8));
  q.push_back(static_cast<uint8_t>(type));
  q.push_back(0);
  q.push_back(1);  // IN
  return q;
}

}  // namespace ztdns::upstream::wire
