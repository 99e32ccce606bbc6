// Who is on the other end of a control connection, and what may they do.
//
// SO_PEERCRED gives the pid, euid and egid at connect time, SO_PEERGROUPS the
// supplementary groups. CAP_NET_ADMIN is read from /proc/<pid>/status (CapEff), which is
// about whatever process holds that pid *now*; to be sure it is still the peer:
//   - a pidfd pins the peer (SO_PEERPIDFD, Linux 6.5+; else pidfd_open right away);
//   - the process must have started before the connection was accepted (stat starttime),
//     must still have the peer's euid, and must still be alive after /proc was read;
//   - it must be in the daemon's user namespace (CapEff inside a user namespace of its
//     own proves nothing: anyone can unshare -U and have every capability there).
// When any check fails, the peer is treated as having no capability.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "control/handler.h"

namespace ztdns::control {

inline constexpr int kCapNetAdmin = 12;  // linux/capability.h

// Reads the peer of a connected AF_UNIX stream socket. `readGroup` is the gid of the
// ztdns group when it exists.
Result<Peer> readPeer(int fd, std::optional<gid_t> readGroup);

struct ProcessFacts {
  bool verified = false;  // every identity check passed; the fields below describe the peer
  bool netAdmin = false;
  std::string executable;
  std::string command;
  std::string why;  // when !verified: which check failed, for the daemon's debug log
};

// The identity checks above. `pidfd` may be -1 (then pidfd_open is used); `acceptBootTicks`
// is CLOCK_BOOTTIME at accept, in clock ticks (/proc/<pid>/stat units).
ProcessFacts inspectProcess(pid_t pid, int pidfd, uid_t euid, uint64_t acceptBootTicks);
uint64_t bootTimeTicksNow();

// Parsers for /proc text (exposed for tests).
std::optional<uint64_t> parseCapEff(std::string_view status);
std::optional<uid_t> parseEffectiveUid(std::string_view status);
std::optional<uint64_t> parseStartTime(std::string_view stat);  // field 22

// gid of a group by name, when it exists.
std::optional<gid_t> groupIdByName(const std::string& name);

// Why `peer` may not call a method of `access`, in words; "" when it may.
std::string refusalMessage(const Peer& peer, bool changeAccess, std::optional<gid_t> readGroup,
                           const std::string& readGroupName);

}  // namespace ztdns::control
