// toJson / formatConfig: our schema, every key present, so that an admin sees every setting
// in `show settings` and parseConfig(toJson(c)) gives back c.
#include <nlohmann/json.hpp>

#include "config/config.h"

namespace ztdns::config {
namespace {

template <class J>
J transportJson(const std::optional<DotSettings>& dot) {
  if (!dot) return J(nullptr);
  J j = J::object();
  j["tlsPort"] = dot->tlsPort;
  j["certificateSubjectName"] = dot->certificateSubjectName;
  return j;
}

template <class J>
J transportJson(const std::optional<DohSettings>& doh) {
  if (!doh) return J(nullptr);
  J j = J::object();
  j["httpsPort"] = doh->httpsPort;
  j["queryUrl"] = doh->queryUrl;
  return j;
}

// One builder for both key orders: nlohmann::json sorts keys, ordered_json keeps these.
template <class J>
J build(const Config& c) {
  J j = J::object();
  j["enabled"] = c.enabled;
  j["auditModeEnabled"] = c.auditModeEnabled;
  J servers = J::array();
  for (const auto& s : c.secureDnsServers) {
    J sj = J::object();
    sj["displayName"] = s.displayName;
    sj["ipAddress"] = s.ipAddress.toString();
    sj["priority"] = s.priority;
    sj["dnsOverTlsConfiguration"] = transportJson<J>(s.dnsOverTls);
    sj["dnsOverHttpsConfiguration"] = transportJson<J>(s.dnsOverHttps);
    sj["spkiPins"] = s.spkiPins;
    servers.push_back(std::move(sj));
  }
  j["secureDnsServers"] = std::move(servers);
  J rules = J::array();
  for (const auto& r : c.exemptionRules) {
    J rj = J::object();
    rj["displayName"] = r.displayName;
    rj["description"] = r.description;
    J addrs = J::array();
    for (const auto& p : r.ipAddresses) {
      // A host prefix is written as the bare address, as admins and Intune write it.
      addrs.push_back(p.length() == p.maxLength() ? p.address().toString() : p.toString());
    }
    rj["ipAddresses"] = std::move(addrs);
    rules.push_back(std::move(rj));
  }
  j["exemptionRules"] = std::move(rules);
  j["rootCertificatesForServerValidation"] = c.rootCertificatesForServerValidation;
  if (c.clientCertificate) {
    J cc = J::object();
    cc["certificateFile"] = c.clientCertificate->certificateFile;
    cc["privateKeyFile"] = c.clientCertificate->privateKeyFile;
    j["clientCertificate"] = std::move(cc);
  } else {
    j["clientCertificate"] = nullptr;
  }
  j["hostsFileResolutionEnabled"] = c.hostsFileResolutionEnabled;
  j["loopbackTrafficBlocked"] = c.loopbackTrafficBlocked;
  j["maximumConnectionTimeInSeconds"] = c.maximumConnectionTimeInSeconds;
  j["minimumAllowTimeInSeconds"] = c.minimumAllowTimeInSeconds;
  j["allowGraceSeconds"] = c.allowGraceSeconds;
  j["maxAllowedAddresses"] = c.maxAllowedAddresses;
  j["permittedConnectionsLogEnabled"] = c.permittedConnectionsLogEnabled;
  J listen = J::array();
  for (const auto& e : c.listenAddresses) listen.push_back(e.toString());
  j["listenAddresses"] = std::move(listen);
  J log = J::object();
  log["maxFileBytes"] = c.log.maxFileBytes;
  log["keepFiles"] = c.log.keepFiles;
  log["connectionEventsPerSecond"] = c.log.connectionEventsPerSecond;
  j["log"] = std::move(log);
  return j;
}

}  // namespace

nlohmann::json toJson(const Config& config) {
  return build<nlohmann::json>(config);
}

std::string formatConfig(const Config& config) {
  // Invalid UTF-8 cannot come from parseConfig; from code it is replaced, never thrown.
  return build<nlohmann::ordered_json>(config).dump(2, ' ', false,
                                                    nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace ztdns::config
