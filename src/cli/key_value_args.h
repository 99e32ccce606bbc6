// netsh-style arguments: `key=value` pairs (keys case-insensitive), bare keywords such as
// `json`, and, for a few verbs, positionals (`resolve NAME`). Every error names the
// argument: `subnets: "10.0.0.0/33" is not a prefix`, `port: given twice`,
// `colour: unknown argument for "add server" (expected type, address, ...)`.
//
// Values are checked here when the check is pure (addresses, prefixes, ports, yes/no,
// numbers, durations, choices); the daemon checks everything again.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip.h"
#include "common/result.h"

namespace ztdns::cli {

enum class ValueKind {
  kText,         // any non-empty text
  kName,         // a display name (control::checkDisplayName)
  kDescription,  // may be empty
  kYesNo,
  kIp,
  kIpOrPrefix,  // log show dst=
  kPrefixList,  // comma-separated prefixes or bare addresses
  kPort,        // 1..65535
  kInt,         // min..max
  kDuration,    // 90s, 15m, 1h30m, 7d, 2w, or bare seconds
  kChoice,      // one of `choices`, case-insensitive (normalised to the spelling given)
  kPath,        // a file path (made absolute by the command)
  kHostName,    // a certificate name: DNS name or IP literal
  kUrl,         // https:// DoH template
  kRecordType,  // A, AAAA, ... or TYPEnnn, case-insensitive (upper-cased)
};

struct KeySpec {
  std::string key;  // lower case
  ValueKind kind = ValueKind::kText;
  bool required = false;
  std::vector<std::string> choices;
  int64_t min = 0;
  int64_t max = 0;
  std::string placeholder;  // for help: "IP", "N", ...
};

struct ArgSpec {
  std::string verb;  // "add server", for messages
  std::vector<KeySpec> keys;
  std::vector<std::string> keywords;  // bare words allowed, e.g. "json"
  int maxPositionals = 0;             // bare words that are not keywords
  std::string positionalName;         // "NAME", for messages and help
  std::string leading;  // for help: words the command takes before these ("blocked|permitted")
};

class ParsedArgs {
 public:
  bool has(const std::string& key) const { return values_.count(key) > 0; }
  bool keyword(const std::string& word) const { return keywords_.count(word) > 0; }
  const std::vector<std::string>& positionals() const { return positionals_; }

  // Typed getters for keys that passed validation; std::nullopt when absent.
  std::optional<std::string> text(const std::string& key) const;
  std::optional<bool> yesNo(const std::string& key) const;
  std::optional<IpAddress> ip(const std::string& key) const;
  std::optional<IpPrefix> ipOrPrefix(const std::string& key) const;
  std::optional<std::vector<IpPrefix>> prefixes(const std::string& key) const;
  std::optional<int64_t> integer(const std::string& key) const;
  std::optional<uint64_t> durationSeconds(const std::string& key) const;

 private:
  friend Result<ParsedArgs> parseArgs(const ArgSpec& spec, const std::vector<std::string>& args);
  std::map<std::string, std::string> values_;
  std::set<std::string> keywords_;
  std::vector<std::string> positionals_;
};

// Errors are usage errors (exit 2), one line each.
Result<ParsedArgs> parseArgs(const ArgSpec& spec, const std::vector<std::string>& args);

// Durations: "90s", "15m", "1h30m", "7d", "2w", "45" (seconds). Up to 10 years.
Result<uint64_t> parseDuration(std::string_view text);
// "3d 4h", "2h 5m", "42s": the two largest units.
std::string formatDuration(uint64_t seconds);

}  // namespace ztdns::cli
