#include "control/json_fields.h"

namespace ztdns::control {

namespace {

// Keys come from the peer: keep them printable and short in messages.
std::string printableKey(const std::string& key) {
  std::string out;
  for (char c : key.substr(0, 40))
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (key.size() > 40) out += "...";
  return out;
}

}  // namespace

std::string jsonSnippet(const nlohmann::json& value) {
  std::string s = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

const char* jsonTypeWords(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return "an integer";
    case nlohmann::json::value_t::number_float:
      return "a number";
    default:
      return "an unsupported value";
  }
}

std::string readValue(const nlohmann::json& v, bool& out) {
  if (!v.is_boolean()) return "expected true or false, got " + jsonSnippet(v);
  out = v.get<bool>();
  return "";
}

std::string readValue(const nlohmann::json& v, std::string& out) {
  if (!v.is_string()) return "expected a string, got " + jsonSnippet(v);
  out = v.get<std::string>();
  return "";
}

std::string readValue(const nlohmann::json& v, double& out) {
  if (!v.is_number()) return "expected a number, got " + jsonSnippet(v);
  out = v.get<double>();
  return "";
}

std::string readValue(const nlohmann::json& v, IpAddress& out) {
  if (!v.is_string()) return "expected an IP address string, got " + jsonSnippet(v);
  auto r = IpAddress::parse(v.get_ref<const std::string&>());
  if (!r) return r.error().message;
  out = *r;
  return "";
}

std::string readValue(const nlohmann::json& v, IpPrefix& out) {
  if (!v.is_string()) return "expected a prefix string, got " + jsonSnippet(v);
  auto r = IpPrefix::parse(v.get_ref<const std::string&>());
  if (!r) return r.error().message;
  out = *r;
  return "";
}

std::string readValue(const nlohmann::json& v, Endpoint& out) {
  if (!v.is_string()) return "expected an ip:port string, got " + jsonSnippet(v);
  auto r = Endpoint::parse(v.get_ref<const std::string&>());
  if (!r) return r.error().message;
  out = *r;
  return "";
}

std::string readValue(const nlohmann::json& v, nlohmann::json& out) {
  out = v;
  return "";
}

JsonFields::JsonFields(const nlohmann::json& object, std::string path, bool strict)
    : object_(object), path_(std::move(path)), strict_(strict) {
  if (!object_.is_object()) {
    error_ = path_ + ": expected an object, got " + jsonSnippet(object_);
  }
}

std::string JsonFields::childPath(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

void JsonFields::fail(const std::string& key, const std::string& message) {
  if (ok()) error_ = childPath(key) + ": " + message;
}

void JsonFields::failHere(const std::string& message) {
  if (ok()) error_ = (path_.empty() ? std::string("request") : path_) + ": " + message;
}

bool JsonFields::has(const char* key) const {
  if (!object_.is_object()) return false;
  auto it = object_.find(key);
  return it != object_.end() && !it->is_null();
}

const nlohmann::json* JsonFields::take(const char* key) {
  seen_.insert(key);
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(key);
  return it == object_.end() ? nullptr : &*it;
}

Status JsonFields::finish() {
  if (ok() && strict_ && object_.is_object()) {
    for (const auto& [key, value] : object_.items()) {
      if (!seen_.count(key)) {
        error_ = childPath(printableKey(key)) + ": unknown field";
        break;
      }
    }
  }
  if (!ok()) return Error{error_};
  return okStatus();
}

}  // namespace ztdns::control
