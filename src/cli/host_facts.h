// What diagnose reads from the host, parsed. Parsers are pure (unit-tested on fixture
// text); readers take their root from the environment so that tests never depend on the
// machine they run on:
//   ZTDNS_RESOLV_CONF          the resolv.conf to read (default /etc/resolv.conf)
//   ZTDNS_PROC_ROOT            where /proc is (default /proc): net/{tcp,udp}{,6}, net/if_inet6,
//                              net/ipv6_route, <pid>/fd, <pid>/comm
//   ZTDNS_BROWSER_POLICY_ROOT  a directory prepended to every browser policy path (default "")
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip.h"
#include "common/result.h"

namespace ztdns::cli {

struct ResolvConf {
  std::vector<IpAddress> nameservers;   // in file order (zone ids dropped)
  std::vector<std::string> unparsable;  // nameserver values that are not addresses
};
ResolvConf parseResolvConf(std::string_view text);
Result<ResolvConf> readResolvConf(const std::string& path);

// A socket bound to a local port, from /proc/net/{tcp,udp}{,6}.
struct BoundSocket {
  std::string protocol;  // "tcp" (LISTEN only) or "udp"
  IpAddress address;
  uint16_t port = 0;
  uint64_t inode = 0;
};
// `v6` selects the 128-bit address format of tcp6/udp6.
std::vector<BoundSocket> parseProcNetSockets(std::string_view text, bool tcp, bool v6);
std::vector<BoundSocket> readBoundSockets(const std::string& procRoot);

struct SocketOwner {
  pid_t pid = 0;
  std::string command;     // /proc/<pid>/comm
  std::string executable;  // /proc/<pid>/exe when readable
};
// inode -> owner, by scanning /proc/<pid>/fd (only what this user may read).
std::map<uint64_t, SocketOwner> findSocketOwners(const std::string& procRoot,
                                                 const std::set<uint64_t>& inodes);

struct Ipv6Facts {
  std::vector<IpAddress> globalAddresses;  // scope global, not tentative or failed DAD
  bool defaultRoute = false;               // ::/0 that is not a reject route, not on lo
  bool configured() const { return !globalAddresses.empty() && defaultRoute; }
};
Ipv6Facts parseIpv6Facts(std::string_view ifInet6, std::string_view ipv6Route);
Ipv6Facts readIpv6Facts(const std::string& procRoot);

// One browser policy setting that keeps a built-in DoH client on (or says it is off).
struct BrowserPolicyFinding {
  std::string file;
  std::string browser;  // "Chrome/Chromium/Edge/Brave", "Firefox"
  std::string setting;  // "DnsOverHttpsMode=secure", "DNSOverHTTPS.Enabled=true", ...
  int severity = 0;     // 0 off (fine), 1 warn, 2 fail
  std::string words;
};
// Chromium-family managed policy JSON (a single file's contents).
std::vector<BrowserPolicyFinding> inspectChromePolicy(const std::string& file,
                                                      const nlohmann::json& policy);
// Firefox policies.json contents.
std::vector<BrowserPolicyFinding> inspectFirefoxPolicy(const std::string& file,
                                                       const nlohmann::json& policy);
// Every policy file under `root` (see the paths in host_facts.cc); unparsable files are
// reported as findings of severity 1.
std::vector<BrowserPolicyFinding> scanBrowserPolicies(const std::string& root,
                                                      std::vector<std::string>* filesSeen);

std::string readFileOr(const std::string& path, const std::string& fallback);

}  // namespace ztdns::cli
