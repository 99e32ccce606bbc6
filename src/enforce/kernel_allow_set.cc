#include "enforce/kernel_allow_set.h"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <unordered_map>

#include "common/c_ptr.h"
#include "enforce/allow_mirror.h"
#include "enforce/conntrack_probe.h"
#include "enforce/set_elem_netlink.h"
#include "observe/event_sink.h"
#include "observe/operational_events.h"

namespace ztdns::enforce {

namespace {

using Clock = AllowMirror::Clock;
using MnlSocket = CPtr<mnl_socket, mnl_socket_close>;

constexpr int kSocketBuffer = 4 << 20;
// The mirror reserves room for this many addresses at most up front: the map's buckets cost 8
// bytes per address at once, the heap's room only as it fills. A larger cap grows on demand.
constexpr size_t kReserveLimit = 1 << 20;
// Legacy kernels (no DESTROYSETELEM, no timeout update) delete elements with DELSETELEM,
// which fails the whole batch if the element is gone. The mirror's expiry is never later
// than the kernel's, so an entry with more than this left is surely still in the kernel.
constexpr auto kLegacyMargin = std::chrono::seconds(2);

void setBuffer(int fd, int force, int plain) {
  // SO_*BUFFORCE passes rmem_max/wmem_max when we have CAP_NET_ADMIN (we do: we write
  // nftables); otherwise the plain option gets what the sysctl allows.
  if (setsockopt(fd, SOL_SOCKET, force, &kSocketBuffer, sizeof kSocketBuffer) != 0) {
    setsockopt(fd, SOL_SOCKET, plain, &kSocketBuffer, sizeof kSocketBuffer);
  }
}

std::string describeKernelError(int err) {
  std::string text = "allow set update refused by the kernel: " + std::string(std::strerror(err));
  if (err == ENOENT) text += " (table inet ztdns or its allow sets do not exist)";
  if (err == ENFILE) text += " (the kernel set is full)";
  return text;
}

}  // namespace

class KernelAllowSet::Core : public std::enable_shared_from_this<Core> {
 public:
  Core(asio::io_context& io, uint32_t capacity, observe::EventSink& events,
       KernelAllowSetOptions options, MnlSocket nl)
      : io_(io),
        events_(events),
        options_(options),
        nl_(std::move(nl)),
        descriptor_(io, mnl_socket_get_fd(nl_.get())),
        sweepTimer_(io),
        features_(options.features ? *options.features : detectKernelFeatures()),
        capacity_(capacity),
        nextSeq_(static_cast<uint32_t>(time(nullptr))) {}

  ~Core() {
    // The descriptor must not close the fd: the mnl socket owns it.
    if (descriptor_.is_open()) descriptor_.release();
  }

  void start() {
    mirror_.reserve(std::min<size_t>(capacity_, kReserveLimit));
    armSweep();
  }

  void shutdown() {
    closed_ = true;
    sweepTimer_.cancel();
    for (auto& [seq, batch] : inflight_) batch->timer.cancel();
    inflight_.clear();
    if (descriptor_.is_open()) {
      descriptor_.cancel();
      descriptor_.release();
    }
  }

  void insert(std::vector<AllowRequest> requests, AllowOrigin origin,
              std::function<void(Status)> done);
  std::optional<AllowEntryInfo> lookup(const IpAddress& a) const {
    return mirror_.lookup(a, Clock::now());
  }
  AllowSetStats stats() const {
    AllowSetStats s;
    s.inserted = inserted_.load(std::memory_order_relaxed);
    s.skippedFresh = skippedFresh_.load(std::memory_order_relaxed);
    s.batches = batches_.load(std::memory_order_relaxed);
    s.evicted = evicted_.load(std::memory_order_relaxed);
    s.refused = refused_.load(std::memory_order_relaxed);
    s.failures = failures_.load(std::memory_order_relaxed);
    s.size = mirror_.size();
    return s;
  }
  Status adopt();
  void setActive(bool active) {
    active_ = active;
    // The table goes with the state: when it comes back, the kernel sets start empty (or
    // are adopted), so the mirror must not claim allows that are no longer there.
    if (!active) mirror_.clear();
  }
  void setCapacity(uint32_t capacity) {
    capacity_ = capacity;
    mirror_.reserve(std::min<size_t>(capacity, kReserveLimit));
  }
  void stopReadingAcks() { ackReadingStopped_ = true; }

