#include "config/doh_url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/ip.h"
#include "config/parse_context.h"

namespace ztdns::config {
namespace {

std::string quote(std::string_view s) {
  return detail::quoteText(s);
}

bool isDnsName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0 || label > 63) return false;
      if (name[i - 1] == '-' || name[i - label] == '-') return false;
      label = 0;
      continue;
    }
    auto c = static_cast<unsigned char>(name[i]);
    if (!std::isalnum(c) && c != '-' && c != '_') return false;
    ++label;
  }
  return true;
}

}  // namespace

bool isHostName(std::string_view name) {
  return IpAddress::parse(name).ok() || isDnsName(name);
}

Result<DohUrl> parseDohUrl(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.size() < kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), url.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return Error{quote(url) + " is not an https:// URL"};
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t end = rest.find_first_of("/?#{");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? "" : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    return Error{quote(url) + " carries user information; give only https://host[:port]/path"};
  }
  DohUrl out;
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error{quote(url) + " has a bad IPv6 host"};
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Error{quote(url) + " has a bad IPv6 host"};
      port = after.substr(1);
      if (port.empty()) return Error{quote(url) + " has an empty port"};
    }
    if (!IpAddress::parse(host).ok() || host.find(':') == std::string_view::npos) {
      return Error{quote(url) + " has a bad IPv6 host"};
    }
  } else if (size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return Error{quote(url) + " has an empty port"};
  }
  if (host.empty()) return Error{quote(url) + " has no host"};
  if (!isHostName(host)) return Error{quote(url) + " has a host that is not a DNS name or IP"};
  out.host = std::string(host);
  if (!port.empty()) {
    unsigned n = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (ec != std::errc() || p != port.data() + port.size() || n == 0 || n > 65535) {
      return Error{quote(url) + " has a port outside 1..65535"};
    }
    out.port = static_cast<uint16_t>(n);
  }
  if (tail.find('#') != std::string_view::npos) {
    return Error{quote(url) + " has a fragment; DoH URLs have none"};
  }
  // RFC 8484 templates: "{?dns}" is filled in for GET; a POST client drops it.
  std::string path;
  int depth = 0;
  for (char c : tail) {
    if (c == '{') {
      ++depth;
    } else if (c == '}') {
      if (depth == 0) return Error{quote(url) + " has an unbalanced '}'"};
      --depth;
    } else if (depth == 0) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
        return Error{quote(url) + " has a space or control character in its path"};
      }
      path += c;
    }
  }
  if (depth != 0) return Error{quote(url) + " has an unbalanced '{'"};
  if (path.empty() || path.front() != '/') path.insert(path.begin(), '/');
  out.path = std::move(path);
  return out;
}

}  // namespace ztdns::config
