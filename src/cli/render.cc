#include "cli/render.h"

#include <algorithm>
#include <cstdio>

#include "cli/key_value_args.h"
#include "cli/table.h"

namespace ztdns::cli {

namespace {

std::string field(const nlohmann::json& e, const char* key) {
  auto it = e.find(key);
  if (it == e.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string endpointText(const std::string& addr, const std::string& port) {
  if (addr.empty()) return "";
  if (port.empty() || port == "0") return addr;
  return addr.find(':') != std::string::npos ? "[" + addr + "]:" + port : addr + ":" + port;
}

std::string processText(const nlohmann::json& e) {
  std::string process = field(e, "process");
  std::string pid = field(e, "pid");
  if (process.empty()) process = "unknown";
  if (!pid.empty() && pid != "0") process += " (" + pid + ")";
  return process;
}

std::string reasonText(const nlohmann::json& e) {
  auto it = e.find("reason");
  if (it == e.end() || !it->is_object()) return field(e, "reason");
  std::string type = field(*it, "type");
  if (type == "resolved") return "resolved " + field(*it, "name") + " via " + field(*it, "server");
  if (type == "exception") return "exception " + field(*it, "name");
  return type;
}

std::string yes(bool b) {
  return b ? "yes" : "no";
}

// A daemon from before `health` sends only `healthy`.
std::string healthText(const control::TransportInfo& t) {
  if (t.health) return control::healthName(*t.health);
  return t.healthy ? "up" : "down";
}

}  // namespace

std::string unreadableNote(size_t lines) {
  return std::to_string(lines) + (lines == 1 ? " unreadable line skipped (not a connection event)"
                                             : " unreadable lines skipped (not connection events)");
}

std::string millis(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 10 ? "%.1f ms" : "%.0f ms", ms);
  return buf;
}

std::string expiryWords(int64_t s) {
  if (s < 0) return "expired " + formatDuration(static_cast<uint64_t>(-s)) + " ago";
  return "in " + formatDuration(static_cast<uint64_t>(s));
}

std::string protocolText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) {
    switch (v.get<int>()) {
      case 1:
        return "icmp";
      case 6:
        return "tcp";
      case 17:
        return "udp";
      case 58:
        return "icmpv6";
      default:
        return std::to_string(v.get<int>());
    }
  }
  return "";
}

std::string stateWords(bool enabled, bool audit) {
  if (!enabled) return "disabled";
  return audit ? "enabled, audit mode (would-be blocks are logged, not blocked)"
               : "enabled, enforcing";
}

void renderState(std::ostream& out, const control::StateInfo& s) {
  KeyValueList list;
  list.add("State", stateWords(s.enabled, s.audit));
  list.add("Audit", yes(s.audit));
  list.add("Uptime", formatDuration(s.uptimeSeconds));
  list.add(
      "Servers healthy",
      std::to_string(s.serversHealthy) + " of " + std::to_string(s.serversTotal) +
          (s.serversUnknown ? " (" + std::to_string(s.serversUnknown) + " not checked yet)" : ""));
  list.add("Allowed addresses", std::to_string(s.allowedAddresses));
  list.add("Exceptions", std::to_string(s.exceptions));
  list.add("Loopback traffic",
           s.loopbackBlocked ? "blocked (the stub's listeners excepted)" : "allowed");
  list.add("PermittedConnections log", s.permittedLogEnabled ? "on" : "off");
  std::string listen;
  for (const auto& e : s.listenAddresses) listen += (listen.empty() ? "" : ", ") + e.toString();
  list.add("Stub listens on", listen.empty() ? "-" : listen);
  list.print(out);
}

void renderServers(std::ostream& out, const control::ServerList& list) {
  if (list.servers.empty()) {
    out << "No trusted DNS servers are configured.\n";
    return;
  }
  Table t({"NAME", "PROTOCOL", "ADDRESS", "PORT", "PRIORITY", "HEALTH", "LAST RTT", "IDENTITY",
           "LAST ERROR"});
  for (const auto& s : list.servers) {
    if (s.transports.empty()) {
      t.addRow(
          {s.name, "-", s.address.toString(), "-", std::to_string(s.priority), "-", "-", "-", ""});
    }
    for (const auto& tr : s.transports) {
      t.addRow({s.name, control::protocolName(tr.protocol), s.address.toString(),
                std::to_string(tr.port), std::to_string(s.priority), healthText(tr),
                tr.lastRttMs ? millis(*tr.lastRttMs) : "-",
                tr.protocol == control::Protocol::kDoH && !tr.templateUrl.empty() ? tr.templateUrl
                                                                                  : tr.hostname,
                tr.lastError});
    }
  }
  t.print(out);
}

