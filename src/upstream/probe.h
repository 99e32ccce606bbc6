// probeServer: what `ztdns diagnose` runs against one configured server. A fresh
// connection (no pooled connection, no resumed session) is timed step by step: TCP
// connect, TLS handshake with the full identity check (chain, name, pins, mTLS when
// configured), then one test query. A failure names its class and its words.
#pragma once

#include <asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "upstream/server_pool.h"
#include "upstream/upstream_error.h"

namespace ztdns::upstream {

struct ProbeReport {
  std::string server;  // displayName
  IpAddress address;
  uint16_t port = 0;
  Transport transport = Transport::kDoT;
  std::string identity;  // the name checked against the certificate

  bool ok = false;
  std::optional<std::chrono::microseconds> tcpConnect;    // SYN -> connected
  std::optional<std::chrono::microseconds> tlsHandshake;  // connected -> verified
  std::optional<std::chrono::microseconds> query;         // query sent -> answer
  std::string tlsVersion;
  std::string peerSubject;
  int rcode = -1;  // of the test query's answer

  std::string stage;  // where it failed: "connect", "TLS", "query" (empty when ok)
  std::optional<std::chrono::microseconds> failedAfter;  // time spent in the failed stage
  ErrorClass errorClass = ErrorClass::kNone;
  std::string error;  // words, as in ServerStatus::lastError
};

struct ProbeRequest {
  IpAddress server;                    // must be a configured server's ipAddress
  std::optional<Transport> transport;  // empty: every transport the server has
  std::string testName;                // dotted, "" = the root
  uint16_t testType = 2;               // NS
  std::chrono::milliseconds timeout{3000};
};

// Runs on `io`; `done` gets one report per probed endpoint (empty when the server is not
// configured: the caller says so). Errors: bad TLS material, as makeServerPool would.
Status probeServer(asio::io_context& io, const PoolOptions& options, const ProbeRequest& request,
                   std::function<void(std::vector<ProbeReport>)> done);

}  // namespace ztdns::upstream
