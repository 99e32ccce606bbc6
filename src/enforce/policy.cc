#include "enforce/policy.h"

#include <algorithm>

namespace ztdns::enforce {

Policy policyFromConfig(const config::Config& config) {
  Policy p;
  p.audit = config.auditModeEnabled;
  p.loopbackBlocked = config.loopbackTrafficBlocked;
  p.logPermitted = config.permittedConnectionsLogEnabled;
  for (const auto& server : config.secureDnsServers) {
    // The daemon connects to the configured IP only, over DoT and/or DoH, both TCP.
    if (server.dnsOverTls) p.servers.push_back({server.ipAddress, server.dnsOverTls->tlsPort});
    if (server.dnsOverHttps)
      p.servers.push_back({server.ipAddress, server.dnsOverHttps->httpsPort});
  }
  std::sort(p.servers.begin(), p.servers.end());
  p.servers.erase(std::unique(p.servers.begin(), p.servers.end()), p.servers.end());
  for (const auto& rule : config.exemptionRules) {
    p.exceptions.push_back({rule.displayName, rule.ipAddresses});
  }
  p.stubListeners = config.listenAddresses;
  p.maxAllowedAddresses = config.maxAllowedAddresses;
  // The kernel guard sits above the event summariser's rate, so that the observe thread
  // sees enough to summarise a flood but is never starved by one.
  p.logPacketsPerSecond = std::max<uint32_t>(1000, config.log.connectionEventsPerSecond * 5);
  return p;
}

}  // namespace ztdns::enforce
