// DohUrl: the parts of a DoH queryUrl (RFC 8484 URI template) that the transport needs.
//
// "https://pdns1.example.test/dns-query{?dns}" -> host "pdns1.example.test", no port,
// path "/dns-query". The host is the name the server certificate must carry; the daemon
// still connects to the server's ipAddress and never resolves the host.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ztdns::config {

struct DohUrl {
  std::string host;              // DNS name or IP literal, without brackets
  std::optional<uint16_t> port;  // only when the URL names one
  std::string path;              // starts with '/', query kept, template expressions removed
};

// Errors: "\"http://x/\" is not an https:// URL", "\"https:///q\" has no host", ...
Result<DohUrl> parseDohUrl(std::string_view url);

// A DNS name in presentation form (letters, digits, '-', '_', dots; labels 1..63, at most
// 253 characters; one trailing dot allowed), or an IPv4/IPv6 literal.
bool isHostName(std::string_view name);

}  // namespace ztdns::config
