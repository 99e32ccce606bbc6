#include "resolver/stub.h"

#include <algorithm>
#include <cstring>

#include "dns/knot.h"
#include "observe/event_sink.h"
#include "resolver/stub_impl.h"

namespace ztdns::resolver {

namespace {

// Our own guard past the deadline handed to the pool, for a pool that breaks its contract.
constexpr auto kPoolGrace = std::chrono::milliseconds(100);
constexpr auto kHostsRecheck = std::chrono::seconds(1);
// glibc reads /etc/hosts itself ("files" before "dns" in nsswitch.conf) and never asks the
// stub for those names, so answering them here is not enough: with the switch on, every
// address in the file is kept allowed, re-asserted every kHostsRefresh (a no-op for the
// kernel while the allows are fresh), and a line removed from the file stops being allowed
// once its last allow runs out.
constexpr auto kHostsRefresh = std::chrono::seconds(10);
constexpr uint32_t kHostsAllowSeconds = 60;

asio::ip::address toAsio(const IpAddress& a) {
  if (a.isV4()) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), a.bytes(), 4);
    return asio::ip::address_v4(b);
  }
  asio::ip::address_v6::bytes_type b;
  std::memcpy(b.data(), a.bytes(), 16);
  return asio::ip::address_v6(b);
}

ServfailCause causeOf(const Error& e) {
  switch (static_cast<upstream::FailureCause>(e.code)) {
    case upstream::FailureCause::kNoServers:
      return ServfailCause::kNoServers;
    case upstream::FailureCause::kAllServersFailed:
      return ServfailCause::kAllServersFailed;
    case upstream::FailureCause::kTimeout:
      return ServfailCause::kUpstreamTimeout;
    case upstream::FailureCause::kBadAnswer:
    // The stub parses every client query before forwarding it, so the pool refusing one as
    // not-a-DNS-message means the two parsers disagree; it is counted with malformed answers.
    case upstream::FailureCause::kBadQuery:
      return ServfailCause::kBadAnswer;
  }
  return ServfailCause::kAllServersFailed;
}

// The chain's addresses as the allow set takes them: kInsert only, unmapped, once each.
// Takes the analysis' list over (no copy).
std::vector<IpAddress> classify(std::vector<IpAddress>&& found) {
  std::vector<IpAddress> out = std::move(found);
  auto keep = std::remove_if(out.begin(), out.end(), [](IpAddress& a) {
    return enforce::classifyAnswerAddress(a) != enforce::AddressVerdict::kInsert;
  });
  out.erase(keep, out.end());
  if (out.size() > 1) {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  return out;
}

}  // namespace

const char* toText(ServfailCause cause) {
  switch (cause) {
    case ServfailCause::kNoServers:
      return "no protective DNS server is configured";
    case ServfailCause::kAllServersFailed:
      return "every protective DNS server failed";
    case ServfailCause::kUpstreamTimeout:
      return "no answer in time";
    case ServfailCause::kBadAnswer:
      return "malformed answer";
    case ServfailCause::kAllowFailed:
      return "allow-set insert failed";
    case ServfailCause::kAllowTimeout:
      return "allow-set insert not acknowledged in time";
    case ServfailCause::kOverloaded:
      return "too many queries in flight";
  }
  return "unknown";
}

uint64_t StubStats::servfailTotal() const {
  uint64_t total = 0;
  for (uint64_t n : servfail) total += n;
  return total;
}

// ---- DeadlineList ----

void DeadlineList::pushBack(std::shared_ptr<Job> job) {
  Job* j = job.get();
  j->self = std::move(job);
  j->list = this;
  j->prev = tail_;
  j->next = nullptr;
  if (tail_) {
    tail_->next = j;
  } else {
    head_ = j;
  }
  tail_ = j;
  ++size_;
}

std::shared_ptr<Job> DeadlineList::remove(Job& j) {
  if (j.list != this) return nullptr;
  if (j.prev) {
    j.prev->next = j.next;
  } else {
    head_ = j.next;
  }
  if (j.next) {
    j.next->prev = j.prev;
  } else {
    tail_ = j.prev;
  }
  j.prev = j.next = nullptr;
  j.list = nullptr;
  --size_;
  return std::move(j.self);
}

