#include "resolver/listeners.h"

#include <cstring>

#include "resolver/stub_impl.h"

namespace ztdns::resolver {

namespace {
constexpr int kUdpBatch = 64;  // datagrams read per readiness event before yielding
constexpr size_t kTcpInitialBuffer = 4096;
constexpr size_t kMaxTcpFrame = 2 + 65535;
}  // namespace

// ---- UDP ----

UdpListener::UdpListener(Stub::Impl& impl, asio::ip::udp::socket socket)
    : impl_(&impl), socket_(std::move(socket)), buffer_(65536) {}

void UdpListener::start() {
  std::error_code ec;
  socket_.non_blocking(true, ec);
  wait();
}

void UdpListener::close() {
  closed_ = true;
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
  for (int i = 0; i < kUdpBatch && !closed_; ++i) {
    std::error_code rec;
    size_t n = socket_.receive_from(asio::buffer(buffer_), peer_, 0, rec);
    if (rec == asio::error::would_block || rec == asio::error::try_again) break;
    if (rec) continue;  // an error for one datagram; the next may be fine
    impl_->onUdpQuery(shared_from_this(), {buffer_.data(), n}, peer_);
  }
  if (!closed_) wait();
}

void UdpListener::send(std::span<const uint8_t> message, const asio::ip::udp::endpoint& to) {
  if (closed_) return;
  std::error_code ec;
  socket_.send_to(asio::buffer(message.data(), message.size()), to, 0, ec);
  if (ec) impl_->countSendError();
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
