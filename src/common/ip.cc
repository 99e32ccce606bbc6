#include "common/ip.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace ztdns {

IpAddress IpAddress::v4(const uint8_t bytes[4]) {
  IpAddress a;
  a.family_ = IpFamily::V4;
  std::memcpy(a.bytes_.data(), bytes, 4);
  return a;
}

IpAddress IpAddress::v6(const uint8_t bytes[16]) {
  IpAddress a;
  a.family_ = IpFamily::V6;
  std::memcpy(a.bytes_.data(), bytes, 16);
  return a;
}

IpAddress IpAddress::fromV4Host(uint32_t hostOrder) {
  uint32_t n = htonl(hostOrder);
  return v4(reinterpret_cast<const uint8_t*>(&n));
}

Result<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) {
    return Error{"\"" + std::string(text) + "\" is not an IP address"};
  }
  char buf[INET6_ADDRSTRLEN + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  uint8_t bytes[16];
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, bytes) == 1) return v4(bytes);
  } else if (inet_pton(AF_INET6, buf, bytes) == 1) {
    return v6(bytes);
  }
  return Error{"\"" + std::string(text) + "\" is not an IP address"};
}

uint32_t IpAddress::v4HostOrder() const {
  uint32_t n;
  std::memcpy(&n, bytes_.data(), 4);
  return ntohl(n);
}

bool IpAddress::isUnspecified() const {
  for (size_t i = 0; i < size(); ++i)
    if (bytes_[i] != 0) return false;
  return true;
}

bool IpAddress::isLoopback() const {
  if (isV4()) return bytes_[0] == 127;
  static const uint8_t kLoop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return std::memcmp(bytes_.data(), kLoop, 16) == 0;
}

bool IpAddress::isMulticast() const {
  return isV4() ? (bytes_[0] & 0xf0) == 0xe0 : bytes_[0] == 0xff;
}

bool IpAddress::isBroadcast() const {
  return isV4() && v4HostOrder() == 0xffffffffu;
}

bool IpAddress::isLinkLocal() const {
  if (isV4()) return bytes_[0] == 169 && bytes_[1] == 254;
  return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80;
}

bool IpAddress::isPrivate() const {
  if (isV4()) {
    return bytes_[0] == 10 || (bytes_[0] == 172 && (bytes_[1] & 0xf0) == 16) ||
           (bytes_[0] == 192 && bytes_[1] == 168) || (bytes_[0] == 100 && (bytes_[1] & 0xc0) == 64);
  }
  return (bytes_[0] & 0xfe) == 0xfc;
}

bool IpAddress::isV4Mapped() const {
  if (!isV6()) return false;
  static const uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(bytes_.data(), kPrefix, 12) == 0;
}

IpAddress IpAddress::unmapped() const {
  return isV4Mapped() ? v4(bytes_.data() + 12) : *this;
}

std::string IpAddress::toString() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(isV4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

void IpAddress::toSockaddr(uint16_t port, sockaddr_storage& out, socklen_t& len) const {
  std::memset(&out, 0, sizeof out);
  if (isV4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, bytes_.data(), 4);
    len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, bytes_.data(), 16);
    len = sizeof(sockaddr_in6);
  }
}

Result<IpAddress> IpAddress::fromSockaddr(const sockaddr* sa, uint16_t* portOut) {
  if (sa->sa_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(sa);
    if (portOut) *portOut = ntohs(sin->sin_port);
    return v4(reinterpret_cast<const uint8_t*>(&sin->sin_addr));
  }
  if (sa->sa_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (portOut) *portOut = ntohs(sin6->sin6_port);
    return v6(reinterpret_cast<const uint8_t*>(&sin6->sin6_addr));
  }
  return Error{"unsupported address family " + std::to_string(sa->sa_family)};
}

size_t IpAddressHash::operator()(const IpAddress& a) const noexcept {
  // FNV-1a over family and bytes: cheap, and good enough for hash maps of addresses.
  uint64_t h = 1469598103934665603ull ^ static_cast<uint8_t>(a.family());
  for (size_t i = 0; i < a.size(); ++i) {
    h ^= a.bytes()[i];
    h *= 1099511628211ull;
  }
  return static_cast<size_t>(h);
}

namespace {

bool parseUint(std::string_view s, unsigned max, unsigned& out) {
  if (s.empty() || s.size() > 5) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out <= max;
}

void clearHostBits(uint8_t* bytes, size_t size, uint8_t length) {
  for (size_t i = 0; i < size; ++i) {
    int bitsHere = static_cast<int>(length) - static_cast<int>(i) * 8;
    if (bitsHere >= 8) continue;
    bytes[i] &= bitsHere <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bitsHere));
  }
}

}  // namespace

Result<IpPrefix> IpPrefix::parse(std::string_view text) {
  auto slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return Error{"\"" + std::string(text) + "\" is not a prefix"};
  unsigned max = addr->isV4() ? 32 : 128, len = max;
  if (slash != std::string_view::npos && !parseUint(text.substr(slash + 1), max, len)) {
    return Error{"\"" + std::string(text) + "\" is not a prefix"};
  }
  return IpPrefix(*addr, static_cast<uint8_t>(len));
}

bool IpPrefix::hasHostBits() const {
  return normalized().address_ != address_;
}

IpPrefix IpPrefix::normalized() const {
  uint8_t bytes[16];
  std::memcpy(bytes, address_.bytes(), address_.size());
  clearHostBits(bytes, address_.size(), length_);
  return IpPrefix(address_.isV4() ? IpAddress::v4(bytes) : IpAddress::v6(bytes), length_);
}

bool IpPrefix::contains(const IpAddress& a) const {
  if (a.family() != family()) return false;
  return IpPrefix(a, length_).normalized().address_ == normalized().address_;
}

bool IpPrefix::contains(const IpPrefix& p) const {
  return p.family() == family() && p.length_ >= length_ && contains(p.address_);
}

IpAddress IpPrefix::lastAddress() const {
  uint8_t bytes[16];
  std::memcpy(bytes, normalized().address_.bytes(), address_.size());
  for (size_t i = 0; i < address_.size(); ++i) {
    int bitsHere = static_cast<int>(length_) - static_cast<int>(i) * 8;
    if (bitsHere >= 8) continue;
    bytes[i] |= bitsHere <= 0 ? 0xff : static_cast<uint8_t>(0xff >> bitsHere);
  }
  return address_.isV4() ? IpAddress::v4(bytes) : IpAddress::v6(bytes);
}

std::string IpPrefix::toString() const {
  return address_.toString() + "/" + std::to_string(length_);
}

Result<Endpoint> Endpoint::parse(std::string_view text) {
  auto bad = [&] {
    return Error{"\"" + std::string(text) + "\" is not an ip:port or [ipv6]:port endpoint"};
  };
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find("]:");
    if (close == std::string_view::npos) return bad();
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) return bad();
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  auto addr = IpAddress::parse(host);
  unsigned p = 0;
  if (!addr || !parseUint(port, 65535, p) || p == 0) return bad();
  return Endpoint{*addr, static_cast<uint16_t>(p)};
}

std::string Endpoint::toString() const {
  return address.isV4() ? address.toString() + ":" + std::to_string(port)
                        : "[" + address.toString() + "]:" + std::to_string(port);
}

}  // namespace ztdns
