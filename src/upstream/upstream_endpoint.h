// UpstreamEndpoint: one configured server reached over one transport (DoT or DoH). Owns
// its connections (reused, up to a limit), its TLS session cache and its identity. Knows
// nothing of health or priority: that is the ServerPool's job.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "upstream/doh_connection.h"
#include "upstream/query_connection.h"
#include "upstream/server_pool.h"

namespace ztdns::upstream {

struct EndpointConfig {
  std::string serverName;  // displayName
  IpAddress address;
  uint16_t port = 0;
  Transport transport = Transport::kDoT;
  int priority = 0;
  std::shared_ptr<const TlsIdentity> identity;
  std::shared_ptr<const DohTarget> doh;  // DoH only
  std::chrono::milliseconds connectTimeout{1000};
  std::chrono::milliseconds idleTimeout{30000};
  std::chrono::milliseconds staleTimeout{5000};  // queries out, nothing read: connection dead
  size_t maxConnections = 4;
  size_t softInFlight = 64;  // above this per connection, open another (up to the limit)
  bool quickAck = true;
};

class UpstreamEndpoint final : public ConnectionOwner {
 public:
  UpstreamEndpoint(asio::io_context& io, EndpointConfig config,
                   std::shared_ptr<const TlsContext> tls);
  ~UpstreamEndpoint() override;

  // Sends (or queues until the connection is up). The exchange finishes exactly once
  // unless abandoned first. A query caught by a server's idle close is re-sent once.
  void send(const ExchangePtr& ex);
  // Close every connection; their unanswered exchanges fail with `why`.
  void closeAll(const UpstreamError& why);

  const EndpointConfig& config() const { return config_; }
  std::string label() const;  // "pdns1 (198.51.100.53:853 DoT)"
  size_t connectionCount() const { return conns_.size(); }
  // The last connection that completed its handshake (for `diagnose` timings).
  const ConnectionTiming& lastTiming() const { return lastTiming_; }
  SessionCache& sessionsForTest() { return *sessions_; }
  size_t connectionsOpenedForTest() const { return opened_; }

 private:
  void onConnectionEstablished(QueryConnection& conn) override;
  void onConnectionClosed(QueryConnection& conn, const UpstreamError& why, bool wasEstablished,
                          std::vector<ExchangePtr> unanswered) override;
  void onExchangesRefused(QueryConnection& conn, std::vector<ExchangePtr> refused) override;

  QueryConnection* pick();
  std::shared_ptr<QueryConnection> open();
  void armSweep();
  void sweep();
  void remove(QueryConnection& conn);

  asio::io_context& io_;
  EndpointConfig config_;
  std::shared_ptr<const TlsContext> tls_;
  std::shared_ptr<SessionCache> sessions_;
  std::vector<std::shared_ptr<QueryConnection>> conns_;
  asio::steady_timer sweepTimer_;
  bool sweepArmed_ = false;
  ConnectionTiming lastTiming_;
  size_t opened_ = 0;
  std::shared_ptr<bool> alive_;  // sweep handlers outlive us by a loop turn
};

}  // namespace ztdns::upstream

namespace ztdns::upstream {

// The endpoints of a server list, in the order the pool tries them: priority (lower
// first), then config order; DoT before DoH within a server. Errors name the server
// (bad pin, bad queryUrl).
Result<std::vector<EndpointConfig>> endpointConfigs(const PoolOptions& options);

// "https://host[:port]/path" -> authority "host[:port]", host (no brackets), path.
struct ParsedQueryUrl {
  std::string host;
  std::string authority;
  std::string path;
};
Result<ParsedQueryUrl> parseQueryUrl(const std::string& url);

}  // namespace ztdns::upstream
