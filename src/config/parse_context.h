// Internal to ztdns::config: the state shared by the two readers (our schema, Intune) and
// validation while one document is checked.
//
// Every diagnostic starts with a field path. A field whose JSON was unusable (wrong type,
// out of range, not an address) is remembered as "bad": validation then skips it, so each
// problem is reported exactly once and no follow-on error is invented from a placeholder.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_set>

#include "config/config.h"

namespace ztdns::config::detail {

using Json = nlohmann::ordered_json;  // keeps the file's key order, so errors come in it too

struct Range {
  int64_t lo;
  int64_t hi;
};

// The ranges of docs/configuration.md, shared by the readers and validate().
inline constexpr Range kMaximumConnectionTimeRange{30, 604800};
inline constexpr Range kMinimumAllowTimeRange{0, 604800};
inline constexpr Range kAllowGraceRange{0, 3600};
inline constexpr Range kMaxAllowedAddressesRange{1024, 16777216};
inline constexpr Range kPriorityRange{1, 1000};
inline constexpr Range kPortRange{1, 65535};
inline constexpr Range kLogMaxFileBytesRange{1ll << 20, 64ll << 30};
inline constexpr Range kLogKeepFilesRange{0, 100};
inline constexpr Range kLogEventsPerSecondRange{1, 1'000'000};

class ParseContext {
 public:
  explicit ParseContext(Diagnostics& diagnostics) : diags_(diagnostics) {}

  // "path: what"; marks path bad.
  void error(const std::string& path, std::string_view what);
  void warning(const std::string& path, std::string_view what);
  void unmapped(const std::string& path, std::string_view what);
  void markBad(const std::string& path) { bad_.insert(path); }
  bool isBad(const std::string& path) const { return !bad_.empty() && bad_.count(path) > 0; }

  Diagnostics& diagnostics() { return diags_; }

 private:
  Diagnostics& diags_;
  std::unordered_set<std::string> bad_;
};

std::string joinPath(std::string_view parent, std::string_view key);
std::string indexPath(std::string_view parent, size_t index);
std::string quoteText(std::string_view text);  // JSON-style quoting, long text shortened
std::string describe(const Json& value);       // short and non-recursive, for messages
std::string outOfRange(int64_t value, Range range);
std::string unknownKey(std::string_view key, std::initializer_list<std::string_view> known);

// Typed readers. On a wrong type they report "path: must be ..." and return false.
bool readBool(ParseContext& ctx, const Json& value, const std::string& path, bool& out);
bool readString(ParseContext& ctx, const Json& value, const std::string& path, std::string& out);
bool readInt(ParseContext& ctx, const Json& value, const std::string& path, Range range,
             int64_t& out);
bool expectArray(ParseContext& ctx, const Json& value, const std::string& path);
bool expectObject(ParseContext& ctx, const Json& value, const std::string& path);

// Parses text into Json; false on a syntax error, which names line and column. Duplicate
// keys are errors too (the JSON library would silently keep one), but parsing goes on.
bool parseJsonText(ParseContext& ctx, std::string_view text, Json& out);

// Readers of our schema's parts, used by the Intune mapping as well.
void readSecureDnsServers(ParseContext& ctx, const Json& value, const std::string& path,
                          bool intune, std::vector<SecureDnsServer>& out);
void readExemptionRules(ParseContext& ctx, const Json& value, const std::string& path, bool intune,
                        std::vector<ExemptionRule>& out);

// Validation with the bad-path set of a parse (validate() passes an empty one).
void validateInto(const Config& config, ParseContext& ctx);

// Our schema / the Intune mapping. Both fill config and report into ctx.
void readOurSchema(ParseContext& ctx, const Json& root, Config& config);
void readIntuneExport(ParseContext& ctx, const Json& root, Config& config);
bool looksLikeIntuneExport(const Json& root);

}  // namespace ztdns::config::detail
