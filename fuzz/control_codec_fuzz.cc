// Fuzzes the control codec with whatever a peer could send: one request line, decoded
// strictly, then its params for the method it names; and the same bytes as a daemon
// answer, decoded leniently as every result type. Asserts liveness and stability: whatever
// decodes re-encodes to something that decodes to the same value.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "control/codec.h"

namespace {

using namespace ztdns::control;

template <class T>
void check(bool ok) {
  if (!ok) std::abort();
}

template <Method M>
void paramsRoundTrip(const nlohmann::json& params) {
  using P = typename MethodTraits<M>::Params;
  auto p = decodeParams<P>(params);
  if (!p) {
    // Refusals are invalid-params, with a message that names the field.
    check<P>(errorCodeOf(p.error()) == ErrorCode::kInvalidParams &&
             p.error().message.rfind("params", 0) == 0);
    return;
  }
  auto again = decodeParams<P>(toJson(*p));
  check<P>(again.ok() && *again == *p);
  // The request carrying them re-encodes and decodes to the same method.
  auto req = decodeRequest(encodeRequest(Request{1, M, toJson(*p)}));
  check<P>(req.ok() && req->method == M);
}

template <class R>
void resultRoundTrip(const nlohmann::json& result) {
  auto r = decodeResult<R>(result);
  if (!r) return;
  auto again = decodeResult<R>(toJson(*r));
  check<R>(again.ok() && *again == *r);
}

template <Method... Ms>
void dispatchParams(Method m, const nlohmann::json& params) {
  ((m == Ms ? paramsRoundTrip<Ms>(params) : void()), ...);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  std::optional<uint64_t> id;
  auto req = decodeRequest(line, &id);
  if (req) {
    dispatchParams<Method::kPing, Method::kShowState, Method::kShowSettings, Method::kShowServer,
                   Method::kShowException, Method::kShowClientCert, Method::kShowTrustedCa,
                   Method::kShowStats, Method::kSetState, Method::kAddServer, Method::kDeleteServer,
                   Method::kAddException, Method::kDeleteException, Method::kAddTrustedCa,
                   Method::kDeleteTrustedCa, Method::kAddClientCert, Method::kDeleteClientCert,
                   Method::kLogShow, Method::kLogSet, Method::kResolve, Method::kDiagnoseServer,
                   Method::kReload>(req->method, req->params);
    // The answer to it is always one line.
    std::string failure = encodeFailure(id, ztdns::Error{std::string(line.substr(0, 200))});
    if (failure.find('\n') != std::string::npos) std::abort();
  } else {
    std::string failure = encodeFailure(id, req.error());
    if (failure.find('\n') != std::string::npos) std::abort();
    if (req.error().message.find('\n') != std::string::npos) std::abort();
  }

  auto response = decodeResponse(line);
  if (response && response->ok) {
    const auto& r = response->result;
    resultRoundTrip<PingResult>(r);
    resultRoundTrip<StateInfo>(r);
    resultRoundTrip<ServerList>(r);
    resultRoundTrip<ServerInfo>(r);
    resultRoundTrip<DeleteServerResult>(r);
    resultRoundTrip<ExceptionList>(r);
    resultRoundTrip<ExceptionInfo>(r);
    resultRoundTrip<ClientCertInfo>(r);
    resultRoundTrip<TrustedCaInfo>(r);
    resultRoundTrip<Stats>(r);
    resultRoundTrip<LogShowResult>(r);
    resultRoundTrip<LogSetResult>(r);
    resultRoundTrip<ResolveResult>(r);
    resultRoundTrip<DiagnoseServerResult>(r);
  }
  return 0;
}
