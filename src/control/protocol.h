// The control protocol between ztdns (the CLI) and ztdnsd: methods, error codes, limits.
//
// Glossary:
//   method   - "show.state", "add.server", ...: one per CLI verb (docs/control-protocol.md).
//   access   - kRead methods need root, CAP_NET_ADMIN or the ztdns group; kChange methods
//              need root or CAP_NET_ADMIN.
//   envelope - {"version":1,"id":N,"method":...,"params":{...}} one JSON object per line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ztdns::control {

inline constexpr int kProtocolVersion = 1;
inline constexpr size_t kMaxRequestBytes = 1 << 20;    // one request line, newline included
inline constexpr size_t kMaxResponseBytes = 64 << 20;  // what a client accepts
inline constexpr const char* kSocketName = "control.sock";
inline constexpr const char* kDefaultRunDir = "/run/ztdns";
inline constexpr const char* kReadGroupName = "ztdns";

enum class Method {
  kPing,
  kShowState,
  kShowSettings,
  kShowServer,
  kShowException,
  kShowClientCert,
  kShowTrustedCa,
  kShowStats,
  kSetState,
  kAddServer,
  kDeleteServer,
  kAddException,
  kDeleteException,
  kAddTrustedCa,
  kDeleteTrustedCa,
  kAddClientCert,
  kDeleteClientCert,
  kLogShow,
  kLogSet,
  kResolve,
  kDiagnoseServer,
  kReload,
};
inline constexpr Method kAllMethods[] = {
    Method::kPing,
    Method::kShowState,
    Method::kShowSettings,
    Method::kShowServer,
    Method::kShowException,
    Method::kShowClientCert,
    Method::kShowTrustedCa,
    Method::kShowStats,
    Method::kSetState,
    Method::kAddServer,
    Method::kDeleteServer,
    Method::kAddException,
    Method::kDeleteException,
    Method::kAddTrustedCa,
    Method::kDeleteTrustedCa,
    Method::kAddClientCert,
    Method::kDeleteClientCert,
    Method::kLogShow,
    Method::kLogSet,
    Method::kResolve,
    Method::kDiagnoseServer,
    Method::kReload,
};

const char* methodName(Method m);  // "show.state"
std::optional<Method> methodFromName(std::string_view name);

enum class Access { kRead, kChange };
Access methodAccess(Method m);

// Error codes carried as "code" in a failed response (and in Error::code inside the
// process, as the integer value, far from errno values). A handler returns one of the
// handler-side codes; any other Error::code (0, an errno) is sent as "failed".
enum class ErrorCode : int {
  kFailed = 1000,       // the change or read failed; the message says why (default)
  kBadRequest,          // not JSON, not an object, missing/ill-typed envelope fields
  kUnsupportedVersion,  // "version" is not kProtocolVersion
  kUnknownMethod,       // no such method
  kInvalidParams,       // params fail validation (names the field)
  kTooLarge,            // request line longer than kMaxRequestBytes
  kPermissionDenied,    // the peer may not call this method
  kBusy,                // too many connections
  kTimeout,             // the handler did not answer in time
  kInternal,            // a handler threw or broke its contract
  // Handler-side codes:
  kNotFound,     // show server address=, show/delete exception name=, ...
  kConflict,     // duplicate name, last server while enabled, ...
  kUnavailable,  // the daemon cannot do it now (shutting down, no resolver)
};

const char* errorCodeName(ErrorCode c);  // "not-found"
std::optional<ErrorCode> errorCodeFromName(std::string_view name);
ErrorCode errorCodeOf(const Error& e);  // Error::code -> ErrorCode (unknown -> kFailed)

// Helpers for handlers: Error{message, code}.
Error makeError(ErrorCode code, std::string message);
inline Error notFound(std::string m) {
  return makeError(ErrorCode::kNotFound, std::move(m));
}
inline Error conflict(std::string m) {
  return makeError(ErrorCode::kConflict, std::move(m));
}
inline Error failed(std::string m) {
  return makeError(ErrorCode::kFailed, std::move(m));
}
inline Error invalidParams(std::string m) {
  return makeError(ErrorCode::kInvalidParams, std::move(m));
}

// "<run-dir>/control.sock"
std::string socketPathForRunDir(std::string_view runDir);

}  // namespace ztdns::control
