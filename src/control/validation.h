// Value checks shared by the CLI (client-side, for early and exact messages) and the codec
// (the daemon re-validates everything). Each returns "" when fine, else what is wrong in
// words, without the field name: the caller prefixes "subnets: " or "params.subnets[0]: ".
#pragma once

#include <string>
#include <string_view>

namespace ztdns::control {

inline constexpr size_t kMaxNameLength = 256;  // server and exception display names
inline constexpr size_t kMaxDescriptionLength = 1024;
inline constexpr size_t kMaxSubnetsPerException = 500;  // Intune's limit
inline constexpr size_t kMaxPathLength = 4096;
inline constexpr uint32_t kMaxLogLimit = 1000000;

// A display name: 1..256 printable characters (no control characters).
std::string checkDisplayName(std::string_view name);
// A description: up to 1024 printable characters.
std::string checkDescription(std::string_view text);
// A DNS host name (LDH labels, 1..253 octets, optional final dot) or an IP literal:
// what a DoT server certificate must carry.
std::string checkCertificateName(std::string_view name);
// A domain name to resolve: labels of 1..63 octets, 1..253 in all, any octets but no
// control characters or spaces; "." is the root.
std::string checkQueryName(std::string_view name);
// An RFC 8484 URI template: https://host[:port]/path..., host a DNS name or IP literal.
std::string checkDohTemplate(std::string_view url);
// The host part of a DoH template ("" when it has none).
std::string dohTemplateHost(std::string_view url);
// An absolute path without NUL or newline.
std::string checkAbsolutePath(std::string_view path);
// A record type: a known mnemonic (A, AAAA, CNAME, HTTPS, ...) or TYPE0..TYPE65535,
// in upper case.
std::string checkRecordType(std::string_view type);

}  // namespace ztdns::control
