#include "upstream/tls_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>

#include <algorithm>
#include <asio/defer.hpp>
#include <asio/post.hpp>
#include <cctype>
#include <cerrno>

namespace ztdns::upstream {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kReadChunk = 16 * 1024 + 512;  // one full TLS record

asio::ip::tcp::endpoint toAsio(const IpAddress& a, uint16_t port) {
  if (a.isV4()) {
    asio::ip::address_v4::bytes_type b;
    std::copy_n(a.bytes(), 4, b.begin());
    return {asio::ip::address_v4(b), port};
  }
  asio::ip::address_v6::bytes_type b;
  std::copy_n(a.bytes(), 16, b.begin());
  return {asio::ip::address_v6(b), port};
}

std::string lowerFirst(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

UpstreamError connectError(const asio::error_code& ec) {
  if (ec == asio::error::connection_refused) {
    return {ErrorClass::kRefused, "connect: connection refused"};
  }
  if (ec == asio::error::timed_out) return {ErrorClass::kTimeout, "connect: timeout"};
  return {ErrorClass::kNetwork, "connect: " + lowerFirst(ec.message())};
}

}  // namespace

TlsConnection::TlsConnection(asio::io_context& io, ConnectionParams params)
    : io_(io), params_(std::move(params)), socket_(io), connectTimer_(io), readBuf_(kReadChunk) {}

TlsConnection::~TlsConnection() = default;

void TlsConnection::start() {
  timing_.started = lastActivity_ = Clock::now();
  auto self = shared_from_this();
  auto endpoint = toAsio(params_.address, params_.port);
  asio::error_code ec;
  socket_.open(endpoint.protocol(), ec);
  if (!ec) socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  if (!ec) socket_.native_non_blocking(true, ec);
  if (ec) {
    // Report asynchronously: start() is called from inside send paths.
    asio::post(io_, [self, ec] {
      self->close({ErrorClass::kNetwork, "socket: " + lowerFirst(ec.message())});
    });
    return;
  }
  if (params_.quickAck) {
    int one = 1;
    ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
  }
  connectTimer_.expires_after(params_.connectTimeout);
  connectTimer_.async_wait([self](const asio::error_code& tec) {
    if (tec || self->closed_ || self->established_) return;
    bool tcpUp = self->timing_.tcpConnected != Clock::time_point{};
    self->close({ErrorClass::kTimeout, tcpUp ? "TLS: handshake timeout" : "connect: timeout"});
  });
  socket_.async_connect(endpoint, [self](const asio::error_code& cec) { self->onConnected(cec); });
}

void TlsConnection::onConnected(const asio::error_code& ec) {
  if (closed_) return;
  if (ec) {
    close(connectError(ec));
    return;
  }
  timing_.tcpConnected = Clock::now();
  auto ssl =
      params_.tls->newSsl(socket_.native_handle(), *params_.identity, params_.sessions.get());
  if (!ssl) {
    close({ErrorClass::kTls, ssl.error().message});
    return;
  }
  ssl_ = std::move(*ssl);
  // Watch the handshake for a CertificateRequest: some mTLS servers (nginx) do not alert
  // on a missing or bad client certificate, they just close after the handshake.
  SSL_set_msg_callback(ssl_.get(), onTlsMessage);
  SSL_set_msg_callback_arg(ssl_.get(), this);
  doHandshake();
}

void TlsConnection::doHandshake() {
  if (closed_) return;
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_.get());
  if (rc != 1) {
    int saved = errno;
    int err = SSL_get_error(ssl_.get(), rc);
    auto self = shared_from_this();
    auto resume = [self](const asio::error_code& wec) {
      if (wec || self->closed_) return;
      self->doHandshake();
    };
    if (err == SSL_ERROR_WANT_READ) {
      socket_.async_wait(asio::ip::tcp::socket::wait_read, resume);
    } else if (err == SSL_ERROR_WANT_WRITE) {
      socket_.async_wait(asio::ip::tcp::socket::wait_write, resume);
    } else {
      auto why = classifyTlsFailure(ssl_.get(), err, saved, true);
      fatal_ = true;
      close(std::move(why));
    }
    return;
  }
  handshakeDone_ = true;
  SSL_set_msg_callback(ssl_.get(), nullptr);  // nothing more to see; no per-record cost
  timing_.tlsDone = Clock::now();
  timing_.resumed = SSL_session_reused(ssl_.get()) == 1;
  timing_.tlsVersion = SSL_get_version(ssl_.get());
  if (X509* leaf = SSL_get0_peer_certificate(ssl_.get())) {
    char buf[512];
    X509_NAME_oneline(X509_get_subject_name(leaf), buf, sizeof buf);
    timing_.peerSubject = buf;
  }
  connectTimer_.cancel();
  // Identity is complete only with the pins; nothing has been written yet.
  if (!chainMatchesPins(ssl_.get(), params_.identity->pins)) {
    if (params_.sessions) params_.sessions->clear();
    close({ErrorClass::kPinMismatch, "TLS: SPKI pin mismatch"});
    return;
  }
  if (auto why = checkEstablished(); why.cls != ErrorClass::kNone) {
    close(std::move(why));
    return;
  }
  established_ = true;
  lastActivity_ = timing_.tlsDone;
  onEstablished();
  if (closed_) return;
  if (!out_.empty()) flush();
  if (closed_) return;
  readLoop();
}

