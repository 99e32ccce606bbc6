#include "observe/connection_monitor.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "enforce/policy.h"
#include "observe/bpf/attribution_record.h"
#include "observe/connection_event.h"
#include "observe/flood_suppressor.h"
#include "observe/flow_dedup.h"
#include "observe/journal.h"
#include "observe/kernel_attribution.h"
#include "observe/operational_events.h"
#include "observe/permit_reasons.h"
#include "observe/process_info.h"
#include "observe/procfs_attribution.h"
#include "observe/rate_guard.h"

namespace ztdns::observe {

using Clock = std::chrono::steady_clock;

class ConnectionMonitor::Pipeline {
 public:
  Pipeline(ConnectionMonitorOptions o, EventSink& sink, const PermitReasonSource* reasons,
           KernelRateGuard* guard)
      : options_(std::move(o)),
        sink_(sink),
        reasons_(reasons),
        guard_(guard),
        joiner_(options_.join),
        dedup_(options_.dedupWindow),
        suppressor_(options_.eventsPerSecond, options_.suppressionKeys),
        procfs_("/proc", options_.procfsLookupsPerSecond) {}

  ConnectionMonitorOptions options_;
  EventSink& sink_;
  const PermitReasonSource* reasons_;
  KernelRateGuard* guard_;
  std::unique_ptr<NflogReader> nflog_;
  std::unique_ptr<KernelAttribution> kernel_;
  bool procfsMode_ = false;
  AttributionJoiner joiner_;
  FlowDeduper dedup_;
  FloodSuppressor suppressor_;
  ProcfsAttribution procfs_;
  ExecutableResolver executables_;
  CgroupPaths cgroups_;
  ConnectionMonitorStats stats_;

  Clock::time_point nextSummary_{};
  Clock::time_point nextGuard_{};
  Clock::time_point nextHealth_{};
  std::optional<uint64_t> guardBaseline_;
  std::string guardError_;
  uint64_t reportedOverruns_ = 0;
  uint64_t reportedGaps_ = 0;
  uint64_t reportedRingFull_ = 0;

  bool enabled(Channel c) const { return !options_.channelEnabled || options_.channelEnabled(c); }

  std::string unitFor(uint64_t cgroupId) {
    if (auto path = cgroups_.pathFor(cgroupId)) return unitFromCgroupPath(*path);
    return "";
  }

  void onPacket(LoggedPacket&& p, Clock::time_point now) {
    ++stats_.packets;
    auto verdict = verdictFromPrefix(p.prefix);
    if (!verdict) {
      ++stats_.foreignPrefix;
      return;
    }
    Channel channel =
        verdict->action == ConnectionAction::Permit ? Channel::Permitted : Channel::Blocked;
    if (!enabled(channel)) {
      ++stats_.disabledChannel;
      return;
    }
    auto summary = parsePacket(p.payload);
    if (!summary) {
      ++stats_.unparsable;
      return;
    }
    if (kernel_) {
      joiner_.addPacket(std::move(p), *summary, now);
    } else {
      handle(JoinedPacket{std::move(p), *summary, std::nullopt}, now);
    }
  }

