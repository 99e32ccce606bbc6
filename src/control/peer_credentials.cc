#include "control/peer_credentials.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <vector>

#include "common/unique_fd.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

namespace ztdns::control {

namespace {

std::optional<std::string> readSmallFileAt(int dirfd, const char* name) {
  UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  std::string out;
  char buf[4096];
  while (out.size() < (1 << 16)) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string_view fieldLine(std::string_view status, std::string_view key) {
  size_t pos = 0;
  while (pos < status.size()) {
    size_t end = status.find('\n', pos);
    std::string_view line =
        status.substr(pos, end == std::string_view::npos ? status.npos : end - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      line.remove_prefix(key.size() + 1);
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      return line;
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return {};
}

bool sameUserNamespace(int procDirFd) {
  struct stat mine {
  }, theirs{};
  if (::stat("/proc/self/ns/user", &mine) != 0) return false;
  if (::fstatat(procDirFd, "ns/user", &theirs, 0) != 0) return false;
  return mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino;
}

bool processExited(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  int r = ::poll(&p, 1, 0);
  return r != 0;  // readable (exited) or an error: not provably alive
}

std::string userName(uid_t uid) {
  std::vector<char> buf(16384);
  passwd pw{}, *result = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &result) == 0 && result) return pw.pw_name;
  return "";
}

}  // namespace

std::optional<uint64_t> parseCapEff(std::string_view status) {
  std::string_view v = fieldLine(status, "CapEff");
  if (v.empty()) return std::nullopt;
  uint64_t caps = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), caps, 16);
  if (ec != std::errc() || p == v.data()) return std::nullopt;
  return caps;
}

std::optional<uid_t> parseEffectiveUid(std::string_view status) {
  std::string_view v = fieldLine(status, "Uid");
  // "real effective saved fs"
  unsigned long ids[2] = {0, 0};
  const char* p = v.data();
  const char* end = v.data() + v.size();
  for (int i = 0; i < 2; ++i) {
    while (p < end && (*p == ' ' || *p == '\t')) ++p;
    auto [q, ec] = std::from_chars(p, end, ids[i]);
    if (ec != std::errc() || q == p) return std::nullopt;
    p = q;
  }
  return static_cast<uid_t>(ids[1]);
}

std::optional<uint64_t> parseStartTime(std::string_view stat) {
  // "pid (comm) state ppid ..." - comm may hold spaces and parentheses: start after the
  // last ')'. starttime is field 22; the state is field 3.
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  int field = 2;
  size_t pos = 0;
  while (pos < rest.size()) {
    while (pos < rest.size() && rest[pos] == ' ') ++pos;
    size_t end = rest.find(' ', pos);
    if (end == std::string_view::npos) end = rest.size();
    ++field;
    if (field == 22) {
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(rest.data() + pos, rest.data() + end, v);
      if (ec != std::errc() || p != rest.data() + end) return std::nullopt;
      return v;
    }
    pos = end;
  }
  return std::nullopt;
}

uint64_t bootTimeTicksNow() {
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  long hz = ::sysconf(_SC_CLK_TCK);
  if (hz <= 0) hz = 100;
  return static_cast<uint64_t>(ts.tv_sec) * static_cast<uint64_t>(hz) +
         static_cast<uint64_t>(ts.tv_nsec) / (1000000000ull / static_cast<uint64_t>(hz));
}

