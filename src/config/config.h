// The configuration model shared by every component.
//
// Key names follow Intune's windowsZtdnsConfiguration (Graph beta) so that administrators
// recognise them; keys past Windows (allowGraceSeconds, listenAddresses, ...) are ours.
// A Config that exists in memory has passed validate(): every component may rely on it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/ip.h"
#include "common/result.h"

namespace ztdns::config {

struct DotSettings {
  uint16_t tlsPort = 853;
  std::string certificateSubjectName;  // DNS name or IP literal checked against the cert
};

struct DohSettings {
  uint16_t httpsPort = 443;
  std::string queryUrl;  // https://host[:port]/path ; host is the name checked
};

struct SecureDnsServer {
  std::string displayName;
  IpAddress ipAddress;  // the daemon connects here and never resolves a server name
  int priority = 100;   // 1..1000, lower first
  std::optional<DotSettings> dnsOverTls;
  std::optional<DohSettings> dnsOverHttps;
  std::vector<std::string> spkiPins;  // base64 SHA-256 of the SubjectPublicKeyInfo
};

struct ExemptionRule {
  std::string displayName;  // unique
  std::string description;
  std::vector<IpPrefix> ipAddresses;  // normalised (host bits cleared)
};

struct ClientCertificate {
  std::string certificateFile;
  std::string privateKeyFile;
};

struct LogSettings {
  uint64_t maxFileBytes = 64ull << 20;  // rotate a channel file past this size
  unsigned keepFiles = 5;               // rotated generations kept per channel
  unsigned connectionEventsPerSecond = 1000;  // beyond this, events are summarised
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
  uint32_t allowSecondsForTtl(uint32_t ttl) const;
};

// Problems found by validation. Errors make a config unusable; warnings (such as a prefix
// with host bits set, which is normalised) do not.
struct Diagnostics {
  std::vector<std::string> errors;    // "secureDnsServers[1].ipAddress: \"1.2.3\" is not ..."
  std::vector<std::string> warnings;
  std::vector<std::string> unmapped;  // Intune import: what could not be mapped, in words
  bool ok() const { return errors.empty(); }
};

struct LoadResult {
  std::optional<Config> config;  // set only when diagnostics.ok()
  Diagnostics diagnostics;
};

// Parse and validate JSON text (our schema, or an Intune Graph windowsZtdnsConfiguration
// export, recognised by @odata.type or by Graph-only keys). Reports every error at once.
LoadResult parseConfig(std::string_view jsonText);

// Read, parse and validate a file. A missing file is an error naming the path.
LoadResult loadConfigFile(const std::string& path);

// The config in our schema, every key present (what `show settings` prints).
nlohmann::json toJson(const Config& config);

// Validate a Config built in code (e.g. by a control-plane change) by the same rules.
Diagnostics validate(const Config& config);

// Atomic save: temp file in the same directory, fsync, rename, fsync the directory.
Status saveConfigAtomic(const std::string& path, const Config& config);

}  // namespace ztdns::config