// ---- Stub ----

Stub::Stub(asio::io_context& io, const config::Config& config, upstream::ServerPool& pool,
           enforce::AllowSet& allowSet, observe::EventSink& events, StubOptions options)
    : impl_(std::make_unique<Impl>(io, config, pool, allowSet, events, std::move(options))) {}
Stub::~Stub() = default;
Status Stub::start() {
  return impl_->start();
}
void Stub::stop() {
  impl_->stop();
}
Status Stub::reconfigure(const config::Config& config) {
  return impl_->reconfigure(config);
}
StubStats Stub::stats() const {
  return impl_->stats();
}
std::vector<Endpoint> Stub::listening() const {
  return impl_->listening();
}
void Stub::resolve(const ResolveRequest& request,
                   std::function<void(Result<ResolveOutcome>)> done) {
  impl_->resolve(request, std::move(done));
}

// ---- Impl: lifecycle ----

Stub::Impl::Impl(asio::io_context& io, const config::Config& config, upstream::ServerPool& pool,
                 enforce::AllowSet& allowSet, observe::EventSink& events, StubOptions options)
    : io_(io),
      config_(config),
      pool_(pool),
      allow_(allowSet),
      events_(events),
      options_(std::move(options)),
      cache_(options_.cacheBytes),
      sweepTimer_(io),
      hostsTimer_(io),
      scratch_(dns::kMaxMessageSize) {}

Stub::Impl::~Impl() {
  stop();
  for (DeadlineList* list : {&upstreamJobs_, &allowJobs_}) {
    while (Job* j = list->front()) {
      j->impl = nullptr;
      list->remove(*j);
    }
  }
  for (auto& [key, job] : inflight_) job->impl = nullptr;
  inflight_.clear();
}

Result<Stub::Impl::Listener> Stub::Impl::openListener(const Endpoint& endpoint) {
  const asio::ip::address address = toAsio(endpoint.address);
  const std::string where = "listen " + endpoint.toString();
  // With port 0 the kernel picks the UDP port and TCP must get the same one: retry if
  // that port happens to be taken for TCP.
  for (int attempt = 0;; ++attempt) {
    std::error_code ec;
    asio::ip::udp::socket udp(io_);
    udp.open(address.is_v4() ? asio::ip::udp::v4() : asio::ip::udp::v6(), ec);
    if (!ec && address.is_v6()) udp.set_option(asio::ip::v6_only(true), ec);
    if (!ec) udp.bind({address, endpoint.port}, ec);
    if (ec) return Error{where + " (udp): " + ec.message(), ec.value()};
    std::error_code ignored;
    udp.set_option(asio::socket_base::receive_buffer_size(4 << 20), ignored);
    const uint16_t port = udp.local_endpoint(ec).port();

    asio::ip::tcp::acceptor tcp(io_);
    tcp.open(address.is_v4() ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), ec);
    if (!ec) tcp.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && address.is_v6()) tcp.set_option(asio::ip::v6_only(true), ec);
    if (!ec) tcp.bind({address, port}, ec);
    if (ec == asio::error::address_in_use && endpoint.port == 0 && attempt < 8) continue;
    if (!ec) tcp.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error{where + " (tcp): " + ec.message(), ec.value()};

    Listener l;
    l.configured = endpoint;
    l.bound = Endpoint{endpoint.address, port};
    l.udp = std::make_shared<UdpListener>(*this, std::move(udp));
    l.tcp = std::make_shared<TcpListener>(*this, std::move(tcp));
    return l;
  }
}

void Stub::Impl::closeListener(Listener& listener) {
  if (listener.udp) listener.udp->close();
  if (listener.tcp) listener.tcp->close();
}

