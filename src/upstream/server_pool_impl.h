// ServerPoolImpl: priority order, health, backoff and probes over UpstreamEndpoints.
// See server_pool.h for the contract and docs/upstream.md for the timing.
#pragma once

#include <asio/steady_timer.hpp>
#include <atomic>
#include <mutex>
#include <queue>

#include "observe/event_sink.h"
#include "upstream/server_pool.h"
#include "upstream/upstream_endpoint.h"

namespace ztdns::upstream {

class PoolCore;

class ServerPoolImpl final : public ServerPool {
 public:
  ServerPoolImpl(asio::io_context& io, observe::EventSink& events);
  ~ServerPoolImpl() override;

  Status reconfigure(const PoolOptions& options) override;
  Status reconfigure(const config::Config& config) override;
  void resolve(std::span<const uint8_t> query, std::chrono::steady_clock::time_point deadline,
               std::function<void(Result<Answer>)> done) override;
  void resolveVia(const IpAddress& server, std::span<const uint8_t> query,
                  std::chrono::steady_clock::time_point deadline,
                  std::function<void(Result<Answer>)> done) override;
  std::vector<ServerStatus> status() const override;
  void checkUnknown() override;

  // Test hooks.
  size_t connectionsOpenedForTest(size_t endpointIndex) const;
  SessionCache* sessionCacheForTest(size_t endpointIndex) const;
  // Whether the endpoint's latest established connection resumed a TLS session.
  bool lastConnectionResumedForTest(size_t endpointIndex) const;

 private:
  std::shared_ptr<PoolCore> core_;
};

// Thread-safe status of one endpoint, read by status() from any thread.
struct StatusCell {
  ServerStatus fixed;  // name, address, port, transport, priority
  std::atomic<Health> health{Health::kUnknown};
  std::atomic<int64_t> rttUs{-1};
  std::atomic<uint64_t> answered{0};
  std::atomic<uint64_t> failed{0};
  mutable std::mutex mutex;
  std::string lastError;
  std::string lastFailure;
  std::optional<std::chrono::system_clock::time_point> lastFailureAt;
};

class PoolCore : public std::enable_shared_from_this<PoolCore> {
 public:
  using Clock = std::chrono::steady_clock;
  PoolCore(asio::io_context& io, observe::EventSink& events);

  Status configure(const PoolOptions& options);
  void resolve(std::span<const uint8_t> query, Clock::time_point deadline,
               std::function<void(Result<Answer>)> done, const IpAddress* via);
  std::vector<ServerStatus> status() const;
  void checkUnknown();
  void shutdown();

  struct Slot;
  struct Generation;
  struct Query;
  const Generation* generationForTest() const { return gen_.get(); }

 private:
  void tryNext(const std::shared_ptr<Query>& q, bool synchronous);
  void startAttempt(const std::shared_ptr<Query>& q, size_t slot, Clock::time_point now);
  void onAttemptDone(const std::shared_ptr<Query>& q, size_t slot, uint32_t seq, ExchangeResult r);
  void onAttemptTimeout(const std::shared_ptr<Query>& q);
  void complete(const std::shared_ptr<Query>& q, Result<Answer> result, bool synchronous);
  void fail(const std::shared_ptr<Query>& q, FailureCause cause, std::string words,
            bool synchronous);

  void pushDeadline(Clock::time_point when, const std::shared_ptr<Query>& q, uint32_t seq);
  void armDeadlineTimer();
  void onDeadlineTimer();

  void markDown(Generation& gen, size_t slot, const UpstreamError& error);
  void markUp(Generation& gen, size_t slot);
  void noteError(Slot& s, const UpstreamError& error);
  void noteAnswer(Slot& s, std::chrono::microseconds rtt, Clock::time_point now);
  // The slot's probe timer: `fire(core, gen, slot)` at `when`, unless superseded meanwhile.
  template <class Fire>
  void armSlotTimer(Generation& gen, size_t slot, Clock::time_point when, Fire fire);
  void scheduleProbe(Generation& gen, size_t slot);
  void scheduleIdleCheck(Generation& gen, size_t slot);
  void runProbe(const std::shared_ptr<Generation>& gen, size_t slot);
  void onProbeDone(const std::shared_ptr<Generation>& gen, size_t slot, uint64_t token,
                   ExchangeResult r);
  void emitHealth(const Slot& s, bool healthy, const std::string& error);
  void setHealth(Slot& s, Health h);
  void retire(Generation& gen);

  asio::io_context& io_;
  observe::EventSink& events_;
  PoolOptions options_;
  std::shared_ptr<Generation> gen_;
  bool stopped_ = false;

  struct DeadlineEntry {
    Clock::time_point when;
    std::shared_ptr<Query> query;
    uint32_t seq;
    bool operator>(const DeadlineEntry& o) const { return when > o.when; }
  };
  std::priority_queue<DeadlineEntry, std::vector<DeadlineEntry>, std::greater<>> deadlines_;
  asio::steady_timer deadlineTimer_;
  std::shared_ptr<const TlsContext> tls_;  // the one the current generation uses
  Clock::time_point armedFor_ = Clock::time_point::max();

  mutable std::mutex cellsMutex_;
  std::vector<std::shared_ptr<StatusCell>> cells_;
};

}  // namespace ztdns::upstream
