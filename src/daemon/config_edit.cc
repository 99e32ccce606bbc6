#include "daemon/config_edit.h"

#include <algorithm>

#include "control/protocol.h"
#include "control/validation.h"

namespace ztdns::daemon {

namespace {

using config::Config;

Result<Edited> finish(Config next, std::vector<std::string> warnings = {}) {
  if (auto st = checkEdited(next); !st) return st.error();
  return Edited{std::move(next), std::move(warnings)};
}

std::string leaveNoServer(const std::string& what) {
  return "deleting " + what +
         " would leave no server while ZTDNS is enabled, and every name would fail to resolve; "
         "add another server first, or disable ZTDNS with: ztdns set state enable=no";
}

}  // namespace

Status checkEdited(const Config& edited) {
  config::Diagnostics d = config::validate(edited);
  if (d.ok()) return okStatus();
  std::string all;
  for (const auto& e : d.errors) all += (all.empty() ? "" : "; ") + e;
  return control::invalidParams(all);
}

Result<Edited> editSetState(const Config& current, const control::SetStateParams& p) {
  Config next = current;
  next.enabled = p.enable;
  if (p.audit) next.auditModeEnabled = *p.audit;
  if (next.enabled && next.secureDnsServers.empty()) {
    return control::conflict(
        "cannot enable ZTDNS: no protective DNS server is configured, so every name would fail "
        "to resolve; add one first with: ztdns add server type=dot|doh address=IP ...");
  }
  return finish(std::move(next));
}

Result<Edited> editAddServer(const Config& current, const control::AddServerParams& p) {
  Config next = current;
  auto it =
      std::find_if(next.secureDnsServers.begin(), next.secureDnsServers.end(),
                   [&](const config::SecureDnsServer& s) { return s.ipAddress == p.address; });
  bool isNew = it == next.secureDnsServers.end();
  if (isNew) {
    config::SecureDnsServer s;
    s.ipAddress = p.address;
    s.displayName = p.name.value_or(p.address.toString());
    s.priority = p.priority.value_or(100);
    next.secureDnsServers.push_back(std::move(s));
    it = next.secureDnsServers.end() - 1;
  } else {
    if (p.name) it->displayName = *p.name;
    if (p.priority) it->priority = *p.priority;
  }
  const char* proto = control::protocolName(p.type);
  if (p.type == control::Protocol::kDoT) {
    if (it->dnsOverTls) {
      return control::conflict("server " + p.address.toString() + " already has " + proto +
                               " (port " + std::to_string(it->dnsOverTls->tlsPort) +
                               "); delete the server first to change it");
    }
    it->dnsOverTls = config::DotSettings{p.port, p.hostname};
  } else {
    if (it->dnsOverHttps) {
      return control::conflict("server " + p.address.toString() + " already has " + proto + " (" +
                               it->dnsOverHttps->queryUrl +
                               "); delete the server first to change it");
    }
    it->dnsOverHttps = config::DohSettings{p.port, p.templateUrl};
  }
  // Display names are unique in the config; say which one clashes in the CLI's words.
  for (const auto& s : next.secureDnsServers) {
    if (&s != &*it && s.displayName == it->displayName) {
      return control::conflict("a server named \"" + s.displayName + "\" exists already (" +
                               s.ipAddress.toString() + "); choose another name=");
    }
  }
  return finish(std::move(next));
}

Result<Edited> editDeleteServer(const Config& current, const control::DeleteServerParams& p,
                                std::vector<IpAddress>& deleted) {
  Config next = current;
  deleted.clear();
  std::vector<config::SecureDnsServer> keep;
  for (auto& s : next.secureDnsServers) {
    if (!p.address || s.ipAddress == *p.address) {
      deleted.push_back(s.ipAddress);
    } else {
      keep.push_back(std::move(s));
    }
  }
  if (p.address && deleted.empty()) {
    return control::notFound("no server with address " + p.address->toString() +
                             " is configured (see ztdns show server)");
  }
  if (keep.empty() && next.enabled && !deleted.empty()) {
    return control::conflict(
        leaveNoServer(p.address ? "server " + p.address->toString() : "every server"));
  }
  next.secureDnsServers = std::move(keep);
  return finish(std::move(next));
}

Result<Edited> editAddException(const Config& current, const control::AddExceptionParams& p) {
  Config next = current;
  for (const auto& r : next.exemptionRules) {
    if (r.displayName == p.name) {
      return control::conflict("an exception named \"" + p.name +
                               "\" exists already; delete it first or choose another name");
    }
  }
  config::ExemptionRule rule;
  rule.displayName = p.name;
  rule.description = p.description;
  rule.ipAddresses = p.subnets;
  next.exemptionRules.push_back(std::move(rule));
  std::vector<std::string> warnings = config::normalizePrefixes(next);
  return finish(std::move(next), std::move(warnings));
}

Result<Edited> editDeleteException(const Config& current, const control::DeleteExceptionParams& p) {
  Config next = current;
  auto& rules = next.exemptionRules;
  auto it = std::find_if(rules.begin(), rules.end(),
                         [&](const config::ExemptionRule& r) { return r.displayName == p.name; });
  if (it == rules.end()) {
    return control::notFound("no exception named \"" + p.name + "\" (see ztdns show exception)");
  }
  rules.erase(it);
  return finish(std::move(next));
}

Result<Edited> editAddTrustedCa(const Config& current, const control::TrustedCaParams& p) {
  Config next = current;
  auto& files = next.rootCertificatesForServerValidation;
  if (std::find(files.begin(), files.end(), p.file) != files.end()) {
    return control::conflict(p.file + " is already a trusted CA file");
  }
  files.push_back(p.file);
  return finish(std::move(next));
}

Result<Edited> editDeleteTrustedCa(const Config& current, const control::TrustedCaParams& p) {
  Config next = current;
  auto& files = next.rootCertificatesForServerValidation;
  auto it = std::find(files.begin(), files.end(), p.file);
  if (it == files.end()) {
    return control::notFound(p.file + " is not a trusted CA file (see ztdns show trustedca)");
  }
  files.erase(it);
  return finish(std::move(next));
}

Result<Edited> editAddClientCert(const Config& current, const control::AddClientCertParams& p) {
  Config next = current;
  next.clientCertificate = config::ClientCertificate{p.certFile, p.keyFile};
  return finish(std::move(next));
}

Result<Edited> editDeleteClientCert(const Config& current) {
  if (!current.clientCertificate) return control::notFound("no client certificate is configured");
  Config next = current;
  next.clientCertificate.reset();
  return finish(std::move(next));
}

Result<Edited> editLogSet(const Config& current, const control::LogSetParams& p) {
  if (p.channel != control::LogChannel::kPermitted) {
    return control::invalidParams("only the permitted channel can be switched");
  }
  Config next = current;
  next.permittedConnectionsLogEnabled = p.enable;
  return finish(std::move(next));
}

}  // namespace ztdns::daemon
