#include "daemon/config_edit.h"

#include <algorithm>
#include <optional>
#include <string_view>

#include "control/protocol.h"
#include "control/validation.h"

namespace ztdns::daemon {

namespace {

using config::Config;

std::string indexPath(std::string_view root, size_t index) {
  return std::string(root) + "[" + std::to_string(index) + "]";
}

Result<Edited> finish(const Config& current, Config next, const EditedPart& part = {},
                      std::vector<std::string> warnings = {}) {
  std::vector<std::string> replyWarnings;
  if (auto st = checkEdited(next, part, &current, &replyWarnings); !st) return st.error();
  return Edited{std::move(next), std::move(warnings), std::move(replyWarnings)};
}

// The edited parts, with the CLI's argument names (docs/cli.md) for their fields.
EditedPart serverPart(size_t index) {
  return {indexPath("secureDnsServers", index),
          {{"", "address"},  // "198.51.100.53 port 853 is already used by ..."
           {".ipAddress", "address"},
           {".displayName", "name"},
           {".priority", "priority"},
           {".dnsOverTlsConfiguration.tlsPort", "port"},
           {".dnsOverTlsConfiguration.certificateSubjectName", "hostname"},
           {".dnsOverHttpsConfiguration.httpsPort", "port"},
           {".dnsOverHttpsConfiguration.queryUrl", "template"}}};
}

EditedPart rulePart(size_t index) {
  return {indexPath("exemptionRules", index),
          {{".displayName", "name"}, {".description", "description"}, {".ipAddresses", "subnets"}}};
}

EditedPart trustedCaPart(size_t index) {
  return {indexPath("rootCertificatesForServerValidation", index), {{"", "file"}}};
}

EditedPart clientCertPart() {
  return {"clientCertificate",
          {{"", "certfile"}, {".certificateFile", "certfile"}, {".privateKeyFile", "keyfile"}}};
}

// "a[3].b[12].c" -> "a.b.c"
std::string withoutIndexes(std::string_view path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '[') {
      size_t close = path.find(']', i);
      if (close != std::string_view::npos) {
        i = close;
        continue;
      }
    }
    out += path[i];
  }
  return out;
}

// "... is already used by secureDnsServers[0]" -> "... is already used by server "pdns1"
// (198.51.100.53)": the user knows the other entries by name, not by position.
std::string namedReferences(const Config& c, std::string what) {
  auto replace = [&](std::string_view root, auto describe) {
    std::string needle = std::string(root) + "[";
    for (size_t at = what.find(needle); at != std::string::npos; at = what.find(needle, at + 1)) {
      size_t digits = at + needle.size();
      size_t close = what.find(']', digits);
      if (close == std::string::npos || close == digits) continue;
      size_t index = 0;
      bool number = true;
      for (size_t k = digits; k < close; ++k) {
        if (what[k] < '0' || what[k] > '9') number = false;
        index = index * 10 + static_cast<size_t>(what[k] - '0');
      }
      // Only a whole reference: not followed by a field (".ipAddress") of the entry.
      if (!number || (close + 1 < what.size() && what[close + 1] == '.')) continue;
      std::optional<std::string> words = describe(index);
      if (!words) continue;
      what.replace(at, close + 1 - at, *words);
    }
  };
  replace("secureDnsServers", [&](size_t i) -> std::optional<std::string> {
    if (i >= c.secureDnsServers.size()) return std::nullopt;
    const auto& s = c.secureDnsServers[i];
    return "server \"" + s.displayName + "\" (" + s.ipAddress.toString() + ")";
  });
  replace("exemptionRules", [&](size_t i) -> std::optional<std::string> {
    if (i >= c.exemptionRules.size()) return std::nullopt;
    return "exception \"" + c.exemptionRules[i].displayName + "\"";
  });
  return what;
}

std::string leaveNoServer(const std::string& what) {
  return "deleting " + what +
         " would leave no server while ZTDNS is enabled, and every name would fail to resolve; "
         "add another server first, or disable ZTDNS with: ztdns set state enable=no";
}

// The CLI command that takes a missing or unreadable file out of the config, for the errors
// about one ("rootCertificatesForServerValidation[1]: "/x.pem" does not exist").
std::string fileRemedy(const Config& c, std::string_view error) {
  constexpr std::string_view kCa = "rootCertificatesForServerValidation[";
  if (error.substr(0, kCa.size()) == kCa) {
    size_t index = 0;
    for (size_t k = kCa.size(); k < error.size() && error[k] >= '0' && error[k] <= '9'; ++k) {
      index = index * 10 + static_cast<size_t>(error[k] - '0');
    }
    if (index < c.rootCertificatesForServerValidation.size()) {
      return " (remove it from the config with: ztdns delete trustedca file=" +
             c.rootCertificatesForServerValidation[index] + ")";
    }
  }
  if (error.substr(0, std::string_view("clientCertificate").size()) == "clientCertificate") {
    return " (remove the client certificate from the config with: ztdns delete clientcert)";
  }
  return "";
}

}  // namespace

