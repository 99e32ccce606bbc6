// TlsContext: the client TLS configuration shared by every upstream connection, and the
// per-server identity checks.
//
// Glossary:
//   identity   the name a server must prove: certificateSubjectName (DoT) or the queryUrl
//              host (DoH). A DNS name is checked with SSL_set1_host and sent as SNI; an IP
//              literal is checked against the certificate's IP SANs and sends no SNI.
//   pin        base64 SHA-256 of a SubjectPublicKeyInfo (RFC 7469 form). When a server has
//              pins, one certificate of the *verified* chain (leaf, intermediate or root)
//              must match one pin; chain and name verification still apply.
//   session    a TLS session ticket kept per server (SessionCache) so reconnects resume.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/c_ptr.h"
#include "common/result.h"
#include "config/config.h"
#include "upstream/upstream_error.h"

namespace ztdns::upstream {

using SslCtxPtr = CPtr<SSL_CTX, SSL_CTX_free>;
using SslPtr = CPtr<SSL, SSL_free>;
using SslSessionPtr = CPtr<SSL_SESSION, SSL_SESSION_free>;
using X509Ptr = CPtr<X509, X509_free>;
using PkeyPtr = CPtr<EVP_PKEY, EVP_PKEY_free>;
using SpkiPin = std::array<uint8_t, 32>;

// What one server must prove, and how we present ourselves to it.
struct TlsIdentity {
  std::string name;           // DNS name or IP literal
  bool nameIsIp = false;      // derived by makeIdentity
  std::vector<SpkiPin> pins;  // empty: no pinning
  std::string alpn;           // "h2" for DoH; empty for DoT (RFC 7858 defines none)
};

// Parses the name (IP literal or DNS name) and the base64 pins. Errors name the bad pin.
Result<TlsIdentity> makeIdentity(const std::string& name, const std::vector<std::string>& pins,
                                 std::string alpn);

// The latest resumable session of one server. Lives as long as any of its connections.
class SessionCache {
 public:
  void store(SSL_SESSION* session);  // takes ownership
  SSL_SESSION* latest() const { return latest_.get(); }
  void clear() { latest_.reset(); }

 private:
  SslSessionPtr latest_;
};

class TlsContext {
 public:
  // roots: PEM files (each may hold several certificates); empty = the system store.
  // Loads the client certificate and key when given. Throws nothing; errors as values.
  // With `previous`: a file that cannot be read now but that `previous` loaded from the
  // same path keeps what `previous` read from it. A reconfiguration (another server, say)
  // then keeps the trust and the client certificate that are in force, although a file
  // was deleted since it was loaded; a restart reads every file again.
  static Result<std::shared_ptr<TlsContext>> create(
      const std::vector<std::string>& rootFiles,
      const std::optional<config::ClientCertificate>& clientCertificate,
      const TlsContext* previous = nullptr);

  bool hasClientCertificate() const { return hasClientCert_; }

  // A client SSL for one connection on `fd`: identity checks armed, SNI and ALPN set, the
  // cached session offered, new sessions stored into `cache` (which must outlive it).
  Result<SslPtr> newSsl(int fd, const TlsIdentity& identity, SessionCache* cache) const;

 private:
  struct RootFile {
    std::string path;
    std::vector<X509Ptr> certificates;
  };
  struct ClientMaterial {
    std::string certificateFile, privateKeyFile;
    X509Ptr leaf;
    std::vector<X509Ptr> chain;
    PkeyPtr key;
  };
  explicit TlsContext(SslCtxPtr ctx) : ctx_(std::move(ctx)) {}
  SslCtxPtr ctx_;
  bool hasClientCert_ = false;
  std::vector<RootFile> roots_;           // what each root file held when it was read
  std::optional<ClientMaterial> client_;  // the client certificate as it was read
};

// After SSL_connect succeeded: do the verified chain's SPKIs match one of the pins?
bool chainMatchesPins(SSL* ssl, const std::vector<SpkiPin>& pins);

// Base64 SHA-256 of a certificate's SubjectPublicKeyInfo (for tests and `ztdns diagnose`).
std::string spkiPinOf(X509* cert);

// Turn a failed handshake or TLS I/O into an UpstreamError: certificate verification
// results first (expired, name mismatch, unknown CA), then the OpenSSL error queue
// (alerts such as "certificate required"), then errno. Clears the error queue.
UpstreamError classifyTlsFailure(SSL* ssl, int sslError, int savedErrno, bool handshake);

}  // namespace ztdns::upstream
