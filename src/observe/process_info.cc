#include "observe/process_info.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/unique_fd.h"

namespace ztdns::observe {

namespace {

std::optional<std::string> readSmallFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  std::string out;
  std::array<char, 4096> buf;
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    out.append(buf.data(), static_cast<size_t>(n));
    if (out.size() > (1u << 20)) break;
  }
  return out;
}

bool isUnitName(std::string_view c) {
  static const char* kSuffixes[] = {".service", ".scope", ".socket", ".mount",  ".swap",
                                    ".timer",   ".path",  ".device", ".target", ".automount"};
  for (const char* s : kSuffixes) {
    std::string_view suffix(s);
    if (c.size() > suffix.size() && c.substr(c.size() - suffix.size()) == suffix) return true;
  }
  return false;
}

}  // namespace

std::optional<uint64_t> procStartTicks(uint32_t pid, const std::string& procRoot) {
  auto text = readSmallFile(procRoot + "/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  // comm may hold spaces and parentheses: fields restart after the last ')'.
  auto close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(text->substr(close + 1));
  std::string field;
  // After ')' come fields 3.. ; starttime is field 22.
  for (int i = 3; i <= 22; ++i) {
    if (!(in >> field)) return std::nullopt;
  }
  try {
    return std::stoull(field);
  } catch (...) {
    return std::nullopt;
  }
}

uint64_t ticksFromBoottimeNs(uint64_t ns) {
  static const long hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
  return ns / (1000000000ull / static_cast<uint64_t>(hz));
}

std::optional<std::string> procCgroupV2Path(uint32_t pid, const std::string& procRoot) {
  auto text = readSmallFile(procRoot + "/" + std::to_string(pid) + "/cgroup");
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return std::nullopt;
}

std::string unitFromCgroupPath(std::string_view path) {
  std::string_view rest = path;
  while (!rest.empty()) {
    while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    auto slash = rest.find('/');
    std::string_view component = rest.substr(0, slash);
    if (component.empty()) break;
    bool slice = component.size() > 6 && component.substr(component.size() - 6) == ".slice";
    if (!slice) {
      if (isUnitName(component)) return std::string(component);
      break;  // a non-unit directory before any unit: not a systemd-managed cgroup
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash);
  }
  return path.empty() ? std::string("/") : std::string(path);
}

std::string findCgroup2Mount(const std::string& mountinfoPath) {
  std::ifstream in(mountinfoPath);
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superopts
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, devs, root, mountPoint;
    head >> id >> parent >> devs >> root >> mountPoint;
    if (root == "/") return mountPoint;
  }
  return "";
}

CgroupPaths::CgroupPaths(std::string mountPoint, size_t maxEntries)
    : mount_(std::move(mountPoint)), maxEntries_(maxEntries) {}

std::optional<std::string> CgroupPaths::pathFor(uint64_t id) {
  if (mount_.empty() || id == 0) return std::nullopt;
  if (auto it = cache_.find(id); it != cache_.end()) return it->second;
  auto path = byHandle(id);
  if (!path) {
    // The walk costs a directory scan; at most once a second.
    auto now = std::chrono::steady_clock::now();
    if (now - lastScan_ >= std::chrono::seconds(1)) {
      lastScan_ = now;
      rescan();
      if (auto it = cache_.find(id); it != cache_.end()) return it->second;
    }
    return std::nullopt;
  }
  if (cache_.size() >= maxEntries_) cache_.clear();
  cache_.emplace(id, *path);
  return path;
}

