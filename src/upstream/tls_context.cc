#include "upstream/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>

namespace ztdns::upstream {
namespace {

int sessionCacheIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Called by OpenSSL when the server hands us a session (during the TLS 1.2 handshake, or
// with a TLS 1.3 NewSessionTicket after it). Returning 1 keeps the reference.
int onNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* cache = static_cast<SessionCache*>(SSL_get_ex_data(ssl, sessionCacheIndex()));
  if (!cache || !SSL_SESSION_is_resumable(session)) return 0;
  cache->store(session);
  return 1;
}

std::string lastOpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

bool isIpLiteral(const std::string& s) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, s.c_str(), &a4) == 1 || inet_pton(AF_INET6, s.c_str(), &a6) == 1;
}

Result<SpkiPin> decodePin(const std::string& text) {
  // SHA-256 in base64 is 44 characters ending in one '='.
  if (text.size() != 44 || text.back() != '=' || text[42] == '=') {
    return Error{"spkiPins: \"" + text + "\" is not a base64 SHA-256 (44 characters)"};
  }
  uint8_t out[33];
  int n = EVP_DecodeBlock(out, reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n != 33) return Error{"spkiPins: \"" + text + "\" is not valid base64"};
  SpkiPin pin;
  std::memcpy(pin.data(), out, pin.size());
  return pin;
}

std::string stripAlertPrefix(std::string reason) {
  for (const char* p : {"sslv3 ", "tlsv13 ", "tlsv1 "}) {
    if (reason.rfind(p, 0) == 0) return reason.substr(std::strlen(p));
  }
  return reason;
}

UpstreamError fromVerifyResult(long vr) {
  std::string what = X509_verify_cert_error_string(vr);
  switch (vr) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
      return {ErrorClass::kNameMismatch, "TLS: hostname mismatch"};
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return {ErrorClass::kNameMismatch, "TLS: IP address mismatch"};
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return {ErrorClass::kCertExpired, "TLS: " + what};
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
      return {ErrorClass::kUnknownCa, "TLS: certificate verify failed: " + what};
    default:
      return {ErrorClass::kCertInvalid, "TLS: certificate verify failed: " + what};
  }
}

}  // namespace

void SessionCache::store(SSL_SESSION* session) {
  latest_.reset(session);
}

Result<TlsIdentity> makeIdentity(const std::string& name, const std::vector<std::string>& pins,
                                 std::string alpn) {
  TlsIdentity id;
  id.name = name;
  if (!name.empty() && name.front() == '[' && name.back() == ']') {
    id.name = name.substr(1, name.size() - 2);
  }
  if (id.name.empty()) return Error{"TLS identity: empty server name"};
  id.nameIsIp = isIpLiteral(id.name);
  for (const auto& p : pins) {
    auto pin = decodePin(p);
    if (!pin) return pin.error();
    id.pins.push_back(*pin);
  }
  id.alpn = std::move(alpn);
  return id;
}

