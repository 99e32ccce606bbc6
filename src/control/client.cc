#include "control/client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace ztdns::control {

namespace {

using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

Error unavailable(std::string message) {
  return makeError(ErrorCode::kUnavailable, std::move(message));
}

std::string seconds(std::chrono::milliseconds ms) {
  auto s = ms.count() / 1000.0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

}  // namespace

Result<Client> Client::connect(const std::string& socketPath, std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  if (socketPath.empty() || socketPath.size() >= sizeof addr.sun_path) {
    return unavailable("control socket path \"" + socketPath + "\" is empty or too long");
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid())
    return unavailable(std::string("cannot create a socket: ") + std::strerror(errno));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socketPath.data(), socketPath.size());
  auto deadline = Clock::now() + timeout;
  while (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN) {
      // The daemon's backlog is full: retry until the deadline.
      if (Clock::now() >= deadline) {
        return unavailable("ztdnsd did not accept the connection on " + socketPath + " within " +
                           seconds(timeout) + " s");
      }
      ::poll(nullptr, 0, 10);
      continue;
    }
    switch (err) {
      case ENOENT:
        return unavailable("cannot reach ztdnsd: there is no control socket at " + socketPath +
                           " (is ztdnsd running? --socket or ZTDNS_SOCKET name another one)");
      case ECONNREFUSED: {
        // connect() says "refused" for a regular file or a directory too.
        struct stat st {};
        if (::stat(socketPath.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
          const char* what = S_ISDIR(st.st_mode)   ? " (it is a directory)"
                             : S_ISREG(st.st_mode) ? " (it is a regular file)"
                                                   : "";
          return unavailable("cannot reach ztdnsd: " + socketPath + " is not a socket" + what +
                             "; --socket or ZTDNS_SOCKET must name ztdnsd's control socket, "
                             "<run-dir>/control.sock");
        }
        return unavailable("cannot reach ztdnsd: nothing answers on " + socketPath +
                           " (is ztdnsd running?)");
      }
      case ENOTDIR:
        return unavailable("cannot reach ztdnsd: there is no control socket at " + socketPath +
                           " (a part of the path is not a directory; --socket or ZTDNS_SOCKET "
                           "name another one)");
      case EACCES:
      case EPERM:
        return makeError(ErrorCode::kPermissionDenied,
                         "permission denied on " + socketPath +
                             ": ztdns needs root, CAP_NET_ADMIN or membership of group ztdns");
      default:
        return unavailable("cannot connect to " + socketPath + ": " + std::strerror(err));
    }
  }
  return Client(std::move(fd), socketPath);
}

Status Client::sendAll(const std::string& data, Clock::time_point deadline) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd_.get(), data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_.get(), POLLOUT, 0};
      int r = ::poll(&p, 1, remainingMs(deadline));
      if (r == 0) return unavailable("ztdnsd did not take the request in time");
      if (r < 0 && errno != EINTR) return unavailable(std::string("poll: ") + std::strerror(errno));
      continue;
    }
    return unavailable(std::string("cannot send to ztdnsd: ") + std::strerror(errno));
  }
  return okStatus();
}

Result<std::string> Client::readLine(Clock::time_point deadline) {
  while (true) {
    size_t nl = pending_.find('\n');
    if (nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    if (pending_.size() > kMaxResponseBytes) {
      return unavailable("ztdnsd's answer is larger than " + std::to_string(kMaxResponseBytes) +
                         " bytes");
    }
    pollfd p{fd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, remainingMs(deadline));
    if (r == 0) return makeError(ErrorCode::kTimeout, "timeout");
    if (r < 0) {
      if (errno == EINTR) continue;
      return unavailable(std::string("poll: ") + std::strerror(errno));
    }
    char buf[65536];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n == 0) return unavailable("ztdnsd closed the connection without an answer");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return unavailable(std::string("cannot read from ztdnsd: ") + std::strerror(errno));
    }
    pending_.append(buf, static_cast<size_t>(n));
  }
}

Result<nlohmann::json> Client::call(Method method, const nlohmann::json& params,
                                    std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  lastWarnings_.clear();
  Request request;
  request.id = nextId_++;
  request.method = method;
  request.params = params;
  if (Status s = sendAll(encodeRequest(request) + "\n", deadline); !s) return s.error();
  while (true) {
    auto line = readLine(deadline);
    if (!line) {
      if (errorCodeOf(line.error()) == ErrorCode::kTimeout) {
        return makeError(ErrorCode::kTimeout, std::string("ztdnsd did not answer ") +
                                                  methodName(method) + " within " +
                                                  seconds(timeout) + " s");
      }
      return line.error();
    }
    auto response = decodeResponse(*line);
    if (!response) return unavailable(response.error().message);
    if (response->id && *response->id != request.id) continue;  // an answer to an older request
    if (!response->ok) return makeError(response->code, response->error);
    lastWarnings_ = std::move(response->warnings);
    return std::move(response->result);
  }
}

}  // namespace ztdns::control
