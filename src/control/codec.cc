#include "control/codec.h"

#include "common/json_nesting.h"
#include "control/validation.h"

namespace ztdns::control {

namespace {

using nlohmann::json;

constexpr uint64_t kMaxId = (1ull << 53) - 1;  // exact in every JSON implementation
constexpr int kMaxDepth = 32;

// nlohmann::json parses recursively: refuse deep nesting before parsing, so that a
// hostile line of a million '[' cannot exhaust the stack.
Result<json> parseLine(std::string_view line, const char* what) {
  if (!jsonNestingWithin(line, kMaxDepth)) {
    return makeError(ErrorCode::kBadRequest, std::string(what) + " nests deeper than " +
                                                 std::to_string(kMaxDepth) + " levels");
  }
  json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return makeError(ErrorCode::kBadRequest, std::string(what) + " is not valid JSON");
  if (!j.is_object()) {
    return makeError(ErrorCode::kBadRequest,
                     std::string(what) + " is " + jsonTypeWords(j) + ", not a JSON object");
  }
  return j;
}

std::string dumpLine(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

const char* typeParamName(Protocol p) {
  return p == Protocol::kDoT ? "dot" : "doh";
}

// Enum readers.
std::string readProtocolName(const json& v, Protocol& out) {
  if (v == "DoT")
    out = Protocol::kDoT;
  else if (v == "DoH")
    out = Protocol::kDoH;
  else
    return "expected \"DoT\" or \"DoH\", got " + jsonSnippet(v);
  return "";
}

std::string readVerdict(const std::string& v, AddressVerdict& out) {
  for (auto candidate :
       {AddressVerdict::kResolved, AddressVerdict::kNotAllowed, AddressVerdict::kException,
        AddressVerdict::kLoopback, AddressVerdict::kUnspecified, AddressVerdict::kMulticast}) {
    if (v == addressVerdictName(candidate)) {
      out = candidate;
      return "";
    }
  }
  return "expected resolved, not-allowed, exception, loopback, unspecified or multicast, got " +
         jsonSnippet(json(v));
}

std::string readHealthName(const json& v, Health& out) {
  if (v == "up")
    out = Health::kUp;
  else if (v == "down")
    out = Health::kDown;
  else if (v == "unknown")
    out = Health::kUnknown;
  else
    return "expected \"up\", \"down\" or \"unknown\", got " + jsonSnippet(v);
  return "";
}

std::string readChannel(const json& v, LogChannel& out) {
  if (v == "blocked")
    out = LogChannel::kBlocked;
  else if (v == "permitted")
    out = LogChannel::kPermitted;
  else if (v == "operational")
    out = LogChannel::kOperational;
  else
    return "expected \"blocked\", \"permitted\" or \"operational\", got " + jsonSnippet(v);
  return "";
}

template <class T>
json optionalJson(const std::optional<T>& v) {
  if (!v) return nullptr;
  return toJson(*v);
}

template <class T>
json arrayJson(const std::vector<T>& items) {
  json a = json::array();
  for (const auto& item : items) a.push_back(toJson(item));
  return a;
}

}  // namespace

json toJson(const IpAddress& a) {
  return a.toString();
}
json toJson(const IpPrefix& p) {
  return p.toString();
}
json toJson(const Endpoint& e) {
  return e.toString();
}
json toJson(const std::string& s) {
  return s;
}

std::string oneLine(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (char c : message) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out;
}

// ---- envelope --------------------------------------------------------------------------

Result<Request> decodeRequest(std::string_view line, std::optional<uint64_t>* idOut) {
  if (idOut) idOut->reset();
  auto parsed = parseLine(line, "the request");
  if (!parsed) return parsed.error();
  const json& j = *parsed;

  Request req;
  auto idIt = j.find("id");
  if (idIt == j.end()) return makeError(ErrorCode::kBadRequest, "request.id: is required");
  if (!idIt->is_number_unsigned() || idIt->get<uint64_t>() > kMaxId) {
    return makeError(ErrorCode::kBadRequest,
                     "request.id: expected an integer from 0 to 2^53-1, got " + jsonSnippet(*idIt));
  }
  req.id = idIt->get<uint64_t>();
  if (idOut) *idOut = req.id;

  auto versionIt = j.find("version");
  if (versionIt == j.end())
    return makeError(ErrorCode::kBadRequest, "request.version: is required");
  if (!versionIt->is_number_integer() || *versionIt != kProtocolVersion) {
    return makeError(ErrorCode::kUnsupportedVersion,
                     "protocol version " + jsonSnippet(*versionIt) +
                         " is not supported (this daemon speaks version " +
                         std::to_string(kProtocolVersion) + ")");
  }

  auto methodIt = j.find("method");
  if (methodIt == j.end()) return makeError(ErrorCode::kBadRequest, "request.method: is required");
  if (!methodIt->is_string()) {
    return makeError(ErrorCode::kBadRequest,
                     "request.method: expected a string, got " + jsonSnippet(*methodIt));
  }
  auto method = methodFromName(methodIt->get_ref<const std::string&>());
  if (!method) {
    return makeError(ErrorCode::kUnknownMethod, "unknown method " + jsonSnippet(*methodIt));
  }
  req.method = *method;

  auto paramsIt = j.find("params");
  if (paramsIt != j.end() && !paramsIt->is_null()) {
    if (!paramsIt->is_object()) {
      return makeError(ErrorCode::kBadRequest,
                       "request.params: expected an object, got " + jsonSnippet(*paramsIt));
    }
    req.params = *paramsIt;
  }

  for (const auto& [key, value] : j.items()) {
    if (key != "id" && key != "version" && key != "method" && key != "params") {
      return makeError(ErrorCode::kBadRequest,
                       "request." + oneLine(key.substr(0, 40)) + ": unknown field");
    }
  }
  return req;
}

std::string encodeRequest(const Request& request) {
  json j = {{"version", kProtocolVersion},
            {"id", request.id},
            {"method", methodName(request.method)},
            {"params", request.params.is_null() ? json::object() : request.params}};
  return dumpLine(j);
}

std::string encodeSuccess(std::optional<uint64_t> id, const json& result,
                          const std::vector<std::string>& warnings) {
  json j = {{"version", kProtocolVersion},
            {"id", id ? json(*id) : json(nullptr)},
            {"ok", true},
            {"result", result}};
  if (!warnings.empty()) {
    json list = json::array();
    for (const auto& w : warnings) list.push_back(oneLine(w));
    j["warnings"] = std::move(list);
  }
  return dumpLine(j);
}

std::string encodeFailure(std::optional<uint64_t> id, const Error& error) {
  json j = {{"version", kProtocolVersion},
            {"id", id ? json(*id) : json(nullptr)},
            {"ok", false},
            {"error", oneLine(error.message.empty() ? "failed" : error.message)},
            {"code", errorCodeName(errorCodeOf(error))}};
  return dumpLine(j);
}

Result<Response> decodeResponse(std::string_view line) {
  auto parsed = parseLine(line, "the daemon's answer");
  if (!parsed) return Error{parsed.error().message};
  const json& j = *parsed;
  Response r;
  auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer() || *version != kProtocolVersion) {
    return Error{"the daemon answered in protocol version " +
                 (version == j.end() ? std::string("(none)") : jsonSnippet(*version)) +
                 "; this ztdns speaks version " + std::to_string(kProtocolVersion)};
  }
  auto id = j.find("id");
  if (id != j.end() && !id->is_null()) {
    if (!id->is_number_unsigned())
      return Error{"the daemon's answer has a bad id " + jsonSnippet(*id)};
    r.id = id->get<uint64_t>();
  }
  auto ok = j.find("ok");
  if (ok == j.end() || !ok->is_boolean()) return Error{"the daemon's answer has no \"ok\" flag"};
  r.ok = ok->get<bool>();
  if (r.ok) {
    auto result = j.find("result");
    if (result == j.end()) return Error{"the daemon's answer has no result"};
    r.result = *result;
    auto warnings = j.find("warnings");
    if (warnings != j.end() && warnings->is_array()) {
      for (const auto& w : *warnings)
        if (w.is_string()) r.warnings.push_back(oneLine(w.get_ref<const std::string&>()));
    }
  } else {
    auto error = j.find("error");
    if (error == j.end() || !error->is_string())
      return Error{"the daemon's answer has no error text"};
    r.error = oneLine(error->get_ref<const std::string&>());
    auto code = j.find("code");
    if (code != j.end() && code->is_string()) {
      r.code = errorCodeFromName(code->get_ref<const std::string&>()).value_or(ErrorCode::kFailed);
    }
  }
  return r;
}

// ---- params ----------------------------------------------------------------------------

json toJson(const EmptyParams&) {
  return json::object();
}
void readStruct(JsonFields&, EmptyParams&) {}

json toJson(const ShowServerParams& p) {
  json j = json::object();
  if (p.address) j["address"] = toJson(*p.address);
  return j;
}
void readStruct(JsonFields& f, ShowServerParams& p) {
  f.optional("address", p.address);
}

json toJson(const ShowExceptionParams& p) {
  json j = json::object();
  if (p.name) j["name"] = *p.name;
  return j;
}
void readStruct(JsonFields& f, ShowExceptionParams& p) {
  f.optional("name", p.name);
  if (p.name && f.strict()) {
    if (auto why = checkDisplayName(*p.name); !why.empty()) f.fail("name", why);
  }
}

json toJson(const SetStateParams& p) {
  json j = {{"enable", p.enable}};
  if (p.audit) j["audit"] = *p.audit;
  return j;
}
void readStruct(JsonFields& f, SetStateParams& p) {
  f.required("enable", p.enable);
  f.optional("audit", p.audit);
}

json toJson(const AddServerParams& p) {
  json j = {{"type", typeParamName(p.type)}, {"address", toJson(p.address)}, {"port", p.port}};
  if (p.type == Protocol::kDoT)
    j["hostname"] = p.hostname;
  else
    j["template"] = p.templateUrl;
  if (p.priority) j["priority"] = *p.priority;
  if (p.name) j["name"] = *p.name;
  return j;
}
void readStruct(JsonFields& f, AddServerParams& p) {
  std::string type;
  f.required("type", type);
  if (!f.ok()) return;
  if (type == "dot")
    p.type = Protocol::kDoT;
  else if (type == "doh")
    p.type = Protocol::kDoH;
  else
    return f.fail("type", "expected \"dot\" or \"doh\", got " + jsonSnippet(type));
  f.required("address", p.address);
  int64_t port = p.type == Protocol::kDoT ? 853 : 443;
  f.withDefault("port", port);
  if (f.ok() && (port < 1 || port > 65535)) {
    return f.fail("port", "expected an integer from 1 to 65535, got " + std::to_string(port));
  }
  p.port = static_cast<uint16_t>(port);
  std::optional<std::string> hostname, templateUrl;
  f.optional("hostname", hostname);
  f.optional("template", templateUrl);
  f.optional("priority", p.priority);
  f.optional("name", p.name);
  if (!f.ok()) return;
  if (p.type == Protocol::kDoT) {
    if (templateUrl) return f.fail("template", "is for type doh; a DoT server takes hostname");
    if (!hostname) return f.fail("hostname", "is required for type dot");
    if (auto why = checkCertificateName(*hostname); !why.empty()) return f.fail("hostname", why);
    p.hostname = *hostname;
  } else {
    if (hostname) return f.fail("hostname", "is for type dot; a DoH server takes template");
    if (!templateUrl) return f.fail("template", "is required for type doh");
    if (auto why = checkDohTemplate(*templateUrl); !why.empty()) return f.fail("template", why);
    p.templateUrl = *templateUrl;
  }
  if (p.priority && (*p.priority < 1 || *p.priority > 1000)) {
    return f.fail("priority",
                  "expected an integer from 1 to 1000, got " + std::to_string(*p.priority));
  }
  if (p.name) {
    if (auto why = checkDisplayName(*p.name); !why.empty()) return f.fail("name", why);
  }
}

json toJson(const DeleteServerParams& p) {
  json j = json::object();
  if (p.address) j["address"] = toJson(*p.address);
  return j;
}
void readStruct(JsonFields& f, DeleteServerParams& p) {
  f.optional("address", p.address);
}

json toJson(const AddExceptionParams& p) {
  return {{"name", p.name}, {"description", p.description}, {"subnets", arrayJson(p.subnets)}};
}
void readStruct(JsonFields& f, AddExceptionParams& p) {
  f.required("name", p.name);
  f.withDefault("description", p.description);
  f.required("subnets", p.subnets);
  if (!f.ok()) return;
  if (auto why = checkDisplayName(p.name); !why.empty()) return f.fail("name", why);
  if (auto why = checkDescription(p.description); !why.empty()) return f.fail("description", why);
  if (p.subnets.empty()) return f.fail("subnets", "needs at least one prefix");
  if (p.subnets.size() > kMaxSubnetsPerException) {
    return f.fail("subnets",
                  "has " + std::to_string(p.subnets.size()) + " prefixes; at most 500 are allowed");
  }
}

json toJson(const DeleteExceptionParams& p) {
  return {{"name", p.name}};
}
void readStruct(JsonFields& f, DeleteExceptionParams& p) {
  f.required("name", p.name);
  if (!f.ok()) return;
  if (auto why = checkDisplayName(p.name); !why.empty()) f.fail("name", why);
}

json toJson(const TrustedCaParams& p) {
  return {{"file", p.file}};
}
void readStruct(JsonFields& f, TrustedCaParams& p) {
  f.required("file", p.file);
  if (!f.ok()) return;
  if (auto why = checkAbsolutePath(p.file); !why.empty()) f.fail("file", why);
}

json toJson(const AddClientCertParams& p) {
  return {{"certFile", p.certFile}, {"keyFile", p.keyFile}};
}
void readStruct(JsonFields& f, AddClientCertParams& p) {
  f.required("certFile", p.certFile);
  f.required("keyFile", p.keyFile);
  if (!f.ok()) return;
  if (auto why = checkAbsolutePath(p.certFile); !why.empty()) return f.fail("certFile", why);
  if (auto why = checkAbsolutePath(p.keyFile); !why.empty()) return f.fail("keyFile", why);
}

json toJson(const LogShowParams& p) {
  json j = {{"channel", logChannelName(p.channel)}, {"limit", p.limit}};
  if (p.sinceSeconds) j["sinceSeconds"] = *p.sinceSeconds;
  if (p.process) j["process"] = *p.process;
  if (p.dst) j["dst"] = toJson(*p.dst);
  return j;
}
void readStruct(JsonFields& f, LogShowParams& p) {
  json channel;
  f.required("channel", channel);
  if (!f.ok()) return;
  if (auto why = readChannel(channel, p.channel); !why.empty()) return f.fail("channel", why);
  f.optional("sinceSeconds", p.sinceSeconds);
  f.optional("process", p.process);
  f.optional("dst", p.dst);
  f.withDefault("limit", p.limit);
  if (!f.ok()) return;
  if (p.limit == 0 || p.limit > kMaxLogLimit) {
    return f.fail("limit", "expected an integer from 1 to 1000000, got " + std::to_string(p.limit));
  }
  if (p.process && (p.process->empty() || p.process->size() > kMaxPathLength)) {
    return f.fail("process", "must be 1 to 4096 characters");
  }
}

json toJson(const LogSetParams& p) {
  return {{"channel", logChannelName(p.channel)}, {"enable", p.enable}};
}
void readStruct(JsonFields& f, LogSetParams& p) {
  json channel;
  f.required("channel", channel);
  if (!f.ok()) return;
  if (channel != "permitted") {
    return f.fail("channel", "only \"permitted\" can be switched, got " + jsonSnippet(channel));
  }
  p.channel = LogChannel::kPermitted;
  f.required("enable", p.enable);
}

json toJson(const ResolveParams& p) {
  json j = {{"name", p.name}, {"type", p.type}};
  if (p.server) j["server"] = toJson(*p.server);
  return j;
}
void readStruct(JsonFields& f, ResolveParams& p) {
  f.required("name", p.name);
  f.withDefault("type", p.type);
  f.optional("server", p.server);
  if (!f.ok()) return;
  if (auto why = checkQueryName(p.name); !why.empty()) return f.fail("name", why);
  if (auto why = checkRecordType(p.type); !why.empty()) return f.fail("type", why);
}

json toJson(const DiagnoseServerParams& p) {
  json j = json::object();
  if (p.address) j["address"] = toJson(*p.address);
  return j;
}
void readStruct(JsonFields& f, DiagnoseServerParams& p) {
  f.optional("address", p.address);
}

// ---- results ---------------------------------------------------------------------------

json toJson(const EmptyResult&) {
  return json::object();
}
void readStruct(JsonFields&, EmptyResult&) {}

json toJson(const PingResult& r) {
  return {
      {"protocolVersion", r.protocolVersion}, {"daemonVersion", r.daemonVersion}, {"pid", r.pid}};
}
void readStruct(JsonFields& f, PingResult& r) {
  f.required("protocolVersion", r.protocolVersion);
  f.withDefault("daemonVersion", r.daemonVersion);
  f.withDefault("pid", r.pid);
}

json toJson(const StateInfo& s) {
  return {{"enabled", s.enabled},
          {"audit", s.audit},
          {"uptimeSeconds", s.uptimeSeconds},
          {"serversHealthy", s.serversHealthy},
          {"serversTotal", s.serversTotal},
          {"serversUnknown", s.serversUnknown},
          {"allowedAddresses", s.allowedAddresses},
          {"exceptions", s.exceptions},
          {"loopbackBlocked", s.loopbackBlocked},
          {"permittedLogEnabled", s.permittedLogEnabled},
          {"listenAddresses", arrayJson(s.listenAddresses)},
          {"configFile", s.configFile},
          {"logDir", s.logDir},
          {"pid", s.pid},
          {"version", s.version}};
}
void readStruct(JsonFields& f, StateInfo& s) {
  f.required("enabled", s.enabled);
  f.required("audit", s.audit);
  f.withDefault("uptimeSeconds", s.uptimeSeconds);
  f.withDefault("serversHealthy", s.serversHealthy);
  f.withDefault("serversTotal", s.serversTotal);
  f.withDefault("serversUnknown", s.serversUnknown);
  f.withDefault("allowedAddresses", s.allowedAddresses);
  f.withDefault("exceptions", s.exceptions);
  f.withDefault("loopbackBlocked", s.loopbackBlocked);
  f.withDefault("permittedLogEnabled", s.permittedLogEnabled);
  f.withDefault("listenAddresses", s.listenAddresses);
  f.withDefault("configFile", s.configFile);
  f.withDefault("logDir", s.logDir);
  f.withDefault("pid", s.pid);
  f.withDefault("version", s.version);
}

json toJson(const TransportInfo& t) {
  json j = {{"protocol", protocolName(t.protocol)},
            {"port", t.port},
            {"hostname", t.hostname},
            {"healthy", t.healthy},
            {"lastRttMs", t.lastRttMs ? json(*t.lastRttMs) : json(nullptr)},
            {"lastError", t.lastError},
            {"lastFailure", t.lastFailure},
            {"lastFailureAt", t.lastFailureAt ? json(*t.lastFailureAt) : json(nullptr)}};
  if (t.health) j["health"] = healthName(*t.health);
  if (t.protocol == Protocol::kDoH) j["template"] = t.templateUrl;
  return j;
}
void readStruct(JsonFields& f, TransportInfo& t) {
  json protocol;
  f.required("protocol", protocol);
  if (!f.ok()) return;
  if (auto why = readProtocolName(protocol, t.protocol); !why.empty())
    return f.fail("protocol", why);
  f.required("port", t.port);
  f.withDefault("hostname", t.hostname);
  f.withDefault("template", t.templateUrl);
  f.withDefault("healthy", t.healthy);
  f.optional("lastRttMs", t.lastRttMs);
  f.withDefault("lastError", t.lastError);
  f.withDefault("lastFailure", t.lastFailure);
  f.optional("lastFailureAt", t.lastFailureAt);
  json health;
  f.withDefault("health", health);
  if (!f.ok() || health.is_null()) return;
  Health h = Health::kUnknown;
  if (auto why = readHealthName(health, h); !why.empty()) return f.fail("health", why);
  t.health = h;
}

json toJson(const ServerInfo& s) {
  return {{"name", s.name},
          {"address", toJson(s.address)},
          {"priority", s.priority},
          {"transports", arrayJson(s.transports)}};
}
void readStruct(JsonFields& f, ServerInfo& s) {
  f.required("name", s.name);
  f.required("address", s.address);
  f.withDefault("priority", s.priority);
  f.withDefault("transports", s.transports);
}

json toJson(const ServerList& l) {
  return {{"servers", arrayJson(l.servers)}};
}
void readStruct(JsonFields& f, ServerList& l) {
  f.required("servers", l.servers);
}

json toJson(const DeleteServerResult& r) {
  return {{"deleted", arrayJson(r.deleted)}, {"remaining", r.remaining}};
}
void readStruct(JsonFields& f, DeleteServerResult& r) {
  f.required("deleted", r.deleted);
  f.withDefault("remaining", r.remaining);
}

json toJson(const ExceptionInfo& e) {
  return {{"name", e.name}, {"description", e.description}, {"subnets", arrayJson(e.subnets)}};
}
void readStruct(JsonFields& f, ExceptionInfo& e) {
  f.required("name", e.name);
  f.withDefault("description", e.description);
  f.required("subnets", e.subnets);
}

json toJson(const ExceptionList& l) {
  return {{"exceptions", arrayJson(l.exceptions)}};
}
void readStruct(JsonFields& f, ExceptionList& l) {
  f.required("exceptions", l.exceptions);
}

json toJson(const CertInfo& c) {
  return {{"subject", c.subject},   {"issuer", c.issuer},
          {"serial", c.serial},     {"notBefore", c.notBefore},
          {"notAfter", c.notAfter}, {"expiresInSeconds", c.expiresInSeconds},
          {"ekus", c.ekus},         {"subjectAltNames", c.subjectAltNames}};
}
void readStruct(JsonFields& f, CertInfo& c) {
  f.withDefault("subject", c.subject);
  f.withDefault("issuer", c.issuer);
  f.withDefault("serial", c.serial);
  f.withDefault("notBefore", c.notBefore);
  f.withDefault("notAfter", c.notAfter);
  f.withDefault("expiresInSeconds", c.expiresInSeconds);
  f.withDefault("ekus", c.ekus);
  f.withDefault("subjectAltNames", c.subjectAltNames);
}

json toJson(const ClientCertInfo& c) {
  return {{"configured", c.configured},
          {"certFile", c.certFile},
          {"keyFile", c.keyFile},
          {"certificate", optionalJson(c.certificate)},
          {"keyMatches", c.keyMatches ? json(*c.keyMatches) : json(nullptr)},
          {"error", c.error}};
}
void readStruct(JsonFields& f, ClientCertInfo& c) {
  f.required("configured", c.configured);
  f.withDefault("certFile", c.certFile);
  f.withDefault("keyFile", c.keyFile);
  f.optional("certificate", c.certificate);
  f.optional("keyMatches", c.keyMatches);
  f.withDefault("error", c.error);
}

json toJson(const TrustedCaFile& t) {
  return {{"file", t.file}, {"certificates", arrayJson(t.certificates)}, {"error", t.error}};
}
void readStruct(JsonFields& f, TrustedCaFile& t) {
  f.required("file", t.file);
  f.withDefault("certificates", t.certificates);
  f.withDefault("error", t.error);
}

json toJson(const TrustedCaInfo& t) {
  return {{"files", arrayJson(t.files)}, {"systemStore", t.files.empty()}};
}
void readStruct(JsonFields& f, TrustedCaInfo& t) {
  f.required("files", t.files);
  bool systemStore = false;
  f.withDefault("systemStore", systemStore);  // derived; read for its type only
}

json toJson(const ServfailCounts& s) {
  return {{"noServers", s.noServers},     {"allServersFailed", s.allServersFailed},
          {"timeout", s.timeout},         {"badAnswer", s.badAnswer},
          {"allowFailed", s.allowFailed}, {"overloaded", s.overloaded}};
}
void readStruct(JsonFields& f, ServfailCounts& s) {
  f.withDefault("noServers", s.noServers);
  f.withDefault("allServersFailed", s.allServersFailed);
  f.withDefault("timeout", s.timeout);
  f.withDefault("badAnswer", s.badAnswer);
  f.withDefault("allowFailed", s.allowFailed);
  f.withDefault("overloaded", s.overloaded);
}

json toJson(const Stats& s) {
  return {{"queries", {{"total", s.queries}, {"cacheHits", s.cacheHits}}},
          {"servfail", toJson(s.servfail)},
          {"allowSet",
           {{"inserted", s.allowInserted},
            {"skippedFresh", s.allowSkippedFresh},
            {"evicted", s.allowEvicted},
            {"refused", s.allowRefused},
            {"size", s.allowSize}}},
          {"connections",
           {{"blocked", s.blocked},
            {"audited", s.audited},
            {"permitted", s.permitted},
            {"suppressed", s.suppressed}}},
          {"logs", {{"linesLost", s.logLinesLost}}}};
}

void readStruct(JsonFields& f, Stats& s) {
  auto group = [&](const char* key, auto&& read) {
    if (!f.ok() || !f.has(key)) return;
    json sub;
    f.required(key, sub);
    JsonFields g(sub, f.childPath(key), f.strict());
    read(g);
    Status st = g.finish();
    if (!st.ok()) f.failHere(st.error().message);
  };
  group("queries", [&](JsonFields& g) {
    g.withDefault("total", s.queries);
    g.withDefault("cacheHits", s.cacheHits);
  });
  f.withDefault("servfail", s.servfail);
  group("allowSet", [&](JsonFields& g) {
    g.withDefault("inserted", s.allowInserted);
    g.withDefault("skippedFresh", s.allowSkippedFresh);
    g.withDefault("evicted", s.allowEvicted);
    g.withDefault("refused", s.allowRefused);
    g.withDefault("size", s.allowSize);
  });
  group("connections", [&](JsonFields& g) {
    g.withDefault("blocked", s.blocked);
    g.withDefault("audited", s.audited);
    g.withDefault("permitted", s.permitted);
    g.withDefault("suppressed", s.suppressed);
  });
  group("logs", [&](JsonFields& g) { g.withDefault("linesLost", s.logLinesLost); });
}

json toJson(const LogShowResult& r) {
  json events = json::array();
  for (const auto& e : r.events) events.push_back(e);
  return {{"events", std::move(events)}, {"truncated", r.truncated}};
}
void readStruct(JsonFields& f, LogShowResult& r) {
  f.required("events", r.events);
  f.withDefault("truncated", r.truncated);
  for (size_t i = 0; f.ok() && i < r.events.size(); ++i) {
    if (!r.events[i].is_object()) {
      f.fail("events[" + std::to_string(i) + "]",
             "expected an object, got " + jsonSnippet(r.events[i]));
    }
  }
}

json toJson(const LogSetResult& r) {
  return {{"channel", logChannelName(r.channel)}, {"enabled", r.enabled}};
}
void readStruct(JsonFields& f, LogSetResult& r) {
  json channel;
  f.required("channel", channel);
  if (!f.ok()) return;
  if (auto why = readChannel(channel, r.channel); !why.empty()) return f.fail("channel", why);
  f.required("enabled", r.enabled);
}

json toJson(const ResourceRecord& r) {
  return {{"name", r.name}, {"type", r.type}, {"ttl", r.ttl}, {"data", r.data}};
}
void readStruct(JsonFields& f, ResourceRecord& r) {
  f.required("name", r.name);
  f.required("type", r.type);
  f.required("ttl", r.ttl);
  f.required("data", r.data);
}

json toJson(const AddressAllowance& a) {
  return {{"address", toJson(a.address)},
          {"allowed", a.allowed},
          {"remainingSeconds", a.remainingSeconds ? json(*a.remainingSeconds) : json(nullptr)},
          {"source", a.source},
          {"verdict", addressVerdictName(a.verdict)},
          {"exception", a.exception.empty() ? json(nullptr) : json(a.exception)}};
}
void readStruct(JsonFields& f, AddressAllowance& a) {
  f.required("address", a.address);
  f.required("allowed", a.allowed);
  f.optional("remainingSeconds", a.remainingSeconds);
  f.withDefault("source", a.source);
  if (f.ok() && a.source != "answer" && a.source != "ipv4hint" && a.source != "ipv6hint")
    return f.fail("source", "expected \"answer\", \"ipv4hint\" or \"ipv6hint\", got " +
                                jsonSnippet(json(a.source)));
  std::string verdict = addressVerdictName(a.verdict);
  f.withDefault("verdict", verdict);
  if (!f.ok()) return;
  if (auto why = readVerdict(verdict, a.verdict); !why.empty()) return f.fail("verdict", why);
  std::optional<std::string> exception;
  f.optional("exception", exception);
  a.exception = exception.value_or("");
}

json toJson(const ResolveResult& r) {
  return {{"name", r.name},
          {"type", r.type},
          {"rcode", r.rcode},
          {"answers", arrayJson(r.answers)},
          {"serverName", r.serverName},
          {"server", optionalJson(r.server)},
          {"protocol", r.protocol ? json(protocolName(*r.protocol)) : json(nullptr)},
          {"rttMs", r.rttMs ? json(*r.rttMs) : json(nullptr)},
          {"fromCache", r.fromCache},
          {"failure", r.failure},
          {"enforcement", r.enforcement == Enforcement::kUnknown
                              ? json(nullptr)
                              : json(enforcementName(r.enforcement))},
          {"addresses", arrayJson(r.addresses)}};
}
void readStruct(JsonFields& f, ResolveResult& r) {
  f.required("name", r.name);
  f.withDefault("type", r.type);
  f.required("rcode", r.rcode);
  f.withDefault("answers", r.answers);
  f.withDefault("serverName", r.serverName);
  f.optional("server", r.server);
  std::optional<json> protocol;
  f.optional("protocol", protocol);
  if (f.ok() && protocol) {
    Protocol p{};
    if (auto why = readProtocolName(*protocol, p); !why.empty()) return f.fail("protocol", why);
    r.protocol = p;
  }
  f.optional("rttMs", r.rttMs);
  f.withDefault("fromCache", r.fromCache);
  f.withDefault("failure", r.failure);
  std::optional<std::string> enforcement;
  f.optional("enforcement", enforcement);
  if (f.ok() && enforcement) {
    if (*enforcement == "disabled")
      r.enforcement = Enforcement::kDisabled;
    else if (*enforcement == "audit")
      r.enforcement = Enforcement::kAudit;
    else if (*enforcement == "enforce")
      r.enforcement = Enforcement::kEnforce;
    else
      return f.fail("enforcement", "expected \"disabled\", \"audit\" or \"enforce\", got " +
                                       jsonSnippet(json(*enforcement)));
  }
  f.withDefault("addresses", r.addresses);
}

json toJson(const ProbeStep& s) {
  return {{"step", s.step},
          {"ok", s.ok},
          {"ms", s.ms ? json(*s.ms) : json(nullptr)},
          {"reason", s.reason},
          {"error", s.error}};
}
void readStruct(JsonFields& f, ProbeStep& s) {
  f.required("step", s.step);
  f.required("ok", s.ok);
  f.optional("ms", s.ms);
  f.withDefault("reason", s.reason);
  f.withDefault("error", s.error);
}

json toJson(const ServerProbe& p) {
  return {{"name", p.name}, {"address", toJson(p.address)},
          {"port", p.port}, {"protocol", protocolName(p.protocol)},
          {"mtls", p.mtls}, {"steps", arrayJson(p.steps)}};
}
void readStruct(JsonFields& f, ServerProbe& p) {
  f.required("name", p.name);
  f.required("address", p.address);
  f.required("port", p.port);
  json protocol;
  f.required("protocol", protocol);
  if (!f.ok()) return;
  if (auto why = readProtocolName(protocol, p.protocol); !why.empty())
    return f.fail("protocol", why);
  f.withDefault("mtls", p.mtls);
  f.required("steps", p.steps);
}

json toJson(const DiagnoseServerResult& r) {
  return {{"servers", arrayJson(r.servers)}};
}
void readStruct(JsonFields& f, DiagnoseServerResult& r) {
  f.required("servers", r.servers);
}

}  // namespace ztdns::control