void TlsConnection::readLoop() {
  if (closed_ || !established_) return;
  readNeedsWrite_ = false;
  bool got = false;
  for (;;) {
    ERR_clear_error();
    int n = SSL_read(ssl_.get(), readBuf_.data(), static_cast<int>(readBuf_.size()));
    if (n > 0) {
      got = gotData_ = true;
      onData(readBuf_.data(), static_cast<size_t>(n));
      if (closed_) return;
      continue;
    }
    int saved = errno;
    int err = SSL_get_error(ssl_.get(), n);
    if (err == SSL_ERROR_WANT_READ) break;
    if (err == SSL_ERROR_WANT_WRITE) {
      readNeedsWrite_ = true;
      waitWritable();
      break;
    }
    auto why = explainClose(classifyTlsFailure(ssl_.get(), err, saved, false));
    if (err != SSL_ERROR_ZERO_RETURN) fatal_ = true;
    close(std::move(why));
    return;
  }
  if (got) {
    lastActivity_ = Clock::now();
    unansweredSince_ = {};
    if (params_.quickAck) {
      int one = 1;
      ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }
    afterReads();
    if (closed_) return;
  }
  if (writeNeedsRead_) {
    writeNeedsRead_ = false;
    flush();
    if (closed_) return;
  }
  if (!readNeedsWrite_) waitReadable();
}

void TlsConnection::onTlsMessage(int writeP, int, int contentType, const void* buf, size_t len,
                                 SSL*, void* arg) {
  if (writeP || contentType != SSL3_RT_HANDSHAKE || len == 0) return;
  if (static_cast<const uint8_t*>(buf)[0] == SSL3_MT_CERTIFICATE_REQUEST) {
    static_cast<TlsConnection*>(arg)->timing_.certRequested = true;
  }
}

UpstreamError TlsConnection::explainClose(UpstreamError why) const {
  // The server asked for a client certificate, then closed before sending a single byte
  // of data: it did not accept ours (or we had none).
  if (why.cls == ErrorClass::kClosed && timing_.certRequested && !gotData_) {
    // A TLS 1.3 server such as nginx issues a ticket before it rejects us. Resuming that
    // session would be refused the same way, but without a CertificateRequest to tell
    // why (the probe would report "close_notify from the server"): drop it.
    if (params_.sessions) params_.sessions->clear();
    return {ErrorClass::kClientCertRejected, params_.tls->hasClientCertificate()
                                                 ? "TLS: client certificate rejected"
                                                 : "TLS: client certificate required"};
  }
  return why;
}

void TlsConnection::waitReadable() {
  if (readWaiting_) return;
  readWaiting_ = true;
  auto self = shared_from_this();
  // The fd must have been drained to EAGAIN before this wait (asio's epoll is edge-triggered).
  socket_.async_wait(asio::ip::tcp::socket::wait_read, [self](const asio::error_code& ec) {
    self->readWaiting_ = false;
    if (ec || self->closed_) return;
    self->readLoop();
  });
}

void TlsConnection::waitWritable() {
  if (writeWaiting_) return;
  writeWaiting_ = true;
  auto self = shared_from_this();
  socket_.async_wait(asio::ip::tcp::socket::wait_write, [self](const asio::error_code& ec) {
    self->writeWaiting_ = false;
    if (ec || self->closed_) return;
    if (self->readNeedsWrite_) self->readLoop();
    if (self->closed_) return;
    if (self->writeBlocked_) {
      self->writeBlocked_ = false;
      self->flush();
    }
  });
}

void TlsConnection::scheduleFlush() {
  if (flushScheduled_ || closed_) return;
  flushScheduled_ = true;
  auto self = shared_from_this();
  // defer, not post: from the io thread it queues without waking the reactor (post costs
  // an epoll_ctl on asio's interrupter every loop turn).
  asio::defer(io_, [self] {
    self->flushScheduled_ = false;
    self->flush();
  });
}

void TlsConnection::flush() {
  if (closed_ || !established_) return;
  beforeFlush();
  if (closed_ || writeBlocked_ || writeNeedsRead_) return;
  while (outOffset_ < out_.size()) {
    ERR_clear_error();
    size_t left = std::min<size_t>(out_.size() - outOffset_, 1u << 20);
    int n = SSL_write(ssl_.get(), out_.data() + outOffset_, static_cast<int>(left));
    if (n > 0) {
      outOffset_ += static_cast<size_t>(n);
      continue;
    }
    int saved = errno;
    int err = SSL_get_error(ssl_.get(), n);
    if (err == SSL_ERROR_WANT_WRITE) {
      writeBlocked_ = true;
      waitWritable();
      return;
    }
    if (err == SSL_ERROR_WANT_READ) {
      writeNeedsRead_ = true;
      return;
    }
    fatal_ = true;
    close(explainClose(classifyTlsFailure(ssl_.get(), err, saved, false)));
    return;
  }
  out_.clear();
  outOffset_ = 0;
  lastActivity_ = Clock::now();
  if (unansweredSince_ == Clock::time_point{}) unansweredSince_ = lastActivity_;
}

void TlsConnection::close(UpstreamError why) {
  if (closed_) return;
  closed_ = true;
  connectTimer_.cancel();
  if (ssl_ && handshakeDone_ && !fatal_) {
    ERR_clear_error();
    SSL_shutdown(ssl_.get());  // best effort close_notify; never waited for
    ERR_clear_error();
  }
  asio::error_code ec;
  socket_.close(ec);
  onClosed(why);
}

}  // namespace ztdns::upstream