  void handle(JoinedPacket j, Clock::time_point now) {
    auto verdict = verdictFromPrefix(j.logged.prefix);
    if (!verdict) return;
    const auto& s = j.summary;
    ConnectionEvent e;
    e.action = verdict->action;
    e.protocol = s.protocol;
    e.src = s.src;
    e.dst = s.dst;
    if (s.hasPorts) {
      e.srcPort = s.srcPort;
      e.dstPort = s.dstPort;
    }
    if (s.hasIcmp) {
      e.icmpType = s.icmpType;
      e.icmpCode = s.icmpCode;
    }
    e.process.uid = j.logged.uid;
    std::optional<SenderId> sender;
    if (j.record) {
      e.time = wallTimeFromMonotonic(j.record->time);
      if (j.record->task) {
        const auto& t = *j.record->task;
        e.attribution = "kernel";
        e.process.pid = t.pid;
        e.process.executable = executables_.resolve(t);
        e.process.unit = unitFor(t.cgroupId);
        e.process.comm = t.comm;
        if (!e.process.uid) e.process.uid = t.uid;
        sender = SenderId{t.hostPid, t.startBoottimeNs};
      } else {
        e.attribution = "kernel-context";
      }
    } else {
      e.time = j.logged.timestamp ? *j.logged.timestamp : wallTimeFromMonotonic(j.logged.received);
      if (procfsMode_) {
        if (auto owner = procfs_.lookup(s)) {
          e.attribution = "procfs";
          e.process.pid = owner->pid;
          e.process.executable = owner->executable;
          e.process.unit = owner->cgroupPath.empty() ? "" : unitFromCgroupPath(owner->cgroupPath);
          if (!e.process.uid) e.process.uid = owner->uid;
        } else {
          e.attribution = "none";
        }
      } else {
        e.attribution = "none";
      }
    }
    if (verdict->permit) {
      PermitReason r;
      r.type = *verdict->permit;
      if (reasons_ && r.type == PermitType::Resolved) {
        if (auto o = reasons_->resolvedOrigin(s.dst)) {
          r.name = o->name;
          r.server = o->server;
        }
      } else if (reasons_ && r.type == PermitType::Exception) {
        r.name = reasons_->exceptionName(s.dst).value_or("");
      }
      e.reason = std::move(r);
    }

    FlowKey key{s.protocol, s.src, s.dst, s.hasPorts ? s.srcPort : s.icmpId, s.dstPort, e.action};
    if (!dedup_.admit(key, sender, now)) {
      ++stats_.duplicates;
      return;
    }
    if (!suppressor_.admit(e, now)) {
      ++stats_.suppressed;
      return;
    }
    if (e.attribution == "kernel") {
      ++stats_.byKernel;
    } else if (e.attribution == "procfs") {
      ++stats_.byProcfs;
    } else if (e.attribution == "kernel-context") {
      ++stats_.kernelContext;
    }
    if (e.process.executable.empty()) ++stats_.unknown;
    ++stats_.events;
    sink_.emit(toEvent(e));
  }

  void drainJoiner(Clock::time_point now) {
    joiner_.expire(now);
    for (auto& j : joiner_.takeResolved()) handle(std::move(j), now);
  }

  void emitSummaries() {
    for (const auto& s : suppressor_.flush(options_.summaryRows)) {
      const char* channel =
          s.action == "PERMIT" ? channelName(Channel::Permitted) : channelName(Channel::Blocked);
      sink_.emit(
          ops::suppressed(s, s.overflow ? "BlockedConnections/PermittedConnections" : channel));
    }
  }

  void checkGuard() {
    if (!guard_) return;
    auto value = guard_->packetsNotLogged();
    if (!value && value.error().code == ENOENT) {
      // No table (ZTDNS disabled, or not applied yet): nothing is enforced, nothing to count.
      guardBaseline_.reset();
      return;
    }
    if (!value) {
      if (value.error().message != guardError_) {
        guardError_ = value.error().message;  // reported once per distinct error
        sink_.emit(
            ops::attributionMode(mode(), "cannot read the kernel rate guard: " + guardError_));
      }
      return;
    }
    guardError_.clear();
    if (!guardBaseline_ || *value < *guardBaseline_) {
      guardBaseline_ = *value;  // first read, or the table was recreated
      return;
    }
    if (*value > *guardBaseline_) {
      sink_.emit(ops::kernelRateGuard(*value - *guardBaseline_, guard_->limitPerSecond()));
      guardBaseline_ = *value;
    }
  }

