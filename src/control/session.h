// Session: one control connection. Reads a request line, authorizes it, dispatches it,
// writes the answer, and repeats; closes on EOF, a too-large request, or a timeout.
// Lives on the control thread; kept alive by its pending asio operations.
#pragma once

#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "control/dispatcher.h"
#include "control/handler.h"
#include "control/server_core.h"

namespace ztdns::control {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Server::Core> core, asio::local::stream_protocol::socket socket);
  ~Session();

  void start();
  void close();

 private:
  void readNext();
  void onRead(const asio::error_code& ec, size_t bytes);
  void handleLine(std::string_view line);
  void answer(std::string line, bool closeAfter = false);
  void armIoTimer(std::chrono::milliseconds timeout);

  std::shared_ptr<Server::Core> core_;
  asio::local::stream_protocol::socket socket_;
  asio::streambuf buffer_;
  asio::steady_timer ioTimer_;
  asio::steady_timer handlerTimer_;
  Dispatcher dispatcher_;
  Peer peer_;
  uint64_t pending_ = 0;  // generation of the request being handled; 0 when none
  uint64_t generation_ = 0;
  bool closed_ = false;
  std::string out_;
};

}  // namespace ztdns::control
