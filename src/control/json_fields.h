// JsonFields: reads the members of one JSON object into typed fields, with errors that
// name the field path ("params.subnets[2]: \"10.0.0.0/33\" is not a prefix").
//
// Strict readers (requests) also reject members nobody asked for; lenient readers
// (results, read by the CLI) ignore them so that a newer daemon can add fields.
// Only the first problem is kept: one line, naming what is wrong.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "common/ip.h"
#include "common/result.h"

namespace ztdns::control {

// A short rendering of a JSON value for error messages (at most ~40 characters).
std::string jsonSnippet(const nlohmann::json& value);

// JSON type name in words: "a string", "an object", ...
const char* jsonTypeWords(const nlohmann::json& value);

class JsonFields;

// Value readers: return an empty string on success, else what is wrong with the value
// (without the path). Structs provide `std::string readJson(const nlohmann::json&, T&,
// const std::string& path)` overloads that use JsonFields for their members.
std::string readValue(const nlohmann::json& v, bool& out);
std::string readValue(const nlohmann::json& v, std::string& out);
std::string readValue(const nlohmann::json& v, double& out);
std::string readValue(const nlohmann::json& v, IpAddress& out);
std::string readValue(const nlohmann::json& v, IpPrefix& out);
std::string readValue(const nlohmann::json& v, Endpoint& out);
std::string readValue(const nlohmann::json& v, nlohmann::json& out);

template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
std::string readValue(const nlohmann::json& v, T& out) {
  constexpr auto lo = std::numeric_limits<T>::min();
  constexpr auto hi = std::numeric_limits<T>::max();
  auto range = [&]() -> std::string {
    if constexpr (sizeof(T) == 8 && std::is_unsigned_v<T>) {
      return "expected a non-negative integer, got " + jsonSnippet(v);
    } else if constexpr (sizeof(T) == 8) {
      return "expected an integer, got " + jsonSnippet(v);
    } else {
      return "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
             ", got " + jsonSnippet(v);
    }
  };
  if (v.is_number_unsigned()) {
    auto x = v.get<uint64_t>();
    if (x > static_cast<uint64_t>(hi)) return range();
    out = static_cast<T>(x);
    return "";
  }
  if (v.is_number_integer()) {
    auto x = v.get<int64_t>();
    if (x < static_cast<int64_t>(lo) ||
        (x >= 0 && static_cast<uint64_t>(x) > static_cast<uint64_t>(hi)))
      return range();
    out = static_cast<T>(x);
    return "";
  }
  return range();
}

// Struct readers are found by ADL/overload: readStruct(json, T&, JsonFields&) fills T.
class JsonFields {
 public:
  JsonFields(const nlohmann::json& object, std::string path, bool strict);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Fails with `message` at `key` (for checks beyond types).
  void fail(const std::string& key, const std::string& message);
  void failHere(const std::string& message);  // at the object itself

  bool has(const char* key) const;

  template <class T>
  void required(const char* key, T& out) {
    if (!ok()) return;
    const nlohmann::json* v = take(key);
    if (!v) return fail(key, "is required");
    read(key, *v, out);
  }

  // Absent or null leaves `out` unset.
  template <class T>
  void optional(const char* key, std::optional<T>& out) {
    if (!ok()) return;
    const nlohmann::json* v = take(key);
    if (!v || v->is_null()) return;
    T value{};
    if (read(key, *v, value)) out = std::move(value);
  }

  // Absent or null keeps `out` as it is (its default).
  template <class T>
  void withDefault(const char* key, T& out) {
    if (!ok()) return;
    const nlohmann::json* v = take(key);
    if (!v || v->is_null()) return;
    read(key, *v, out);
  }

  // Reports members nobody read (strict mode) and returns the first error.
  Status finish();

  std::string childPath(const std::string& key) const;
  bool strict() const { return strict_; }

 private:
  const nlohmann::json* take(const char* key);

  template <class T>
  bool read(const std::string& key, const nlohmann::json& v, T& out);

  const nlohmann::json& object_;
  std::string path_;
  bool strict_;
  std::set<std::string> seen_;
  std::string error_;
};

// Struct support: a type T with `void readStruct(JsonFields&, T&)` found by overload.
template <class T>
concept JsonStruct = requires(JsonFields& f, T& t) {
  readStruct(f, t);
};

// Reads one value at `path` into `out`; returns the full error ("path: what") or "".
template <class T>
std::string readAt(const nlohmann::json& v, const std::string& path, T& out, bool strict);

template <class T>
std::string readAt(const nlohmann::json& v, const std::string& path, std::vector<T>& out,
                   bool strict) {
  if (!v.is_array()) return path + ": expected an array, got " + jsonSnippet(v);
  out.clear();
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    T item{};
    std::string err = readAt(v[i], path + "[" + std::to_string(i) + "]", item, strict);
    if (!err.empty()) return err;
    out.push_back(std::move(item));
  }
  return "";
}

template <class T>
std::string readAt(const nlohmann::json& v, const std::string& path, T& out, bool strict) {
  if constexpr (JsonStruct<T>) {
    if (!v.is_object()) return path + ": expected an object, got " + jsonSnippet(v);
    JsonFields fields(v, path, strict);
    readStruct(fields, out);
    Status s = fields.finish();
    return s.ok() ? "" : s.error().message;
  } else {
    std::string why = readValue(v, out);
    return why.empty() ? "" : path + ": " + why;
  }
}

template <class T>
bool JsonFields::read(const std::string& key, const nlohmann::json& v, T& out) {
  std::string err = readAt(v, childPath(key), out, strict_);
  if (!err.empty()) error_ = err;
  return err.empty();
}

}  // namespace ztdns::control