namespace {

X509Ptr shared(X509* x) {
  X509_up_ref(x);
  return X509Ptr(x);
}

// Every certificate of a PEM file, in order; an error when it cannot be read or has none.
Result<std::vector<X509Ptr>> readCertificates(const std::string& file) {
  ERR_clear_error();
  CPtr<BIO, BIO_free> bio(BIO_new_file(file.c_str(), "r"));
  if (!bio) return Error{lastOpenSslError()};
  std::vector<X509Ptr> certs;
  while (X509* x = PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(x);
  }
  ERR_clear_error();  // the read that ended the loop: end of file
  if (certs.empty()) return Error{"no PEM certificate in the file"};
  return certs;
}

Result<PkeyPtr> readPrivateKey(const std::string& file) {
  ERR_clear_error();
  CPtr<BIO, BIO_free> bio(BIO_new_file(file.c_str(), "r"));
  if (!bio) return Error{lastOpenSslError()};
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Error{lastOpenSslError()};
  return key;
}

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::create(
    const std::vector<std::string>& rootFiles,
    const std::optional<config::ClientCertificate>& clientCertificate, const TlsContext* previous) {
  // OpenSSL writes to sockets with write(2): a server that has closed would kill the
  // process with SIGPIPE. EPIPE as an error value is what we want (process-wide, once).
  static std::once_flag ignorePipe;
  std::call_once(ignorePipe, [] { std::signal(SIGPIPE, SIG_IGN); });
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return Error{"TLS: SSL_CTX_new: " + lastOpenSslError()};
  std::shared_ptr<TlsContext> made(new TlsContext(nullptr));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  // A DNS message is length-framed, so a missing close_notify truncates nothing: treat a
  // bare FIN like a clean close. No renegotiation, no compression.
  SSL_CTX_set_options(
      ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Partial writes + moving buffers: our write buffer may grow while a write is blocked.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read-ahead: one read(2) takes every record the server has sent (a burst of answers)
  // instead of two reads (header, body) per record. Safe because the connection always
  // drains SSL_read to WANT_READ before waiting again.
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  // Sessions live in our per-server SessionCache, not in OpenSSL's internal store.
  SSL_CTX_set_session_cache_mode(ctx.get(),
                                 SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx.get(), onNewSession);

  if (rootFiles.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
      return Error{"TLS: cannot load the system certificate store: " + lastOpenSslError()};
    }
  } else {
    X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
    for (const auto& file : rootFiles) {
      RootFile root{file, {}};
      if (auto certs = readCertificates(file)) {
        root.certificates = std::move(*certs);
      } else {
        const RootFile* before = nullptr;
        for (size_t i = 0; previous && i < previous->roots_.size(); ++i) {
          if (previous->roots_[i].path == file) before = &previous->roots_[i];
        }
        if (!before) {
          return Error{"TLS: cannot load root certificates from " + file + ": " +
                       certs.error().message};
        }
        for (const auto& x : before->certificates) root.certificates.push_back(shared(x.get()));
      }
      for (const auto& x : root.certificates) X509_STORE_add_cert(store, x.get());
      made->roots_.push_back(std::move(root));
    }
  }
  if (clientCertificate) {
    const auto& cc = *clientCertificate;
    ClientMaterial m{cc.certificateFile, cc.privateKeyFile, nullptr, {}, nullptr};
    auto certs = readCertificates(cc.certificateFile);
    auto key = readPrivateKey(cc.privateKeyFile);
    const ClientMaterial* before =
        previous && previous->client_ && previous->client_->certificateFile == cc.certificateFile &&
                previous->client_->privateKeyFile == cc.privateKeyFile
            ? &*previous->client_
            : nullptr;
    if (certs && key) {
      m.leaf = std::move(certs->front());
      for (size_t i = 1; i < certs->size(); ++i) m.chain.push_back(std::move((*certs)[i]));
      m.key = std::move(*key);
    } else if (before) {
      m.leaf = shared(before->leaf.get());
      for (const auto& x : before->chain) m.chain.push_back(shared(x.get()));
      EVP_PKEY_up_ref(before->key.get());
      m.key = PkeyPtr(before->key.get());
    } else if (!certs) {
      return Error{"TLS: cannot load client certificate " + cc.certificateFile + ": " +
                   certs.error().message};
    } else {
      return Error{"TLS: cannot load client key " + cc.privateKeyFile + ": " + key.error().message};
    }
    ERR_clear_error();
    if (SSL_CTX_use_certificate(ctx.get(), m.leaf.get()) != 1) {
      return Error{"TLS: cannot load client certificate " + cc.certificateFile + ": " +
                   lastOpenSslError()};
    }
    if (SSL_CTX_use_PrivateKey(ctx.get(), m.key.get()) != 1) {  // also: the key does not match
      return Error{"TLS: cannot load client key " + cc.privateKeyFile + ": " + lastOpenSslError()};
    }
    for (const auto& x : m.chain) SSL_CTX_add1_chain_cert(ctx.get(), x.get());
    if (SSL_CTX_check_private_key(ctx.get()) != 1) {
      return Error{"TLS: client key " + cc.privateKeyFile + " does not match certificate " +
                   cc.certificateFile};
    }
    made->client_ = std::move(m);
    made->hasClientCert_ = true;
  }
  made->ctx_ = std::move(ctx);
  return made;
}

Result<SslPtr> TlsContext::newSsl(int fd, const TlsIdentity& identity, SessionCache* cache) const {
  ERR_clear_error();
  SslPtr ssl(SSL_new(ctx_.get()));
  if (!ssl) return Error{"TLS: SSL_new: " + lastOpenSslError()};
  if (SSL_set_fd(ssl.get(), fd) != 1) return Error{"TLS: SSL_set_fd: " + lastOpenSslError()};
  SSL_set_connect_state(ssl.get());
  if (identity.nameIsIp) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), identity.name.c_str()) != 1) {
      return Error{"TLS: bad IP identity " + identity.name};
    }
  } else {
    SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl.get(), identity.name.c_str()) != 1) {
      return Error{"TLS: bad host identity " + identity.name};
    }
    if (SSL_set_tlsext_host_name(ssl.get(), identity.name.c_str()) != 1) {
      return Error{"TLS: cannot set SNI " + identity.name};
    }
  }
  if (!identity.alpn.empty()) {
    std::string wire(1, static_cast<char>(identity.alpn.size()));
    wire += identity.alpn;
    if (SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size())) != 0) {
      return Error{"TLS: cannot set ALPN"};
    }
  }
  if (cache) {
    SSL_set_ex_data(ssl.get(), sessionCacheIndex(), cache);
    if (cache->latest()) SSL_set_session(ssl.get(), cache->latest());
  }
  return ssl;
}

