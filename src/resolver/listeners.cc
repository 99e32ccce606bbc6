#include "resolver/listeners.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "resolver/stub_impl.h"

namespace ztdns::resolver {

namespace {
constexpr size_t kTcpInitialBuffer = 4096;
constexpr size_t kMaxTcpFrame = 2 + 65535;
}  // namespace

// ---- UDP ----

UdpListener::UdpListener(Stub::Impl& impl, asio::ip::udp::socket socket)
    : impl_(&impl), socket_(std::move(socket)), rxData_(size_t{kBatch} * kMaxQuerySize) {
  for (int i = 0; i < kBatch; ++i) {
    rxIov_[i].iov_base = rxData_.data() + size_t(i) * kMaxQuerySize;
    rxIov_[i].iov_len = kMaxQuerySize;
    rx_[i].msg_hdr.msg_iov = &rxIov_[i];
    rx_[i].msg_hdr.msg_iovlen = 1;
    rx_[i].msg_hdr.msg_name = &rxFrom_[i];
  }
}

void UdpListener::start() {
  std::error_code ec;
  socket_.non_blocking(true, ec);
  wait();
}

void UdpListener::close() {
  closed_ = true;
  tx_.clear();
  txData_.clear();
  std::error_code ec;
  socket_.close(ec);
}

void UdpListener::wait() {
  socket_.async_wait(
      asio::ip::udp::socket::wait_read,
      [self = shared_from_this()](const std::error_code& ec) { self->onReadable(ec); });
}

void UdpListener::onReadable(const std::error_code& ec) {
  if (closed_ || ec == asio::error::operation_aborted) return;
  for (auto& m : rx_) {
    m.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    m.msg_hdr.msg_flags = 0;
  }
  int n = ::recvmmsg(socket_.native_handle(), rx_.data(), kBatch, MSG_DONTWAIT, nullptr);
  for (int i = 0; i < n && !closed_; ++i) {
    const msghdr& h = rx_[i].msg_hdr;
    if (h.msg_flags & MSG_TRUNC) {
      impl_->countDropped();  // no DNS query is this long; a flood of junk is
      continue;
    }
    asio::ip::udp::endpoint peer;
    std::memcpy(peer.data(), h.msg_name, std::min<size_t>(h.msg_namelen, peer.capacity()));
    peer.resize(h.msg_namelen);
    impl_->onUdpQuery(shared_from_this(),
                      {static_cast<const uint8_t*>(rxIov_[i].iov_base), rx_[i].msg_len}, peer);
  }
  // Errors (EAGAIN, or one a datagram caused) end this batch; readiness says when to go on.
  if (!closed_) wait();
}

void UdpListener::send(std::span<const uint8_t> message, const asio::ip::udp::endpoint& to) {
  if (closed_) return;
  tx_.push_back({txData_.size(), message.size(), to});
  txData_.insert(txData_.end(), message.begin(), message.end());
  if (!flushQueued_) {
    flushQueued_ = true;
    asio::defer(socket_.get_executor(), [self = shared_from_this()] { self->flush(); });
  }
}

void UdpListener::flush() {
  flushQueued_ = false;
  if (closed_ || tx_.empty()) return;
  txMsgs_.assign(tx_.size(), mmsghdr{});
  txIov_.resize(tx_.size());
  for (size_t i = 0; i < tx_.size(); ++i) {
    txIov_[i].iov_base = txData_.data() + tx_[i].offset;
    txIov_[i].iov_len = tx_[i].size;
    msghdr& h = txMsgs_[i].msg_hdr;
    h.msg_iov = &txIov_[i];
    h.msg_iovlen = 1;
    h.msg_name = tx_[i].to.data();
    h.msg_namelen = static_cast<socklen_t>(tx_[i].to.size());
  }
  size_t sent = 0;
  while (sent < txMsgs_.size()) {
    int n = ::sendmmsg(socket_.native_handle(), txMsgs_.data() + sent,
                       static_cast<unsigned>(std::min<size_t>(txMsgs_.size() - sent, 1024)),
                       MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // A full socket buffer: what is left is dropped, as a single send would have been.
      for (; sent < txMsgs_.size(); ++sent) impl_->countSendError();
      break;
    }
    impl_->countSendError();  // this datagram failed (e.g. an unreachable peer): skip it
    ++sent;
  }
  tx_.clear();
  txData_.clear();
}

// ---- TCP acceptor ----

TcpListener::TcpListener(Stub::Impl& impl, asio::ip::tcp::acceptor acceptor)
    : impl_(&impl), acceptor_(std::move(acceptor)), retry_(acceptor_.get_executor()) {}

void TcpListener::start() {
  accept();
}

void TcpListener::close() {
  closed_ = true;
  std::error_code ec;
  acceptor_.close(ec);
  retry_.cancel();
}

void TcpListener::accept() {
  acceptor_.async_accept(
      [self = shared_from_this()](const std::error_code& ec, asio::ip::tcp::socket socket) {
        if (self->closed_ || ec == asio::error::operation_aborted) return;
        if (ec) {
          // Out of descriptors or memory: try again shortly instead of spinning.
          self->retry_.expires_after(std::chrono::milliseconds(100));
          self->retry_.async_wait([self](const std::error_code& wec) {
            if (!wec && !self->closed_) self->accept();
          });
          return;
        }
        self->impl_->onAccepted(std::move(socket));
        self->accept();
      });
}

// ---- TCP connection ----

TcpConnection::TcpConnection(Stub::Impl& impl, asio::ip::tcp::socket socket)
    : impl_(&impl),
      socket_(std::move(socket)),
      idle_(socket_.get_executor()),
      in_(kTcpInitialBuffer) {}

void TcpConnection::start() {
  std::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  lastActivity_ = std::chrono::steady_clock::now();
  armIdle();
  read();
}

void TcpConnection::close() {
  if (closed_) return;
  closed_ = true;
  std::error_code ec;
  socket_.close(ec);
  idle_.cancel();
  impl_->onConnectionClosed(this);
}

void TcpConnection::read() {
  if (closed_ || reading_ || parsing_ || open_ >= impl_->options().maxTcpQueriesPerConnection) {
    return;
  }
  reading_ = true;
  socket_.async_read_some(
      asio::buffer(in_.data() + inUsed_, in_.size() - inUsed_),
      [self = shared_from_this()](const std::error_code& ec, size_t n) { self->onRead(ec, n); });
}

void TcpConnection::onRead(const std::error_code& ec, size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) {  // EOF or reset: answers still owed have nowhere to go
    close();
    return;
  }
  inUsed_ += n;
  lastActivity_ = std::chrono::steady_clock::now();
  drain();
}