Status Stub::Impl::start() {
  if (!listeners_.empty()) return Error{"the stub is already listening"};
  std::vector<Listener> opened;
  std::string errors;
  for (const Endpoint& ep : config_.listenAddresses) {
    auto l = openListener(ep);
    if (!l) {
      errors += (errors.empty() ? "" : "; ") + l.error().message;
      continue;
    }
    opened.push_back(std::move(*l));
  }
  if (!errors.empty()) {
    for (Listener& l : opened) closeListener(l);
    return Error{errors};
  }
  listeners_ = std::move(opened);
  std::vector<Endpoint> bound;
  for (Listener& l : listeners_) {
    l.udp->start();
    l.tcp->start();
    bound.push_back(l.bound);
  }
  {
    std::lock_guard lock(listeningMutex_);
    listening_ = std::move(bound);
  }
  if (config_.hostsFileResolutionEnabled) maybeReloadHosts(Clock::now());
  keepHostsAllowed();
  return okStatus();
}

void Stub::Impl::stop() {
  hostsTimer_.cancel();
  for (Listener& l : listeners_) closeListener(l);
  listeners_.clear();
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& [raw, connection] : connections) connection->close();
  bump(counters_.tcpConnections, 0);
  counters_.tcpConnections.store(0, std::memory_order_relaxed);
  std::lock_guard lock(listeningMutex_);
  listening_.clear();
}

Status Stub::Impl::reconfigure(const config::Config& config) {
  std::vector<Listener> next;
  std::vector<bool> kept(listeners_.size(), false);
  std::vector<size_t> added;
  std::string errors;
  for (const Endpoint& ep : config.listenAddresses) {
    auto same = std::find_if(listeners_.begin(), listeners_.end(),
                             [&](const Listener& l) { return l.configured == ep; });
    if (same != listeners_.end()) {
      kept[static_cast<size_t>(same - listeners_.begin())] = true;
      next.push_back(*same);
      continue;
    }
    auto l = openListener(ep);
    if (!l) {
      errors += (errors.empty() ? "" : "; ") + l.error().message;
      // New listeners are bound before the old ones close (so a failed change keeps them),
      // which a wildcard address cannot share a port with.
      auto holder = std::find_if(listeners_.begin(), listeners_.end(), [&](const Listener& o) {
        return o.bound.port == ep.port && o.bound.address.family() == ep.address.family();
      });
      if (l.error().code == EADDRINUSE && holder != listeners_.end()) {
        errors += " (ztdnsd's own listener on " + holder->bound.toString() +
                  " holds the port until the change is made; restart ztdnsd to move to " +
                  ep.toString() + ")";
      }
      continue;
    }
    added.push_back(next.size());
    next.push_back(std::move(*l));
  }
  if (!errors.empty()) {
    for (size_t i : added) closeListener(next[i]);
    return Error{errors};
  }
  const bool listenChanged = !added.empty() || std::count(kept.begin(), kept.end(), false) > 0;
  for (size_t i = 0; i < listeners_.size(); ++i) {
    if (!kept[i]) closeListener(listeners_[i]);
  }
  for (size_t i : added) {
    next[i].udp->start();
    next[i].tcp->start();
  }
  listeners_ = std::move(next);
  std::vector<Endpoint> bound;
  for (const Listener& l : listeners_) bound.push_back(l.bound);
  {
    std::lock_guard lock(listeningMutex_);
    listening_ = bound;
  }

  config_ = config;
  cache_.clear();
  counters_.cacheEntries.store(0, std::memory_order_relaxed);
  counters_.cacheBytes.store(0, std::memory_order_relaxed);
  hosts_ = HostsFile();
  hostsCheckedAt_ = {};
  hostsInode_ = 0;
  hostsSize_ = -1;
  if (config_.hostsFileResolutionEnabled) maybeReloadHosts(Clock::now());
  keepHostsAllowed();

  if (listenChanged) {
    observe::Event e;
    e.channel = observe::Channel::Operational;
    e.eventId = observe::event_id::kConfigUpdated;
    e.action = "UPDATE";
    std::string list;
    nlohmann::json addresses = nlohmann::json::array();
    for (const Endpoint& ep : bound) {
      list += (list.empty() ? "" : ", ") + ep.toString();
      addresses.push_back(ep.toString());
    }
    e.message = "DNS stub now listening on " + list;
    e.fields = {{"listenAddresses", addresses}};
    events_.emit(std::move(e));
  }
  return okStatus();
}