std::optional<std::string> CgroupPaths::byHandle(uint64_t id) {
  UniqueFd mountFd(::open(mount_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!mountFd.valid()) return std::nullopt;
  alignas(file_handle) unsigned char storage[sizeof(file_handle) + sizeof(uint64_t)] = {};
  auto* handle = reinterpret_cast<file_handle*>(storage);
  handle->handle_bytes = sizeof(uint64_t);
  handle->handle_type = 0xfe;  // FILEID_KERNFS: the cgroup id is the kernfs node id
  std::memcpy(storage + sizeof(file_handle), &id, sizeof id);
  UniqueFd dir(::open_by_handle_at(mountFd.get(), handle, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return std::nullopt;
  std::array<char, 4096> buf;
  std::string link = "/proc/self/fd/" + std::to_string(dir.get());
  ssize_t n = ::readlink(link.c_str(), buf.data(), buf.size() - 1);
  if (n <= 0) return std::nullopt;
  std::string full(buf.data(), static_cast<size_t>(n));
  if (full == mount_) return std::string("/");
  if (full.rfind(mount_ + "/", 0) != 0) return std::nullopt;
  return full.substr(mount_.size());
}

void CgroupPaths::rescan() {
  namespace fs = std::filesystem;
  std::error_code ec;
  struct stat st {};
  if (::stat(mount_.c_str(), &st) == 0 && cache_.size() < maxEntries_) cache_[st.st_ino] = "/";
  fs::recursive_directory_iterator it(mount_, fs::directory_options::skip_permission_denied, ec);
  size_t visited = 0;
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (++visited > maxEntries_ * 4) break;
    if (!it->is_directory(ec)) continue;
    if (::stat(it->path().c_str(), &st) != 0) continue;
    if (cache_.size() >= maxEntries_) break;
    cache_[st.st_ino] = it->path().string().substr(mount_.size());
  }
}

dev_t userDevFromKernel(uint32_t kernelDev) {
  return makedev(kernelDev >> 20, kernelDev & 0xfffff);
}

ExecutableResolver::ExecutableResolver(std::string procRoot, size_t cacheEntries)
    : procRoot_(std::move(procRoot)), cacheEntries_(cacheEntries) {}

bool ExecutableResolver::matchesInode(const std::string& path, uint64_t ino,
                                      uint32_t devKernel) const {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  return st.st_ino == ino && st.st_dev == userDevFromKernel(devKernel);
}

void ExecutableResolver::remember(const Key& key, const std::string& path) {
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.emplace_front(key, path);
  index_[key] = lru_.begin();
  while (lru_.size() > cacheEntries_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

std::string ExecutableResolver::resolve(const TaskIdentity& task) {
  if (task.exeIno != 0) {
    Key key{task.exeIno, task.exeDevKernel};
    if (auto it = index_.find(key); it != index_.end()) {
      // A cached path is re-checked: the file may have been renamed or replaced.
      if (matchesInode(it->second->second, key.ino, key.dev)) {
        lru_.splice(lru_.begin(), lru_, it->second);
        return it->second->second;
      }
      lru_.erase(it->second);
      index_.erase(it);
    }
    if (!task.exeWalk.empty() && matchesInode(task.exeWalk, key.ino, key.dev)) {
      remember(key, task.exeWalk);
      return task.exeWalk;
    }
  }
  // The walk did not confirm (another mount namespace, a deleted file): /proc, if the
  // process is still the one that sent.
  if (task.pid) {
    auto ticks = ticksFromBoottimeNs(task.startBoottimeNs);
    if (auto path = fromProc(*task.pid, ticks)) {
      if (task.exeIno == 0 || matchesInode(*path, task.exeIno, task.exeDevKernel)) return *path;
    }
  }
  return "";
}

std::optional<std::string> ExecutableResolver::fromProc(uint32_t pid,
                                                        std::optional<uint64_t> startTicks) {
  std::string base = procRoot_ + "/" + std::to_string(pid);
  auto before = procStartTicks(pid, procRoot_);
  if (!before || (startTicks && *before != *startTicks)) return std::nullopt;
  std::array<char, 4096> buf;
  ssize_t n = ::readlink((base + "/exe").c_str(), buf.data(), buf.size() - 1);
  if (n <= 0) return std::nullopt;
  // Read the start time again: the pid must not have been reused while we read the link.
  auto after = procStartTicks(pid, procRoot_);
  if (!after || *after != *before) return std::nullopt;
  std::string path(buf.data(), static_cast<size_t>(n));
  static const std::string kDeleted = " (deleted)";
  if (path.size() > kDeleted.size() &&
      path.compare(path.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0) {
    return std::nullopt;  // the file is gone; the name may now belong to another file
  }
  return path;
}

}  // namespace ztdns::observe
