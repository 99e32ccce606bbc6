#include "observe/procfs_attribution.h"

#include <dirent.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/c_ptr.h"
#include "common/unique_fd.h"
#include "observe/process_info.h"

namespace ztdns::observe {

namespace {

int closeDir(DIR* d) {
  return ::closedir(d);
}
using DirPtr = CPtr<DIR, closeDir>;

bool addressEquals(const uint32_t* diag, const IpAddress& a) {
  return std::memcmp(diag, a.bytes(), a.size()) == 0;
}

bool isZero(const uint32_t* diag, size_t bytes) {
  static const uint8_t kZero[16] = {};
  return std::memcmp(diag, kZero, bytes) == 0;
}

}  // namespace

ProcfsAttribution::ProcfsAttribution(std::string procRoot, unsigned lookupsPerSecond)
    : procRoot_(std::move(procRoot)), budgetPerSecond_(lookupsPerSecond) {}

std::optional<uint32_t> ProcfsAttribution::socketInode(const PacketSummary& p, uint32_t* uid) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!fd.valid()) return std::nullopt;
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof(msg);
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = 1;
  msg.req.sdiag_family = p.src.isV4() ? AF_INET : AF_INET6;
  msg.req.sdiag_protocol = p.protocol;
  msg.req.idiag_states = ~0u;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd.get(), &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) <
      0) {
    return std::nullopt;
  }
  std::optional<uint32_t> found;
  int matches = 0;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size_t off = 0;
    while (off + sizeof(nlmsghdr) <= static_cast<size_t>(n)) {
      const auto* h = reinterpret_cast<const nlmsghdr*>(buf.data() + off);
      if (h->nlmsg_len < sizeof(nlmsghdr) || off + h->nlmsg_len > static_cast<size_t>(n)) break;
      off += NLMSG_ALIGN(h->nlmsg_len);
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
        return matches == 1 ? found : std::nullopt;
      }
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) continue;
      const auto* m = reinterpret_cast<const inet_diag_msg*>(NLMSG_DATA(h));
      if (ntohs(m->id.idiag_sport) != p.srcPort) continue;
      bool connected = m->id.idiag_dport != 0;
      if (connected &&
          (ntohs(m->id.idiag_dport) != p.dstPort || !addressEquals(m->id.idiag_dst, p.dst))) {
        continue;
      }
      if (!isZero(m->id.idiag_src, p.src.size()) && !addressEquals(m->id.idiag_src, p.src))
        continue;
      if (m->idiag_inode == 0) continue;  // TIME_WAIT and friends have no owner
      found = m->idiag_inode;
      if (uid) *uid = m->idiag_uid;
      ++matches;
    }
  }
  return matches == 1 ? found : std::nullopt;
}

std::optional<uint32_t> ProcfsAttribution::ownerOf(uint32_t inode) {
  std::string needle = "socket:[" + std::to_string(inode) + "]";
  DirPtr proc(::opendir(procRoot_.c_str()));
  if (!proc) return std::nullopt;
  std::optional<uint32_t> owner;
  std::array<char, 64> link;
  while (dirent* e = ::readdir(proc.get())) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    uint32_t pid = static_cast<uint32_t>(std::strtoul(e->d_name, nullptr, 10));
    std::string fdDir = procRoot_ + "/" + e->d_name + "/fd";
    DirPtr fds(::opendir(fdDir.c_str()));
    if (!fds) continue;
    while (dirent* f = ::readdir(fds.get())) {
      if (f->d_name[0] == '.') continue;
      ssize_t n = ::readlinkat(::dirfd(fds.get()), f->d_name, link.data(), link.size() - 1);
      if (n <= 0) continue;
      if (std::string_view(link.data(), static_cast<size_t>(n)) != needle) continue;
      if (owner && *owner != pid) return std::nullopt;  // shared socket: ambiguous
      owner = pid;
      break;
    }
  }
  return owner;
}

std::optional<ProcfsOwner> ProcfsAttribution::lookup(const PacketSummary& packet) {
  if (!packet.hasPorts || (packet.protocol != kProtoTcp && packet.protocol != kProtoUdp)) {
    return std::nullopt;
  }
  auto now = std::chrono::steady_clock::now();
  if (now - second_ >= std::chrono::seconds(1)) {
    second_ = now;
    usedThisSecond_ = 0;
  }
  if (usedThisSecond_ >= budgetPerSecond_) {
    ++overBudget_;
    return std::nullopt;
  }
  ++usedThisSecond_;
  ++lookups_;
  uint32_t uid = 0;
  auto inode = socketInode(packet, &uid);
  if (!inode) return std::nullopt;
  auto pid = ownerOf(*inode);
  if (!pid) return std::nullopt;
  auto ticks = procStartTicks(*pid, procRoot_);
  if (!ticks) return std::nullopt;
  ExecutableResolver exe(procRoot_, 1);
  auto path = exe.fromProc(*pid, ticks);
  if (!path) return std::nullopt;
  // The owner must still hold the socket after we read its executable.
  auto again = ownerOf(*inode);
  if (!again || *again != *pid) return std::nullopt;
  ProcfsOwner out;
  out.pid = *pid;
  out.startTicks = *ticks;
  out.executable = *path;
  out.uid = uid;
  out.cgroupPath = procCgroupV2Path(*pid, procRoot_).value_or("");
  return out;
}

}  // namespace ztdns::observe
