// saveConfigAtomic: the file on disk is always the old config or the new one, never a torn
// mix, even if the machine loses power mid-save.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "common/unique_fd.h"
#include "config/config.h"

namespace ztdns::config {
namespace {

Status writeAll(int fd, const std::string& data, const std::string& what) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::fromErrno("cannot write " + what, errno);
    done += static_cast<size_t>(n);
  }
  return okStatus();
}

// Removes the temp file on every failure path; disarmed once it has been renamed.
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  ~TempFileGuard() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  void disarm() { path_.clear(); }

 private:
  std::string path_;
};

// A config file that is a symlink (config management keeps the real file elsewhere) is
// saved through the link: the rename replaces the target, and the link stays a link.
Result<std::string> throughSymlinks(const std::string& path) {
  std::string at = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st {};
    if (::lstat(at.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return at;
    std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 4096), '\0');
    ssize_t n = ::readlink(at.c_str(), target.data(), target.size());
    if (n < 0) return Error::fromErrno("cannot read the symlink " + at, errno);
    target.resize(static_cast<size_t>(n));
    if (target.empty() || target[0] != '/') {
      auto slash = at.rfind('/');
      target = (slash == std::string::npos ? std::string() : at.substr(0, slash + 1)) + target;
    }
    at = target;
  }
  return Error{"cannot save to \"" + path + "\": too many levels of symbolic links"};
}

}  // namespace

Status saveConfigAtomic(const std::string& givenPath, const Config& config,
                        std::string* savedDigest) {
  if (givenPath.empty() || givenPath.back() == '/')
    return Error{"cannot save to \"" + givenPath + "\": not a file path"};
  auto resolved = throughSymlinks(givenPath);
  if (!resolved) return resolved.error();
  const std::string& path = *resolved;
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);

  const std::string text = formatConfig(config);
  if (text.size() > kMaxConfigFileBytes) {
    return Error{"the configuration would be " + std::to_string(text.size()) +
                 " bytes, more than the " + std::to_string(kMaxConfigFileBytes >> 20) +
                 " MiB ztdnsd reads from a configuration file"};
  }

  // Same directory, so that rename() is atomic; mkostemp creates it 0600 and O_EXCL.
  std::string tmpl = (dir == "/" ? "" : dir) + "/." + base + ".tmp.XXXXXX";
  UniqueFd fd(::mkostemp(tmpl.data(), O_CLOEXEC));
  if (!fd.valid()) return Error::fromErrno("cannot create a temporary file in " + dir, errno);
  TempFileGuard guard(tmpl);

  // Certificate paths and the exemption list are sensitive: owner only, whatever the umask.
  if (::fchmod(fd.get(), 0600) != 0)
    return Error::fromErrno("cannot set mode 0600 on " + tmpl, errno);
  if (auto s = writeAll(fd.get(), text, tmpl); !s) return s;
  if (::fsync(fd.get()) != 0) return Error::fromErrno("cannot fsync " + tmpl, errno);
  if (::close(fd.release()) != 0) return Error::fromErrno("cannot close " + tmpl, errno);

  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    return Error::fromErrno("cannot rename " + tmpl + " to " + path, errno);
  }
  guard.disarm();
  if (savedDigest) *savedDigest = contentDigest(text);

  // The rename is durable only once the directory entry is on disk.
  UniqueFd dirFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirFd.valid())
    return Error::fromErrno("saved " + path + " but cannot open " + dir + " to fsync it", errno);
  if (::fsync(dirFd.get()) != 0) {
    return Error::fromErrno("saved " + path + " but cannot fsync " + dir, errno);
  }
  return okStatus();
}

}  // namespace ztdns::config