StubStats Stub::Impl::stats() const {
  auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  const Counters& c = counters_;
  StubStats s;
  s.queries = get(c.queries);
  s.queriesUdp = get(c.queriesUdp);
  s.queriesTcp = get(c.queriesTcp);
  s.answered = get(c.answered);
  s.cacheHits = get(c.cacheHits);
  s.cacheMisses = get(c.cacheMisses);
  s.coalesced = get(c.coalesced);
  s.upstreamQueries = get(c.upstreamQueries);
  s.hostsAnswers = get(c.hostsAnswers);
  s.truncated = get(c.truncated);
  s.dropped = get(c.dropped);
  s.formerr = get(c.formerr);
  s.notimp = get(c.notimp);
  s.refused = get(c.refused);
  s.badvers = get(c.badvers);
  for (size_t i = 0; i < kServfailCauses; ++i) s.servfail[i] = get(c.servfail[i]);
  s.insertsRequested = get(c.insertsRequested);
  s.addressesRequested = get(c.addressesRequested);
  s.sendErrors = get(c.sendErrors);
  s.tcpConnections = get(c.tcpConnections);
  s.tcpRefused = get(c.tcpRefused);
  s.cacheEntries = get(c.cacheEntries);
  s.cacheBytes = get(c.cacheBytes);
  s.cacheEvictions = get(c.cacheEvictions);
  return s;
}

std::vector<Endpoint> Stub::Impl::listening() const {
  std::lock_guard lock(listeningMutex_);
  return listening_;
}

// ---- Impl: sockets ----

void Stub::Impl::onUdpQuery(const std::shared_ptr<UdpListener>& from, std::span<const uint8_t> wire,
                            const asio::ip::udp::endpoint& peer) {
  bump(counters_.queriesUdp);
  ReplyTo to;
  to.via = ReplyTo::Via::kUdp;
  to.udp = from;
  to.peer = peer;
  handleQuery(wire, std::move(to));
}

void Stub::Impl::onTcpQuery(const std::shared_ptr<TcpConnection>& from,
                            std::span<const uint8_t> wire) {
  bump(counters_.queriesTcp);
  ReplyTo to;
  to.via = ReplyTo::Via::kTcp;
  to.tcp = from;
  handleQuery(wire, std::move(to));
}

void Stub::Impl::onAccepted(asio::ip::tcp::socket socket) {
  if (connections_.size() >= options_.maxTcpConnections) {
    bump(counters_.tcpRefused);
    std::error_code ec;
    socket.close(ec);
    return;
  }
  auto connection = std::make_shared<TcpConnection>(*this, std::move(socket));
  connections_.emplace(connection.get(), connection);
  counters_.tcpConnections.store(connections_.size(), std::memory_order_relaxed);
  connection->start();
}

void Stub::Impl::onConnectionClosed(TcpConnection* connection) {
  connections_.erase(connection);
  counters_.tcpConnections.store(connections_.size(), std::memory_order_relaxed);
}

// ---- Impl: queries ----

void Stub::Impl::handleQuery(std::span<const uint8_t> wire, ReplyTo&& to) {
  bump(counters_.queries);
  dns::QueryParse p = dns::parseClientQuery(wire);
  switch (p.verdict) {
    case dns::QueryVerdict::kOk:
      process(p.query, std::move(to), false);
      return;
    case dns::QueryVerdict::kDrop:
      bump(counters_.dropped);
      if (to.tcp) to.tcp->finishWithoutAnswer();
      return;
    case dns::QueryVerdict::kFormErr:
      bump(counters_.formerr);
      serveError(p.query, p.hasQuestion, KNOT_RCODE_FORMERR, to, p.reason);
      return;
    case dns::QueryVerdict::kNotImp:
      bump(counters_.notimp);
      serveError(p.query, p.hasQuestion, KNOT_RCODE_NOTIMPL, to, p.reason);
      return;
    case dns::QueryVerdict::kRefused:
      bump(counters_.refused);
      serveError(p.query, p.hasQuestion, KNOT_RCODE_REFUSED, to, p.reason);
      return;
    case dns::QueryVerdict::kBadVers:
      bump(counters_.badvers);
      serveError(p.query, p.hasQuestion, KNOT_RCODE_BADVERS, to, p.reason);
      return;
  }
}

