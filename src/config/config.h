// The configuration model shared by every component.
//
// Key names follow Intune's windowsZtdnsConfiguration (Graph beta) so that administrators
// recognise them; keys past Windows (allowGraceSeconds, listenAddresses, ...) are ours.
// A Config that exists in memory has passed validate(): every component may rely on it.
//
// Glossary:
// - field path: where a value sits in the JSON, e.g. `secureDnsServers[1].ipAddress`; every
//   diagnostic starts with one.
// - our schema: the JSON that toJson() writes and parseConfig() reads back.
// - Intune export: a Graph `#microsoft.graph.windowsZtdnsConfiguration` object; it loads
//   through parseConfig() too, and what cannot be mapped is listed in Diagnostics::unmapped.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip.h"
#include "common/result.h"

namespace ztdns::config {

// Limits (docs/configuration.md). Intune allows 500 rules x 500 addresses; we accept far more
// so that a large estate's exemptions fit, while still bounding memory for a typo'd file.
inline constexpr size_t kMaxSecureDnsServers = 500;
inline constexpr size_t kMaxExemptionRules = 100'000;
inline constexpr size_t kMaxPrefixesPerRule = 100'000;
inline constexpr size_t kMaxRootCertificates = 500;
inline constexpr size_t kMaxSpkiPins = 32;
inline constexpr size_t kMaxListenAddresses = 64;
// The file as a whole. 64 MiB holds 100,000 rules with a few prefixes and a short description
// each, or more than a million prefixes in all; it bounds what a runaway file costs to read. Deeper
// nesting than kMaxNestingDepth is refused before parsing (the schema needs 4 levels, an Intune
// export about 8): the JSON parser recurses once per level.
inline constexpr size_t kMaxConfigFileBytes = size_t{64} << 20;
inline constexpr int kMaxNestingDepth = 64;

struct DotSettings {
  uint16_t tlsPort = 853;
  std::string certificateSubjectName;  // DNS name or IP literal checked against the cert

  friend bool operator==(const DotSettings&, const DotSettings&) = default;
};

struct DohSettings {
  uint16_t httpsPort = 443;
  std::string queryUrl;  // https://host[:port]/path ; host is the name checked (doh_url.h)

  friend bool operator==(const DohSettings&, const DohSettings&) = default;
};

struct SecureDnsServer {
  std::string displayName;
  IpAddress ipAddress;  // the daemon connects here and never resolves a server name
  int priority = 100;   // 1..1000, lower first
  std::optional<DotSettings> dnsOverTls;
  std::optional<DohSettings> dnsOverHttps;
  std::vector<std::string> spkiPins;  // base64 SHA-256 of the SubjectPublicKeyInfo

  friend bool operator==(const SecureDnsServer&, const SecureDnsServer&) = default;
};

struct ExemptionRule {
  std::string displayName;  // unique
  std::string description;
  std::vector<IpPrefix> ipAddresses;  // normalised (host bits cleared)

  friend bool operator==(const ExemptionRule&, const ExemptionRule&) = default;
};

struct ClientCertificate {
  std::string certificateFile;
  std::string privateKeyFile;

  friend bool operator==(const ClientCertificate&, const ClientCertificate&) = default;
};

struct LogSettings {
  uint64_t maxFileBytes = 64ull << 20;        // rotate a channel file past this size
  unsigned keepFiles = 5;                     // rotated generations kept per channel
  unsigned connectionEventsPerSecond = 1000;  // beyond this, events are summarised

  friend bool operator==(const LogSettings&, const LogSettings&) = default;
};

struct Config {
  bool enabled = false;
  bool auditModeEnabled = true;
  std::vector<SecureDnsServer> secureDnsServers;
  std::vector<ExemptionRule> exemptionRules;
  std::vector<std::string> rootCertificatesForServerValidation;  // empty: system store
  std::optional<ClientCertificate> clientCertificate;
  bool hostsFileResolutionEnabled = false;
  bool loopbackTrafficBlocked = false;
  uint32_t maximumConnectionTimeInSeconds = 86400;
  uint32_t minimumAllowTimeInSeconds = 300;
  uint32_t allowGraceSeconds = 30;
  uint32_t maxAllowedAddresses = 262144;
  bool permittedConnectionsLogEnabled = false;
  std::vector<Endpoint> listenAddresses;  // default 127.0.0.1:53 and [::1]:53
  LogSettings log;

