// ServerPool: the configured protective DNS servers, tried in priority order over DoT or
// DoH only. Lives on the data-plane io_context. Never speaks plaintext DNS, never talks to
// a server that is not configured, never resolves a server's name.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

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
  std::vector<uint8_t> wire;  // the server's answer; its ID equals the query's ID
  std::string serverName;     // displayName
  IpAddress serverAddress;
  uint16_t serverPort = 0;
  Transport transport = Transport::kDoT;
  std::chrono::microseconds rtt{0};
};

// Why a query got no answer; the resolver turns every one into SERVFAIL and counts it.
enum class FailureCause { kNoServers, kAllServersFailed, kTimeout, kBadAnswer };

struct ServerStatus {
  std::string name;
  IpAddress address;
  uint16_t port = 0;
  Transport transport = Transport::kDoT;
  int priority = 0;
  bool healthy = true;
  std::optional<std::chrono::microseconds> lastRtt;
  std::string lastError;  // in words: "TLS: certificate name mismatch", "connect: refused"
};

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

  // New server list or TLS material; called on the io thread. Errors (unreadable
  // certificate, bad key) leave the old pool in place.
  virtual Status reconfigure(const config::Config& config) = 0;
};

Result<std::unique_ptr<ServerPool>> makeServerPool(asio::io_context& io,
                                                   const config::Config& config,
                                                   observe::EventSink& events);

}  // namespace ztdns::upstream