ProcessFacts inspectProcess(pid_t pid, int pidfd, uid_t euid, uint64_t acceptBootTicks) {
  ProcessFacts facts;
  if (pid <= 0) {
    facts.why = "the peer's pid is not visible in this pid namespace";
    return facts;
  }
  UniqueFd ownPidfd;
  if (pidfd < 0) {
    ownPidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!ownPidfd.valid()) {
      facts.why = "the peer process is gone";
      return facts;
    }
    pidfd = ownPidfd.get();
  }
  std::string dir = "/proc/" + std::to_string(pid);
  UniqueFd procDir(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!procDir.valid()) {
    facts.why = "cannot open " + dir;
    return facts;
  }
  auto status = readSmallFileAt(procDir.get(), "status");
  auto stat = readSmallFileAt(procDir.get(), "stat");
  auto comm = readSmallFileAt(procDir.get(), "comm");
  char exe[4096];
  ssize_t exeLen = ::readlinkat(procDir.get(), "exe", exe, sizeof exe - 1);
  bool sameNs = sameUserNamespace(procDir.get());

  // Only now: was that still the peer all along?
  if (processExited(pidfd)) {
    facts.why = "the peer process exited while it was inspected";
    return facts;
  }
  if (!status || !stat) {
    facts.why = "cannot read " + dir + "/status";
    return facts;
  }
  auto start = parseStartTime(*stat);
  if (!start || *start > acceptBootTicks) {
    facts.why =
        "the process now holding pid " + std::to_string(pid) + " started after the connection";
    return facts;
  }
  auto effective = parseEffectiveUid(*status);
  if (!effective || *effective != euid) {
    facts.why = "the process's effective uid is no longer the peer's";
    return facts;
  }
  facts.verified = true;
  if (exeLen > 0) facts.executable.assign(exe, static_cast<size_t>(exeLen));
  if (comm) {
    facts.command = *comm;
    while (!facts.command.empty() && facts.command.back() == '\n') facts.command.pop_back();
  }
  auto caps = parseCapEff(*status);
  facts.netAdmin = sameNs && caps && ((*caps >> kCapNetAdmin) & 1u);
  return facts;
}

Result<Peer> readPeer(int fd, std::optional<gid_t> readGroup) {
  uint64_t acceptTicks = bootTimeTicksNow();
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return Error::fromErrno("getsockopt(SO_PEERCRED)", errno);
  }
  Peer peer;
  peer.pid = cred.pid;
  peer.uid = cred.uid;
  peer.gid = cred.gid;
  peer.root = cred.uid == 0;

  if (readGroup) {
    bool member = cred.gid == *readGroup;
    std::vector<gid_t> groups(64);
    for (int attempt = 0; attempt < 3 && !member; ++attempt) {
      socklen_t glen = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
      if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen) == 0) {
        groups.resize(glen / sizeof(gid_t));
        for (gid_t g : groups) member = member || g == *readGroup;
        break;
      }
      if (errno != ERANGE) break;
      groups.resize(glen / sizeof(gid_t) + 16);
    }
    peer.inReadGroup = member;
  }

  int pidfd = -1;
  socklen_t pidfdLen = sizeof pidfd;
  UniqueFd peerPidfd;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &pidfdLen) == 0 && pidfd >= 0) {
    peerPidfd.reset(pidfd);
  }
  ProcessFacts facts = inspectProcess(peer.pid, peerPidfd.get(), peer.uid, acceptTicks);
  if (facts.verified) {
    peer.executable = facts.executable;
    peer.command = facts.command;
    peer.netAdmin = facts.netAdmin;
  }
  return peer;
}

std::optional<gid_t> groupIdByName(const std::string& name) {
  std::vector<char> buf(16384);
  group gr{}, *result = nullptr;
  if (::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &result) == 0 && result) {
    return result->gr_gid;
  }
  return std::nullopt;
}

std::string refusalMessage(const Peer& peer, bool changeAccess, std::optional<gid_t> readGroup,
                           const std::string& readGroupName) {
  if (changeAccess ? peer.mayChange() : peer.mayRead()) return "";
  std::string who = "uid " + std::to_string(peer.uid);
  if (std::string name = userName(peer.uid); !name.empty()) who += " (" + name + ")";
  if (changeAccess) {
    return "permission denied: changing ZTDNS needs root or CAP_NET_ADMIN, and " + who +
           " has neither; run it with sudo";
  }
  if (!readGroup) {
    return "permission denied: reading ZTDNS needs root or CAP_NET_ADMIN (there is no group " +
           readGroupName + " whose members could read), and " + who + " has neither";
  }
  return "permission denied: reading ZTDNS needs root, CAP_NET_ADMIN or membership of group " +
         readGroupName + ", and " + who + " has none of them";
}

}  // namespace ztdns::control
