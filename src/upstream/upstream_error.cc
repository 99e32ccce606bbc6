#include "upstream/upstream_error.h"

namespace ztdns::upstream {

const char* errorClassName(ErrorClass c) {
  switch (c) {
    case ErrorClass::kNone:
      return "none";
    case ErrorClass::kRefused:
      return "refused";
    case ErrorClass::kTimeout:
      return "timeout";
    case ErrorClass::kNetwork:
      return "network";
    case ErrorClass::kCertExpired:
      return "certificate expired";
    case ErrorClass::kNameMismatch:
      return "name mismatch";
    case ErrorClass::kUnknownCa:
      return "unknown CA";
    case ErrorClass::kCertInvalid:
      return "certificate invalid";
    case ErrorClass::kPinMismatch:
      return "pin mismatch";
    case ErrorClass::kClientCertRejected:
      return "client certificate rejected";
    case ErrorClass::kTls:
      return "TLS";
    case ErrorClass::kClosed:
      return "closed";
    case ErrorClass::kHttp:
      return "HTTP";
    case ErrorClass::kBadAnswer:
      return "bad answer";
    case ErrorClass::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

bool UpstreamError::marksServerDown() const {
  switch (cls) {
    // A server that accepted a connection and later closed it is not down: if it died,
    // the reconnect fails with refused or timeout, which does mark it down.
    case ErrorClass::kClosed:
    case ErrorClass::kHttp:
    case ErrorClass::kBadAnswer:
    case ErrorClass::kCancelled:
    case ErrorClass::kNone:
      return false;
    default:
      return true;
  }
}

}  // namespace ztdns::upstream
