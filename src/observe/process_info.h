// What the kernel told us about a sending task, and turning it into a verified process:
// executable path (checked against the inode the kernel saw, or /proc with the process
// start time), and the systemd unit or cgroup path.
//
// Rule: never name a different process. Every path we report is either the kernel's own
// walk of mm->exe_file confirmed by (device, inode), or /proc/<pid>/exe of a process whose
// start time equals the one the kernel recorded; anything else stays unknown.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ztdns::observe {

// The sender as seen by the kernel at the moment the packet was produced.
struct TaskIdentity {
  std::optional<uint32_t> pid;   // in our pid namespace; unset when not visible there
  uint32_t hostPid = 0;          // in the initial pid namespace
  uint64_t startBoottimeNs = 0;  // process start, CLOCK_BOOTTIME
  std::optional<uint32_t> uid;
  uint64_t cgroupId = 0;  // cgroup v2 id; 0 when unknown
  std::string comm;
  std::string exeWalk;  // the kernel-side path walk; unverified
  uint64_t exeIno = 0;
  uint32_t exeDevKernel = 0;  // kernel dev_t encoding (major << 20 | minor)
};

// Start time of /proc/<pid> in clock ticks since boot (field 22 of stat), or nullopt.
std::optional<uint64_t> procStartTicks(uint32_t pid, const std::string& procRoot = "/proc");

// Clock ticks as /proc reports them for a CLOCK_BOOTTIME nanosecond value.
uint64_t ticksFromBoottimeNs(uint64_t ns);

// The cgroup v2 path of /proc/<pid>/cgroup ("0::/system.slice/x.service"), or nullopt.
std::optional<std::string> procCgroupV2Path(uint32_t pid, const std::string& procRoot = "/proc");

// systemd's rule: skip *.slice components, the first unit-like component is the unit
// ("/system.slice/nginx.service" -> "nginx.service"). No unit: the cgroup path itself.
std::string unitFromCgroupPath(std::string_view path);

// The cgroup2 mount point from /proc/self/mountinfo ("/sys/fs/cgroup" or, on hybrid
// systems, "/sys/fs/cgroup/unified"); empty when there is none.
std::string findCgroup2Mount(const std::string& mountinfoPath = "/proc/self/mountinfo");

// cgroup v2 id -> path relative to the cgroup2 root, via open_by_handle_at (the id is the
// kernfs file handle), falling back to a bounded directory walk. Cached; not thread-safe.
class CgroupPaths {
 public:
  explicit CgroupPaths(std::string mountPoint = findCgroup2Mount(), size_t maxEntries = 4096);
  std::optional<std::string> pathFor(uint64_t id);
  const std::string& mountPoint() const { return mount_; }

 private:
  std::optional<std::string> byHandle(uint64_t id);
  void rescan();

  std::string mount_;
  size_t maxEntries_;
  std::unordered_map<uint64_t, std::string> cache_;
  std::chrono::steady_clock::time_point lastScan_{};
};

// Executable paths, verified. Not thread-safe (the observe thread owns it).
class ExecutableResolver {
 public:
  explicit ExecutableResolver(std::string procRoot = "/proc", size_t cacheEntries = 1024);

  // The path of the task's executable, or empty when it cannot be confirmed.
  std::string resolve(const TaskIdentity& task);

  // /proc/<pid>/exe, only when the process started at `startTicks` (pid reuse check).
  std::optional<std::string> fromProc(uint32_t pid, std::optional<uint64_t> startTicks);

 private:
  struct Key {
    uint64_t ino;
    uint32_t dev;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept { return k.ino * 1000003u ^ k.dev; }
  };
  bool matchesInode(const std::string& path, uint64_t ino, uint32_t devKernel) const;
  void remember(const Key& key, const std::string& path);

  std::string procRoot_;
  size_t cacheEntries_;
  std::list<std::pair<Key, std::string>> lru_;
  std::unordered_map<Key, std::list<std::pair<Key, std::string>>::iterator, KeyHash> index_;
};

// Kernel dev_t (major << 20 | minor) as userspace's st_dev.
dev_t userDevFromKernel(uint32_t kernelDev);

}  // namespace ztdns::observe
