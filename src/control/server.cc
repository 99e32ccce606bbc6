#include "control/server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"
#include "control/codec.h"
#include "control/peer_credentials.h"
#include "control/server_core.h"
#include "control/session.h"

namespace ztdns::control {

namespace {

using asio::local::stream_protocol;

// Whether a live server answers on `path` (then it is not ours to replace).
bool someoneListens(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

void acceptNext(const std::shared_ptr<Server::Core>& core) {
  core->acceptor.async_accept([core](const asio::error_code& ec, stream_protocol::socket socket) {
    if (core->stopping || !core->acceptor.is_open()) return;
    if (ec) {
      // EMFILE and friends: try again shortly rather than spinning.
      core->acceptRetry.expires_after(std::chrono::milliseconds(100));
      core->acceptRetry.async_wait([core](const asio::error_code& e) {
        if (!e && !core->stopping) acceptNext(core);
      });
      return;
    }
    {
      ++core->connections;
      if (core->active >= core->options.maxConnections) {
        // Best effort, never blocking: tell the client why, then hang up.
        std::string busy =
            encodeFailure(std::nullopt,
                          makeError(ErrorCode::kBusy,
                                    "ztdnsd is serving too many control connections; try again")) +
            "\n";
        (void)::send(socket.native_handle(), busy.data(), busy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      } else {
        auto session = std::make_shared<Session>(core, std::move(socket));
        core->sessions.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
        core->sessions.push_back(session);
        session->start();
      }
    }
    acceptNext(core);
  });
}

}  // namespace

void Server::Core::postTo(const std::weak_ptr<Core>& weak, std::function<void()> fn) {
  if (auto core = weak.lock()) asio::post(core->io, std::move(fn));
}

Result<std::unique_ptr<Server>> Server::start(ServerOptions options, Handler& handler) {
  if (options.socketPath.empty()) return Error{"control socket: no path given"};
  if (options.socketPath.size() >= sizeof(sockaddr_un::sun_path)) {
    return Error{"control socket: path " + options.socketPath + " is too long for a Unix socket"};
  }
  auto core = std::make_shared<Core>(options, handler);
  core->readGroup = options.readGroup ? options.readGroup : groupIdByName(options.readGroupName);
  const std::string& path = options.socketPath;

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return Error{"control socket: " + path + " exists and is not a socket"};
    if (someoneListens(path))
      return Error{"control socket: another ztdnsd already answers on " + path};
    ::unlink(path.c_str());
  }

  asio::error_code ec;
  core->acceptor.open(stream_protocol(), ec);
  if (!ec) core->acceptor.bind(stream_protocol::endpoint(path), ec);
  if (ec) return Error{"control socket: cannot bind " + path + ": " + ec.message(), ec.value()};
  // Owner and mode before listen(): until then, connects are refused.
  mode_t mode = options.socketMode.value_or(core->readGroup ? 0660 : 0600);
  if (::chown(path.c_str(), ::geteuid(), core->readGroup.value_or(::getegid())) != 0 ||
      ::chmod(path.c_str(), mode) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return Error::fromErrno("control socket: cannot set owner and mode of " + path, err);
  }
  if (::stat(path.c_str(), &st) == 0) {
    core->socketDev = st.st_dev;
    core->socketIno = st.st_ino;
  }
  core->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    ::unlink(path.c_str());
    return Error{"control socket: cannot listen on " + path + ": " + ec.message(), ec.value()};
  }

  std::unique_ptr<Server> server(new Server(core));
  acceptNext(core);
  core->guard.emplace(core->io.get_executor());
  server->thread_ = std::thread([core] { core->io.run(); });
  return server;
}

Server::Server(std::shared_ptr<Core> core) : core_(std::move(core)) {}

Server::~Server() {
  stop();
}

void Server::stop() {
  if (!thread_.joinable()) return;
  asio::post(core_->io, [core = core_] {
    core->stopping = true;
    asio::error_code ignored;
    core->acceptor.close(ignored);
    core->acceptRetry.cancel();
    for (auto& weak : core->sessions)
      if (auto s = weak.lock()) s->close();
    core->sessions.clear();
    core->guard.reset();
    core->io.stop();
  });
  thread_.join();
  // Run what the closes made ready (aborted reads and timers that hold connections), so
  // that every connection is gone before the Server is.
  core_->io.restart();
  while (core_->io.poll() > 0) {
  }
  struct stat st {};
  const std::string& path = core_->options.socketPath;
  if (::stat(path.c_str(), &st) == 0 && st.st_dev == core_->socketDev &&
      st.st_ino == core_->socketIno) {
    ::unlink(path.c_str());
  }
}

const std::string& Server::socketPath() const {
  return core_->options.socketPath;
}

asio::io_context& Server::context() {
  return core_->io;
}

Server::Counters Server::counters() const {
  return Counters{core_->connections.load(), core_->requests.load(), core_->refused.load(),
                  core_->badRequests.load(), core_->timeouts.load()};
}

}  // namespace ztdns::control
