#include "control/protocol.h"

#include <utility>

namespace ztdns::control {

namespace {

struct MethodRow {
  Method method;
  const char* name;
  Access access;
};

constexpr MethodRow kMethods[] = {
    {Method::kPing, "ping", Access::kRead},
    {Method::kShowState, "show.state", Access::kRead},
    {Method::kShowSettings, "show.settings", Access::kRead},
    {Method::kShowServer, "show.server", Access::kRead},
    {Method::kShowException, "show.exception", Access::kRead},
    {Method::kShowClientCert, "show.clientcert", Access::kRead},
    {Method::kShowTrustedCa, "show.trustedca", Access::kRead},
    {Method::kShowStats, "show.stats", Access::kRead},
    {Method::kSetState, "set.state", Access::kChange},
    {Method::kAddServer, "add.server", Access::kChange},
    {Method::kDeleteServer, "delete.server", Access::kChange},
    {Method::kAddException, "add.exception", Access::kChange},
    {Method::kDeleteException, "delete.exception", Access::kChange},
    {Method::kAddTrustedCa, "add.trustedca", Access::kChange},
    {Method::kDeleteTrustedCa, "delete.trustedca", Access::kChange},
    {Method::kAddClientCert, "add.clientcert", Access::kChange},
    {Method::kDeleteClientCert, "delete.clientcert", Access::kChange},
    {Method::kLogShow, "log.show", Access::kRead},
    {Method::kLogSet, "log.set", Access::kChange},
    {Method::kResolve, "resolve", Access::kRead},
    {Method::kDiagnoseServer, "diagnose.server", Access::kRead},
    {Method::kReload, "reload", Access::kChange},
};

constexpr std::pair<ErrorCode, const char*> kCodes[] = {
    {ErrorCode::kFailed, "failed"},
    {ErrorCode::kBadRequest, "bad-request"},
    {ErrorCode::kUnsupportedVersion, "unsupported-version"},
    {ErrorCode::kUnknownMethod, "unknown-method"},
    {ErrorCode::kInvalidParams, "invalid-params"},
    {ErrorCode::kTooLarge, "too-large"},
    {ErrorCode::kPermissionDenied, "permission-denied"},
    {ErrorCode::kBusy, "busy"},
    {ErrorCode::kTimeout, "timeout"},
    {ErrorCode::kInternal, "internal"},
    {ErrorCode::kNotFound, "not-found"},
    {ErrorCode::kConflict, "conflict"},
    {ErrorCode::kUnavailable, "unavailable"},
};

}  // namespace

const char* methodName(Method m) {
  for (const auto& row : kMethods)
    if (row.method == m) return row.name;
  return "?";
}

std::optional<Method> methodFromName(std::string_view name) {
  for (const auto& row : kMethods)
    if (name == row.name) return row.method;
  return std::nullopt;
}

Access methodAccess(Method m) {
  for (const auto& row : kMethods)
    if (row.method == m) return row.access;
  return Access::kChange;
}

const char* errorCodeName(ErrorCode c) {
  for (const auto& [code, name] : kCodes)
    if (code == c) return name;
  return "failed";
}

std::optional<ErrorCode> errorCodeFromName(std::string_view name) {
  for (const auto& [code, n] : kCodes)
    if (name == n) return code;
  return std::nullopt;
}

ErrorCode errorCodeOf(const Error& e) {
  for (const auto& [code, name] : kCodes)
    if (static_cast<int>(code) == e.code) return code;
  return ErrorCode::kFailed;
}

Error makeError(ErrorCode code, std::string message) {
  return Error{std::move(message), static_cast<int>(code)};
}

std::string socketPathForRunDir(std::string_view runDir) {
  std::string path(runDir);
  if (path.empty() || path.back() != '/') path += '/';
  return path + kSocketName;
}

}  // namespace ztdns::control
