// Stub: ztdnsd's DNS listener, the host's resolver. It answers clients over UDP and TCP
// on the configured listen addresses, from its cache, the hosts file or the server pool
// (DoT/DoH only), and releases no answer before every address in it is in the kernel's
// allow set ("allow before answer").
//
// Glossary:
// - job: one upstream question in flight, or one cache/hosts answer waiting for its
//   allow; identical concurrent client queries wait on the same job (coalescing).
// - release: sending an answer to its clients; only after AllowSet::insert's callback
//   reported success, or at once when the answer holds no address to allow.
// - SERVFAIL causes: every way a query fails, counted separately (see ServfailCause).
//
// Threading: construct, start(), stop(), reconfigure() and resolve() on the data-plane
// io_context's thread (the daemon posts there). stats() and listening() are thread-safe.
// The ServerPool and AllowSet must outlive the Stub.
#pragma once

#include <array>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ip.h"
#include "common/result.h"
#include "config/config.h"
#include "enforce/allow_set.h"
#include "upstream/server_pool.h"

namespace ztdns::observe {
class EventSink;
}

namespace ztdns::resolver {

struct StubOptions {
  // Deadline handed to the pool; with allowTimeout it keeps every SERVFAIL under 2 s.
  std::chrono::milliseconds upstreamTimeout{1400};
  // How long the kernel may take to acknowledge an insert before the client gets SERVFAIL.
  std::chrono::milliseconds allowTimeout{400};
  size_t cacheBytes = 32u << 20;
  uint32_t maxCacheTtl = 86400;             // cap for positive answers
  uint32_t maxNegativeTtl = 3600;           // cap for RFC 2308 negative answers
  size_t maxTcpConnections = 512;           // beyond it new connections are closed at once
  size_t maxTcpQueriesPerConnection = 100;  // reading pauses while this many are open
  std::chrono::milliseconds tcpIdleTimeout{10000};
  // Bounds on memory under a flood: jobs waiting for the pool or the kernel, and clients
  // waiting on one job. Past them a query gets SERVFAIL (kOverloaded) at once.
  size_t maxJobs = 20000;
  size_t maxWaitersPerJob = 512;
  std::string hostsPath = "/etc/hosts";
};

enum class ServfailCause : uint8_t {
  kNoServers,         // the pool has no server configured
  kAllServersFailed,  // every server failed to connect, handshake or answer
  kUpstreamTimeout,   // no answer by the deadline
  kBadAnswer,         // the answer was malformed or not for our question
  kAllowFailed,       // the kernel refused the insert
  kAllowTimeout,      // the kernel did not acknowledge in time
  kOverloaded,        // too many queries in flight (StubOptions::maxJobs, maxWaitersPerJob)
};
inline constexpr size_t kServfailCauses = 7;
const char* toText(ServfailCause cause);

struct StubStats {
  uint64_t queries = 0;  // every datagram or TCP message received
  uint64_t queriesUdp = 0;
  uint64_t queriesTcp = 0;
  uint64_t answered = 0;  // answers released from upstream, cache or hosts file
  uint64_t cacheHits = 0;
  uint64_t cacheMisses = 0;
  uint64_t coalesced = 0;  // queries that joined an identical one in flight
  uint64_t upstreamQueries = 0;
  uint64_t hostsAnswers = 0;
  uint64_t truncated = 0;  // UDP answers sent with TC=1
  uint64_t dropped = 0;    // not answered: shorter than a header, or a response
  uint64_t formerr = 0;
  uint64_t notimp = 0;
  uint64_t refused = 0;  // class other than IN
  uint64_t badvers = 0;
  std::array<uint64_t, kServfailCauses> servfail{};
  uint64_t insertsRequested = 0;    // AllowSet::insert calls
  uint64_t addressesRequested = 0;  // addresses in them
  uint64_t sendErrors = 0;
  uint64_t tcpConnections = 0;  // open now
  uint64_t tcpRefused = 0;      // closed at accept: too many connections
  uint64_t cacheEntries = 0;
  uint64_t cacheBytes = 0;
  uint64_t cacheEvictions = 0;

  uint64_t servfailTotal() const;
};

// ztdns resolve: one query through the same path as a client's.
struct ResolveRequest {
  std::string name;
  uint16_t qtype = 1;
  std::optional<IpAddress> server;  // ask this configured server only: no cache, no hosts
  bool bypassCache = false;
  bool dnssecOk = false;
};

struct ResolveOutcome {
  std::vector<uint8_t> answer;  // the message a client would get (ID 0)
  uint16_t rcode = 0;
  std::string source;  // "DoT", "DoH", "cache", "hosts file"
  std::string server;  // displayName, or the hosts file path
  IpAddress serverAddress;
  uint16_t serverPort = 0;
  std::chrono::microseconds rtt{0};  // upstream round trip; 0 from cache or hosts
  bool fromCache = false;
  std::vector<enforce::AllowRequest> allowed;  // inserted and acknowledged before release
  std::string failure;  // why the answer is a SERVFAIL made by the stub; empty otherwise
};

class Stub {
 public:
  Stub(asio::io_context& io, const config::Config& config, upstream::ServerPool& pool,
       enforce::AllowSet& allowSet, observe::EventSink& events, StubOptions options = {});
  ~Stub();
  Stub(const Stub&) = delete;
  Stub& operator=(const Stub&) = delete;

  // Binds UDP and TCP on every listen address. An error names each address that failed
  // ("listen 127.0.0.1:53 (udp): Address already in use"); nothing stays bound then.
  // Port 0 (tests) lets the kernel pick the UDP port, and TCP takes the same one.
  Status start();
  // Closes the listeners and the client connections; queries in flight end quietly.
  void stop();

  // New listen addresses (bound before old ones close; on a bind error nothing changes),
  // allow timing and hosts switch; the cache is flushed.
  Status reconfigure(const config::Config& config);

  StubStats stats() const;
  std::vector<Endpoint> listening() const;  // bound addresses (actual ports)

  // Runs one query through the stub; `done` runs once, on the io thread. An Error only for
  // a request that cannot be asked (a bad name); failures are a SERVFAIL outcome.
  void resolve(const ResolveRequest& request, std::function<void(Result<ResolveOutcome>)> done);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ztdns::resolver
