// Stub internals shared by stub.cc and listeners.cc. Not part of the public API.
#pragma once

#include <sys/stat.h>

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "dns/client_query.h"
#include "dns/response_writer.h"
#include "dns/upstream_query.h"
#include "resolver/answer_cache.h"
#include "resolver/hosts_file.h"
#include "resolver/listeners.h"
#include "resolver/resolved.h"
#include "resolver/stub.h"

namespace ztdns::resolver {

struct InternalRequest {
  std::function<void(Result<ResolveOutcome>)> done;
};

// Where an answer goes: a UDP peer, a TCP connection, or a resolve() caller.
struct ReplyTo {
  enum class Via : uint8_t { kUdp, kTcp, kInternal };
  Via via = Via::kUdp;
  std::shared_ptr<UdpListener> udp;
  asio::ip::udp::endpoint peer;
  std::shared_ptr<TcpConnection> tcp;
  std::shared_ptr<InternalRequest> internal;
};

struct Waiter {
  dns::ClientQuery query;  // ID, question spelling and EDNS of this client
  ReplyTo to;
};

struct Job;

// Jobs waiting for one stage, oldest first. Every job in a list has the same timeout,
// so the head always has the earliest deadline. The list owns its jobs (a job whose
// callback were dropped by a faulty pool still times out instead of dangling).
class DeadlineList {
 public:
  void pushBack(std::shared_ptr<Job> job);
  std::shared_ptr<Job> remove(Job& job);  // ownership back to the caller
  Job* front() const { return head_; }
  size_t size() const { return size_; }

 private:
  Job* head_ = nullptr;
  Job* tail_ = nullptr;
  size_t size_ = 0;
};

struct Job {
  enum class Stage : uint8_t { kUpstream, kAllow, kDone };
  Stub::Impl* impl = nullptr;  // null once the stub is gone
  Stage stage = Stage::kUpstream;
  std::string_view key;  // set while the job is in the coalescing map (views keyStorage)
  CacheKeyBuffer keyStorage;
  std::vector<Waiter> waiters;
  std::shared_ptr<const Resolved> resolved;
  uint32_t ageSeconds = 0;    // of the answer when served from cache
  uint32_t allowSeconds = 0;  // timeout given to the allow set
  bool fromCache = false;
  bool cacheOnRelease = false;
  std::chrono::steady_clock::time_point deadline;
  // DeadlineList links.
  std::shared_ptr<Job> self;
  Job* prev = nullptr;
  Job* next = nullptr;
  DeadlineList* list = nullptr;
};

class Stub::Impl {
 public:
  using Clock = std::chrono::steady_clock;

  Impl(asio::io_context& io, const config::Config& config, upstream::ServerPool& pool,
       enforce::AllowSet& allowSet, observe::EventSink& events, StubOptions options);
  ~Impl();

  Status start();
  void stop();
  Status reconfigure(const config::Config& config);
  StubStats stats() const;
  std::vector<Endpoint> listening() const;
  void resolve(const ResolveRequest& request, std::function<void(Result<ResolveOutcome>)> done);

  // From the sockets (io thread).
  void onUdpQuery(const std::shared_ptr<UdpListener>& from, std::span<const uint8_t> wire,
                  const asio::ip::udp::endpoint& peer);
  void onTcpQuery(const std::shared_ptr<TcpConnection>& from, std::span<const uint8_t> wire);
  void onAccepted(asio::ip::tcp::socket socket);
  void onConnectionClosed(TcpConnection* connection);
  void countSendError() { bump(counters_.sendErrors); }
  void countDropped() { bump(counters_.dropped); }
  const StubOptions& options() const { return options_; }

 private:
  struct Listener {
    Endpoint configured;
    Endpoint bound;
    std::shared_ptr<UdpListener> udp;
    std::shared_ptr<TcpListener> tcp;
  };

  // Written by the io thread only, read by any: plain load+store, no locked increments.
  struct Counters {
    std::atomic<uint64_t> queries{0}, queriesUdp{0}, queriesTcp{0}, answered{0}, cacheHits{0},
        cacheMisses{0}, coalesced{0}, upstreamQueries{0}, hostsAnswers{0}, truncated{0}, dropped{0},
        formerr{0}, notimp{0}, refused{0}, badvers{0}, insertsRequested{0}, addressesRequested{0},
        sendErrors{0}, tcpConnections{0}, tcpRefused{0}, cacheEntries{0}, cacheBytes{0},
        cacheEvictions{0};
    std::array<std::atomic<uint64_t>, kServfailCauses> servfail{};
  };
  static void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  Result<Listener> openListener(const Endpoint& endpoint);
  void closeListener(Listener& listener);

  void handleQuery(std::span<const uint8_t> wire, ReplyTo&& to);
  void process(const dns::ClientQuery& query, ReplyTo&& to, bool bypassCache);
  bool answerFromHosts(const dns::ClientQuery& query, ReplyTo& to);
  void maybeReloadHosts(Clock::time_point now);
  void keepHostsAllowed();

  std::shared_ptr<Job> newJob();
  void askUpstream(const std::shared_ptr<Job>& job, const std::optional<IpAddress>& via);
  void onUpstream(const std::shared_ptr<Job>& job, Result<upstream::Answer> result);
  // Inserts the job's addresses with the timeout for `ttl`, then releases; or releases at
  // once when there is nothing to allow.
  void allowThenRelease(const std::shared_ptr<Job>& job, uint32_t ttl);
  void onAllowed(const std::shared_ptr<Job>& job, const Status& status);
  void release(Job& job);
  void fail(Job& job, ServfailCause cause, const std::string& why);
  void finish(Job& job);

  void serve(const Job& job, Waiter& waiter);
  void serveError(const dns::ClientQuery& query, bool withQuestion, uint16_t rcode, ReplyTo& to,
                  const std::string& failure);
  void reply(ReplyTo& to, std::span<const uint8_t> message);

  void track(const std::shared_ptr<Job>& job, DeadlineList& list, Clock::time_point deadline);
  bool overloaded() const { return upstreamJobs_.size() + allowJobs_.size() >= options_.maxJobs; }
  void refuseOverloaded(const dns::ClientQuery& query, ReplyTo& to);
  void armSweep();
  void sweep();

  asio::io_context& io_;
  config::Config config_;
  upstream::ServerPool& pool_;
  enforce::AllowSet& allow_;
  observe::EventSink& events_;
  StubOptions options_;

  std::vector<Listener> listeners_;
  mutable std::mutex listeningMutex_;
  std::vector<Endpoint> listening_;
  std::unordered_map<TcpConnection*, std::shared_ptr<TcpConnection>> connections_;

  AnswerCache cache_;
  // Coalescing: keys view Job::keyStorage.
  std::unordered_map<std::string_view, std::shared_ptr<Job>> inflight_;
  DeadlineList upstreamJobs_;
  DeadlineList allowJobs_;
  asio::steady_timer sweepTimer_;
  bool sweepArmed_ = false;
  Clock::time_point sweepAt_{};
  uint64_t sweepGeneration_ = 0;

  HostsFile hosts_;
  Clock::time_point hostsCheckedAt_{};
  struct timespec hostsMtime_ {};
  ino_t hostsInode_ = 0;
  off_t hostsSize_ = -1;
  asio::steady_timer hostsTimer_;

  Counters counters_;
  std::vector<uint8_t> scratch_;  // one answer being written
};

}  // namespace ztdns::resolver
