#include "dns/name.h"

#include <algorithm>
#include <cstring>

#include "dns/knot.h"

namespace ztdns::dns {

Result<Name> Name::fromText(std::string_view text) {
  if (text.empty() || text.size() > 1024) {
    return Error{"\"" + std::string(text) + "\" is not a domain name"};
  }
  char buf[1025];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  uint8_t wire[KNOT_DNAME_MAXLEN];
  if (knot_dname_from_str(wire, buf, sizeof wire) == nullptr) {
    return Error{"\"" + std::string(text) + "\" is not a domain name"};
  }
  Name name;
  name.assign(wire, knot_dname_size(wire));
  return name;
}

std::string Name::toText() const {
  if (size_ <= 1) return ".";
  knot_dname_txt_storage_t txt;
  if (knot_dname_to_str(txt, bytes_.data(), sizeof txt) == nullptr) return "?";
  std::string out(txt);
  if (out.size() > 1 && out.back() == '.') out.pop_back();
  return out;
}

Name Name::lowered() const {
  Name out;
  out.size_ = size_;
  for (size_t i = 0; i < size_; ++i) out.bytes_[i] = asciiLower(bytes_[i]);
  return out;
}

bool Name::equalsIgnoringCase(const Name& other) const {
  if (size_ != other.size_) return false;
  for (size_t i = 0; i < size_; ++i)
    if (asciiLower(bytes_[i]) != asciiLower(other.bytes_[i])) return false;
  return true;
}

void Name::assign(const uint8_t* bytes, size_t size) {
  size_ = static_cast<uint8_t>(std::min(size, kMaxNameSize));
  std::memcpy(bytes_.data(), bytes, size_);
}

int checkName(std::span<const uint8_t> packet, size_t offset) {
  if (offset >= packet.size()) return -1;
  int size =
      knot_dname_wire_check(packet.data() + offset, packet.data() + packet.size(), packet.data());
  return size > 0 ? size : -1;
}

void unpackName(const uint8_t* packet, size_t offset, Name& out, bool lower) {
  uint8_t flat[kMaxNameSize];
  size_t n = 0;
  const uint8_t* label = knot_wire_seek_label(packet + offset, packet);
  while (label[0] != 0) {
    size_t len = label[0];
    flat[n++] = label[0];
    for (size_t i = 1; i <= len; ++i) flat[n++] = lower ? asciiLower(label[i]) : label[i];
    label = knot_wire_next_label(label, packet);
  }
  flat[n++] = 0;
  out.assign(flat, n);
}

bool packetNameEquals(const uint8_t* packet, size_t offset, const Name& lowerName) {
  const uint8_t* want = lowerName.data();
  const uint8_t* label = knot_wire_seek_label(packet + offset, packet);
  size_t pos = 0;
  while (true) {
    size_t len = label[0];
    if (pos + len + 1 > lowerName.size() || want[pos] != len) return false;
    if (len == 0) return true;
    for (size_t i = 1; i <= len; ++i)
      if (asciiLower(label[i]) != want[pos + i]) return false;
    pos += len + 1;
    label = knot_wire_next_label(label, packet);
  }
}

}  // namespace ztdns::dns