 private:
  struct Caller {
    std::function<void(Status)> done;
    size_t firstWrite = 0;  // index range in the queue's writes
    size_t endWrite = 0;
  };
  struct Queue {
    std::vector<ElemWrite> writes;
    std::vector<IpAddress> destroys;
    std::vector<Caller> callers;
  };
  struct Batch {
    explicit Batch(asio::io_context& io) : timer(io) {}
    uint32_t begin = 0, end = 0;
    size_t acksLeft = 0;
    bool failed = false;
    std::string error;
    std::vector<ElemWrite> writes;
    std::vector<std::function<void(Status)>> callers;
    Clock::time_point sentAt;
    uint64_t generation = 0;
    asio::steady_timer timer;
  };

  // By value: complete() erases the batch from inflight_, which may own the caller's copy.
  void complete(std::shared_ptr<Batch> batch, Status status);
  Status makeRoom(size_t newSlots, Clock::time_point now, const std::vector<IpAddress>& keep);
  void scheduleFlush();
  void flush();
  void send(std::shared_ptr<Batch> batch, Queue& queue, const std::vector<IpAddress>& destroys);
  void armRead();
  void onReadable();
  void onAck(uint32_t seq, int err);
  void armSweep();
  void reportCapacity(bool refused, uint64_t count, size_t size);

  asio::io_context& io_;
  observe::EventSink& events_;
  KernelAllowSetOptions options_;
  MnlSocket nl_;
  asio::posix::stream_descriptor descriptor_;
  asio::steady_timer sweepTimer_;
  AllowMirror mirror_;
  std::unique_ptr<ConntrackProbe> probe_;

  const KernelFeatures features_;
  bool closed_ = false;
  bool active_ = true;
  bool flushPosted_ = false;
  bool reading_ = false;
  bool ackReadingStopped_ = false;
  uint32_t capacity_;
  uint32_t nextSeq_;
  Queue queue_;
  std::map<uint32_t, std::shared_ptr<Batch>> inflight_;  // by BATCH_BEGIN sequence number
  Clock::time_point lastCapacityEvent_[2] = {};
  uint64_t unreportedCapacity_[2] = {};