void renderExceptions(std::ostream& out, const control::ExceptionList& list) {
  if (list.exceptions.empty()) {
    out << "No IP exceptions are configured.\n";
    return;
  }
  Table t({"NAME", "SUBNET", "DESCRIPTION"});
  for (const auto& e : list.exceptions) {
    for (size_t i = 0; i < e.subnets.size(); ++i) {
      t.addRow({i == 0 ? e.name : "", e.subnets[i].toString(), i == 0 ? e.description : ""});
    }
    if (e.subnets.empty()) t.addRow({e.name, "-", e.description});
  }
  t.print(out);
}

bool renderClientCert(std::ostream& out, const control::ClientCertInfo& info) {
  if (!info.configured) {
    out << "No client certificate is configured: the servers are reached without mTLS.\n";
    return true;
  }
  bool ok = true;
  KeyValueList list;
  list.add("Certificate file", info.certFile);
  list.add("Key file", info.keyFile);
  if (info.certificate) {
    const auto& c = *info.certificate;
    list.add("Subject", c.subject);
    list.add("Issuer", c.issuer);
    list.add("Serial", c.serial);
    std::string ekus;
    for (const auto& e : c.ekus) ekus += (ekus.empty() ? "" : ", ") + e;
    list.add("EKUs", ekus.empty() ? "(none: any use)" : ekus);
    list.add("Valid from", c.notBefore);
    list.add("Expires", c.notAfter + " (" + expiryWords(c.expiresInSeconds) + ")");
  }
  if (info.keyMatches) list.add("Key matches", yes(*info.keyMatches));
  list.print(out);
  if (!info.error.empty()) {
    out << "ERROR: " << printable(info.error) << '\n';
    ok = false;
  }
  if (info.certificate) {
    const auto& c = *info.certificate;
    if (c.expiresInSeconds < 0) {
      out << "ERROR: the client certificate expired " << c.notAfter
          << "; servers that require mTLS will refuse it\n";
      ok = false;
    } else if (c.expiresInSeconds < kCertWarningSeconds) {
      out << "WARNING: the client certificate expires " << expiryWords(c.expiresInSeconds) << " ("
          << c.notAfter << "); renew it and run ztdns add clientcert again\n";
    }
    bool client = c.ekus.empty();
    for (const auto& e : c.ekus) client = client || e == "clientAuth";
    if (!client)
      out << "WARNING: the certificate's EKUs do not include clientAuth; servers may refuse it\n";
  }
  if (info.keyMatches && !*info.keyMatches) {
    out << "ERROR: the key in " << info.keyFile << " does not belong to the certificate\n";
    ok = false;
  }
  return ok;
}

bool renderTrustedCa(std::ostream& out, const control::TrustedCaInfo& info) {
  if (info.files.empty()) {
    out << "No trusted CA files are configured: server certificates are checked against the system "
           "trust store.\n";
    return true;
  }
  bool ok = true;
  Table t({"FILE", "SUBJECT", "EXPIRES"});
  std::vector<std::string> notes;
  for (const auto& f : info.files) {
    if (!f.error.empty()) {
      t.addRow({f.file, "(unreadable)", "-"});
      notes.push_back("ERROR: " + f.error);
      ok = false;
      continue;
    }
    for (size_t i = 0; i < f.certificates.size(); ++i) {
      const auto& c = f.certificates[i];
      t.addRow({i == 0 ? f.file : "", c.subject,
                c.notAfter + " (" + expiryWords(c.expiresInSeconds) + ")"});
      if (c.expiresInSeconds < 0) {
        notes.push_back("ERROR: " + c.subject + " in " + f.file + " has expired");
        ok = false;
      } else if (c.expiresInSeconds < kCertWarningSeconds) {
        notes.push_back("WARNING: " + c.subject + " in " + f.file + " expires " +
                        expiryWords(c.expiresInSeconds));
      }
    }
  }
  t.print(out);
  for (const auto& n : notes) out << printable(n) << '\n';
  return ok;
}

void renderStats(std::ostream& out, const control::Stats& s) {
  Table t({"COUNTER", "VALUE"});
  auto row = [&](const char* name, uint64_t v) { t.addRow({name, std::to_string(v)}); };
  row("queries", s.queries);
  row("cache hits", s.cacheHits);
  row("servfail: no servers", s.servfail.noServers);
  row("servfail: all servers failed", s.servfail.allServersFailed);
  row("servfail: timeout", s.servfail.timeout);
  row("servfail: bad answer", s.servfail.badAnswer);
  row("servfail: allow insert failed", s.servfail.allowFailed);
  row("servfail: overloaded", s.servfail.overloaded);
  row("allow set: inserted", s.allowInserted);
  row("allow set: already fresh", s.allowSkippedFresh);
  row("allow set: evicted", s.allowEvicted);
  row("allow set: refused (full)", s.allowRefused);
  row("allow set: size", s.allowSize);
  row("connections blocked", s.blocked);
  row("connections audited (would block)", s.audited);
  row("connections permitted", s.permitted);
  row("connection events suppressed", s.suppressed);
  row("log lines lost", s.logLinesLost);
  t.print(out);
}

