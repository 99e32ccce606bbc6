#include "config/parse_context.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <vector>

#include "common/json_nesting.h"

namespace ztdns::config::detail {

void ParseContext::error(const std::string& path, std::string_view what) {
  diags_.errors.push_back(path.empty() ? std::string(what) : path + ": " + std::string(what));
  bad_.insert(path);
}

void ParseContext::warning(const std::string& path, std::string_view what) {
  diags_.warnings.push_back(path.empty() ? std::string(what) : path + ": " + std::string(what));
}

void ParseContext::unmapped(const std::string& path, std::string_view what) {
  diags_.unmapped.push_back(path.empty() ? std::string(what) : path + ": " + std::string(what));
}

std::string joinPath(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string out;
  out.reserve(parent.size() + 1 + key.size());
  out.append(parent).append(".").append(key);
  return out;
}

std::string indexPath(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::string quoteText(std::string_view text) {
  // Messages quote what the admin wrote; a pasted certificate must not flood the terminal.
  constexpr size_t kMax = 80;
  bool cut = false;
  if (text.size() > kMax) {
    size_t end = kMax;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;
    text = text.substr(0, end);
    cut = true;
  }
  std::string out = "\"";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += cut ? "...\"" : "\"";
  return out;
}

std::string describe(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case Json::value_t::string:
      return quoteText(value.get_ref<const std::string&>());
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return value.dump();
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

std::string outOfRange(int64_t value, Range range) {
  return std::to_string(value) + " is out of range " + std::to_string(range.lo) + ".." +
         std::to_string(range.hi);
}

namespace {

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      size_t sub = diag + (std::tolower(static_cast<unsigned char>(a[i - 1])) !=
                           std::tolower(static_cast<unsigned char>(b[j - 1])));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, sub});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string unknownKey(std::string_view key, std::initializer_list<std::string_view> known) {
  // A typo in a security setting must not pass silently; a hint makes it quick to fix. Only
  // a close key is a hint: a quarter of the key's length in edits (at least 1, at most 3),
  // or the whole key inside a known one ("port" in "tlsPort"). "foo" is 2 edits from "log",
  // which is no hint.
  auto lowered = [](std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  std::string_view best;
  size_t bestDistance = std::min<size_t>(3, std::max<size_t>(1, key.size() / 4)) + 1;
  if (key.size() <= 64) {
    for (auto k : known) {
      size_t d = editDistance(key, k);
      if (d < bestDistance) {
        bestDistance = d;
        best = k;
      }
    }
    if (best.empty() && key.size() >= 4) {
      for (auto k : known) {
        if (lowered(k).find(lowered(key)) != std::string::npos) {
          best = k;
          break;
        }
      }
    }
  }
  if (best.empty()) return "unknown key";
  return "unknown key (did you mean \"" + std::string(best) + "\"?)";
}

bool readBool(ParseContext& ctx, const Json& value, const std::string& path, bool& out) {
  if (!value.is_boolean()) {
    ctx.error(path, "must be true or false, not " + describe(value));
    return false;
  }
  out = value.get<bool>();
  return true;
}

bool readString(ParseContext& ctx, const Json& value, const std::string& path, std::string& out) {
  if (!value.is_string()) {
    ctx.error(path, "must be a string, not " + describe(value));
    return false;
  }
  out = value.get<std::string>();
  return true;
}

bool readInt(ParseContext& ctx, const Json& value, const std::string& path, Range range,
             int64_t& out) {
  if (value.is_number_unsigned()) {
    auto v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(range.hi)) {
      ctx.error(path, std::to_string(v) + " is out of range " + std::to_string(range.lo) + ".." +
                          std::to_string(range.hi));
      return false;
    }
    out = static_cast<int64_t>(v);
  } else if (value.is_number_integer()) {
    out = value.get<int64_t>();
  } else if (value.is_number_float() && std::trunc(value.get<double>()) == value.get<double>() &&
             (value.get<double>() < static_cast<double>(range.lo) ||
              value.get<double>() > static_cast<double>(range.hi))) {
    // An integer too long for 64 bits reaches us as a double (1e+29): it is whole, just
    // out of range, and "must be a whole number" would send the admin looking for a dot.
    ctx.error(path, describe(value) + " is out of range " + std::to_string(range.lo) + ".." +
                        std::to_string(range.hi));
    return false;
  } else {
    ctx.error(path, "must be a whole number, not " + describe(value));
    return false;
  }
  if (out < range.lo || out > range.hi) {
    ctx.error(path, outOfRange(out, range));
    return false;
  }
  return true;
}

bool expectArray(ParseContext& ctx, const Json& value, const std::string& path) {
  if (value.is_array()) return true;
  ctx.error(path, "must be an array, not " + describe(value));
  return false;
}

bool expectObject(ParseContext& ctx, const Json& value, const std::string& path) {
  if (value.is_object()) return true;
  ctx.error(path, "must be an object, not " + describe(value));
  return false;
}

namespace {

// Follows the parser's events to know the path of every key, so that a duplicate key can
// be named exactly. The JSON library itself would keep one value and drop the other.
// A frame holds only its own position (the pending key or the index); the path is built
// when a duplicate is reported, so memory stays linear in the text whatever its depth.
class DuplicateKeyFinder {
 public:
  explicit DuplicateKeyFinder(ParseContext& ctx) : ctx_(ctx) {}

  void startContainer(bool isArray) { stack_.push_back(Frame{isArray, 0, {}, {}}); }
  void key(const std::string& k) {
    if (stack_.empty()) return;
    Frame& f = stack_.back();
    f.pendingKey = k;
    if (!f.keys.insert(k).second) {
      ctx_.error(joinPath(pathOfTop(), k), "duplicate key; each key may appear once in an object");
    }
  }
  void endContainer() {
    if (!stack_.empty()) stack_.pop_back();
    value();
  }
  void value() {
    if (!stack_.empty() && stack_.back().isArray) ++stack_.back().index;
  }

 private:
  struct Frame {
    bool isArray;
    size_t index;
    std::string pendingKey;
    std::unordered_set<std::string> keys;
  };

  // The path of the innermost open container: each outer frame's current position.
  std::string pathOfTop() const {
    std::string path;
    for (size_t i = 0; i + 1 < stack_.size(); ++i) {
      const Frame& f = stack_[i];
      path = f.isArray ? indexPath(path, f.index) : joinPath(path, f.pendingKey);
    }
    return path;
  }

  ParseContext& ctx_;
  std::vector<Frame> stack_;
};

// A SAX handler that builds the document with the library's linear DOM builder and watches
// for duplicate keys on the way. (The library's callback parser would do both, but it
// rescans a parent array after every object, which is quadratic in the number of rules.)
class CheckingSax {
 public:
  CheckingSax(Json& out, ParseContext& ctx) : dom_(out, /*allow_exceptions=*/true), keys_(ctx) {}

  bool null() { return leaf(dom_.null()); }
  bool boolean(bool v) { return leaf(dom_.boolean(v)); }
  bool number_integer(Json::number_integer_t v) { return leaf(dom_.number_integer(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return leaf(dom_.number_unsigned(v)); }
  bool number_float(Json::number_float_t v, const Json::string_t& s) {
    return leaf(dom_.number_float(v, s));
  }
  bool string(Json::string_t& v) { return leaf(dom_.string(v)); }
  bool binary(Json::binary_t& v) { return leaf(dom_.binary(v)); }
  bool start_object(size_t n) {
    keys_.startContainer(false);
    return dom_.start_object(n);
  }
  bool key(Json::string_t& k) {
    keys_.key(k);
    return dom_.key(k);
  }
  bool end_object() {
    keys_.endContainer();
    return dom_.end_object();
  }
  bool start_array(size_t n) {
    keys_.startContainer(true);
    return dom_.start_array(n);
  }
  bool end_array() {
    keys_.endContainer();
    return dom_.end_array();
  }
  bool parse_error(size_t position, const std::string& token,
                   const nlohmann::detail::exception& e) {
    return dom_.parse_error(position, token, e);  // throws: allow_exceptions
  }

 private:
  bool leaf(bool ok) {
    keys_.value();
    return ok;
  }

  nlohmann::detail::json_sax_dom_parser<Json> dom_;
  DuplicateKeyFinder keys_;
};

}  // namespace

bool parseJsonText(ParseContext& ctx, std::string_view text, Json& out) {
  // The JSON library takes a NUL byte for the end of the text: "{}\0..." would load as {}
  // with the rest unread. JSON never holds one, so say where it is.
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    ctx.error("", "not valid JSON: a NUL byte at offset " + std::to_string(nul));
    return false;
  }
  // The parser recurses once per level: refuse deep nesting before it starts.
  if (!jsonNestingWithin(text, kMaxNestingDepth)) {
    ctx.error("", "the JSON nests deeper than " + std::to_string(kMaxNestingDepth) +
                      " levels of [ and { (a configuration needs fewer than 10)");
    return false;
  }
  try {
    CheckingSax sax(out, ctx);
    Json::sax_parse(text.begin(), text.end(), &sax, nlohmann::json::input_format_t::json,
                    /*strict=*/true, /*ignore_comments=*/false);
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    if (!what.empty() && what.front() == '[') {
      auto close = what.find("] ");
      if (close != std::string::npos) what.erase(0, close + 2);
    }
    ctx.error("", "not valid JSON: " + what);
    return false;
  }
  return true;  // duplicates were reported; reading goes on so every other problem is too
}

}  // namespace ztdns::config::detail