  std::atomic<uint64_t> inserted_{0}, skippedFresh_{0}, batches_{0}, evicted_{0}, refused_{0},
      failures_{0};
};

void KernelAllowSet::Core::insert(std::vector<AllowRequest> requests, AllowOrigin origin,
                                  std::function<void(Status)> done) {
  auto finishNow = [this, &done](Status st) {
    asio::post(io_, [done = std::move(done), st = std::move(st)]() { done(st); });
  };
  if (!active_ || closed_) return finishNow(okStatus());

  const auto now = Clock::now();
  // Pass 1, no side effects: what must be written, and how many new slots that takes.
  struct Item {
    IpAddress address;
    uint32_t timeout;
    AllowMirror::Plan plan;
  };
  std::vector<Item> items;
  size_t newSlots = 0;
  for (auto& r : requests) {
    IpAddress a = r.address;
    if (classifyAnswerAddress(a) != AddressVerdict::kInsert) continue;  // never allowed
    if (r.timeoutSeconds == 0) {
      return finishNow(Error{"allow for " + a.toString() + " has no timeout"});
    }
    auto dup =
        std::find_if(items.begin(), items.end(), [&](const Item& i) { return i.address == a; });
    if (dup != items.end()) {
      dup->timeout = std::max(dup->timeout, r.timeoutSeconds);
      continue;
    }
    auto plan = mirror_.plan(a, r.timeoutSeconds, now);
    if (plan == AllowMirror::Plan::kFresh) {
      skippedFresh_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (plan == AllowMirror::Plan::kNew) ++newSlots;
    items.push_back({a, r.timeoutSeconds, plan});
  }
  if (items.empty()) return finishNow(okStatus());
  if (newSlots) {
    std::vector<IpAddress> keep;  // this caller's own addresses are never evicted for it
    for (const auto& item : items) keep.push_back(item.address);
    if (auto room = makeRoom(newSlots, now, keep); !room) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      reportCapacity(true, 1, mirror_.size());
      return finishNow(room.error());
    }
  }

  auto shared = std::make_shared<const AllowOrigin>(std::move(origin));
  const std::string comment = originComment(shared->name, shared->server);
  Caller caller{std::move(done), queue_.writes.size(), 0};
  for (const auto& item : items) {
    bool replace = false;
    if (!features_.elementTimeoutUpdate && item.plan == AllowMirror::Plan::kExtend) {
      auto expires = mirror_.confirmedExpiry(item.address);
      replace = expires && *expires > now + kLegacyMargin;
    }
    mirror_.beginWrite(item.address, shared);
    queue_.writes.push_back({item.address, item.timeout, comment, replace});
  }
  caller.endWrite = queue_.writes.size();
  queue_.callers.push_back(std::move(caller));
  scheduleFlush();
}

Status KernelAllowSet::Core::makeRoom(size_t newSlots, Clock::time_point now,
                                      const std::vector<IpAddress>& keep) {
  const size_t cap = capacity_;
  if (mirror_.size() + newSlots <= cap) return okStatus();
  mirror_.expire(now);
  const size_t size = mirror_.size();
  if (size + newSlots <= cap) return okStatus();
  const size_t need = size + newSlots - cap;
  // A little more than needed, so that a full set does not dump conntrack on every query.
  const size_t want = need + std::min<size_t>(cap / 64, 64);

  if (!probe_) {
    auto p = ConntrackProbe::open();
    if (!p) return Error{"allow set full and conntrack unavailable: " + p.error().message};
    probe_ = std::move(*p);
  }
  std::vector<IpAddress> chosen;
  // First the entries closest to expiry; if too many of them carry flows, all of them.
  for (size_t look : {std::max<size_t>(want * 8, 256), size}) {
    auto candidates = mirror_.evictionCandidates(look);
    auto busy = probe_->withLiveFlows(candidates);
    if (!busy) return Error{"allow set full and conntrack unreadable: " + busy.error().message};
    chosen.clear();
    for (const auto& c : candidates) {
      if (chosen.size() == want) break;
      if (busy->count(c) || std::find(keep.begin(), keep.end(), c) != keep.end()) continue;
      chosen.push_back(c);
    }
    if (chosen.size() >= need || candidates.size() < look) break;
  }
  if (chosen.size() < need) {
    return Error{"allow set full: " + std::to_string(size) + " of " + std::to_string(cap) +
                 " addresses allowed and none can be evicted (all carry live connections)"};
  }
  for (const auto& a : chosen) {
    auto expires = mirror_.confirmedExpiry(a);
    mirror_.erase(a);
    // DELSETELEM (legacy) must not name an element the kernel may have expired already:
    // one about to expire is only forgotten; the kernel's headroom covers it until then.
    if (features_.destroyElement || (expires && *expires > now + kLegacyMargin)) {
      queue_.destroys.push_back(a);
    }
  }
  evicted_.fetch_add(chosen.size(), std::memory_order_relaxed);
  reportCapacity(false, chosen.size(), size);  // the size that was too big
  return okStatus();
}

void KernelAllowSet::Core::reportCapacity(bool refused, uint64_t count, size_t size) {
  // At most one event per kind per second; the next one carries what was left unsaid.
  // The format is Operational CAPACITY (102) of docs/logging.md, via observe::ops.
  const int kind = refused ? 1 : 0;
  unreportedCapacity_[kind] += count;
  const auto now = Clock::now();
  if (now - lastCapacityEvent_[kind] < std::chrono::seconds(1)) return;
  lastCapacityEvent_[kind] = now;
  observe::Event e = observe::ops::allowCapacity(
      refused ? "inserts refused, answered SERVFAIL (every allowed address has a live connection)"
              : "addresses evicted early (closest to expiry, without live connections)",
      unreportedCapacity_[kind], size, capacity_);
  e.fields["evictedTotal"] = evicted_.load();
  e.fields["refusedTotal"] = refused_.load();
  unreportedCapacity_[kind] = 0;
  events_.emit(std::move(e));
}

void KernelAllowSet::Core::scheduleFlush() {
  if (flushPosted_) return;
  flushPosted_ = true;
  // Everything queued before this handler runs (the rest of this loop turn) joins the batch.
  asio::post(io_, [self = shared_from_this()] {
    self->flushPosted_ = false;
    if (!self->closed_) self->flush();
  });
}

void KernelAllowSet::Core::flush() {
  Queue queue = std::move(queue_);
  queue_ = Queue{};
  std::vector<IpAddress> destroys = std::move(queue.destroys);
  size_t next = 0;
  while (next < queue.callers.size() || !destroys.empty()) {
    auto batch = std::make_shared<Batch>(io_);
    size_t elements = 0;
    Queue part;
    while (next < queue.callers.size()) {
      auto& c = queue.callers[next];
      size_t n = c.endWrite - c.firstWrite;
      if (elements && elements + n > options_.maxElementsPerBatch) break;
      for (size_t i = c.firstWrite; i < c.endWrite; ++i) part.writes.push_back(queue.writes[i]);
      batch->callers.push_back(std::move(c.done));
      elements += n;
      ++next;
    }
    send(std::move(batch), part, destroys);
    destroys.clear();  // evictions ride in the first batch, before the writes
  }
}

void KernelAllowSet::Core::send(std::shared_ptr<Batch> batch, Queue& part,
                                const std::vector<IpAddress>& destroys) {
  SetElemBatch msg(nextSeq_);
  auto chunked = [&](auto&& items, auto&& emit) {
    for (IpFamily family : {IpFamily::V4, IpFamily::V6}) {
      std::vector<std::remove_cvref_t<decltype(*items.begin())>> chunk;
      for (const auto& item : items) {
        if (emit.familyOf(item) != family) continue;
        chunk.push_back(item);
        if (chunk.size() == options_.maxElementsPerMessage) {
          emit(chunk);
          chunk.clear();
        }
      }
      if (!chunk.empty()) emit(chunk);
    }
  };
  struct DestroyEmit {
    SetElemBatch& m;
    bool destroySupported;
    IpFamily familyOf(const IpAddress& a) const { return a.family(); }
    void operator()(const std::vector<IpAddress>& c) const {
      m.destroyElements(c, destroySupported);
    }
  };
  struct WriteEmit {
    SetElemBatch& m;
    IpFamily familyOf(const ElemWrite* w) const { return w->address.family(); }
    void operator()(const std::vector<const ElemWrite*>& c) const { m.addElements(c); }
  };
  chunked(destroys, DestroyEmit{msg, features_.destroyElement});
  // One element per address even when several callers of this turn wrote it (the longest
  // timeout wins); the mirror still sees one commit per write.
  std::vector<ElemWrite> unique;
  std::unordered_map<IpAddress, size_t> index;
  for (const auto& w : part.writes) {
    auto [it, fresh] = index.try_emplace(w.address, unique.size());
    if (fresh) {
      unique.push_back(w);
      continue;
    }
    auto& u = unique[it->second];
    u.replace = u.replace || w.replace;
    if (w.timeoutSeconds > u.timeoutSeconds) {
      u.timeoutSeconds = w.timeoutSeconds;
      u.comment = w.comment;
    }
  }
  // Legacy kernels: extensions are a delete and an add of the same element in one batch.
  std::vector<IpAddress> replaced;
  for (const auto& u : unique)
    if (u.replace) replaced.push_back(u.address);
  chunked(replaced, DestroyEmit{msg, false});
  std::vector<const ElemWrite*> writes;
  for (const auto& u : unique) writes.push_back(&u);
  chunked(writes, WriteEmit{msg});
  msg.finish();
  nextSeq_ = msg.endSeq() + 1;

  batch->begin = msg.beginSeq();
  batch->end = msg.endSeq();
  batch->acksLeft = msg.messageSeqs().size();
  batch->writes = std::move(part.writes);
  batch->generation = mirror_.generation();
  batch->sentAt = Clock::now();
  batches_.fetch_add(1, std::memory_order_relaxed);
  if (mnl_socket_sendto(nl_.get(), msg.bytes().data(), msg.bytes().size()) < 0) {
    complete(batch, Error::fromErrno("netlink send of the allow-set batch", errno));
    return;
  }
  inflight_[batch->begin] = batch;
  batch->timer.expires_after(options_.ackTimeout);
  batch->timer.async_wait([self = shared_from_this(), begin = batch->begin](asio::error_code ec) {
    if (ec || self->closed_) return;
    auto it = self->inflight_.find(begin);
    if (it == self->inflight_.end()) return;
    self->complete(it->second, Error{"the kernel did not acknowledge the allow-set batch within " +
                                         std::to_string(self->options_.ackTimeout.count()) + " ms",
                                     ETIMEDOUT});
  });
  armRead();
}

void KernelAllowSet::Core::armRead() {
  if (reading_ || closed_ || ackReadingStopped_) return;
  reading_ = true;
  descriptor_.async_wait(asio::posix::stream_descriptor::wait_read,
                         [self = shared_from_this()](asio::error_code ec) {
                           self->reading_ = false;
                           if (ec || self->closed_) return;
                           self->onReadable();
                         });
}

void KernelAllowSet::Core::onReadable() {
  alignas(nlmsghdr) static thread_local char buf[1 << 16];
  for (;;) {
    ssize_t n = recv(mnl_socket_get_fd(nl_.get()), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      // ENOBUFS: ACKs were lost, so no batch in flight can learn its outcome.
      int err = errno;
      auto inflight = inflight_;
      for (auto& [seq, batch] : inflight) {
        complete(batch, Error::fromErrno("netlink receive (allow-set ACKs)", err));
      }
      break;
    }
    int len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_type != NLMSG_ERROR) continue;
      auto* err = static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      onAck(nlh->nlmsg_seq, -err->error);
    }
  }
  if (!inflight_.empty()) armRead();
}