bool chainMatchesPins(SSL* ssl, const std::vector<SpkiPin>& pins) {
  if (pins.empty()) return true;
  // A resumed session carries no verified chain; it was pinned when first established
  // (sessions of a connection that failed its pin check are dropped from the cache).
  if (SSL_session_reused(ssl)) return true;
  STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl);
  if (!chain) return false;
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    X509_PUBKEY* pk = X509_get_X509_PUBKEY(sk_X509_value(chain, i));
    unsigned char* der = nullptr;
    int len = i2d_X509_PUBKEY(pk, &der);
    if (len <= 0) continue;
    SpkiPin digest;
    SHA256(der, static_cast<size_t>(len), digest.data());
    OPENSSL_free(der);
    for (const auto& p : pins) {
      if (p == digest) return true;
    }
  }
  return false;
}

std::string spkiPinOf(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (len <= 0) return {};
  SpkiPin digest;
  SHA256(der, static_cast<size_t>(len), digest.data());
  OPENSSL_free(der);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, digest.data(), static_cast<int>(digest.size()));
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

UpstreamError classifyTlsFailure(SSL* ssl, int sslError, int savedErrno, bool handshake) {
  if (handshake && ssl) {
    long vr = SSL_get_verify_result(ssl);
    if (vr != X509_V_OK) {
      ERR_clear_error();
      return fromVerifyResult(vr);
    }
  }
  unsigned long e = 0;
  for (unsigned long next; (next = ERR_get_error()) != 0;) {
    if (e == 0) e = next;
  }
  if (e != 0 && ERR_GET_REASON(e) != 0) {
    int reason = ERR_GET_REASON(e);
    const char* rs = ERR_reason_error_string(e);
    std::string words = stripAlertPrefix(rs ? rs : "error");
    switch (reason) {
      case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
      case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
      case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
      case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
        return {ErrorClass::kClientCertRejected, "TLS: " + words};
      case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        return {ErrorClass::kClosed, handshake ? "TLS: connection closed during the handshake"
                                               : "TLS: connection closed by the server"};
      default:
        return {ErrorClass::kTls, "TLS: " + words};
    }
  }
  if (sslError == SSL_ERROR_ZERO_RETURN) {
    return {ErrorClass::kClosed, handshake ? "TLS: connection closed during the handshake"
                                           : "TLS: close_notify from the server"};
  }
  if (sslError == SSL_ERROR_SYSCALL && savedErrno != 0) {
    if (savedErrno == ECONNRESET) {
      return {handshake ? ErrorClass::kNetwork : ErrorClass::kClosed,
              "TLS: connection reset by the server"};
    }
    return {ErrorClass::kNetwork, std::string("TLS: ") + std::strerror(savedErrno)};
  }
  return {ErrorClass::kClosed, handshake ? "TLS: connection closed during the handshake"
                                         : "TLS: connection closed by the server"};
}

}  // namespace ztdns::upstream
