// Instance: the per-daemon directories and the lock that keeps two ztdnsd from sharing
// them. Several instances run side by side (one per network namespace), each with its own
// --run-dir, --state-dir and --log-dir.
#pragma once

#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace ztdns::daemon {

class Instance {
 public:
  // Creates the directories (run 0755, state 0700, log 0750) and takes an exclusive
  // flock on <run-dir>/ztdnsd.lock; fails with the holder's pid when another instance has it.
  static Result<Instance> acquire(const std::string& runDir, const std::string& stateDir,
                                  const std::string& logDir);

  const std::string& runDir() const { return runDir_; }
  const std::string& stateDir() const { return stateDir_; }
  const std::string& logDir() const { return logDir_; }
  std::string controlSocketPath() const { return runDir_ + "/control.sock"; }

 private:
  std::string runDir_, stateDir_, logDir_;
  UniqueFd lock_;
};

// sd_notify wrappers; no-ops when not started by systemd (NOTIFY_SOCKET unset).
void notifyReady(const std::string& status);
void notifyStopping();
void notifyStatus(const std::string& status);

}  // namespace ztdns::daemon