void KernelAllowSet::Core::onAck(uint32_t seq, int err) {
  auto it = inflight_.upper_bound(seq);
  if (it == inflight_.begin()) return;  // a batch that already timed out
  --it;
  auto batch = it->second;
  if (seq > batch->end) return;
  if (err != 0 && !batch->failed) {
    batch->failed = true;
    batch->error = describeKernelError(err);
  }
  // An error on BATCH_BEGIN's sequence is a failed commit: no further ACKs will come.
  if (seq == batch->begin || --batch->acksLeft == 0) {
    complete(batch, batch->failed ? Status(Error{batch->error, err}) : okStatus());
  }
}

void KernelAllowSet::Core::complete(std::shared_ptr<Batch> batch, Status status) {
  inflight_.erase(batch->begin);
  batch->timer.cancel();
  if (status.ok()) {
    inserted_.fetch_add(batch->writes.size(), std::memory_order_relaxed);
    for (const auto& w : batch->writes) {
      // sentAt is no later than the kernel's own clock start: the mirror never overstates.
      mirror_.commitWrite(w.address, batch->sentAt + std::chrono::seconds(w.timeoutSeconds),
                          batch->generation);
    }
  } else {
    failures_.fetch_add(1, std::memory_order_relaxed);
    for (const auto& w : batch->writes) mirror_.abortWrite(w.address, batch->generation);
  }
  for (auto& done : batch->callers) done(status);
}

