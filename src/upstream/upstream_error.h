// UpstreamError: why one exchange with one upstream server failed, as a class (for
// decisions and `ztdns diagnose`) plus the words an operator reads ("connect: connection
// refused", "TLS: hostname mismatch", "DoH: HTTP 500").
#pragma once

#include <string>

namespace ztdns::upstream {

enum class ErrorClass {
  kNone,
  kRefused,             // TCP RST on connect
  kTimeout,             // connect, handshake or answer did not come in time
  kNetwork,             // other socket errors (unreachable, reset after connect, ...)
  kCertExpired,         // certificate outside its validity period
  kNameMismatch,        // certificate does not carry the configured name / IP
  kUnknownCa,           // chain does not verify against the configured roots
  kCertInvalid,         // any other certificate verification failure
  kPinMismatch,         // no certificate in the verified chain matches spkiPins
  kClientCertRejected,  // server refused our (missing or wrong) client certificate
  kTls,                 // other TLS failures (protocol version, handshake alert, ...)
  kClosed,              // the server closed the connection with the query in flight
  kHttp,                // DoH: non-200 status, wrong content type, stream reset
  kBadAnswer,           // the answer is not a DNS answer to this query
  kCancelled,           // we gave up (deadline, reconfiguration, shutdown)
};

// Short stable name of a class: "refused", "timeout", "certificate expired", ...
const char* errorClassName(ErrorClass c);

struct UpstreamError {
  ErrorClass cls = ErrorClass::kNone;
  std::string words;

  // True for failures that say something about the server's health (connect, TLS,
  // timeouts); false for per-query problems (HTTP status, a malformed answer) and for a
  // close of an established connection (retried once; a dead server shows on reconnect).
  bool marksServerDown() const;
};

}  // namespace ztdns::upstream