Status checkEdited(const Config& edited, const EditedPart& part, const Config* current,
                   std::vector<std::string>* warnings) {
  config::Diagnostics d = config::validate(edited);
  config::Diagnostics was;
  if (current && (!d.ok() || !d.warnings.empty())) was = config::validate(*current);
  auto known = [](const std::vector<std::string>& list, const std::string& line) {
    return std::find(list.begin(), list.end(), line) != list.end();
  };
  if (warnings) {
    for (const auto& w : d.warnings)
      if (!current || !known(was.warnings, w)) warnings->push_back(namedReferences(edited, w));
  }
  if (d.ok()) return okStatus();
  // A problem the running config has already (a CA file deleted since it was loaded) is not
  // the edit's doing: it must not lock out every change, disabling ZTDNS included. It is
  // reported with the edit, and the config saved as it was, problem and all.
  std::string all;
  bool aboutTheRequest = false;
  for (const auto& e : d.errors) {
    if (warnings && current && known(was.errors, e)) {
      warnings->push_back("the config already had this problem: " + e + fileRemedy(edited, e));
      continue;
    }
    std::string line = e;
    size_t colon = e.find(": ");
    std::string_view path = std::string_view(e).substr(0, colon);
    bool inPart = !part.path.empty() && colon != std::string::npos &&
                  path.find(' ') == std::string_view::npos &&
                  path.substr(0, part.path.size()) == part.path &&
                  (path.size() == part.path.size() || path[part.path.size()] == '.' ||
                   path[part.path.size()] == '[');
    if (inPart) {
      aboutTheRequest = true;
      std::string below = withoutIndexes(path.substr(part.path.size()));
      for (const auto& [field, argument] : part.arguments) {
        if (field == below) {
          line = argument + ": " + namedReferences(edited, e.substr(colon + 2));
          break;
        }
      }
    } else {
      line += fileRemedy(edited, e);
    }
    all += (all.empty() ? "" : "; ") + line;
  }
  if (all.empty()) return okStatus();
  return aboutTheRequest ? control::invalidParams(all) : control::failed(all);
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
  return finish(current, std::move(next));
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
    // The second transport joins the server as it is: renaming it or moving it in the
    // failover order on the side would surprise, so a different name= or priority= is refused.
    const std::string which =
        p.address.toString() + " is server \"" + it->displayName + "\" already";
    if (p.name && *p.name != it->displayName) {
      return control::conflict("name: " + which + "; leave out name= to add " +
                               control::protocolName(p.type) +
                               " to it (or delete the server first to rename it)");
    }
    if (p.priority && *p.priority != it->priority) {
      return control::conflict("priority: " + which + " with priority " +
                               std::to_string(it->priority) + "; leave out priority= to add " +
                               control::protocolName(p.type) +
                               " to it (or delete the server first to change it)");
    }
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
  const size_t index = static_cast<size_t>(it - next.secureDnsServers.begin());
  // Display names are unique in the config; say which one clashes in the CLI's words.
  for (const auto& s : next.secureDnsServers) {
    if (&s != &*it && s.displayName == it->displayName) {
      return control::conflict("a server named \"" + s.displayName + "\" exists already (" +
                               s.ipAddress.toString() + "); choose another name=");
    }
  }
  return finish(current, std::move(next), serverPart(index));
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
  return finish(current, std::move(next));
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
  const size_t index = next.exemptionRules.size() - 1;
  return finish(current, std::move(next), rulePart(index), std::move(warnings));
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
  return finish(current, std::move(next));
}

Result<Edited> editAddTrustedCa(const Config& current, const control::TrustedCaParams& p) {
  Config next = current;
  auto& files = next.rootCertificatesForServerValidation;
  if (std::find(files.begin(), files.end(), p.file) != files.end()) {
    return control::conflict(p.file + " is already a trusted CA file");
  }
  files.push_back(p.file);
  const size_t index = files.size() - 1;
  return finish(current, std::move(next), trustedCaPart(index));
}

Result<Edited> editDeleteTrustedCa(const Config& current, const control::TrustedCaParams& p) {
  Config next = current;
  auto& files = next.rootCertificatesForServerValidation;
  auto it = std::find(files.begin(), files.end(), p.file);
  if (it == files.end()) {
    return control::notFound(p.file + " is not a trusted CA file (see ztdns show trustedca)");
  }
  files.erase(it);
  return finish(current, std::move(next));
}

Result<Edited> editAddClientCert(const Config& current, const control::AddClientCertParams& p) {
  Config next = current;
  next.clientCertificate = config::ClientCertificate{p.certFile, p.keyFile};
  return finish(current, std::move(next), clientCertPart());
}

Result<Edited> editDeleteClientCert(const Config& current) {
  if (!current.clientCertificate) return control::notFound("no client certificate is configured");
  Config next = current;
  next.clientCertificate.reset();
  return finish(current, std::move(next));
}

Result<Edited> editLogSet(const Config& current, const control::LogSetParams& p) {
  if (p.channel != control::LogChannel::kPermitted) {
    return control::invalidParams("only the permitted channel can be switched");
  }
  Config next = current;
  next.permittedConnectionsLogEnabled = p.enable;
  return finish(current, std::move(next));
}

}  // namespace ztdns::daemon
