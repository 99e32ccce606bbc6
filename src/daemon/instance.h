// Instance: the per-daemon directories and the lock that keeps two ztdnsd from sharing
// them, and the claim on the network namespace that keeps two ztdnsd from sharing its
// table inet ztdns. Several instances run side by side (one per network namespace), each
// with its own --run-dir, --state-dir and --log-dir.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace ztdns::daemon {

// The abstract Unix socket name that claims a network namespace ("@ztdnsd" in ss -x).
inline constexpr std::string_view kNamespaceClaimName = "ztdnsd";

class Instance {
 public:
  // Creates the directories (run 0755, state 0700, log 0750) and takes an exclusive
  // flock on <run-dir>/ztdnsd.lock; fails with the holder's pid when another instance has it.
  // Then claims the calling thread's network namespace (claimNetworkNamespace). Nothing
  // here touches the kernel's nftables.
  static Result<Instance> acquire(const std::string& runDir, const std::string& stateDir,
                                  const std::string& logDir);

  // Only one ztdnsd may own table inet ztdns in a network namespace: binds the abstract
  // Unix socket kNamespaceClaimName and listens on it. Abstract names belong to the network
  // namespace and are released when the last descriptor closes, also when the holder is
  // killed with SIGKILL, so a crashed daemon never blocks the next one. When the name is
  // taken, connects to it and fails with the holder's pid (SO_PEERCRED), before anything
  // touched the kernel. The returned socket must stay open for the daemon's life.
  static Result<UniqueFd> claimNetworkNamespace(std::string_view name = kNamespaceClaimName);

  // The listening claim socket. Connections to it (another ztdnsd asking who holds the
  // namespace) should be accepted and closed, so they do not pile up in its backlog.
  int namespaceClaimFd() const { return claim_.get(); }

  const std::string& runDir() const { return runDir_; }
  const std::string& stateDir() const { return stateDir_; }
  const std::string& logDir() const { return logDir_; }
  std::string controlSocketPath() const { return runDir_ + "/control.sock"; }

 private:
  std::string runDir_, stateDir_, logDir_;
  UniqueFd lock_;
  UniqueFd claim_;
};

// sd_notify wrappers; no-ops when not started by systemd (NOTIFY_SOCKET unset).
void notifyReady(const std::string& status);
void notifyStopping();
void notifyStatus(const std::string& status);

}  // namespace ztdns::daemon