  Config();  // fills the defaults above, including listenAddresses

  // clamp(ttl + grace, minimum, maximum): how long an answer's addresses stay allowed.
  // Never overflows; never exceeds maximumConnectionTimeInSeconds; never below 1 s.
  uint32_t allowSecondsForTtl(uint32_t ttl) const;

  friend bool operator==(const Config&, const Config&) = default;
};

// Problems found by validation. Errors make a config unusable; warnings (such as a prefix
// with host bits set, which is normalised) do not.
struct Diagnostics {
  std::vector<std::string> errors;  // "secureDnsServers[1].ipAddress: \"1.2.3\" is not ..."
  std::vector<std::string> warnings;
  std::vector<std::string> unmapped;  // Intune import: what could not be mapped, in words
  bool ok() const { return errors.empty(); }
};

struct LoadResult {
  std::optional<Config> config;  // set only when diagnostics.ok()
  Diagnostics diagnostics;
  bool fromIntune = false;  // the text was a Graph windowsZtdnsConfiguration export
  // loadConfigFile*: contentDigest() of the bytes read, whether or not they validated;
  // unset when no file was read (missing, unreadable, too large).
  std::optional<std::string> digest;
};

// Parse and validate JSON text (our schema, or an Intune Graph windowsZtdnsConfiguration
// export, recognised by @odata.type or by Graph-only keys). Reports every error at once.
// Validation reads the certificate files the config names (control thread, not data plane).
LoadResult parseConfig(std::string_view jsonText);

// Read, parse and validate a file. A missing file is an error naming the path, and so is a
// file larger than kMaxConfigFileBytes or one that is not a regular file.
LoadResult loadConfigFile(const std::string& path);

// As loadConfigFile, but a file that does not exist yields the defaults (ZTDNS disabled)
// with a warning: what ztdnsd does at start-up, so a fresh install starts harmlessly.
LoadResult loadConfigFileOrDefaults(const std::string& path);

// The config in our schema, every key present (what `show settings` prints). nlohmann::json
// keeps keys sorted, so the order is stable. parseConfig(toJson(c).dump()) gives back c.
nlohmann::json toJson(const Config& config);

// The config in our schema as pretty-printed text in the documented key order (the order of
// docs/configuration.md), ending in a newline: what saveConfigAtomic writes.
std::string formatConfig(const Config& config);

// Validate a Config built in code (e.g. by a control-plane change) by the same rules.
// Prefixes must already be normalised (see normalizePrefixes); host bits are an error here.
Diagnostics validate(const Config& config);

// Clears host bits in every exemption prefix; returns one warning per prefix changed.
std::vector<std::string> normalizePrefixes(Config& config);

// Atomic save: temp file in the same directory, fsync, rename, fsync the directory. The file
// is mode 0600. On failure the old file is untouched, no temp file is left, and the error
// says what failed. Does not validate: callers save only configs that passed validate().
// A config whose text would exceed kMaxConfigFileBytes is refused (ztdnsd could not read
// it back). *savedDigest, when given, is set to the new bytes' contentDigest() once they
// are in place (the rename succeeded), even if the directory fsync then fails.
Status saveConfigAtomic(const std::string& path, const Config& config,
                        std::string* savedDigest = nullptr);

// The identity of a config file's content: the SHA-256 of its bytes, in hex. The daemon
// remembers it for the file it last loaded or saved, to notice edits it has not loaded.
std::string contentDigest(std::string_view bytes);

// contentDigest() of the file as it is now; nullopt when it does not exist. Reads at most
// kMaxConfigFileBytes (a larger file is an error), as loadConfigFile does.
Result<std::optional<std::string>> fileDigest(const std::string& path);

}  // namespace ztdns::config
