// Daemon: ztdnsd with every module wired together, and the one sequence by which a
// configuration change takes effect.
//
// Threads (docs/design.md): the data plane (DataPlane: stub, pool, allow sets), the observe
// thread (ConnectionMonitor), the log writer (LogSink), and the control thread (the control
// socket's io_context). The control thread owns the running Config and the PolicyApplier;
// every change runs there, one at a time, so changes never interleave.
//
// Commit (a control change or a reload), all or nothing:
//   validate -> data plane (pool, stub) -> kernel (one nftables transaction) -> save the
//   file atomically -> Operational events -> answer.
// A step that fails undoes the steps before it, so the running policy, the data plane and
// the file stay as they were, and the caller gets the error in words. Disabling saves the
// file before it removes the table, so that a failed save never costs the allowed
// addresses.
//
// The config file: the daemon remembers the digest of the bytes it last loaded or saved. A
// control change first checks that the file still holds them; when it has been edited by
// hand and not reloaded, the change is refused as a conflict and nothing changes (saving
// would overwrite the edits). A reload is how edits are loaded. A missing file is written.
//
// Start-up is fail-closed: with ZTDNS enabled the policy is applied over any table a
// previous ztdnsd left (its allow sets are kept and adopted) before anything else, and a
// stop (SIGTERM) leaves the table in place. Only enabled=false removes it.
#pragma once

#include <asio/local/stream_protocol.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "config/config.h"
#include "config/daemon_options.h"
#include "control/handler.h"
#include "control/server.h"
#include "daemon/counting_sink.h"
#include "daemon/data_plane.h"
#include "daemon/instance.h"
#include "enforce/policy_applier.h"
#include "observe/connection_monitor.h"
#include "observe/log_sink.h"
#include "observe/operational_events.h"
#include "observe/permit_reasons.h"
#include "observe/rate_guard.h"

namespace ztdns::daemon {

class ControlHandler;

class Daemon {
 public:
  // Brings everything up in the calling thread's network namespace; ready when it returns
  // (the control socket answers). Errors name what failed; whatever was started is stopped,
  // and an enforcement table already in the kernel is left as it was.
  // fileDigest: config::LoadResult::digest of the load that produced config (unset when
  // the file did not exist).
  static Result<std::unique_ptr<Daemon>> start(const config::DaemonOptions& options,
                                               config::Config config,
                                               std::optional<std::string> fileDigest);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // SIGTERM/SIGINT: stop serving, write STOP, flush the logs. The table stays.
  void stop(const std::string& status = "ok");
  // SIGHUP: re-read the config file on the control thread, all or nothing; the outcome goes
  // to Operational (and stderr on failure).
  void requestReload();

  // ---- for ControlHandler, on the control thread ----
  const config::Config& config() const { return config_; }
  const config::DaemonOptions& options() const { return options_; }
  // A control change: refused (conflict) when the file holds edits not loaded, else the
  // commit sequence above. `next` need not have been validated yet.
  Status commit(const config::Config& next, const observe::ops::Actor& by);
  // Re-read the config file and commit it.
  Status reload(const observe::ops::Actor& by);

  DataPlane& dataPlane() { return *dataPlane_; }
  enforce::PolicyApplier& applier() { return *applier_; }
  observe::LogSink& logSink() { return *logSink_; }
  const CountingSink& counters() const { return *events_; }
  observe::EventSink& events() { return *events_; }
  std::chrono::steady_clock::time_point startedAt() const { return startedAt_; }

 private:
  Daemon(config::DaemonOptions options, config::Config config,
         std::optional<std::string> fileDigest);

  Status startAll();
  void acceptClaimQueries();
  // The commit sequence, for control changes and reloads alike. A control change may keep a
  // problem that the running config has already (config_edit.h: a CA file deleted since it
  // was loaded); a reload may not.
  enum class Existing { kRefuse, kKeep };
  Status apply(const config::Config& next, const observe::ops::Actor& by,
               Existing existing = Existing::kRefuse);
  // Refuses when the file no longer holds what the daemon last loaded or saved.
  Status checkFileUnedited() const;
  Status enforceAtStart();
  Status applyEnforcement(const config::Config& from, const config::Config& to);
  Status applyDataPlane(const config::Config& from, const config::Config& to);
  void applySideSettings(const config::Config& to);

  config::DaemonOptions options_;
  config::Config config_;
  std::chrono::steady_clock::time_point startedAt_;
  bool stopped_ = false;
  // contentDigest of the file as the daemon last read or wrote it; unset: no file then.
  std::optional<std::string> fileDigest_;
  uint64_t saves_ = 0;  // successful writes of the file

  // Declaration order is construction order; destruction runs backwards, so users go
  // before what they use: the control server before the data plane, the monitor before the
  // sink it writes to.
  std::optional<Instance> instance_;
  std::unique_ptr<observe::LogSink> logSink_;
  std::unique_ptr<CountingSink> events_;
  std::unique_ptr<enforce::PolicyApplier> applier_;
  std::unique_ptr<DataPlane> dataPlane_;
  std::unique_ptr<observe::PermitReasons> reasons_;
  std::unique_ptr<observe::NftCounterRateGuard> rateGuard_;
  std::unique_ptr<observe::ConnectionMonitor> monitor_;
  std::unique_ptr<ControlHandler> handler_;
  std::unique_ptr<control::Server> server_;
  // Accepts and closes connections to the namespace claim (Instance) on the control thread;
  // destroyed before server_, whose io_context it uses.
  std::unique_ptr<asio::local::stream_protocol::acceptor> claimAcceptor_;
};

}  // namespace ztdns::daemon