std::shared_ptr<Job> Stub::Impl::newJob() {
  auto job = std::make_shared<Job>();
  job->impl = this;
  return job;
}

void Stub::Impl::process(const dns::ClientQuery& query, ReplyTo&& to, bool bypassCache) {
  if (config_.hostsFileResolutionEnabled && answerFromHosts(query, to)) return;

  CacheKeyBuffer keyBuffer;
  const std::string_view key = cacheKey(query, keyBuffer);
  if (!bypassCache) {
    if (auto hit = cache_.find(key, Clock::now())) {
      bump(counters_.cacheHits);
      if (!hit->value->allowed.empty() && overloaded()) {
        refuseOverloaded(query, to);
        return;
      }
      auto job = newJob();
      job->resolved = std::move(hit->value);
      job->ageSeconds = hit->ageSeconds;
      job->fromCache = true;
      job->waiters.push_back(Waiter{query, std::move(to)});
      // Re-assert the allows for what is left of the chain's TTL.
      const uint32_t chainTtl = job->resolved->answer.chainTtl;
      allowThenRelease(job, chainTtl > hit->ageSeconds ? chainTtl - hit->ageSeconds : 0);
      return;
    }
    bump(counters_.cacheMisses);
    if (auto it = inflight_.find(key); it != inflight_.end()) {
      if (it->second->waiters.size() >= options_.maxWaitersPerJob) {
        refuseOverloaded(query, to);
        return;
      }
      bump(counters_.coalesced);
      it->second->waiters.push_back(Waiter{query, std::move(to)});
      return;
    }
  }
  if (overloaded()) {
    refuseOverloaded(query, to);
    return;
  }
  auto job = newJob();
  job->cacheOnRelease = true;
  job->waiters.push_back(Waiter{query, std::move(to)});
  if (!bypassCache) {
    std::memcpy(job->keyStorage.data(), key.data(), key.size());
    job->key = std::string_view(job->keyStorage.data(), key.size());
    inflight_.emplace(job->key, job);
  }
  askUpstream(job, std::nullopt);
}

void Stub::Impl::refuseOverloaded(const dns::ClientQuery& query, ReplyTo& to) {
  bump(counters_.servfail[static_cast<size_t>(ServfailCause::kOverloaded)]);
  serveError(query, true, KNOT_RCODE_SERVFAIL, to, toText(ServfailCause::kOverloaded));
}

bool Stub::Impl::answerFromHosts(const dns::ClientQuery& query, ReplyTo& to) {
  if (query.qtype != KNOT_RRTYPE_A && query.qtype != KNOT_RRTYPE_AAAA &&
      query.qtype != KNOT_RRTYPE_ANY) {
    return false;
  }
  const Clock::time_point now = Clock::now();
  maybeReloadHosts(now);
  const std::vector<IpAddress>* addresses = hosts_.find(query.qnameLower);
  if (!addresses) return false;
  bump(counters_.hostsAnswers);
  auto resolved = std::make_shared<Resolved>();
  resolved->answer = dns::makeLocalAnswer(query, *addresses, 0);
  resolved->allowed = classify(std::move(resolved->answer.addresses));
  resolved->source = AnswerSource::kHostsFile;
  resolved->server = options_.hostsPath;
  resolved->received = now;
  auto job = newJob();
  job->resolved = std::move(resolved);
  job->waiters.push_back(Waiter{query, std::move(to)});
  allowThenRelease(job, 0);
  return true;
}

