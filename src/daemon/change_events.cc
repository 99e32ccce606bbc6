#include "daemon/change_events.h"

#include <algorithm>

namespace ztdns::daemon {

std::string serverSummary(const config::SecureDnsServer& s) {
  std::string out = s.displayName + " " + s.ipAddress.toString();
  if (s.dnsOverTls) out += " DoT:" + std::to_string(s.dnsOverTls->tlsPort);
  if (s.dnsOverHttps) out += " DoH:" + std::to_string(s.dnsOverHttps->httpsPort);
  return out + " priority " + std::to_string(s.priority);
}

std::vector<observe::Event> changeEvents(const config::Config& before, const config::Config& after,
                                         const observe::ops::Actor& by) {
  std::vector<observe::Event> out;
  if (before.enabled != after.enabled || before.auditModeEnabled != after.auditModeEnabled) {
    out.push_back(observe::ops::stateChanged(after.enabled, after.auditModeEnabled, by));
  }
  if (before.secureDnsServers != after.secureDnsServers) {
    std::vector<std::string> list;
    for (const auto& s : after.secureDnsServers) list.push_back(serverSummary(s));
    out.push_back(observe::ops::serversUpdated(list, by));
  }
  auto find = [](const std::vector<config::ExemptionRule>& rules, const std::string& name) {
    return std::find_if(rules.begin(), rules.end(),
                        [&](const config::ExemptionRule& r) { return r.displayName == name; });
  };
  // A rule whose prefixes or description changed (a reload) is a removal and an addition.
  for (const auto& r : before.exemptionRules) {
    auto it = find(after.exemptionRules, r.displayName);
    if (it == after.exemptionRules.end() || !(*it == r)) {
      out.push_back(observe::ops::exceptionRemoved(r.displayName, by));
    }
  }
  for (const auto& r : after.exemptionRules) {
    auto it = find(before.exemptionRules, r.displayName);
    if (it == before.exemptionRules.end() || !(*it == r)) {
      out.push_back(observe::ops::exceptionAdded(r.displayName, r.ipAddresses, by));
    }
  }

  std::vector<std::string> other;
  auto note = [&](bool changed, const char* key) {
    if (changed) other.push_back(key);
  };
  note(before.rootCertificatesForServerValidation != after.rootCertificatesForServerValidation,
       "rootCertificatesForServerValidation");
  note(before.clientCertificate != after.clientCertificate, "clientCertificate");
  note(before.hostsFileResolutionEnabled != after.hostsFileResolutionEnabled,
       "hostsFileResolutionEnabled");
  note(before.loopbackTrafficBlocked != after.loopbackTrafficBlocked, "loopbackTrafficBlocked");
  note(before.maximumConnectionTimeInSeconds != after.maximumConnectionTimeInSeconds,
       "maximumConnectionTimeInSeconds");
  note(before.minimumAllowTimeInSeconds != after.minimumAllowTimeInSeconds,
       "minimumAllowTimeInSeconds");
  note(before.allowGraceSeconds != after.allowGraceSeconds, "allowGraceSeconds");
  note(before.maxAllowedAddresses != after.maxAllowedAddresses, "maxAllowedAddresses");
  note(before.permittedConnectionsLogEnabled != after.permittedConnectionsLogEnabled,
       "permittedConnectionsLogEnabled");
  note(before.listenAddresses != after.listenAddresses, "listenAddresses");
  note(before.log != after.log, "log");
  if (!other.empty()) {
    std::string what;
    for (const auto& k : other) what += (what.empty() ? "" : ", ") + k;
    observe::Event e = observe::ops::configUpdated(what, by);
    e.fields["keys"] = other;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace ztdns::daemon
