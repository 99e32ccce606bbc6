#include "cli/key_value_args.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "control/validation.h"

namespace ztdns::cli {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Quoted for messages, control characters made visible.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 100))
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > 100) out += "...";
  return out + "\"";
}

std::optional<int64_t> parseInt(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> splitCommas(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string_view::npos ? s.npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string keyList(const ArgSpec& spec) {
  std::string out;
  for (const auto& k : spec.keys) out += (out.empty() ? "" : ", ") + k.key;
  return out;
}

// Returns "" or what is wrong with the value (without the key); may normalise `value`.
std::string checkValue(const KeySpec& k, std::string& value) {
  using control::checkAbsolutePath;
  if (value.empty() && k.kind != ValueKind::kDescription) return "must not be empty";
  switch (k.kind) {
    case ValueKind::kText:
      return "";
    case ValueKind::kName:
      return control::checkDisplayName(value);
    case ValueKind::kDescription:
      return control::checkDescription(value);
    case ValueKind::kYesNo: {
      std::string v = lower(value);
      if (v == "yes" || v == "no") {
        value = v;
        return "";
      }
      return quoted(value) + " is not yes or no";
    }
    case ValueKind::kIp:
      if (auto r = IpAddress::parse(value); !r) return r.error().message;
      return "";
    case ValueKind::kIpOrPrefix:
      if (auto r = IpPrefix::parse(value); !r)
        return quoted(value) + " is not an IP address or prefix";
      return "";
    case ValueKind::kPrefixList:
      for (auto part : splitCommas(value)) {
        if (part.empty()) return quoted(value) + " has an empty entry";
        if (auto r = IpPrefix::parse(part); !r) return r.error().message;
      }
      return "";
    case ValueKind::kPort: {
      auto v = parseInt(value);
      if (!v || *v < 1 || *v > 65535) return quoted(value) + " is not a port (1-65535)";
      return "";
    }
    case ValueKind::kInt: {
      auto v = parseInt(value);
      if (!v || *v < k.min || *v > k.max) {
        return quoted(value) + " is not a whole number from " + std::to_string(k.min) + " to " +
               std::to_string(k.max);
      }
      return "";
    }
    case ValueKind::kDuration:
      if (auto r = parseDuration(value); !r) return r.error().message;
      return "";
    case ValueKind::kChoice: {
      std::string v = lower(value);
      for (const auto& c : k.choices) {
        if (lower(c) == v) {
          value = c;
          return "";
        }
      }
      std::string list;
      for (size_t i = 0; i < k.choices.size(); ++i) {
        list += (i == 0 ? "" : i + 1 == k.choices.size() ? " or " : ", ") + k.choices[i];
      }
      return quoted(value) + " is not " + list;
    }
    case ValueKind::kPath:
      if (value.find('\0') != std::string::npos || value.find('\n') != std::string::npos) {
        return quoted(value) + " is not a file path";
      }
      return "";
    case ValueKind::kHostName:
      return control::checkCertificateName(value);
    case ValueKind::kUrl:
      return control::checkDohTemplate(value);
    case ValueKind::kRecordType: {
      std::string v = upper(value);
      if (auto why = control::checkRecordType(v); !why.empty()) return why;
      value = v;
      return "";
    }
  }
  return "";
}

}  // namespace

Result<ParsedArgs> parseArgs(const ArgSpec& spec, const std::vector<std::string>& args) {
  ParsedArgs out;
  for (const auto& arg : args) {
    size_t eq = arg.find('=');
    if (eq == std::string::npos) {
      std::string word = lower(arg);
      if (std::find(spec.keywords.begin(), spec.keywords.end(), word) != spec.keywords.end()) {
        out.keywords_.insert(word);
        continue;
      }
      if (static_cast<int>(out.positionals_.size()) < spec.maxPositionals) {
        out.positionals_.push_back(arg);
        continue;
      }
      bool isKey = std::any_of(spec.keys.begin(), spec.keys.end(),
                               [&](const KeySpec& k) { return k.key == word; });
      if (isKey) return Error{word + ": needs a value (" + word + "=...)"};
      return Error{quoted(arg) + ": unexpected argument for \"" + spec.verb + "\"" +
                   (spec.keys.empty() ? std::string()
                                      : " (arguments are key=value: " + keyList(spec) + ")")};
    }
    std::string key = lower(std::string_view(arg).substr(0, eq));
    std::string value = arg.substr(eq + 1);
    auto it = std::find_if(spec.keys.begin(), spec.keys.end(),
                           [&](const KeySpec& k) { return k.key == key; });
    if (key.empty()) return Error{quoted(arg) + ": expected key=value"};
    if (it == spec.keys.end()) {
      return Error{quoted(key) + ": unknown argument for \"" + spec.verb + "\"" +
                   (spec.keys.empty() ? std::string(" (it takes none)")
                                      : " (expected " + keyList(spec) + ")")};
    }
    if (out.values_.count(key)) return Error{key + ": given twice"};
    if (std::string why = checkValue(*it, value); !why.empty()) return Error{key + ": " + why};
    out.values_[key] = value;
  }
  for (const auto& k : spec.keys) {
    if (k.required && !out.values_.count(k.key)) {
      return Error{k.key + ": required (" + k.key + "=" +
                   (k.placeholder.empty() ? "..." : k.placeholder) + ")"};
    }
  }
  return out;
}

std::optional<std::string> ParsedArgs::text(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::optional<bool> ParsedArgs::yesNo(const std::string& key) const {
  auto v = text(key);
  if (!v) return std::nullopt;
  return *v == "yes";
}

std::optional<IpAddress> ParsedArgs::ip(const std::string& key) const {
  auto v = text(key);
  if (!v) return std::nullopt;
  auto r = IpAddress::parse(*v);
  return r ? std::optional<IpAddress>(*r) : std::nullopt;
}

std::optional<IpPrefix> ParsedArgs::ipOrPrefix(const std::string& key) const {
  auto v = text(key);
  if (!v) return std::nullopt;
  auto r = IpPrefix::parse(*v);
  return r ? std::optional<IpPrefix>(*r) : std::nullopt;
}

std::optional<std::vector<IpPrefix>> ParsedArgs::prefixes(const std::string& key) const {
  auto v = text(key);
  if (!v) return std::nullopt;
  std::vector<IpPrefix> out;
  for (auto part : splitCommas(*v)) {
    if (auto r = IpPrefix::parse(part)) out.push_back(*r);
  }
  return out;
}

std::optional<int64_t> ParsedArgs::integer(const std::string& key) const {
  auto v = text(key);
  if (!v) return std::nullopt;
  return parseInt(*v);
}

std::optional<uint64_t> ParsedArgs::durationSeconds(const std::string& key) const {
  auto v = text(key);
  if (!v) return std::nullopt;
  auto r = parseDuration(*v);
  return r ? std::optional<uint64_t>(*r) : std::nullopt;
}

Result<uint64_t> parseDuration(std::string_view text) {
  auto bad = [&] { return Error{quoted(text) + " is not a duration (e.g. 90s, 30m, 1h, 7d)"}; };
  if (text.empty()) return bad();
  if (auto plain = parseInt(text)) {
    if (*plain < 0) return bad();
    return static_cast<uint64_t>(*plain);
  }
  uint64_t total = 0;
  size_t pos = 0;
  std::string lastUnits = "wdhms";
  while (pos < text.size()) {
    size_t start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
    if (pos == start || pos == text.size() || pos - start > 9) return bad();
    uint64_t n = 0;
    std::from_chars(text.data() + start, text.data() + pos, n);
    char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(text[pos++])));
    size_t order = lastUnits.find(unit);
    if (order == std::string::npos) return bad();
    lastUnits = lastUnits.substr(order + 1);  // units in decreasing order, each once
    uint64_t scale = unit == 'w'   ? 604800
                     : unit == 'd' ? 86400
                     : unit == 'h' ? 3600
                     : unit == 'm' ? 60
                                   : 1;
    total += n * scale;
  }
  if (total > 10ull * 366 * 86400) return Error{quoted(text) + " is longer than 10 years"};
  return total;
}

std::string formatDuration(uint64_t seconds) {
  struct Unit {
    uint64_t size;
    const char* name;
  };
  constexpr Unit kUnits[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  std::string out;
  int shown = 0;
  for (const auto& u : kUnits) {
    uint64_t n = seconds / u.size;
    if (n == 0 && !(u.size == 1 && out.empty())) continue;
    if (shown == 2) break;
    out += (out.empty() ? "" : " ") + std::to_string(n) + u.name;
    seconds -= n * u.size;
    ++shown;
    if (seconds == 0) break;
  }
  return out;
}

}  // namespace ztdns::cli
