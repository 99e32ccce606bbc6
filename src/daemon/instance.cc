#include "daemon/instance.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>

namespace ztdns::daemon {

namespace {

Status makeDir(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Error{path + ": cannot create directory: " + ec.message(), ec.value()};
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Error::fromErrno(path, errno);
  if (!S_ISDIR(st.st_mode)) return Error{path + ": not a directory"};
  // Tighten only: an administrator may have made it stricter already.
  if ((st.st_mode & 07777 & ~mode) != 0 && ::chmod(path.c_str(), st.st_mode & mode) != 0) {
    return Error::fromErrno(path + ": chmod", errno);
  }
  return okStatus();
}

sockaddr_un abstractAddress(std::string_view name, socklen_t& len) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  size_t n = std::min(name.size(), sizeof a.sun_path - 1);
  std::memcpy(a.sun_path + 1, name.data(), n);  // sun_path[0] = 0: the abstract namespace
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
  return a;
}

// The pid of the process listening on the abstract name, as this pid namespace sees it.
Result<pid_t> holderOf(std::string_view name) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Error::fromErrno("socket", errno);
  socklen_t len = 0;
  sockaddr_un a = abstractAddress(name, len);
  // A Unix stream connect completes as soon as the listener queues it: no accept needed.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), len) != 0)
    return Error::fromErrno("connect", errno);
  ucred cred{};
  socklen_t credLen = sizeof cred;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &credLen) != 0)
    return Error::fromErrno("SO_PEERCRED", errno);
  if (cred.pid <= 0) return Error{"its pid is outside this pid namespace"};
  return cred.pid;
}

}  // namespace

Result<UniqueFd> Instance::claimNetworkNamespace(std::string_view name) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Error::fromErrno("claiming the network namespace: socket", errno);
  socklen_t len = 0;
  sockaddr_un a = abstractAddress(name, len);
  std::string shown = "@" + std::string(name);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), len) != 0) {
    int err = errno;
    if (err != EADDRINUSE) {
      return Error::fromErrno("claiming the network namespace: bind " + shown, err);
    }
    auto holder = holderOf(name);
    std::string who = holder ? "another ztdnsd (pid " + std::to_string(*holder) + ")"
                             : "another ztdnsd (pid unknown: " + holder.error().message + ")";
    return Error{who +
                 " already runs in this network namespace; only one ztdnsd may own "
                 "table inet ztdns in a network namespace (the running one holds the "
                 "abstract socket " +
                 shown + "); stop it first, or run this one in another network namespace"};
  }
  if (::listen(fd.get(), 16) != 0) {
    return Error::fromErrno("claiming the network namespace: listen on " + shown, errno);
  }
  return fd;
}

Result<Instance> Instance::acquire(const std::string& runDir, const std::string& stateDir,
                                   const std::string& logDir) {
  for (auto [dir, mode] : {std::pair{runDir, 0755}, {stateDir, 0700}, {logDir, 0750}}) {
    if (auto st = makeDir(dir, static_cast<mode_t>(mode)); !st) return st.error();
  }
  std::string lockPath = runDir + "/ztdnsd.lock";
  UniqueFd fd(::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return Error::fromErrno(lockPath, errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {};
    ssize_t n = ::pread(fd.get(), holder, sizeof holder - 1, 0);
    std::string pid = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "unknown";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Error{"another ztdnsd (pid " + pid + ") already uses run directory " + runDir};
  }
  // The run directory is ours; now the namespace (its table inet ztdns), then the pid.
  auto claim = claimNetworkNamespace();
  if (!claim) return claim.error();
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return Error::fromErrno(lockPath + ": write pid", errno);
  }
  Instance instance;
  instance.runDir_ = runDir;
  instance.stateDir_ = stateDir;
  instance.logDir_ = logDir;
  instance.lock_ = std::move(fd);
  instance.claim_ = std::move(*claim);
  return instance;
}

void notifyReady(const std::string& status) {
  sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%d", status.c_str(), static_cast<int>(::getpid()));
}

void notifyStopping() {
  sd_notify(0, "STOPPING=1");
}

void notifyStatus(const std::string& status) {
  sd_notifyf(0, "STATUS=%s", status.c_str());
}

}  // namespace ztdns::daemon