  void checkHealth() {
    auto n = nflog_->stats();
    uint64_t lost = n.sequenceGaps;
    if (n.overruns > reportedOverruns_ || lost > reportedGaps_) {
      uint64_t count = std::max<uint64_t>(lost - reportedGaps_, n.overruns - reportedOverruns_);
      sink_.emit(ops::logLoss(
          "NFLOG group " + std::to_string(options_.nflog.group), count,
          std::chrono::system_clock::now() - options_.healthInterval,
          "the NFLOG receive buffer overran; those connections were enforced but not logged"));
      reportedOverruns_ = n.overruns;
      reportedGaps_ = lost;
    }
    if (kernel_) {
      auto k = kernel_->stats();
      if (k.ringBufferFull > reportedRingFull_) {
        sink_.emit(ops::attributionMode(
            mode(), std::to_string(k.ringBufferFull - reportedRingFull_) +
                        " packets could not be attributed: the BPF ring buffer was full"));
        reportedRingFull_ = k.ringBufferFull;
      }
      stats_.ringBufferFull = k.ringBufferFull;
      stats_.bpfRuns = k.runCount;
      stats_.bpfRunTimeNs = k.runTimeNs;
      stats_.bpfPacketRuns = k.packetRuns;
      stats_.bpfPacketRunTimeNs = k.packetRunTimeNs;
    }
  }

  std::string mode() const { return kernel_ ? "kernel" : (procfsMode_ ? "procfs" : "none"); }

  void periodic(Clock::time_point now, bool force) {
    if (force || now >= nextSummary_) {
      nextSummary_ = now + options_.summaryInterval;
      emitSummaries();
    }
    if (now >= nextGuard_) {
      nextGuard_ = now + options_.rateGuardInterval;
      checkGuard();
    }
    if (now >= nextHealth_) {
      nextHealth_ = now + options_.healthInterval;
      checkHealth();
    }
  }
};

Result<std::unique_ptr<ConnectionMonitor>> ConnectionMonitor::start(
    ConnectionMonitorOptions options, EventSink& sink, const PermitReasonSource* reasons,
    KernelRateGuard* rateGuard) {
  if (options.nflog.group == 0) options.nflog.group = enforce::kNflogGroup;
  std::unique_ptr<ConnectionMonitor> m(new ConnectionMonitor());
  m->eventsPerSecond_ = options.eventsPerSecond;
  auto mode = options.attribution;
  auto accepted = options.attributeAccepted;
  m->pipeline_ = std::make_unique<Pipeline>(std::move(options), sink, reasons, rateGuard);
  auto& p = *m->pipeline_;

  auto reader = NflogReader::open(p.options_.nflog);
  if (!reader) return reader.error();
  p.nflog_ = std::move(*reader);

  using A = ConnectionMonitorOptions::Attribution;
  if (mode == A::Auto || mode == A::Kernel) {
    KernelAttribution::Options ko;
    ko.attributeAccepted = accepted;
    auto k = KernelAttribution::load(ko);
    if (k) {
      p.kernel_ = std::move(*k);
      m->mode_ = "kernel";
      m->modeDetail_ = "BPF tracepoints skb:kfree_skb and net:net_dev_queue";
    } else if (mode == A::Kernel) {
      return k.error();
    } else {
      p.procfsMode_ = true;
      m->mode_ = "procfs";
      m->modeDetail_ = "BPF unavailable (" + k.error().message +
                       "); falling back to NFLOG + sock_diag + /proc: refused TCP connects and "
                       "short-lived senders are logged as unknown";
    }
  } else if (mode == A::Procfs) {
    p.procfsMode_ = true;
    m->mode_ = "procfs";
    m->modeDetail_ = "configured: NFLOG + sock_diag + /proc";
  } else {
    m->mode_ = "none";
    m->modeDetail_ = "configured: processes are not named";
  }
  sink.emit(ops::attributionMode(m->mode_, m->modeDetail_));

  m->wakeFd_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!m->wakeFd_.valid()) return Error::fromErrno("eventfd", errno);
  auto now = Clock::now();
  p.nextSummary_ = now + p.options_.summaryInterval;
  p.nextGuard_ = now;  // baseline at once
  p.nextHealth_ = now + p.options_.healthInterval;
  m->thread_ = std::thread([mp = m.get()] { mp->run(); });
  return m;
}

