// The enforcement policy: what the kernel must allow, independent of how it is written.
//
// policyFromConfig() derives it from a Config; buildPolicyScript() (pure, unit-tested
// without root) turns it into one nftables transaction; PolicyApplier submits it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/ip.h"
#include "common/result.h"
#include "config/config.h"

namespace ztdns::enforce {

inline constexpr const char* kTableFamily = "inet";
inline constexpr const char* kTableName = "ztdns";
inline constexpr const char* kAllowSet4 = "allow4";
inline constexpr const char* kAllowSet6 = "allow6";
inline constexpr uint16_t kNflogGroup = 2932;  // NFLOG groups are per network namespace

// NFLOG prefixes: the log consumer reads the verdict and reason from them.
namespace log_prefix {
inline constexpr const char* kBlock = "ztdns block";
inline constexpr const char* kAudit = "ztdns audit";
inline constexpr const char* kPermitResolved = "ztdns permit resolved";
inline constexpr const char* kPermitException = "ztdns permit exception";
inline constexpr const char* kPermitServer = "ztdns permit server";
inline constexpr const char* kPermitDhcp = "ztdns permit dhcp";
inline constexpr const char* kPermitNdp = "ztdns permit ndp";
inline constexpr const char* kPermitLoopback = "ztdns permit loopback";
}  // namespace log_prefix

struct NamedPrefixes {
  std::string name;
  std::vector<IpPrefix> prefixes;
};

struct Policy {
  bool audit = true;
  bool loopbackBlocked = false;
  bool logPermitted = false;
  std::vector<Endpoint> servers;  // PDNS servers: TCP to ip:port is allowed
  std::vector<NamedPrefixes> exceptions;
  std::vector<Endpoint> stubListeners;  // reachable on loopback even when it is blocked
  uint32_t maxAllowedAddresses = 262144;
  uint16_t nflogGroup = kNflogGroup;
  uint32_t logPacketsPerSecond = 5000;  // kernel-side guard before NFLOG
};

Policy policyFromConfig(const config::Config& config);

}  // namespace ztdns::enforce