void KernelAllowSet::Core::armSweep() {
  sweepTimer_.expires_after(options_.sweepInterval);
  sweepTimer_.async_wait([weak = weak_from_this()](asio::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->closed_) return;
    self->mirror_.expire(Clock::now());
    self->armSweep();
  });
}

Status KernelAllowSet::Core::adopt() {
  auto v4 = dumpAllowSet(IpFamily::V4);
  if (!v4) return v4.error();
  auto v6 = dumpAllowSet(IpFamily::V6);
  if (!v6) return v6.error();
  // Merge, never clear: inserts that ran while the dump was read stay, and load() keeps the
  // later expiry of the two.
  const auto now = Clock::now();
  for (auto* list : {&*v4, &*v6}) {
    for (const auto& k : *list) {
      auto origin = std::make_shared<AllowOrigin>();
      parseOriginComment(k.comment, origin->name, origin->server);
      // An element without a timeout (written by hand) never expires: last to be evicted.
      auto expires = k.timeoutMs == 0 ? Clock::time_point::max() - std::chrono::hours(24 * 365)
                                      : now + std::chrono::milliseconds(k.expiresInMs);
      mirror_.load(k.address, expires, origin);
    }
  }
  return okStatus();
}

Result<std::unique_ptr<KernelAllowSet>> KernelAllowSet::create(asio::io_context& io,
                                                               uint32_t capacity,
                                                               observe::EventSink& events,
                                                               KernelAllowSetOptions options) {
  MnlSocket nl(mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!nl) return Error::fromErrno("mnl_socket_open(NETLINK_NETFILTER)", errno);
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return Error::fromErrno("mnl_socket_bind", errno);
  }
  int fd = mnl_socket_get_fd(nl.get());
  setBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
  setBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
  int on = 1;
  // ACKs without a copy of the request: thousands of elements must not echo back.
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
  auto core = std::make_shared<Core>(io, capacity, events, options, std::move(nl));
  core->start();
  return std::unique_ptr<KernelAllowSet>(new KernelAllowSet(std::move(core)));
}

KernelAllowSet::~KernelAllowSet() {
  core_->shutdown();
}

void KernelAllowSet::insert(std::vector<AllowRequest> requests, AllowOrigin origin,
                            std::function<void(Status)> done) {
  core_->insert(std::move(requests), std::move(origin), std::move(done));
}
std::optional<AllowEntryInfo> KernelAllowSet::lookup(const IpAddress& address) const {
  return core_->lookup(address);
}
AllowSetStats KernelAllowSet::stats() const {
  return core_->stats();
}
Status KernelAllowSet::adoptKernelState() {
  return core_->adopt();
}
void KernelAllowSet::setActive(bool active) {
  core_->setActive(active);
}
void KernelAllowSet::setCapacity(uint32_t maxAddresses) {
  core_->setCapacity(maxAddresses);
}
void KernelAllowSet::stopReadingAcksForTest() {
  core_->stopReadingAcks();
}

Result<std::unique_ptr<AllowSet>> makeKernelAllowSet(asio::io_context& io, uint32_t capacity,
                                                     observe::EventSink& events) {
  auto set = KernelAllowSet::create(io, capacity, events);
  if (!set) return set.error();
  return std::unique_ptr<AllowSet>(std::move(*set));
}

}  // namespace ztdns::enforce