void Stub::Impl::keepHostsAllowed() {
  hostsTimer_.cancel();
  if (!config_.hostsFileResolutionEnabled || listeners_.empty()) return;
  maybeReloadHosts(Clock::now());
  std::vector<IpAddress> addresses = classify(hosts_.allAddresses());
  if (!addresses.empty()) {
    uint32_t seconds = std::max(config_.minimumAllowTimeInSeconds, kHostsAllowSeconds);
    seconds = std::min(seconds, config_.maximumConnectionTimeInSeconds);
    std::vector<enforce::AllowRequest> requests;
    requests.reserve(addresses.size());
    for (const IpAddress& a : addresses) requests.push_back({a, seconds});
    // Nothing waits on it; a failure shows in the allow set's counters and events.
    allow_.insert(std::move(requests), {"hosts file", options_.hostsPath}, [](Status) {});
  }
  hostsTimer_.expires_after(kHostsRefresh);
  hostsTimer_.async_wait([this](const std::error_code& ec) {
    if (!ec) keepHostsAllowed();
  });
}

void Stub::Impl::maybeReloadHosts(Clock::time_point now) {
  if (hostsCheckedAt_ != Clock::time_point{} && now - hostsCheckedAt_ < kHostsRecheck) return;
  hostsCheckedAt_ = now;
  struct stat st {};
  if (::stat(options_.hostsPath.c_str(), &st) != 0) {
    hosts_ = HostsFile();
    hostsSize_ = -1;
    return;
  }
  if (st.st_ino == hostsInode_ && st.st_size == hostsSize_ &&
      st.st_mtim.tv_sec == hostsMtime_.tv_sec && st.st_mtim.tv_nsec == hostsMtime_.tv_nsec) {
    return;
  }
  hostsInode_ = st.st_ino;
  hostsSize_ = st.st_size;
  hostsMtime_ = st.st_mtim;
  auto loaded = HostsFile::load(options_.hostsPath);
  hosts_ = loaded ? std::move(*loaded) : HostsFile();
}

void Stub::Impl::resolve(const ResolveRequest& request,
                         std::function<void(Result<ResolveOutcome>)> done) {
  auto name = dns::Name::fromText(request.name);
  if (!name) {
    done(name.error());
    return;
  }
  dns::ClientQuery query = dns::makeClientQuery(*name, request.qtype, request.dnssecOk);
  ReplyTo to;
  to.via = ReplyTo::Via::kInternal;
  to.internal = std::make_shared<InternalRequest>(InternalRequest{std::move(done)});
  if (request.server) {
    auto job = newJob();
    job->waiters.push_back(Waiter{query, std::move(to)});
    askUpstream(job, request.server);
    return;
  }
  process(query, std::move(to), request.bypassCache);
}

// ---- Impl: jobs ----

void Stub::Impl::askUpstream(const std::shared_ptr<Job>& job, const std::optional<IpAddress>& via) {
  std::array<uint8_t, dns::kMaxUpstreamQuerySize> wire;
  const size_t size = dns::buildUpstreamQuery(job->waiters.front().query, wire);
  const Clock::time_point deadline = Clock::now() + options_.upstreamTimeout;
  job->stage = Job::Stage::kUpstream;
  track(job, upstreamJobs_, deadline + kPoolGrace);
  bump(counters_.upstreamQueries);
  auto done = [job](Result<upstream::Answer> result) {
    if (job->impl) job->impl->onUpstream(job, std::move(result));
  };
  if (via) {
    pool_.resolveVia(*via, {wire.data(), size}, deadline, std::move(done));
  } else {
    pool_.resolve({wire.data(), size}, deadline, std::move(done));
  }
}

void Stub::Impl::onUpstream(const std::shared_ptr<Job>& job, Result<upstream::Answer> result) {
  if (job->stage != Job::Stage::kUpstream) return;  // already failed by our deadline
  auto owned = upstreamJobs_.remove(*job);
  if (!result) {
    const ServfailCause cause = causeOf(result.error());
    fail(*job, cause, std::string(toText(cause)) + ": " + result.error().message);
    return;
  }
  upstream::Answer& answer = *result;
  const dns::ClientQuery& query = job->waiters.front().query;
  dns::AnswerAnalysis analysis;
  const dns::AnswerProblem problem =
      dns::analyzeAnswer(answer.wire, query.qnameLower, query.qtype, query.qclass, analysis);
  if (problem != dns::AnswerProblem::kNone) {
    fail(*job, ServfailCause::kBadAnswer,
         std::string(dns::toText(problem)) + " from " + answer.serverName);
    return;
  }
  auto resolved = std::make_shared<Resolved>();
  resolved->answer = dns::storeAnswer(std::move(answer.wire), std::move(analysis));
  resolved->allowed = classify(std::move(resolved->answer.addresses));
  resolved->server = std::move(answer.serverName);
  resolved->serverAddress = answer.serverAddress;
  resolved->serverPort = answer.serverPort;
  resolved->transport = answer.transport;
  resolved->rtt = answer.rtt;
  resolved->received = Clock::now();
  job->resolved = std::move(resolved);
  allowThenRelease(job, job->resolved->answer.chainTtl);
}

