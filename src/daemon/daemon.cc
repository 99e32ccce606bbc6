#include "daemon/daemon.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <iostream>

#include "common/unique_fd.h"
#include "control/protocol.h"
#include "daemon/change_events.h"
#include "daemon/control_handler.h"
#include "enforce/policy.h"
#include "enforce/policy_script.h"
#include "observe/operational_events.h"

namespace ztdns::daemon {

namespace {

std::string versionText() {
  std::string line = config::daemonVersionLine();  // "ztdnsd 0.1.0"
  auto space = line.find(' ');
  return space == std::string::npos ? line : line.substr(space + 1);
}

bool poolFieldsDiffer(const config::Config& a, const config::Config& b) {
  return a.secureDnsServers != b.secureDnsServers ||
         a.rootCertificatesForServerValidation != b.rootCertificatesForServerValidation ||
         a.clientCertificate != b.clientCertificate;
}

bool stubFieldsDiffer(const config::Config& a, const config::Config& b) {
  return a.listenAddresses != b.listenAddresses ||
         a.hostsFileResolutionEnabled != b.hostsFileResolutionEnabled ||
         a.minimumAllowTimeInSeconds != b.minimumAllowTimeInSeconds ||
         a.maximumConnectionTimeInSeconds != b.maximumConnectionTimeInSeconds ||
         a.allowGraceSeconds != b.allowGraceSeconds;
}

bool attributeAccepted(const config::Config& c) {
  // The transmit tracepoint sits on every new connection's path: only attach it when an
  // accepted packet can produce an event (audit's would-block, or the permitted channel).
  return (c.enabled && c.auditModeEnabled) || c.permittedConnectionsLogEnabled;
}

observe::ops::Actor selfActor(const char* why) {
  observe::ops::Actor a = observe::ops::actorFromPid(::getpid(), ::getuid());
  if (!a.executable.empty()) a.executable += std::string(" (") + why + ")";
  return a;
}

}  // namespace

Daemon::Daemon(config::DaemonOptions options, config::Config config,
               std::optional<std::string> fileDigest)
    : options_(std::move(options)),
      config_(std::move(config)),
      startedAt_(std::chrono::steady_clock::now()),
      fileDigest_(std::move(fileDigest)) {}

Result<std::unique_ptr<Daemon>> Daemon::start(const config::DaemonOptions& options,
                                              config::Config config,
                                              std::optional<std::string> fileDigest) {
  std::unique_ptr<Daemon> d(new Daemon(options, std::move(config), std::move(fileDigest)));
  if (auto st = d->startAll(); !st) {
    d->stop(st.error().message);
    return st.error();
  }
  return d;
}

Status Daemon::startAll() {
  auto instance = Instance::acquire(options_.runDir, options_.stateDir, options_.logDir);
  if (!instance) return instance.error();
  instance_.emplace(std::move(*instance));

  // The config's directory must exist for atomic saves (a fresh host has no /etc/ztdns).
  std::error_code ec;
  auto configDir = std::filesystem::path(options_.configPath).parent_path();
  if (!configDir.empty()) std::filesystem::create_directories(configDir, ec);

  observe::LogSinkOptions lo;
  lo.directory = options_.logDir;
  lo.settings = config_.log;
  lo.permittedEnabled = config_.permittedConnectionsLogEnabled;
  logSink_ = std::make_unique<observe::LogSink>(lo);
  events_ = std::make_unique<CountingSink>(*logSink_);

  auto applier = enforce::PolicyApplier::create();
  if (!applier) return Error{"nftables: " + applier.error().message};
  applier_ = std::make_unique<enforce::PolicyApplier>(std::move(*applier));

  auto dp = DataPlane::create(config_, *events_);
  if (!dp) return dp.error();
  dataPlane_ = std::move(*dp);

  // Enforcement before the stub answers anything: an answer must never be released
  // before its addresses can be allowed, and a restart must not open a gap.
  if (auto st = enforceAtStart(); !st) return st;
  // Now that the policy lets them out: check every server at once, not at the first query.
  dataPlane_->call([this] { dataPlane_->pool().checkUnknown(); });
  if (auto st = dataPlane_->startListening(); !st) return st;

  enforce::AllowSet* allowSet = &dataPlane_->allowSet();
  reasons_ = std::make_unique<observe::PermitReasons>(
      [allowSet](const IpAddress& a) -> std::optional<observe::ResolvedOrigin> {
        auto e = allowSet->lookup(a);
        if (!e) return std::nullopt;
        return observe::ResolvedOrigin{e->origin.name, e->origin.server};
      },
      config_.exemptionRules);
  enforce::Policy policy = enforce::policyFromConfig(config_);
  rateGuard_ = std::make_unique<observe::NftCounterRateGuard>(
      enforce::kTableFamily, enforce::kTableName, enforce::nft_name::kLogSuppressed,
      policy.logPacketsPerSecond);

  observe::ConnectionMonitorOptions mo;
  mo.nflog.group = policy.nflogGroup;
  mo.eventsPerSecond = config_.log.connectionEventsPerSecond;
  mo.attributeAccepted = attributeAccepted(config_);
  mo.channelEnabled = [sink = logSink_.get()](observe::Channel c) {
    return c != observe::Channel::Permitted || sink->permittedEnabled();
  };
  auto monitor = observe::ConnectionMonitor::start(mo, *events_, reasons_.get(), rateGuard_.get());
  if (monitor) {
    monitor_ = std::move(*monitor);
  } else {
    // DNS and enforcement work without it; say so where the administrator looks.
    events_->emit(observe::ops::attributionMode(
        "none", "connection logs unavailable: " + monitor.error().message));
    std::cerr << "ztdnsd: warning: connection logs unavailable: " << monitor.error().message
              << "\n";
  }

  handler_ = std::make_unique<ControlHandler>(*this);
  control::ServerOptions so;
  so.socketPath = instance_->controlSocketPath();
  auto server = control::Server::start(so, *handler_);
  if (!server) return server.error();  // its messages start with "control socket: "
  server_ = std::move(*server);

  // Another ztdnsd that finds this namespace claimed connects to learn our pid; accept and
  // close those connections so they never fill the claim's backlog.
  UniqueFd claim(::fcntl(instance_->namespaceClaimFd(), F_DUPFD_CLOEXEC, 0));
  if (!claim.valid()) return Error::fromErrno("namespace claim: dup", errno);
  claimAcceptor_ = std::make_unique<asio::local::stream_protocol::acceptor>(server_->context());
  std::error_code ec2;
  claimAcceptor_->assign(asio::local::stream_protocol(), claim.get(), ec2);
  if (ec2) return Error{"namespace claim: " + ec2.message()};
  claim.release();
  asio::post(server_->context(), [this] { acceptClaimQueries(); });

  events_->emit(
      observe::ops::serviceStart("ok", versionText(), config_.enabled, config_.auditModeEnabled));
  std::string state =
      !config_.enabled ? "disabled" : (config_.auditModeEnabled ? "audit" : "enforcing");
  notifyReady("ZTDNS " + state + ", " + std::to_string(config_.secureDnsServers.size()) +
              " server(s)");
  return okStatus();
}

void Daemon::acceptClaimQueries() {
  claimAcceptor_->async_accept(
      [this](std::error_code ec, asio::local::stream_protocol::socket peer) {
        if (ec) return;  // closing down, or out of descriptors: the backlog absorbs the rest
        peer.close();
        acceptClaimQueries();
      });
}

Status Daemon::enforceAtStart() {
  enforce::AllowSet& allowSet = dataPlane_->allowSet();
  if (!config_.enabled) {
    dataPlane_->call([&] { allowSet.setActive(false); });
    if (applier_->exists()) {
      if (auto st = applier_->removeTable(); !st) return Error{"nftables: " + st.error().message};
    }
    return okStatus();
  }
  bool existed = applier_->exists();
  // Applying over a table left by a previous ztdnsd keeps its allow elements (the sets are
  // added, never flushed), so no allowed address is lost and nothing opens in between.
  if (auto st = applier_->apply(enforce::policyFromConfig(config_)); !st) {
    return Error{"nftables: " + st.error().message +
                 (existed ? " (the existing table stays in force)" : "")};
  }
  dataPlane_->call([&] {
    allowSet.setActive(true);
    allowSet.setCapacity(config_.maxAllowedAddresses);
  });
  if (existed) {
    if (auto st = allowSet.adoptKernelState(); !st) {
      events_->emit(
          observe::ops::enforcementError("adopting the allow sets: " + st.error().message));
    }
  }
  return okStatus();
}

void Daemon::stop(const std::string& status) {
  if (stopped_) return;
  stopped_ = true;
  notifyStopping();
  // Users first: no new control requests, no new connection events, no new DNS answers.
  if (server_) server_->stop();
  monitor_.reset();
  dataPlane_.reset();
  if (events_) events_->emit(observe::ops::serviceStop(status));
  if (logSink_) logSink_->flush();
}

Daemon::~Daemon() {
  stop();
}

void Daemon::requestReload() {
  if (!server_) return;
  asio::post(server_->context(), [this] {
    if (auto st = reload(selfActor("SIGHUP")); !st) {
      std::cerr << "ztdnsd: reload failed, the running configuration stays: " << st.error().message
                << "\n";
    }
  });
}

Status Daemon::reload(const observe::ops::Actor& by) {
  // A reload is how hand edits are loaded: it is never refused for them.
  config::LoadResult loaded = config::loadConfigFile(options_.configPath);
  if (!loaded.config) {
    std::string all;
    for (const auto& e : loaded.diagnostics.errors) all += (all.empty() ? "" : "; ") + e;
    Error err = control::failed(options_.configPath + ": " + all);
    events_->emit(observe::ops::configUpdated(
        "reload refused, the running configuration stays: " + err.message, by));
    return err;
  }
  const uint64_t savesBefore = saves_;
  Status st = apply(*loaded.config, by);
  if (st) {
    // Unless the commit rewrote the file, the daemon now runs the bytes it has just read.
    if (saves_ == savesBefore) fileDigest_ = loaded.digest;
    events_->emit(observe::ops::configUpdated("reloaded " + options_.configPath, by));
  }
  return st;
}

Status Daemon::checkFileUnedited() const {
  auto now = config::fileDigest(options_.configPath);
  if (!now) {
    return control::failed("cannot read " + options_.configPath +
                           " to check it for edits, nothing changed: " + now.error().message);
  }
  if (!*now) return okStatus();  // no file (a fresh install, or deleted): the save writes one
  if (*now == fileDigest_) return okStatus();
  return control::conflict(
      options_.configPath +
      " was edited since ztdnsd read it, and this change would overwrite the edits; nothing "
      "changed. Run ztdns reload to load the edits (ztdnsd --check --config " +
      options_.configPath + " checks them first), or undo them");
}

Status Daemon::applyDataPlane(const config::Config& from, const config::Config& to) {
  if (poolFieldsDiffer(from, to)) {
    Status st = dataPlane_->call([&] { return dataPlane_->pool().reconfigure(to); });
    if (!st) return control::failed("protective DNS servers: " + st.error().message);
  }
  if (stubFieldsDiffer(from, to)) {
    Status st = dataPlane_->call([&] { return dataPlane_->stub().reconfigure(to); });
    if (!st) {
      if (poolFieldsDiffer(from, to)) {
        (void)dataPlane_->call([&] { return dataPlane_->pool().reconfigure(from); });
      }
      return control::failed("DNS stub: " + st.error().message);
    }
  }
  return okStatus();
}

Status Daemon::applyEnforcement(const config::Config& from, const config::Config& to) {
  enforce::AllowSet& allowSet = dataPlane_->allowSet();
  if (to.enabled) {
    if (auto st = applier_->apply(enforce::policyFromConfig(to)); !st) {
      events_->emit(observe::ops::enforcementError(st.error().message));
      return control::failed("the kernel refused the new policy, the previous one stays: " +
                             st.error().message);
    }
    dataPlane_->call([&] {
      if (!from.enabled) allowSet.setActive(true);
      allowSet.setCapacity(to.maxAllowedAddresses);
    });
    return okStatus();
  }
  if (!from.enabled) return okStatus();
  dataPlane_->call([&] { allowSet.setActive(false); });
  if (auto st = applier_->removeTable(); !st) {
    dataPlane_->call([&] { allowSet.setActive(true); });
    events_->emit(observe::ops::enforcementError(st.error().message));
    return control::failed("the kernel refused to remove table inet ztdns: " + st.error().message);
  }
  return okStatus();
}

void Daemon::applySideSettings(const config::Config& to) {
  reasons_->setExceptions(to.exemptionRules);
  logSink_->setPermittedEnabled(to.permittedConnectionsLogEnabled);
  logSink_->setSettings(to.log);
  if (monitor_) {
    monitor_->setEventsPerSecond(to.log.connectionEventsPerSecond);
    monitor_->setAttributeAccepted(attributeAccepted(to));
  }
}

Status Daemon::commit(const config::Config& requested, const observe::ops::Actor& by) {
  if (auto st = checkFileUnedited(); !st) return st;
  return apply(requested, by, Existing::kKeep);
}

Status Daemon::apply(const config::Config& requested, const observe::ops::Actor& by,
                     Existing existing) {
  config::Config next = requested;
  config::normalizePrefixes(next);
  if (config::Diagnostics d = config::validate(next); !d.ok()) {
    std::vector<std::string> had;
    if (existing == Existing::kKeep) had = config::validate(config_).errors;
    std::string all;
    for (const auto& e : d.errors) {
      if (std::find(had.begin(), had.end(), e) != had.end()) continue;
      all += (all.empty() ? "" : "; ") + e;
    }
    if (!all.empty()) return control::invalidParams(all);
  }
  const config::Config prev = config_;
  if (next == prev) return okStatus();

  const bool disabling = prev.enabled && !next.enabled;
  // The tracepoint that names the senders of accepted packets goes in before a policy that
  // logs them (audit, the permitted channel): the first would-be block after `set state
  // enable=yes` is attributed too. Turning it off waits for applySideSettings.
  if (monitor_ && attributeAccepted(next) && !attributeAccepted(prev)) {
    monitor_->setAttributeAccepted(true, std::chrono::seconds(1));
  }
  // Unless disabling, the kernel policy goes first: the pool connects to a new server at
  // once (its first check, or a query), so the policy must already let that through;
  // else the new server is refused by our own table and reported down.
  if (disabling) {
    if (auto st = applyDataPlane(prev, next); !st) return st;
  } else {
    if (auto st = applyEnforcement(prev, next); !st) return st;
    if (auto st = applyDataPlane(prev, next); !st) {
      (void)applyEnforcement(next, prev);
      return st;
    }
  }
  auto undoDataPlane = [&] { (void)applyDataPlane(next, prev); };

  auto save = [&](const config::Config& c) {
    std::string digest;
    Status st = config::saveConfigAtomic(options_.configPath, c, &digest);
    if (!digest.empty()) {  // the file holds c now, even if a later step of the save failed
      fileDigest_ = std::move(digest);
      ++saves_;
    }
    return st;
  };
  if (disabling) {
    if (auto st = save(next); !st) {
      undoDataPlane();
      return control::failed("cannot save " + options_.configPath +
                             ", nothing changed: " + st.error().message);
    }
    if (auto st = applyEnforcement(prev, next); !st) {
      (void)save(prev);
      undoDataPlane();
      return st;
    }
  } else {
    if (auto st = save(next); !st) {
      (void)applyEnforcement(next, prev);
      undoDataPlane();
      return control::failed("cannot save " + options_.configPath +
                             ", nothing changed: " + st.error().message);
    }
  }

  config_ = next;
  applySideSettings(next);
  for (auto& e : changeEvents(prev, next, by)) events_->emit(std::move(e));
  return okStatus();
}

}  // namespace ztdns::daemon