// Hands every complete buffered message to the stub (pipelining), as long as the
// connection has room for more open queries, then reads on. Never runs while a read is
// pending: that read writes into in_.
void TcpConnection::drain() {
  if (closed_ || reading_ || parsing_) return;
  parsing_ = true;
  size_t pos = 0;
  auto self = shared_from_this();
  while (!closed_ && inUsed_ - pos >= 2 && open_ < impl_->options().maxTcpQueriesPerConnection) {
    size_t length = (static_cast<size_t>(in_[pos]) << 8) | in_[pos + 1];
    if (inUsed_ - pos < 2 + length) break;
    ++open_;
    impl_->onTcpQuery(self, {in_.data() + pos + 2, length});
    pos += 2 + length;
  }
  parsing_ = false;
  if (closed_) return;
  if (pos > 0) {
    std::memmove(in_.data(), in_.data() + pos, inUsed_ - pos);
    inUsed_ -= pos;
  }
  if (inUsed_ >= 2) {
    size_t need = 2 + ((static_cast<size_t>(in_[0]) << 8) | in_[1]);
    if (need > in_.size()) in_.resize(std::min(kMaxTcpFrame, std::max(need, in_.size() * 2)));
  }
  read();
}

void TcpConnection::send(std::span<const uint8_t> message) {
  if (closed_) return;
  size_t at = outbox_.size();
  outbox_.resize(at + 2 + message.size());
  outbox_[at] = static_cast<uint8_t>(message.size() >> 8);
  outbox_[at + 1] = static_cast<uint8_t>(message.size() & 0xFF);
  std::memcpy(outbox_.data() + at + 2, message.data(), message.size());
  if (!writeActive_) flush();
  queryDone();
}

void TcpConnection::finishWithoutAnswer() {
  if (!closed_) queryDone();
}

void TcpConnection::queryDone() {
  if (open_ > 0) --open_;
  lastActivity_ = std::chrono::steady_clock::now();
  drain();  // resumes a paused connection; a no-op while a read is pending
}

void TcpConnection::flush() {
  if (closed_ || outbox_.empty()) {
    writeActive_ = false;
    return;
  }
  writeActive_ = true;
  writing_.swap(outbox_);
  outbox_.clear();
  asio::async_write(socket_, asio::buffer(writing_),
                    [self = shared_from_this()](const std::error_code& ec, size_t) {
                      if (self->closed_) return;
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->writing_.clear();
                      self->lastActivity_ = std::chrono::steady_clock::now();
                      self->flush();
                    });
}

void TcpConnection::armIdle() {
  auto timeout = impl_->options().tcpIdleTimeout;
  auto now = std::chrono::steady_clock::now();
  idle_.expires_at(std::max(lastActivity_ + timeout, now + timeout / 4));
  idle_.async_wait([self = shared_from_this(), timeout](const std::error_code& ec) {
    if (ec || self->closed_) return;
    auto idleFor = std::chrono::steady_clock::now() - self->lastActivity_;
    if (self->open_ == 0 && !self->writeActive_ && idleFor >= timeout) {
      self->close();
      return;
    }
    self->armIdle();
  });
}

}  // namespace ztdns::resolver
