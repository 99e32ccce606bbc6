// control::Server: the control socket of ztdnsd.
//
// A Unix stream socket (<run-dir>/control.sock), mode 0660 owned by root:ztdns when the
// ztdns group exists (else 0600), served by its own io_context on its own thread (the
// control thread). Each connection carries newline-delimited JSON requests, answered in
// order (codec.h). The peer is identified once per connection (peer_credentials.h) and
// every request is authorized before the Handler sees it.
//
// A bad client never hurts the daemon: requests are bounded (kMaxRequestBytes), idle and
// slow connections time out, the number of connections is capped, handler exceptions and
// handlers that never reply are turned into failed answers.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/result.h"
#include "control/handler.h"
#include "control/protocol.h"

namespace ztdns::control {

struct ServerOptions {
  std::string socketPath;                         // socketPathForRunDir(runDir)
  std::string readGroupName = kReadGroupName;     // its members may read
  std::optional<gid_t> readGroup;                 // resolved from the name when unset
  std::optional<mode_t> socketMode;               // default 0660 (group) or 0600
  std::chrono::milliseconds idleTimeout{30000};   // between requests, and to read one
  std::chrono::milliseconds writeTimeout{30000};  // to send one answer
  std::chrono::milliseconds handlerTimeout{120000};
  size_t maxConnections = 32;
  size_t maxRequestBytes = kMaxRequestBytes;
};

class Server {
 public:
  // Binds the socket (replacing a stale one, refusing when another daemon answers on it),
  // sets its owner and mode, and starts the control thread. `handler` must outlive the
  // Server.
  static Result<std::unique_ptr<Server>> start(ServerOptions options, Handler& handler);

  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Closes the listener and every connection, joins the thread, removes the socket file.
  void stop();

  const std::string& socketPath() const;
  // The control thread's loop, for the daemon's own control-plane work (asio::post).
  asio::io_context& context();

  struct Counters {
    uint64_t connections = 0;
    uint64_t requests = 0;
    uint64_t refused = 0;      // permission denied
    uint64_t badRequests = 0;  // undecodable, too large, invalid params
    uint64_t timeouts = 0;     // idle/write/handler timeouts
  };
  Counters counters() const;

  struct Core;  // shared with connections and pending replies

 private:
  explicit Server(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
  std::thread thread_;
};

}  // namespace ztdns::control
