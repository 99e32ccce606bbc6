// Shared fixture for upstream tests: a private network namespace with the lab's PDNS
// addresses on its loopback, a per-process test PKI, an nftables counter of every
// packet to port 53, and helpers that run the io_context until a condition holds.
#pragma once

#include <gtest/gtest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "child_process.h"
#include "dns_peers.h"
#include "fakes.h"
#include "netns.h"
#include "scripted_servers.h"
#include "test_pki.h"
#include "upstream/server_pool.h"
#include "upstream/wire.h"

namespace ztdns::upstream::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline constexpr const char* kPdns1 = "198.51.100.53";
inline constexpr const char* kPdns2 = "198.51.100.54";
inline constexpr const char* kPdns1v6 = "2001:db8:53::53";
inline constexpr const char* kPdns2v6 = "2001:db8:53::54";
inline constexpr const char* kName1 = "pdns1.example.test";
inline constexpr const char* kName2 = "pdns2.example.test";

struct Pki {
  testing::IssuedCert ca, otherCa, clientCa;
  testing::IssuedCert pdns1, pdns2, wrongName, untrusted, expired, ipOnly, wildcard,
      partialWildcard;
  testing::IssuedCert client;
};

// Sets up the namespace once per process: addresses, nft counter, PKI in a temp dir.
class UpstreamNetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  static const Pki& pki() { return *pki_; }
  static const testing::TempDir& dir() { return *dir_; }
  // Packets sent to port 53 (UDP or TCP) by anything in this namespace so far.
  static uint64_t port53Packets();
  // A fresh port for each peer, so nothing waits for TIME_WAIT.
  static uint16_t freshPort();

  config::SecureDnsServer dotServer(const std::string& name, const char* ip, uint16_t port,
                                    const std::string& subject, int priority = 100) const;
  config::SecureDnsServer dohServer(const std::string& name, const char* ip, uint16_t port,
                                    const std::string& urlHost, int priority = 100) const;
  PoolOptions options(std::vector<config::SecureDnsServer> servers) const;

  // Runs the loop until pred() or timeout; true when pred() held.
  bool runUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s);
  Result<Answer> resolve(ServerPool& pool, const char* name = "www.example.test", uint16_t type = 1,
                         std::chrono::milliseconds deadline = 1800ms, uint16_t id = 0x1234);

  static std::unique_ptr<Pki> pki_;
  static std::unique_ptr<testing::TempDir> dir_;
  static std::string setupError_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  testing::RecordingEventSink events_;
};

// The A records' first address in an answer ("" if none).
std::string firstA(const std::vector<uint8_t>& answer);

}  // namespace ztdns::upstream::test
