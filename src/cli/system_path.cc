#include "cli/system_path.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "common/c_ptr.h"
#include "common/unique_fd.h"

namespace ztdns::cli {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

LookupOutcome lookupName(const std::string& name, std::chrono::milliseconds timeout) {
  // getaddrinfo() cannot be cancelled: run it on a thread of its own and stop waiting at
  // the timeout (the thread then ends by itself, holding only shared state).
  struct Shared {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    LookupOutcome outcome;
  };
  auto shared = std::make_shared<Shared>();
  auto start = Clock::now();
  std::thread([shared, name, start] {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* raw = nullptr;
    int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &raw);
    CPtr<addrinfo, freeaddrinfo> list(raw);
    LookupOutcome o;
    o.ms = msSince(start);
    if (rc != 0) {
      o.gaiError = rc;
      o.error =
          rc == EAI_SYSTEM ? std::string(std::strerror(errno)) : std::string(gai_strerror(rc));
    } else {
      o.ok = true;
      for (addrinfo* ai = list.get(); ai; ai = ai->ai_next) {
        auto a = IpAddress::fromSockaddr(ai->ai_addr);
        if (a &&
            std::find(o.addresses.begin(), o.addresses.end(), a->unmapped()) == o.addresses.end()) {
          o.addresses.push_back(a->unmapped());
        }
      }
    }
    std::lock_guard lock(shared->mutex);
    shared->outcome = std::move(o);
    shared->done = true;
    shared->cv.notify_all();
  }).detach();
  std::unique_lock lock(shared->mutex);
  if (!shared->cv.wait_for(lock, timeout, [&] { return shared->done; })) {
    LookupOutcome o;
    o.timedOut = true;
    o.error = "no answer within " + std::to_string(timeout.count() / 1000) + " s";
    o.ms = msSince(start);
    return o;
  }
  return shared->outcome;
}

ConnectOutcome connectTcp(const Endpoint& endpoint, std::chrono::milliseconds timeout) {
  ConnectOutcome o;
  o.endpoint = endpoint;
  auto start = Clock::now();
  sockaddr_storage ss{};
  socklen_t len = 0;
  endpoint.address.toSockaddr(endpoint.port, ss, len);
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    o.error = errno;
    o.words = std::string("socket: ") + std::strerror(o.error);
    return o;
  }
  int rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len);
  int err = rc == 0 ? 0 : errno;
  if (rc != 0 && err == EINPROGRESS) {
    pollfd p{fd.get(), POLLOUT, 0};
    int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r == 0) {
      err = ETIMEDOUT;
    } else {
      socklen_t elen = sizeof err;
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &elen);
    }
  }
  o.ms = msSince(start);
  o.error = err;
  o.ok = err == 0;
  if (!o.ok) o.words = err == ETIMEDOUT ? "no answer (timeout)" : std::strerror(err);
  return o;
}

}  // namespace ztdns::cli
