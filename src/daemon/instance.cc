#include "daemon/instance.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
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

}  // namespace

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