ConnectionMonitor::~ConnectionMonitor() {
  if (thread_.joinable()) {
    stop_.store(true);
    wake();
    thread_.join();
  }
}

void ConnectionMonitor::wake() {
  uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(wakeFd_.get(), &one, sizeof one);
}

void ConnectionMonitor::setEventsPerSecond(unsigned eventsPerSecond) {
  eventsPerSecond_.store(eventsPerSecond);
  wake();
}

void ConnectionMonitor::setAttributeAccepted(bool on, std::chrono::milliseconds wait) {
  uint64_t ticket;
  {
    std::lock_guard lock(attributeMutex_);
    attributeAccepted_.store(on ? 1 : 0);
    ticket = ++attributeRequests_;
  }
  wake();
  if (wait.count() <= 0 || !thread_.joinable()) return;
  std::unique_lock lock(attributeMutex_);
  attributeApplied_.wait_for(lock, wait, [&] { return attributeDone_ >= ticket; });
}

ConnectionMonitorStats ConnectionMonitor::stats() const {
  std::lock_guard lock(statsMutex_);
  return stats_;
}

void ConnectionMonitor::flushForTest() {
  int target = flushRequests_.fetch_add(1) + 1;
  wake();
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (flushesDone_.load() < target && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void ConnectionMonitor::run() {
  auto& p = *pipeline_;
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  auto add = [&](int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev);
  };
  add(wakeFd_.get());
  add(p.nflog_->fd());
  if (p.kernel_) add(p.kernel_->fd());
  unsigned rate = eventsPerSecond_.load();

  auto onPacket = [&](LoggedPacket&& packet) { p.onPacket(std::move(packet), Clock::now()); };
  auto onRecord = [&](KernelRecord&& r) { p.joiner_.addRecord(std::move(r), Clock::now()); };

  while (!stop_.load()) {
    int timeoutMs = 100;
    if (auto d = p.joiner_.nextDeadline()) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d - Clock::now()).count();
      timeoutMs = static_cast<int>(std::clamp<long long>(ms + 1, 0, 100));
    }
    epoll_event events[4];
    int n = ::epoll_wait(ep.get(), events, 4, timeoutMs);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == wakeFd_.get()) {
        uint64_t v;
        [[maybe_unused]] auto r = ::read(wakeFd_.get(), &v, sizeof v);
      }
    }
    if (unsigned r = eventsPerSecond_.load(); r != rate) {
      rate = r;
      p.suppressor_.setRate(r);
    }
    int a;
    uint64_t ticket;
    {
      std::lock_guard lock(attributeMutex_);
      a = attributeAccepted_.exchange(-1);
      ticket = attributeRequests_;
    }
    if (a >= 0) {
      if (p.kernel_) {
        if (auto st = p.kernel_->setAttributeAccepted(a == 1); !st) {
          p.sink_.emit(ops::attributionMode(p.mode(), st.error().message));
        }
      }
      std::lock_guard lock(attributeMutex_);
      attributeDone_ = ticket;
      attributeApplied_.notify_all();
    }
    // Records first: a message read in this turn should find its record already held.
    if (p.kernel_) p.kernel_->consume(onRecord);
    p.nflog_->readAvailable(onPacket, 256);
    if (p.kernel_) p.kernel_->consume(onRecord);
    auto now = Clock::now();
    int requested = flushRequests_.load();
    bool force = requested > flushesDone_.load();
    if (force) {
      // Give the joiner everything that is in flight, then resolve it.
      p.drainJoiner(now + p.options_.join.packetWait + std::chrono::milliseconds(1));
    } else {
      p.drainJoiner(now);
    }
    p.periodic(now, force);
    {
      std::lock_guard lock(statsMutex_);
      stats_ = p.stats_;
      stats_.nflog = p.nflog_->stats();
      stats_.join = p.joiner_.stats();
      stats_.duplicates = p.dedup_.duplicates();
    }
    if (force) flushesDone_.store(requested);
  }
  p.drainJoiner(Clock::now() + std::chrono::hours(1));
  p.emitSummaries();
}

}  // namespace ztdns::observe
