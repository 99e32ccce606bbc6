// IP addresses, prefixes and endpoints, shared by every module.
//
// IpAddress keeps IPv4 as 4 bytes and IPv6 as 16; an IPv4-mapped IPv6 address stays IPv6
// until unmapped explicitly (DNS answers can carry it; the allow sets must not).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ztdns {

enum class IpFamily : uint8_t { V4 = 4, V6 = 6 };

class IpAddress {
 public:
  IpAddress() = default;  // 0.0.0.0
  static IpAddress v4(const uint8_t bytes[4]);
  static IpAddress v6(const uint8_t bytes[16]);
  static IpAddress fromV4Host(uint32_t hostOrder);

  // Accepts dotted IPv4 and RFC 4291 IPv6 text; no brackets, no zone ids.
  static Result<IpAddress> parse(std::string_view text);

  IpFamily family() const { return family_; }
  bool isV4() const { return family_ == IpFamily::V4; }
  bool isV6() const { return family_ == IpFamily::V6; }
  const uint8_t* bytes() const { return bytes_.data(); }
  size_t size() const { return isV4() ? 4 : 16; }
  uint32_t v4HostOrder() const;  // only for isV4()

  bool isUnspecified() const;  // 0.0.0.0, ::
  bool isLoopback() const;     // 127/8, ::1
  bool isMulticast() const;    // 224/4, ff00::/8
  bool isBroadcast() const;    // 255.255.255.255
  bool isLinkLocal() const;    // 169.254/16, fe80::/10
  bool isPrivate() const;      // RFC 1918, 100.64/10 (CGNAT), fc00::/7 (ULA)
  bool isV4Mapped() const;     // ::ffff:a.b.c.d
  IpAddress unmapped() const;  // ::ffff:a.b.c.d -> a.b.c.d; anything else unchanged

  std::string toString() const;

  // sockaddr conversion (port in host order).
  void toSockaddr(uint16_t port, sockaddr_storage& out, socklen_t& len) const;
  static Result<IpAddress> fromSockaddr(const sockaddr* sa, uint16_t* portOut = nullptr);

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend std::strong_ordering operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  IpFamily family_ = IpFamily::V4;
  std::array<uint8_t, 16> bytes_{};  // IPv4 uses the first 4
};

class IpPrefix {
 public:
  IpPrefix() = default;
  IpPrefix(IpAddress address, uint8_t length) : address_(address), length_(length) {}

  // "a.b.c.d/n", "x::/n", or a bare address (a host prefix). Rejects bad lengths.
  static Result<IpPrefix> parse(std::string_view text);

  const IpAddress& address() const { return address_; }
  uint8_t length() const { return length_; }
  IpFamily family() const { return address_.family(); }
  uint8_t maxLength() const { return address_.isV4() ? 32 : 128; }

  bool hasHostBits() const;
  IpPrefix normalized() const;  // host bits cleared
  bool contains(const IpAddress& a) const;
  bool contains(const IpPrefix& p) const;
  bool overlaps(const IpPrefix& p) const { return contains(p) || p.contains(*this); }
  IpAddress lastAddress() const;  // highest address in the prefix

  std::string toString() const;  // always "addr/len"

  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
  friend std::strong_ordering operator<=>(const IpPrefix&, const IpPrefix&) = default;

 private:
  IpAddress address_;
  uint8_t length_ = 0;
};

struct Endpoint {
  IpAddress address;
  uint16_t port = 0;

  // "1.2.3.4:53" or "[2001:db8::1]:53".
  static Result<Endpoint> parse(std::string_view text);
  std::string toString() const;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
  friend std::strong_ordering operator<=>(const Endpoint&, const Endpoint&) = default;
};

struct IpAddressHash {
  size_t operator()(const IpAddress& a) const noexcept;
};

}  // namespace ztdns

template <>
struct std::hash<ztdns::IpAddress> : ztdns::IpAddressHash {};
