// Server::Core: what the control thread's connections share with the Server (internal).
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <optional>

#include "control/handler.h"
#include "control/server.h"

namespace ztdns::control {

class Session;

struct Server::Core : std::enable_shared_from_this<Server::Core> {
  Core(ServerOptions o, Handler& h) : options(std::move(o)), handler(h) {}

  ServerOptions options;
  Handler& handler;
  asio::io_context io;
  asio::local::stream_protocol::acceptor acceptor{io};
  asio::steady_timer acceptRetry{io};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::optional<gid_t> readGroup;
  dev_t socketDev = 0;  // the socket file we created, to remove only that one
  ino_t socketIno = 0;

  // Control thread only.
  std::list<std::weak_ptr<Session>> sessions;
  size_t active = 0;
  bool stopping = false;

  std::atomic<uint64_t> connections{0}, requests{0}, refused{0}, badRequests{0}, timeouts{0};

  // Runs `fn` on the control thread; dropped when the Server is gone.
  static void postTo(const std::weak_ptr<Core>& weak, std::function<void()> fn);
};

}  // namespace ztdns::control
