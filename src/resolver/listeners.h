// The stub's sockets: a UDP socket and a TCP acceptor per listen address, and one
// TcpConnection per client connection (RFC 7766: pipelined queries, answers in
// completion order, idle timeout, a cap on open queries per connection).
//
// Lifetime: asynchronous handlers hold a shared_ptr to their object; Stub::Impl closes
// every object before it goes away, and a closed object never calls back into it.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "resolver/stub.h"

namespace ztdns::resolver {

// UDP: queries are read in batches with recvmmsg, and the answers of one loop turn leave in
// one sendmmsg, so that a busy stub pays two system calls per batch rather than two per
// query (the per-packet kernel work stays).
class UdpListener : public std::enable_shared_from_this<UdpListener> {
 public:
  static constexpr int kBatch = 64;              // datagrams per recvmmsg / sendmmsg
  static constexpr size_t kMaxQuerySize = 4096;  // larger datagrams are dropped (MSG_TRUNC)

  UdpListener(Stub::Impl& impl, asio::ip::udp::socket socket);
  void start();
  void close();
  // Queues one answer; the queue leaves at the end of the loop turn (non-blocking). A full
  // socket buffer drops what does not fit, as for any UDP server, and the client retries.
  void send(std::span<const uint8_t> message, const asio::ip::udp::endpoint& to);

 private:
  void wait();
  void onReadable(const std::error_code& ec);
  void flush();

  Stub::Impl* impl_;
  asio::ip::udp::socket socket_;
  std::vector<uint8_t> rxData_;  // kBatch buffers of kMaxQuerySize
  std::array<mmsghdr, kBatch> rx_{};
  std::array<iovec, kBatch> rxIov_{};
  std::array<sockaddr_storage, kBatch> rxFrom_{};
  struct Outgoing {
    size_t offset = 0;
    size_t size = 0;
    asio::ip::udp::endpoint to;
  };
  std::vector<uint8_t> txData_;
  std::vector<Outgoing> tx_;
  std::vector<mmsghdr> txMsgs_;
  std::vector<iovec> txIov_;
  bool flushQueued_ = false;
  bool closed_ = false;
};

class TcpListener : public std::enable_shared_from_this<TcpListener> {
 public:
  TcpListener(Stub::Impl& impl, asio::ip::tcp::acceptor acceptor);
  void start();
  void close();

 private:
  void accept();

  Stub::Impl* impl_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  bool closed_ = false;
};

class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  TcpConnection(Stub::Impl& impl, asio::ip::tcp::socket socket);
  void start();
  void close();
  bool closed() const { return closed_; }

  // One answer for a query read from this connection: length prefix and message are
  // queued together and go out in one write (several, when they pile up meanwhile).
  void send(std::span<const uint8_t> message);
  // A query read from this connection that gets no answer (dropped).
  void finishWithoutAnswer();

 private:
  void read();
  void onRead(const std::error_code& ec, size_t n);
  void drain();
  void flush();
  void queryDone();
  void armIdle();

  Stub::Impl* impl_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer idle_;
  std::vector<uint8_t> in_;
  size_t inUsed_ = 0;
  std::vector<uint8_t> outbox_;
  std::vector<uint8_t> writing_;
  size_t open_ = 0;  // queries read and not yet answered
  bool reading_ = false;
  bool parsing_ = false;
  bool writeActive_ = false;
  bool closed_ = false;
  std::chrono::steady_clock::time_point lastActivity_;
};

}  // namespace ztdns::resolver