void Stub::Impl::allowThenRelease(const std::shared_ptr<Job>& job, uint32_t ttl) {
  const Resolved& resolved = *job->resolved;
  if (resolved.allowed.empty()) {
    release(*job);
    return;
  }
  job->allowSeconds = config_.allowSecondsForTtl(ttl);
  std::vector<enforce::AllowRequest> requests;
  requests.reserve(resolved.allowed.size());
  for (const IpAddress& a : resolved.allowed) requests.push_back({a, job->allowSeconds});
  enforce::AllowOrigin origin{job->waiters.front().query.qnameLower.toText(), resolved.server};
  job->stage = Job::Stage::kAllow;
  track(job, allowJobs_, Clock::now() + options_.allowTimeout);
  bump(counters_.insertsRequested);
  bump(counters_.addressesRequested, requests.size());
  allow_.insert(std::move(requests), std::move(origin), [job](Status status) {
    if (job->impl) job->impl->onAllowed(job, status);
  });
}

void Stub::Impl::onAllowed(const std::shared_ptr<Job>& job, const Status& status) {
  if (job->stage != Job::Stage::kAllow) return;  // already failed by our deadline
  auto owned = allowJobs_.remove(*job);
  if (!status) {
    fail(*job, ServfailCause::kAllowFailed,
         std::string(toText(ServfailCause::kAllowFailed)) + ": " + status.error().message);
    return;
  }
  release(*job);
}

void Stub::Impl::finish(Job& job) {
  job.stage = Job::Stage::kDone;
  if (!job.key.empty()) {
    auto it = inflight_.find(job.key);
    if (it != inflight_.end() && it->second.get() == &job) inflight_.erase(it);
    job.key = {};
  }
}

void Stub::Impl::release(Job& job) {
  const dns::StoredAnswer& answer = job.resolved->answer;
  if (job.cacheOnRelease && answer.cacheTtl > 0 &&
      (answer.rcode == KNOT_RCODE_NOERROR || answer.rcode == KNOT_RCODE_NXDOMAIN)) {
    const uint32_t ttl =
        std::min(answer.cacheTtl, answer.negative ? options_.maxNegativeTtl : options_.maxCacheTtl);
    CacheKeyBuffer keyBuffer;
    cache_.insert(cacheKey(job.waiters.front().query, keyBuffer), job.resolved, ttl);
    counters_.cacheEntries.store(cache_.size(), std::memory_order_relaxed);
    counters_.cacheBytes.store(cache_.bytes(), std::memory_order_relaxed);
    counters_.cacheEvictions.store(cache_.evictions(), std::memory_order_relaxed);
  }
  finish(job);
  std::vector<Waiter> waiters = std::move(job.waiters);
  bump(counters_.answered, waiters.size());
  for (Waiter& w : waiters) serve(job, w);
}

void Stub::Impl::fail(Job& job, ServfailCause cause, const std::string& why) {
  finish(job);
  std::vector<Waiter> waiters = std::move(job.waiters);
  bump(counters_.servfail[static_cast<size_t>(cause)], waiters.size());
  for (Waiter& w : waiters) serveError(w.query, true, KNOT_RCODE_SERVFAIL, w.to, why);
}

