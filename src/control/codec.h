// The control codec: one JSON object per line in each direction (newline-delimited; a
// serialised JSON text never contains a raw newline).
//
//   request  {"version":1,"id":7,"method":"add.server","params":{...}}
//   success  {"version":1,"id":7,"ok":true,"result":{...}}
//   failure  {"version":1,"id":7,"ok":false,"error":"one line","code":"not-found"}
//
// Requests are read strictly (unknown fields, wrong types and bad values are errors that
// name the field); results are read leniently (unknown fields are ignored) so that an older
// CLI can talk to a newer daemon of the same protocol version.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "control/json_fields.h"
#include "control/messages.h"
#include "control/protocol.h"

namespace ztdns::control {

struct Request {
  uint64_t id = 0;
  Method method = Method::kPing;
  nlohmann::json params = nlohmann::json::object();
};

// Decodes one request line (without its newline). Errors carry an ErrorCode in Error::code
// (kBadRequest, kUnsupportedVersion, kUnknownMethod); *idOut receives the id whenever it
// could be read, so that the failure can echo it.
Result<Request> decodeRequest(std::string_view line, std::optional<uint64_t>* idOut = nullptr);
std::string encodeRequest(const Request& request);  // without the newline

struct Response {
  std::optional<uint64_t> id;  // absent when the request's id could not be read
  bool ok = false;
  nlohmann::json result;  // when ok
  std::string error;      // when !ok: one line
  ErrorCode code = ErrorCode::kFailed;
  std::vector<std::string> warnings;  // when ok: what the daemon wants the user to know
};

std::string encodeSuccess(std::optional<uint64_t> id, const nlohmann::json& result,
                          const std::vector<std::string>& warnings = {});
std::string encodeFailure(std::optional<uint64_t> id, const Error& error);
Result<Response> decodeResponse(std::string_view line);

// Keeps an error message on one printable line (control characters become '?').
std::string oneLine(std::string_view message);

// ---- typed params and results ----------------------------------------------------------

template <Method M>
struct MethodTraits;

#define ZTDNS_CONTROL_METHOD(M, P, R) \
  template <>                         \
  struct MethodTraits<Method::M> {    \
    using Params = P;                 \
    using Result = R;                 \
  }
ZTDNS_CONTROL_METHOD(kPing, EmptyParams, PingResult);
ZTDNS_CONTROL_METHOD(kShowState, EmptyParams, StateInfo);
ZTDNS_CONTROL_METHOD(kShowSettings, EmptyParams, nlohmann::json);
ZTDNS_CONTROL_METHOD(kShowServer, ShowServerParams, ServerList);
ZTDNS_CONTROL_METHOD(kShowException, ShowExceptionParams, ExceptionList);
ZTDNS_CONTROL_METHOD(kShowClientCert, EmptyParams, ClientCertInfo);
ZTDNS_CONTROL_METHOD(kShowTrustedCa, EmptyParams, TrustedCaInfo);
ZTDNS_CONTROL_METHOD(kShowStats, EmptyParams, Stats);
ZTDNS_CONTROL_METHOD(kSetState, SetStateParams, StateInfo);
ZTDNS_CONTROL_METHOD(kAddServer, AddServerParams, ServerInfo);
ZTDNS_CONTROL_METHOD(kDeleteServer, DeleteServerParams, DeleteServerResult);
ZTDNS_CONTROL_METHOD(kAddException, AddExceptionParams, ExceptionInfo);
ZTDNS_CONTROL_METHOD(kDeleteException, DeleteExceptionParams, EmptyResult);
ZTDNS_CONTROL_METHOD(kAddTrustedCa, TrustedCaParams, TrustedCaInfo);
ZTDNS_CONTROL_METHOD(kDeleteTrustedCa, TrustedCaParams, TrustedCaInfo);
ZTDNS_CONTROL_METHOD(kAddClientCert, AddClientCertParams, ClientCertInfo);
ZTDNS_CONTROL_METHOD(kDeleteClientCert, EmptyParams, EmptyResult);
ZTDNS_CONTROL_METHOD(kLogShow, LogShowParams, LogShowResult);
ZTDNS_CONTROL_METHOD(kLogSet, LogSetParams, LogSetResult);
ZTDNS_CONTROL_METHOD(kResolve, ResolveParams, ResolveResult);
ZTDNS_CONTROL_METHOD(kDiagnoseServer, DiagnoseServerParams, DiagnoseServerResult);
ZTDNS_CONTROL_METHOD(kReload, EmptyParams, EmptyResult);
#undef ZTDNS_CONTROL_METHOD

// Plain values as JSON text.
nlohmann::json toJson(const IpAddress& a);
nlohmann::json toJson(const IpPrefix& p);
nlohmann::json toJson(const Endpoint& e);
nlohmann::json toJson(const std::string& s);

// Struct readers (used by the templates below through JsonFields).
#define ZTDNS_CONTROL_STRUCT(T)          \
  nlohmann::json toJson(const T& value); \
  void readStruct(JsonFields& fields, T& out)
ZTDNS_CONTROL_STRUCT(EmptyParams);
ZTDNS_CONTROL_STRUCT(ShowServerParams);
ZTDNS_CONTROL_STRUCT(ShowExceptionParams);
ZTDNS_CONTROL_STRUCT(SetStateParams);
ZTDNS_CONTROL_STRUCT(AddServerParams);
ZTDNS_CONTROL_STRUCT(DeleteServerParams);
ZTDNS_CONTROL_STRUCT(AddExceptionParams);
ZTDNS_CONTROL_STRUCT(DeleteExceptionParams);
ZTDNS_CONTROL_STRUCT(TrustedCaParams);
ZTDNS_CONTROL_STRUCT(AddClientCertParams);
ZTDNS_CONTROL_STRUCT(LogShowParams);
ZTDNS_CONTROL_STRUCT(LogSetParams);
ZTDNS_CONTROL_STRUCT(ResolveParams);
ZTDNS_CONTROL_STRUCT(DiagnoseServerParams);
ZTDNS_CONTROL_STRUCT(EmptyResult);
ZTDNS_CONTROL_STRUCT(PingResult);
ZTDNS_CONTROL_STRUCT(StateInfo);
ZTDNS_CONTROL_STRUCT(TransportInfo);
ZTDNS_CONTROL_STRUCT(ServerInfo);
ZTDNS_CONTROL_STRUCT(ServerList);
ZTDNS_CONTROL_STRUCT(DeleteServerResult);
ZTDNS_CONTROL_STRUCT(ExceptionInfo);
ZTDNS_CONTROL_STRUCT(ExceptionList);
ZTDNS_CONTROL_STRUCT(CertInfo);
ZTDNS_CONTROL_STRUCT(ClientCertInfo);
ZTDNS_CONTROL_STRUCT(TrustedCaFile);
ZTDNS_CONTROL_STRUCT(TrustedCaInfo);
ZTDNS_CONTROL_STRUCT(ServfailCounts);
ZTDNS_CONTROL_STRUCT(Stats);
ZTDNS_CONTROL_STRUCT(LogShowResult);
ZTDNS_CONTROL_STRUCT(LogSetResult);
ZTDNS_CONTROL_STRUCT(ResourceRecord);
ZTDNS_CONTROL_STRUCT(AddressAllowance);
ZTDNS_CONTROL_STRUCT(ResolveResult);
ZTDNS_CONTROL_STRUCT(ProbeStep);
ZTDNS_CONTROL_STRUCT(ServerProbe);
ZTDNS_CONTROL_STRUCT(DiagnoseServerResult);
#undef ZTDNS_CONTROL_STRUCT

inline nlohmann::json toJson(const nlohmann::json& value) {
  return value;
}

// Params: strict. Errors are kInvalidParams and name the field ("params.port: ...").
template <class P>
Result<P> decodeParams(const nlohmann::json& params) {
  P out{};
  std::string err = readAt(params, "params", out, /*strict=*/true);
  if (!err.empty()) return makeError(ErrorCode::kInvalidParams, err);
  return out;
}

// Results: lenient. show.settings' result is any JSON object.
template <class R>
Result<R> decodeResult(const nlohmann::json& result) {
  R out{};
  if constexpr (std::is_same_v<R, nlohmann::json>) {
    if (!result.is_object()) return Error{"result: expected an object, got " + jsonSnippet(result)};
    out = result;
  } else {
    std::string err = readAt(result, "result", out, /*strict=*/false);
    if (!err.empty()) return Error{"the daemon's answer is malformed: " + err};
  }
  return out;
}

}  // namespace ztdns::control
