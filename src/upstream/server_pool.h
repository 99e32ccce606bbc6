// ServerPool: the configured protective DNS servers, tried in priority order over DoT or
// DoH only. Lives on the data-plane io_context. Never speaks plaintext DNS, never talks to
// a server that is not configured, never resolves a server's name.
//
// Glossary:
//   endpoint   one server over one transport; a server with both DoT and DoH configured is
//              two endpoints, DoT first. Endpoints are ordered by priority (lower first),
//              then by config order.
//   attempt    one try of one query on one endpoint, bounded by attemptTimeout (the last
//              candidate gets whatever is left of the deadline).
//   down       an endpoint that failed to connect, failed TLS, or let a query time out
//              without answering anything since it was sent. Queries skip it; a background
//              probe retries it after a backoff (0.5 s doubling to 4 s) and brings it back.
//   unknown    an endpoint nothing has been exchanged with yet. Every endpoint starts so,
//              at creation and after every reconfiguration, and a background probe checks
//              it at once (the same connection, TLS and identity checks as a query).
//              Queries try it in priority order like an up endpoint.
//
// Threading: every method except status() must be called on the io thread that runs `io`;
// every callback runs there. status() may be called from any thread.
#pragma once

#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/health.h"
#include "common/ip.h"
#include "common/result.h"
#include "config/config.h"

namespace ztdns::observe {
class EventSink;
}

namespace ztdns::upstream {

enum class Transport { kDoT, kDoH };
const char* transportName(Transport t);  // "DoT" / "DoH"

struct Answer {
  // The server's answer; its ID equals the query's ID. Queries go up padded (RFC 8467),
  // with an OPT record added when the caller sent none, so the answer may carry an OPT
  // (and padding) the client did not ask for: the resolver adjusts EDNS for its client.
  std::vector<uint8_t> wire;
  std::string serverName;  // displayName
  IpAddress serverAddress;
  uint16_t serverPort = 0;
  Transport transport = Transport::kDoT;
  std::chrono::microseconds rtt{0};
};

// Why a query got no answer; the resolver turns every one into SERVFAIL and counts it.
// kBadQuery: the query itself was not a DNS message (never sent anywhere). A malformed or
// mismatched answer makes the pool try the next server, so it ends as kAllServersFailed;
// kBadAnswer is left for the resolver (an answer it cannot use).
enum class FailureCause { kNoServers, kAllServersFailed, kTimeout, kBadAnswer, kBadQuery };

// What the pool knows of an endpoint (see the glossary above and common/health.h).
using ztdns::Health;
using ztdns::healthName;

struct ServerStatus {
  std::string name;
  IpAddress address;
  uint16_t port = 0;
  Transport transport = Transport::kDoT;
  int priority = 0;
  Health health = Health::kUnknown;
  std::optional<std::chrono::microseconds> lastRtt;  // of the latest answer (query or probe)
  // The current error in words ("TLS: hostname mismatch", "connect: connection refused"):
  // why the endpoint is down, or why its latest exchange failed. Empty once it answers again.
  std::string lastError;
  // The latest failure of any kind and when it happened; kept after recovery and across a
  // reconfiguration that keeps the endpoint (same address, port and transport).
  std::string lastFailure;
  std::optional<std::chrono::system_clock::time_point> lastFailureAt;
  uint64_t answered = 0;  // answers received (all time)
  uint64_t failed = 0;    // attempts that failed or timed out (all time)
};

// Everything the pool needs from the configuration, plus timing knobs (defaults are the
// product's; tests shorten them). Built from a Config by poolOptionsFromConfig().
struct PoolOptions {
  std::vector<config::SecureDnsServer> servers;
  std::vector<std::string> rootCertificates;  // PEM files; empty = system store
  std::optional<config::ClientCertificate> clientCertificate;

  std::chrono::milliseconds connectTimeout{1000};  // TCP connect + TLS handshake
  std::chrono::milliseconds attemptTimeout{700};   // per endpoint before failing over
  std::chrono::milliseconds idleTimeout{30000};    // close an unused connection
  std::chrono::milliseconds staleTimeout{5000};    // queries out, nothing read: reconnect
  std::chrono::milliseconds initialBackoff{500};   // first probe after going down
  std::chrono::milliseconds maxBackoff{4000};      // probe interval cap
  std::chrono::milliseconds probeTimeout{1500};
  // An up endpoint that nothing has been asked of for this long is checked again, so that
  // `show server` and the Operational log notice a secondary that died while idle.
  // 0: never.
  std::chrono::milliseconds idleCheckInterval{30000};
  size_t maxConnectionsPerEndpoint = 4;
  size_t softInFlightPerConnection = 64;  // beyond this, spread over another connection
  bool quickAck = true;                   // TCP_QUICKACK after every read
  bool padQueries = true;                 // EDNS(0) padding to 128-byte blocks (RFC 8467)
  // Leave the first check of the endpoints to checkUnknown(). ztdnsd sets it when it
  // starts: its own nftables policy must let the checks out first.
  bool deferFirstChecks = false;
};

PoolOptions poolOptionsFromConfig(const config::Config& config);

class ServerPool {
 public:
  virtual ~ServerPool() = default;

  // Send one query (any ID; the pool manages wire IDs: 0 for DoH, unique per DoT
  // connection, and restores the caller's ID in the answer). `done` runs exactly once on
  // the io thread, by `deadline` at the latest. FailureCause travels in Error::code.
  virtual void resolve(std::span<const uint8_t> query,
                       std::chrono::steady_clock::time_point deadline,
                       std::function<void(Result<Answer>)> done) = 0;

  // Ask one server only (ztdns resolve server=IP, diagnose). Same contract.
  virtual void resolveVia(const IpAddress& server, std::span<const uint8_t> query,
                          std::chrono::steady_clock::time_point deadline,
                          std::function<void(Result<Answer>)> done) = 0;

  // Thread-safe snapshot.
  virtual std::vector<ServerStatus> status() const = 0;

  // Starts the first check (a background probe) of every endpoint that is still unknown.
  // makeServerPool() and reconfigure() do it themselves unless deferFirstChecks is set.
  virtual void checkUnknown() = 0;

  // New server list or TLS material; called on the io thread. Errors (unreadable
  // certificate, bad key) leave the old pool in place. Queries in flight finish on the
  // old endpoints; new queries use the new ones; health starts fresh (unknown, probed at
  // once), as it does when the pool is made.
  virtual Status reconfigure(const config::Config& config) = 0;
  virtual Status reconfigure(const PoolOptions& options) = 0;
};

// Errors: unreadable root/client certificate files, bad pins, bad queryUrl.
// Destroying the pool drops pending callbacks (they are never called).
Result<std::unique_ptr<ServerPool>> makeServerPool(asio::io_context& io,
                                                   const config::Config& config,
                                                   observe::EventSink& events);
Result<std::unique_ptr<ServerPool>> makeServerPool(asio::io_context& io, const PoolOptions& options,
                                                   observe::EventSink& events);

}  // namespace ztdns::upstream