void Stub::Impl::serve(const Job& job, Waiter& waiter) {
  const Resolved& r = *job.resolved;
  if (waiter.to.via == ReplyTo::Via::kInternal) {
    ResolveOutcome o;
    dns::Written w =
        dns::writeAnswer(r.answer, waiter.query, job.ageSeconds, dns::kMaxMessageSize, scratch_);
    o.answer.assign(scratch_.begin(), scratch_.begin() + static_cast<long>(w.size));
    o.rcode = r.answer.rcode;
    o.fromCache = job.fromCache;
    o.source = job.fromCache                          ? "cache"
               : r.source == AnswerSource::kHostsFile ? "hosts file"
                                                      : upstream::transportName(r.transport);
    o.server = r.server;
    o.serverAddress = r.serverAddress;
    o.serverPort = r.serverPort;
    if (!job.fromCache && r.source == AnswerSource::kUpstream) o.rtt = r.rtt;
    for (const IpAddress& a : r.allowed) o.allowed.push_back({a, job.allowSeconds});
    waiter.to.internal->done(std::move(o));
    return;
  }
  const size_t limit =
      waiter.to.via == ReplyTo::Via::kUdp ? waiter.query.udpLimit() : dns::kMaxMessageSize;
  dns::Written w = dns::writeAnswer(r.answer, waiter.query, job.ageSeconds, limit, scratch_);
  if (w.truncated) bump(counters_.truncated);
  reply(waiter.to, {scratch_.data(), w.size});
}

void Stub::Impl::serveError(const dns::ClientQuery& query, bool withQuestion, uint16_t rcode,
                            ReplyTo& to, const std::string& failure) {
  const size_t size = dns::writeError(query, withQuestion, rcode, scratch_);
  if (to.via == ReplyTo::Via::kInternal) {
    ResolveOutcome o;
    o.answer.assign(scratch_.begin(), scratch_.begin() + static_cast<long>(size));
    o.rcode = rcode;
    o.failure = failure;
    to.internal->done(std::move(o));
    return;
  }
  reply(to, {scratch_.data(), size});
}

void Stub::Impl::reply(ReplyTo& to, std::span<const uint8_t> message) {
  switch (to.via) {
    case ReplyTo::Via::kUdp:
      to.udp->send(message, to.peer);
      return;
    case ReplyTo::Via::kTcp:
      to.tcp->send(message);
      return;
    case ReplyTo::Via::kInternal:
      return;  // handled by the callers
  }
}

// ---- Impl: deadlines ----

void Stub::Impl::track(const std::shared_ptr<Job>& job, DeadlineList& list,
                       Clock::time_point deadline) {
  job->deadline = deadline;
  list.pushBack(job);
  if (!sweepArmed_ || deadline < sweepAt_) armSweep();
}

void Stub::Impl::armSweep() {
  Job* a = upstreamJobs_.front();
  Job* b = allowJobs_.front();
  if (!a && !b) {
    sweepArmed_ = false;
    return;
  }
  const Clock::time_point when = !a   ? b->deadline
                                 : !b ? a->deadline
                                      : std::min(a->deadline, b->deadline);
  if (sweepArmed_ && sweepAt_ <= when) return;
  sweepArmed_ = true;
  sweepAt_ = when;
  const uint64_t generation = ++sweepGeneration_;
  sweepTimer_.expires_at(when);
  sweepTimer_.async_wait([this, generation](const std::error_code& ec) {
    if (ec || generation != sweepGeneration_) return;  // cancelled or superseded
    sweepArmed_ = false;
    sweep();
  });
}

void Stub::Impl::sweep() {
  const Clock::time_point now = Clock::now();
  for (DeadlineList* list : {&upstreamJobs_, &allowJobs_}) {
    while (Job* j = list->front()) {
      if (j->deadline > now) break;
      std::shared_ptr<Job> owned = list->remove(*j);
      if (j->stage == Job::Stage::kUpstream) {
        fail(*j, ServfailCause::kUpstreamTimeout,
             std::string(toText(ServfailCause::kUpstreamTimeout)) + " from the server pool");
      } else {
        fail(*j, ServfailCause::kAllowTimeout, toText(ServfailCause::kAllowTimeout));
      }
    }
  }
  armSweep();
}

}  // namespace ztdns::resolver
