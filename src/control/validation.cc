#include "control/validation.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>

#include "common/ip.h"

namespace ztdns::control {

namespace {

bool hasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 80))
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > 80) out += "...";
  return out + "\"";
}

bool isLdhHostName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    std::string_view label =
        name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

constexpr std::array<std::string_view, 32> kKnownTypes = {
    "A",    "NS",     "CNAME", "SOA",  "PTR",    "HINFO", "MX",    "TXT", "RP",  "AFSDB", "SIG",
    "KEY",  "AAAA",   "LOC",   "SRV",  "NAPTR",  "CERT",  "DNAME", "OPT", "DS",  "SSHFP", "RRSIG",
    "NSEC", "DNSKEY", "NSEC3", "TLSA", "SMIMEA", "SVCB",  "HTTPS", "CAA", "ANY", "URI",
};

}  // namespace

std::string checkDisplayName(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > kMaxNameLength) return "is longer than 256 characters";
  if (hasControl(name)) return quoted(name) + " contains control characters";
  return "";
}

std::string checkDescription(std::string_view text) {
  if (text.size() > kMaxDescriptionLength) return "is longer than 1024 characters";
  if (hasControl(text)) return quoted(text) + " contains control characters";
  return "";
}

std::string checkCertificateName(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (IpAddress::parse(name)) return "";
  if (!isLdhHostName(name)) return quoted(name) + " is not a host name or IP address";
  return "";
}

std::string checkQueryName(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name == ".") return "";
  if (hasControl(name) || name.find(' ') != std::string_view::npos) {
    return quoted(name) + " is not a domain name";
  }
  std::string_view n = name;
  if (n.back() == '.') n.remove_suffix(1);
  if (n.size() > 253) return quoted(name) + " is longer than 253 characters";
  size_t start = 0;
  while (true) {
    size_t dot = n.find('.', start);
    size_t len = (dot == std::string_view::npos ? n.size() : dot) - start;
    if (len == 0) return quoted(name) + " has an empty label";
    if (len > 63) return quoted(name) + " has a label longer than 63 characters";
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return "";
}

std::string dohTemplateHost(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.size() < kScheme.size()) return "";
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(url[i])) != kScheme[i]) return "";
  }
  std::string_view rest = url.substr(kScheme.size());
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return "";
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return "";
    return std::string(authority.substr(1, close - 1));
  }
  return std::string(authority.substr(0, authority.find(':')));
}

std::string checkDohTemplate(std::string_view url) {
  if (url.empty()) return "must not be empty";
  if (hasControl(url) || url.find(' ') != std::string_view::npos) {
    return quoted(url) + " is not an https:// URL";
  }
  if (url.size() > 2048) return "is longer than 2048 characters";
  std::string host = dohTemplateHost(url);
  if (host.empty()) return quoted(url) + " is not an https:// URL with a host";
  if (!IpAddress::parse(host) && !isLdhHostName(host)) {
    return quoted(url) + " has a host that is not a host name or IP address";
  }
  // The port, when given, must be a number.
  std::string_view rest = url.substr(8);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  size_t colon = authority.rfind(':');
  size_t bracket = authority.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    std::string_view port = authority.substr(colon + 1);
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p == 0 ||
        p > 65535) {
      return quoted(url) + " has a bad port";
    }
  }
  return "";
}

std::string checkAbsolutePath(std::string_view path) {
  if (path.empty()) return "must not be empty";
  if (path.size() > kMaxPathLength) return "is longer than 4096 characters";
  if (path.find('\0') != std::string_view::npos || hasControl(path)) {
    return quoted(path) + " contains control characters";
  }
  if (path.front() != '/') return quoted(path) + " is not an absolute path";
  return "";
}

std::string checkRecordType(std::string_view type) {
  if (type.empty()) return "must not be empty";
  if (std::find(kKnownTypes.begin(), kKnownTypes.end(), type) != kKnownTypes.end()) return "";
  if (type.size() > 4 && type.substr(0, 4) == "TYPE") {
    std::string_view digits = type.substr(4);
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec == std::errc() && ptr == digits.data() + digits.size() && v <= 65535 &&
        digits.size() <= 5) {
      return "";
    }
  }
  return quoted(type) + " is not a record type (A, AAAA, CNAME, HTTPS, ... or TYPEnnn)";
}

}  // namespace ztdns::control
