// Domain names for the DNS wire layer.
//
// Glossary:
// - wire name: length-prefixed labels ending in the root label (0), at most 255 bytes.
// - flat name: a wire name without compression pointers; `Name` always holds one.
// - packet name: a wire name inside a message, possibly with compression pointers; read
//   with checkName() first (libknot's validator: bounds, label and name length, pointers
//   strictly backwards so walks terminate), then with the readers below.
// DNS compares names case-insensitively in ASCII only (RFC 4343).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ztdns::dns {

inline constexpr size_t kMaxNameSize = 255;

inline uint8_t asciiLower(uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

class Name {
 public:
  Name() = default;

  // "www.example.com" or "www.example.com."; escapes as in zone files ("\032").
  static Result<Name> fromText(std::string_view text);

  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint8_t> wire() const { return {bytes_.data(), size_}; }

  // Presentation form without the trailing dot ("." for the root); special bytes escaped.
  std::string toText() const;

  Name lowered() const;
  bool equalsIgnoringCase(const Name& other) const;

  // Replace the content with `size` flat wire bytes (the caller has validated them).
  void assign(const uint8_t* bytes, size_t size);

  friend bool operator==(const Name& a, const Name& b) {
    return a.size_ == b.size_ &&
           std::equal(a.bytes_.begin(), a.bytes_.begin() + a.size_, b.bytes_.begin());
  }

 private:
  // Not value-initialised: names are copied and built often, and only size_ bytes count.
  std::array<uint8_t, kMaxNameSize> bytes_;
  uint8_t size_ = 0;
};

// Validates the packet name at `offset` (which must lie inside `packet`) with libknot and
// returns its size at that position (compressed size), or -1 when it is malformed.
int checkName(std::span<const uint8_t> packet, size_t offset);

// For names that passed checkName(): decompress into `out`, lowercased when `lower`.
void unpackName(const uint8_t* packet, size_t offset, Name& out, bool lower);

// For a name that passed checkName(): equal to the lowercase flat `lowerName`, ignoring case.
bool packetNameEquals(const uint8_t* packet, size_t offset, const Name& lowerName);

}  // namespace ztdns::dns
