// Real DNS peers for upstream tests, each started in the test's private network namespace
// and stopped by PID: unbound answering a small static zone over plaintext TCP (for
// nginx's backend only, never port 53), DoT and DoH; nginx's stream module as an mTLS
// front. Every address is loopback or a documentation address.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "child_process.h"

namespace ztdns::testing {

struct UnboundSpec {
  std::vector<std::string> addresses;  // each gets the ports below
  uint16_t plainPort = 0;              // 0: none (plaintext TCP/UDP, for nginx's backend)
  uint16_t tlsPort = 853;              // 0: none
  uint16_t httpsPort = 0;              // 0: none (DoH at /dns-query)
  std::string certFile;                // chain PEM
  std::string keyFile;
  int tcpIdleTimeoutMs = 30000;
  std::vector<std::string> staticZones = {"example.test."};
  std::string extraServerConfig;  // more "server:" lines, each ending in \n
  // "name. TTL IN A 203.0.113.80" lines; zone example.test is static, everything else REFUSED.
  std::vector<std::string> localData = {
      "www.example.test. 300 IN A 203.0.113.80",
      "www.example.test. 300 IN AAAA 2001:db8:80::80",
      "two.example.test. 300 IN A 203.0.113.81",
  };
};

class UnboundPeer {
 public:
  UnboundPeer(const TempDir& dir, std::string name, UnboundSpec spec);
  bool start();  // waits until every port accepts
  void stop() { proc_.stop(); }
  bool running() const { return proc_.running(); }
  pid_t pid() const { return proc_.pid(); }
  std::string log() const { return readFile(logFile_); }
  const UnboundSpec& spec() const { return spec_; }

 private:
  std::string conf_, logFile_;
  UnboundSpec spec_;
  ChildProcess proc_;
};

struct NginxMtlsSpec {
  std::string listenAddress;
  uint16_t listenPort = 853;
  std::string certFile;  // chain PEM
  std::string keyFile;
  std::string clientCaFile;  // ssl_client_certificate; ssl_verify_client on
  std::string backend;       // "127.0.0.53:5353" (unbound's plaintext TCP)
};

class NginxMtlsPeer {
 public:
  NginxMtlsPeer(const TempDir& dir, std::string name, NginxMtlsSpec spec);
  bool start();
  void stop() { proc_.stop(); }
  std::string log() const { return readFile(logFile_) + readFile(errorLog_); }

 private:
  std::string prefix_, conf_, logFile_, errorLog_;
  NginxMtlsSpec spec_;
  ChildProcess proc_;
};

}  // namespace ztdns::testing