void renderLogEvents(std::ostream& out, control::LogChannel channel,
                     const std::vector<nlohmann::json>& events) {
  if (events.empty()) {
    out << "No matching events.\n";
    return;
  }
  if (channel == control::LogChannel::kOperational) {
    Table t({"TIME", "EVENT", "ACTION", "MESSAGE"});
    for (const auto& e : events)
      t.addRow({field(e, "time"), field(e, "eventId"), field(e, "action"), field(e, "message")});
    t.print(out);
    return;
  }
  std::vector<std::string> headers = {"TIME",        "ACTION",  "PROTO", "SOURCE",
                                      "DESTINATION", "PROCESS", "UNIT"};
  if (channel == control::LogChannel::kPermitted) headers.push_back("REASON");
  Table t(headers);
  for (const auto& e : events) {
    std::vector<std::string> row = {field(e, "time"),
                                    field(e, "action"),
                                    e.contains("protocol") ? protocolText(e["protocol"]) : "",
                                    endpointText(field(e, "src"), field(e, "srcPort")),
                                    endpointText(field(e, "dst"), field(e, "dstPort")),
                                    processText(e),
                                    field(e, "unit")};
    if (channel == control::LogChannel::kPermitted) row.push_back(reasonText(e));
    t.addRow(row);
  }
  t.print(out);
}

namespace {

std::string allowedWords(const control::AddressAllowance& a, control::Enforcement enforcement) {
  using control::AddressVerdict;
  if (enforcement == control::Enforcement::kDisabled) return "not enforced";
  switch (a.verdict) {
    case AddressVerdict::kResolved:
      return "yes";
    case AddressVerdict::kException:
      return "yes (exception " + a.exception + ")";
    case AddressVerdict::kLoopback:
      return a.allowed ? "yes (loopback: loopbackTrafficBlocked=false)"
                       : "no (loopback: loopbackTrafficBlocked=true)";
    case AddressVerdict::kUnspecified:
      return "no (unspecified address: never allowed)";
    case AddressVerdict::kMulticast:
      return "no (multicast or broadcast: never allowed)";
    case AddressVerdict::kNotAllowed:
      break;
  }
  return yes(a.allowed);
}

}  // namespace

void renderResolve(std::ostream& out, const control::ResolveResult& r) {
  if (!r.answers.empty()) {
    Table t({"NAME", "TTL", "TYPE", "DATA"});
    for (const auto& rr : r.answers) t.addRow({rr.name, std::to_string(rr.ttl), rr.type, rr.data});
    t.print(out);
  } else {
    out << "No records.\n";
  }
  std::string via;
  if (r.server) {
    via = (r.serverName.empty() ? "" : r.serverName + " ") + "(" + r.server->toString() +
          (r.protocol ? std::string(", ") + control::protocolName(*r.protocol) : "") + ")";
  }
  out << "\nStatus " << r.rcode;
  if (!r.failure.empty()) out << ": " << printable(r.failure);
  if (!via.empty()) out << " from " << printable(via);
  if (r.rttMs) out << " in " << millis(*r.rttMs);
  if (r.fromCache) out << " (from the cache)";
  out << '\n';
  if (r.addresses.empty()) return;
  out << '\n';
  const bool disabled = r.enforcement == control::Enforcement::kDisabled;
  if (disabled) {
    out << "ZTDNS is disabled: nothing is enforced, nothing was allowed.\n";
  } else if (r.enforcement == control::Enforcement::kAudit &&
             std::any_of(r.addresses.begin(), r.addresses.end(),
                         [](const control::AddressAllowance& a) { return !a.allowed; })) {
    out << "Audit mode: connections to addresses that are not allowed are logged, not blocked.\n";
  }
  const bool hints =
      std::any_of(r.addresses.begin(), r.addresses.end(),
                  [](const control::AddressAllowance& a) { return a.source != "answer"; });
  std::vector<std::string> headers = {"ADDRESS"};
  if (hints) headers.push_back("FROM");
  headers.insert(headers.end(), {"ALLOWED", "REMAINING"});
  Table t(headers);
  for (const auto& a : r.addresses) {
    std::vector<std::string> row = {a.address.toString()};
    if (hints) row.push_back(a.source == "answer" ? (a.address.isV4() ? "A" : "AAAA") : a.source);
    row.push_back(printable(allowedWords(a, r.enforcement)));
    row.push_back(!disabled && a.remainingSeconds ? formatDuration(static_cast<uint64_t>(
                                                        std::max<int64_t>(0, *a.remainingSeconds)))
                                                  : "-");
    t.addRow(row);
  }
  t.print(out);
}

}  // namespace ztdns::cli
