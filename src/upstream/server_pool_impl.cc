#include "upstream/server_pool_impl.h"

#include <asio/post.hpp>

#include "upstream/wire.h"

namespace ztdns::upstream {

using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

struct PoolCore::Slot {
  Slot(asio::io_context& io, EndpointConfig cfg, std::shared_ptr<const TlsContext> tls)
      : ep(io, std::move(cfg), std::move(tls)), probeTimer(io) {}
  UpstreamEndpoint ep;
  std::shared_ptr<StatusCell> cell;
  Health health = Health::kUnknown;
  // The same endpoint's health and error in the previous generation: a first result that
  // only repeats them is not news for the Operational log.
  Health before = Health::kUnknown;
  std::string beforeError;
  bool errorShown = false;  // cell->lastError is not empty
  Clock::time_point lastAnswerAt{};
  milliseconds backoff{0};
  asio::steady_timer probeTimer;
  uint64_t probeToken = 0;  // bumped to invalidate a running probe
  ExchangePtr probe;
};

struct PoolCore::Generation {
  std::vector<std::unique_ptr<Slot>> slots;
  bool retired = false;
};

struct PoolCore::Query {
  std::shared_ptr<Generation> gen;
  std::vector<uint8_t> wire;
  Clock::time_point deadline;
  std::function<void(Result<Answer>)> done;
  std::optional<IpAddress> via;
  size_t next = 0;
  bool matchedVia = false;
  ExchangePtr current;
  size_t currentSlot = 0;
  uint32_t seq = 0;
  bool finished = false;
  std::string errors;  // "name: words; name: words"
};

namespace {

void appendError(std::string& errors, const std::string& who, const std::string& words) {
  if (!errors.empty()) errors += "; ";
  errors += who + ": " + words;
}

// Failures that come back over an established, verified connection: the server is
// reachable with a valid identity, only this exchange failed (an HTTP status, an answer
// that is not DNS).
bool provesReachable(const UpstreamError& e) {
  return e.cls == ErrorClass::kHttp || e.cls == ErrorClass::kBadAnswer;
}

}  // namespace

PoolCore::PoolCore(asio::io_context& io, observe::EventSink& events)
    : io_(io), events_(events), deadlineTimer_(io) {}

Status PoolCore::configure(const PoolOptions& options) {
  // The context in force lends what it read from a file that cannot be read now (deleted
  // since): a change elsewhere in the config keeps the trust and client certificate.
  auto tls = TlsContext::create(options.rootCertificates, options.clientCertificate, tls_.get());
  if (!tls) return tls.error();
  tls_ = *tls;
  auto configs = endpointConfigs(options);
  if (!configs) return configs.error();
  auto gen = std::make_shared<Generation>();
  std::vector<std::shared_ptr<StatusCell>> cells;
  for (auto& c : *configs) {
    auto cell = std::make_shared<StatusCell>();
    cell->fixed.name = c.serverName;
    cell->fixed.address = c.address;
    cell->fixed.port = c.port;
    cell->fixed.transport = c.transport;
    cell->fixed.priority = c.priority;
    Health before = Health::kUnknown;
    std::string beforeError;
    for (size_t i = 0; gen_ && i < gen_->slots.size(); ++i) {
      const Slot* old = gen_->slots[i].get();
      const auto& oc = old->ep.config();
      if (oc.address != c.address || oc.port != c.port || oc.transport != c.transport) continue;
      before = old->health;
      std::lock_guard lock(old->cell->mutex);
      beforeError = old->cell->lastError;
      cell->lastFailure = old->cell->lastFailure;
      cell->lastFailureAt = old->cell->lastFailureAt;
      break;
    }
    auto slot = std::make_unique<Slot>(io_, std::move(c), *tls);
    slot->cell = cell;
    slot->before = before;
    slot->beforeError = std::move(beforeError);
    gen->slots.push_back(std::move(slot));
    cells.push_back(std::move(cell));
  }
  if (gen_) retire(*gen_);
  options_ = options;
  gen_ = std::move(gen);
  {
    std::lock_guard lock(cellsMutex_);
    cells_ = std::move(cells);
  }
  // Every endpoint is unknown until something was exchanged with it: check them all now
  // rather than at the first client query. Results arrive on later loop turns.
  if (!options.deferFirstChecks) checkUnknown();
  return okStatus();
}

void PoolCore::checkUnknown() {
  if (stopped_ || !gen_) return;
  for (size_t i = 0; i < gen_->slots.size(); ++i) {
    if (gen_->slots[i]->health == Health::kUnknown && !gen_->slots[i]->probe) runProbe(gen_, i);
  }
}

void PoolCore::retire(Generation& gen) {
  gen.retired = true;
  for (auto& s : gen.slots) {
    ++s->probeToken;
    s->probeTimer.cancel();
    if (s->probe) s->probe->abandon();
    s->probe.reset();
  }
}

void PoolCore::shutdown() {
  stopped_ = true;
  while (!deadlines_.empty()) {
    auto q = deadlines_.top().query;
    deadlines_.pop();
    q->finished = true;
    q->done = nullptr;
    if (q->current) q->current->abandon();
    q->current.reset();
    q->gen.reset();
  }
  deadlineTimer_.cancel();
  if (gen_) retire(*gen_);
  gen_.reset();
}

std::vector<ServerStatus> PoolCore::status() const {
  std::lock_guard lock(cellsMutex_);
  std::vector<ServerStatus> out;
  out.reserve(cells_.size());
  for (const auto& c : cells_) {
    ServerStatus s = c->fixed;
    s.health = c->health.load(std::memory_order_relaxed);
    int64_t rtt = c->rttUs.load(std::memory_order_relaxed);
    if (rtt >= 0) s.lastRtt = microseconds(rtt);
    s.answered = c->answered.load(std::memory_order_relaxed);
    s.failed = c->failed.load(std::memory_order_relaxed);
    std::lock_guard cl(c->mutex);
    s.lastError = c->lastError;
    s.lastFailure = c->lastFailure;
    s.lastFailureAt = c->lastFailureAt;
    out.push_back(std::move(s));
  }
  return out;
}

void PoolCore::resolve(std::span<const uint8_t> query, Clock::time_point deadline,
                       std::function<void(Result<Answer>)> done, const IpAddress* via) {
  auto q = std::make_shared<Query>();
  q->gen = gen_;
  q->deadline = deadline;
  q->done = std::move(done);
  if (via) q->via = *via;
  if (stopped_ || !q->gen) {
    fail(q, FailureCause::kNoServers, "the server pool is stopped", true);
    return;
  }
  if (!wire::questionEnd(query)) {
    fail(q, FailureCause::kBadQuery, "the query is not a DNS message with a question", true);
    return;
  }
  q->wire.assign(query.begin(), query.end());
  if (options_.padQueries) wire::padQuery(q->wire);
  if (q->gen->slots.empty()) {
    fail(q, FailureCause::kNoServers, "no secure DNS servers are configured", true);
    return;
  }
  tryNext(q, true);
}

void PoolCore::tryNext(const std::shared_ptr<Query>& q, bool synchronous) {
  auto now = Clock::now();
  if (now >= q->deadline) {
    fail(q, FailureCause::kTimeout,
         "no answer before the deadline" + (q->errors.empty() ? "" : " (" + q->errors + ")"),
         synchronous);
    return;
  }
  auto& slots = q->gen->slots;
  while (q->next < slots.size()) {
    size_t i = q->next++;
    Slot& s = *slots[i];
    if (q->via) {
      if (s.ep.config().address != *q->via) continue;
      q->matchedVia = true;                  // asked for explicitly: tried even when down
    } else if (s.health == Health::kDown) {  // unknown is tried like up
      std::lock_guard lock(s.cell->mutex);
      appendError(q->errors, s.ep.label(), "down (" + s.cell->lastError + ")");
      continue;
    }
    startAttempt(q, i, now);
    return;
  }
  if (q->via && !q->matchedVia) {
    fail(q, FailureCause::kNoServers, q->via->toString() + " is not a configured secure DNS server",
         synchronous);
    return;
  }
  fail(q, FailureCause::kAllServersFailed, "no server could answer: " + q->errors, synchronous);
}

void PoolCore::startAttempt(const std::shared_ptr<Query>& q, size_t index, Clock::time_point now) {
  Slot& s = *q->gen->slots[index];
  // The last candidate may use all the time that is left; others get attemptTimeout.
  bool another = false;
  for (size_t j = q->next; j < q->gen->slots.size() && !another; ++j) {
    const Slot& o = *q->gen->slots[j];
    another = q->via ? o.ep.config().address == *q->via : o.health != Health::kDown;
  }
  auto until = another ? std::min(q->deadline, now + options_.attemptTimeout) : q->deadline;
  auto ex = std::make_shared<Exchange>();
  ex->query = q->wire;
  ex->sentAt = now;
  uint32_t seq = ++q->seq;
  q->current = ex;
  q->currentSlot = index;
  ex->onDone = [this, q, index, seq](ExchangeResult r) {
    onAttemptDone(q, index, seq, std::move(r));
  };
  pushDeadline(until, q, seq);
  s.ep.send(ex);
}

void PoolCore::onAttemptDone(const std::shared_ptr<Query>& q, size_t index, uint32_t seq,
                             ExchangeResult r) {
  if (q->finished || seq != q->seq || stopped_) return;
  auto gen = q->gen;  // keep alive across callbacks
  Slot& s = *gen->slots[index];
  auto now = Clock::now();
  ExchangePtr ex = std::move(q->current);
  if (r.ok()) {
    auto rtt = duration_cast<microseconds>(now - ex->sentAt);
    noteAnswer(s, rtt, now);
    s.cell->answered.fetch_add(1, std::memory_order_relaxed);
    if (s.health != Health::kUp && !gen->retired) markUp(*gen, index);
    const auto& c = s.ep.config();
    complete(q, Answer{std::move(r.answer), c.serverName, c.address, c.port, c.transport, rtt},
             false);
    return;
  }
  s.cell->failed.fetch_add(1, std::memory_order_relaxed);
  if (r.error.marksServerDown() && !gen->retired) {
    markDown(*gen, index, r.error);
  } else if (provesReachable(r.error) && s.lastAnswerAt < ex->sentAt && !gen->retired) {
    // It answers, but nothing usable (HTTP errors, answers that do not match the query) and
    // no good answer since this query left: a server that is up in name only would stay
    // first in line and cost every query a failover. One odd answer among good ones is not.
    markDown(*gen, index, r.error);
  } else {
    noteError(s, r.error);
  }
  appendError(q->errors, s.ep.label(), r.error.words);
  tryNext(q, false);
}

void PoolCore::onAttemptTimeout(const std::shared_ptr<Query>& q) {
  auto gen = q->gen;
  Slot& s = *gen->slots[q->currentSlot];
  ExchangePtr ex = std::move(q->current);
  ex->abandon();
  s.cell->failed.fetch_add(1, std::memory_order_relaxed);
  auto waited = duration_cast<milliseconds>(Clock::now() - ex->sentAt);
  UpstreamError err{ErrorClass::kTimeout,
                    "no answer within " + std::to_string(waited.count()) + " ms"};
  // Down only if the server answered nothing at all since this query left: a single
  // dropped query on a busy, answering server is not an outage.
  if (s.lastAnswerAt < ex->sentAt && !gen->retired) {
    markDown(*gen, q->currentSlot, err);
  } else {
    noteError(s, err);
  }
  appendError(q->errors, s.ep.label(), err.words);
  ++q->seq;
  tryNext(q, false);
}

void PoolCore::complete(const std::shared_ptr<Query>& q, Result<Answer> result, bool synchronous) {
  q->finished = true;
  q->current.reset();
  q->wire = {};
  auto done = std::move(q->done);
  q->done = nullptr;
  q->gen.reset();
  if (!done) return;
  if (synchronous) {
    // Never call back from inside resolve(): the caller may not expect re-entry.
    asio::post(io_, [done = std::move(done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
  } else {
    done(std::move(result));
  }
}

void PoolCore::fail(const std::shared_ptr<Query>& q, FailureCause cause, std::string words,
                    bool synchronous) {
  complete(q, Error{std::move(words), static_cast<int>(cause)}, synchronous);
}

void PoolCore::pushDeadline(Clock::time_point when, const std::shared_ptr<Query>& q, uint32_t seq) {
  deadlines_.push({when, q, seq});
  if (when < armedFor_) armDeadlineTimer();
}

void PoolCore::armDeadlineTimer() {
  if (deadlines_.empty()) {
    armedFor_ = Clock::time_point::max();
    return;
  }
  armedFor_ = deadlines_.top().when;
  deadlineTimer_.expires_at(armedFor_);
  std::weak_ptr<PoolCore> weak = weak_from_this();
  deadlineTimer_.async_wait([weak](const asio::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock(); self && !self->stopped_) self->onDeadlineTimer();
  });
}

void PoolCore::onDeadlineTimer() {
  auto now = Clock::now();
  armedFor_ = Clock::time_point::max();
  while (!deadlines_.empty() && deadlines_.top().when <= now) {
    auto e = deadlines_.top();
    deadlines_.pop();
    if (e.query->finished || e.seq != e.query->seq) continue;
    onAttemptTimeout(e.query);
  }
  // Lazily drop finished queries at the top so the heap does not keep them alive.
  while (!deadlines_.empty() && (deadlines_.top().query->finished ||
                                 deadlines_.top().seq != deadlines_.top().query->seq)) {
    deadlines_.pop();
  }
  if (armedFor_ == Clock::time_point::max()) armDeadlineTimer();
}

void PoolCore::noteError(Slot& s, const UpstreamError& error) {
  auto now = std::chrono::system_clock::now();
  std::lock_guard lock(s.cell->mutex);
  s.cell->lastError = error.words;
  s.cell->lastFailure = error.words;
  s.cell->lastFailureAt = now;
  s.errorShown = true;
}

void PoolCore::noteAnswer(Slot& s, microseconds rtt, Clock::time_point now) {
  s.lastAnswerAt = now;
  s.cell->rttUs.store(rtt.count(), std::memory_order_relaxed);
  if (!s.errorShown) return;  // the common case takes no lock
  // The error is history now (lastFailure keeps it).
  std::lock_guard lock(s.cell->mutex);
  s.cell->lastError.clear();
  s.errorShown = false;
}

void PoolCore::setHealth(Slot& s, Health h) {
  s.health = h;
  s.cell->health.store(h, std::memory_order_relaxed);
}

void PoolCore::markDown(Generation& gen, size_t index, const UpstreamError& error) {
  Slot& s = *gen.slots[index];
  noteError(s, error);
  if (s.health == Health::kDown) return;
  // Down is news, also as the first result (a new server that never worked), unless the
  // previous configuration already reported this endpoint down for the same reason.
  bool news =
      !(s.health == Health::kUnknown && s.before == Health::kDown && s.beforeError == error.words);
  setHealth(s, Health::kDown);
  if (s.probe) s.probe->abandon();  // a first check still in flight
  s.probe.reset();
  s.backoff = options_.initialBackoff;
  if (news) emitHealth(s, false, error.words);
  scheduleProbe(gen, index);
}

void PoolCore::markUp(Generation& gen, size_t index) {
  Slot& s = *gen.slots[index];
  if (s.health == Health::kUp) return;
  // Up after down is news; a first result that finds the endpoint up is not, unless the
  // previous configuration had it down.
  bool news = s.health == Health::kDown || s.before == Health::kDown;
  setHealth(s, Health::kUp);
  ++s.probeToken;
  s.probeTimer.cancel();
  if (s.probe) s.probe->abandon();
  s.probe.reset();
  if (news) emitHealth(s, true, "");
  scheduleIdleCheck(gen, index);
}

template <class Fire>
void PoolCore::armSlotTimer(Generation& gen, size_t index, Clock::time_point when, Fire fire) {
  Slot& s = *gen.slots[index];
  uint64_t token = ++s.probeToken;  // a later arm, a probe or markUp makes this one stale
  s.probeTimer.expires_at(when);
  std::weak_ptr<PoolCore> weakCore = weak_from_this();
  std::weak_ptr<Generation> weakGen = gen_.get() == &gen ? gen_ : nullptr;
  s.probeTimer.async_wait([weakCore, weakGen, index, token, fire](const asio::error_code& ec) {
    if (ec) return;
    auto core = weakCore.lock();
    auto g = weakGen.lock();
    if (!core || !g || core->stopped_ || g->retired) return;
    if (g->slots[index]->probeToken != token) return;
    fire(*core, g, index);
  });
}

void PoolCore::scheduleIdleCheck(Generation& gen, size_t index) {
  if (options_.idleCheckInterval.count() <= 0) return;
  // Due one interval after the last answer: an endpoint in use is never probed.
  const auto due =
      std::max(gen.slots[index]->lastAnswerAt, Clock::now() - options_.idleCheckInterval / 2) +
      options_.idleCheckInterval;
  armSlotTimer(gen, index, due, [](PoolCore& core, const std::shared_ptr<Generation>& g, size_t i) {
    const Slot& slot = *g->slots[i];
    if (slot.health != Health::kUp) return;
    if (Clock::now() - slot.lastAnswerAt < core.options_.idleCheckInterval) {
      core.scheduleIdleCheck(*g, i);  // answered meanwhile
      return;
    }
    core.runProbe(g, i);
  });
}

void PoolCore::scheduleProbe(Generation& gen, size_t index) {
  armSlotTimer(
      gen, index, Clock::now() + gen.slots[index]->backoff,
      [](PoolCore& core, const std::shared_ptr<Generation>& g, size_t i) { core.runProbe(g, i); });
}

void PoolCore::runProbe(const std::shared_ptr<Generation>& gen, size_t index) {
  Slot& s = *gen->slots[index];
  // The first check of an unknown endpoint, a retry of a down one, or the idle check of an
  // up one, over the endpoint's
  // own connections (the same TLS and identity checks as queries). Any DNS answer to
  // ". IN NS" (even REFUSED) proves the server is reachable over TLS with a valid
  // identity: that is all "up" means here.
  auto ex = std::make_shared<Exchange>();
  ex->query = wire::makeQuery("", 2, 0);
  if (options_.padQueries) wire::padQuery(ex->query);
  ex->retriesLeft = 0;
  ex->sentAt = Clock::now();
  uint64_t token = ++s.probeToken;
  std::weak_ptr<PoolCore> weakCore = weak_from_this();
  std::weak_ptr<Generation> weakGen = gen;
  ex->onDone = [weakCore, weakGen, index, token](ExchangeResult r) {
    auto core = weakCore.lock();
    auto g = weakGen.lock();
    if (core && g && !core->stopped_) core->onProbeDone(g, index, token, std::move(r));
  };
  s.probe = ex;
  s.probeTimer.expires_after(options_.probeTimeout);
  s.probeTimer.async_wait([weakCore, weakGen, index, token](const asio::error_code& ec) {
    if (ec) return;
    auto core = weakCore.lock();
    auto g = weakGen.lock();
    if (!core || !g || core->stopped_ || g->slots[index]->probeToken != token) return;
    auto p = g->slots[index]->probe;
    if (p) p->abandon();
    core->onProbeDone(
        g, index, token,
        {{},
         {ErrorClass::kTimeout, "probe: no answer within " +
                                    std::to_string(core->options_.probeTimeout.count()) + " ms"}});
  });
  s.ep.send(ex);
}

void PoolCore::onProbeDone(const std::shared_ptr<Generation>& gen, size_t index, uint64_t token,
                           ExchangeResult r) {
  Slot& s = *gen->slots[index];
  if (gen->retired || s.probeToken != token) return;
  auto now = Clock::now();
  ExchangePtr ex = std::move(s.probe);
  if (r.ok()) {
    noteAnswer(s, duration_cast<microseconds>(now - (ex ? ex->sentAt : now)), now);
    if (s.health == Health::kUp) {
      scheduleIdleCheck(*gen, index);  // the idle check found it well
    } else {
      markUp(*gen, index);
    }
    return;
  }
  if (s.health == Health::kUp) {
    // The idle check of an up endpoint failed: down as a query's failure would make it;
    // inconclusive (the server closed the connection) or an odd answer: look again soon.
    if (r.error.marksServerDown() || provesReachable(r.error)) {
      markDown(*gen, index, r.error);
    } else {
      noteError(s, r.error);
      s.backoff = options_.initialBackoff;
      scheduleProbe(*gen, index);
    }
    return;
  }
  if (s.health == Health::kUnknown) {
    // The first check failed: down is news, and queries skip the endpoint from now on.
    if (r.error.marksServerDown()) {
      markDown(*gen, index, r.error);
      return;
    }
    if (provesReachable(r.error)) {
      // Reachable, but its answer to the check was unusable: not a working server.
      markDown(*gen, index, r.error);
      return;
    }
    noteError(s, r.error);
    // Inconclusive (the server closed the connection): check again, backing off.
    s.backoff = s.backoff.count() == 0 ? options_.initialBackoff
                                       : std::min(options_.maxBackoff, s.backoff * 2);
    scheduleProbe(*gen, index);
    return;
  }
  noteError(s, r.error);
  s.backoff = std::min(options_.maxBackoff, s.backoff * 2);
  scheduleProbe(*gen, index);
}

void PoolCore::emitHealth(const Slot& s, bool healthy, const std::string& error) {
  const auto& c = s.ep.config();
  observe::Event e;
  e.channel = observe::Channel::Operational;
  e.eventId = observe::event_id::kUpstreamHealth;
  e.action = "HEALTH";
  e.message = "upstream " + s.ep.label() + (healthy ? " is up" : " is down: " + error);
  // `state` is the field docs/logging.md names (and journald's ZTDNS_STATE); `healthy`
  // stays for readers that already use it.
  e.fields = {{"server", c.serverName},
              {"state", healthy ? "up" : "down"},
              {"address", c.address.toString()},
              {"port", c.port},
              {"transport", transportName(c.transport)},
              {"priority", c.priority},
              {"healthy", healthy}};
  if (!healthy) {
    e.fields["error"] = error;
    e.fields["retryInMs"] = s.backoff.count();
  }
  events_.emit(std::move(e));
}

// ---- ServerPoolImpl ----

ServerPoolImpl::ServerPoolImpl(asio::io_context& io, observe::EventSink& events)
    : core_(std::make_shared<PoolCore>(io, events)) {}

ServerPoolImpl::~ServerPoolImpl() {
  core_->shutdown();
}

Status ServerPoolImpl::reconfigure(const PoolOptions& options) {
  return core_->configure(options);
}

Status ServerPoolImpl::reconfigure(const config::Config& config) {
  return core_->configure(poolOptionsFromConfig(config));
}

void ServerPoolImpl::resolve(std::span<const uint8_t> query,
                             std::chrono::steady_clock::time_point deadline,
                             std::function<void(Result<Answer>)> done) {
  core_->resolve(query, deadline, std::move(done), nullptr);
}

void ServerPoolImpl::resolveVia(const IpAddress& server, std::span<const uint8_t> query,
                                std::chrono::steady_clock::time_point deadline,
                                std::function<void(Result<Answer>)> done) {
  core_->resolve(query, deadline, std::move(done), &server);
}

std::vector<ServerStatus> ServerPoolImpl::status() const {
  return core_->status();
}

void ServerPoolImpl::checkUnknown() {
  core_->checkUnknown();
}

size_t ServerPoolImpl::connectionsOpenedForTest(size_t i) const {
  return core_->generationForTest()->slots.at(i)->ep.connectionsOpenedForTest();
}

bool ServerPoolImpl::lastConnectionResumedForTest(size_t i) const {
  return core_->generationForTest()->slots.at(i)->ep.lastTiming().resumed;
}

SessionCache* ServerPoolImpl::sessionCacheForTest(size_t i) const {
  return &core_->generationForTest()->slots.at(i)->ep.sessionsForTest();
}

}  // namespace ztdns::upstream
