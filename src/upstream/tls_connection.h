// TlsConnection: one TCP+TLS connection to one configured upstream endpoint; the base of
// DotConnection and DohConnection.
//
// This file holds the upstream module's only socket factory: a TCP socket that connects to
// the configured address and port, and is never written to before the TLS handshake, the
// certificate chain, the name and the pins have all been verified. No other code in
// src/upstream opens a socket; see docs/upstream.md ("No plaintext, ever").
//
// I/O model: OpenSSL runs directly on the non-blocking fd (SSL_set_fd); asio's reactor only
// says when the fd is readable or writable. Plaintext queued during one loop turn goes out
// in one SSL_write at the end of the turn, so N queued queries cost one TLS record and one
// write(2). TCP_NODELAY is on; TCP_QUICKACK is re-armed after every read so a server that
// splits an answer over two segments with Nagle on is not held by our delayed ACK.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/ip.h"
#include "upstream/tls_context.h"
#include "upstream/upstream_error.h"

namespace ztdns::upstream {

struct ConnectionParams {
  IpAddress address;
  uint16_t port = 0;
  std::shared_ptr<const TlsContext> tls;
  std::shared_ptr<const TlsIdentity> identity;
  std::shared_ptr<SessionCache> sessions;
  std::chrono::milliseconds connectTimeout{1000};  // TCP connect + TLS handshake
  bool quickAck = true;
};

struct ConnectionTiming {
  std::chrono::steady_clock::time_point started{};
  std::chrono::steady_clock::time_point tcpConnected{};
  std::chrono::steady_clock::time_point tlsDone{};
  bool resumed = false;        // SSL_session_reused
  bool certRequested = false;  // the server sent a CertificateRequest (mTLS)
  std::string tlsVersion;      // "TLSv1.3"
  std::string peerSubject;     // leaf certificate subject, one line
};

class TlsConnection : public std::enable_shared_from_this<TlsConnection> {
 public:
  TlsConnection(asio::io_context& io, ConnectionParams params);
  virtual ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  // Connect and handshake; onEstablished() or onClosed() follows.
  void start();
  // Idempotent. Sends close_notify when the session is up, closes the socket, then calls
  // onClosed(why) once.
  void close(UpstreamError why);

  bool established() const { return established_; }
  bool isClosed() const { return closed_; }
  const ConnectionTiming& timing() const { return timing_; }
  // Last read or write (idle detection).
  std::chrono::steady_clock::time_point lastActivity() const { return lastActivity_; }
  // First write since the last read; epoch when everything written was followed by a read.
  std::chrono::steady_clock::time_point unansweredSince() const { return unansweredSince_; }
  const ConnectionParams& params() const { return params_; }

 protected:
  virtual void onEstablished() = 0;
  virtual void onData(const uint8_t* data, size_t len) = 0;  // plaintext from the server
  virtual void onClosed(const UpstreamError& why) = 0;
  // Called just before the buffered plaintext is written (DoH serialises frames here).
  virtual void beforeFlush() {}
  // Called after each batch of reads (DoH flushes nghttp2's pending frames).
  virtual void afterReads() {}
  // Post-handshake check before anything is written (DoH checks ALPN). Empty = fine.
  virtual UpstreamError checkEstablished() { return {}; }

  // Plaintext to send; the caller appends, then calls scheduleFlush().
  std::vector<uint8_t>& out() { return out_; }
  void scheduleFlush();
  SSL* ssl() const { return ssl_.get(); }

  asio::io_context& io_;

 private:
  void onConnected(const asio::error_code& ec);
  void doHandshake();
  void readLoop();
  void waitReadable();
  void flush();
  void waitWritable();
  UpstreamError explainClose(UpstreamError why) const;
  static void onTlsMessage(int writeP, int version, int contentType, const void* buf, size_t len,
                           SSL* ssl, void* arg);

  ConnectionParams params_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer connectTimer_;
  SslPtr ssl_;
  std::vector<uint8_t> out_;
  size_t outOffset_ = 0;  // bytes of out_ already taken by SSL_write
  std::vector<uint8_t> readBuf_;
  ConnectionTiming timing_;
  std::chrono::steady_clock::time_point lastActivity_{};
  std::chrono::steady_clock::time_point unansweredSince_{};
  bool established_ = false;
  bool handshakeDone_ = false;
  bool fatal_ = false;  // a fatal TLS error: no close_notify may follow
  bool closed_ = false;
  bool writeBlocked_ = false;  // SSL_write returned WANT_WRITE
  bool gotData_ = false;       // any application data read
  bool flushScheduled_ = false;
  bool writeWaiting_ = false;    // an async_wait for writability is pending
  bool readWaiting_ = false;     // an async_wait for readability is pending
  bool writeNeedsRead_ = false;  // SSL_write returned WANT_READ
  bool readNeedsWrite_ = false;  // SSL_read returned WANT_WRITE
};

}  // namespace ztdns::upstream
