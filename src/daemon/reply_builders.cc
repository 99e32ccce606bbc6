#include "daemon/reply_builders.h"

#include <cctype>
#include <chrono>

#include "control/time_text.h"
#include "control/validation.h"
#include "dns/record_text.h"

namespace ztdns::daemon {

namespace {

double toMs(std::chrono::microseconds us) {
  return static_cast<double>(us.count()) / 1000.0;
}

control::TransportInfo transportInfo(const config::SecureDnsServer& server,
                                     upstream::Transport transport,
                                     const std::vector<upstream::ServerStatus>& status) {
  control::TransportInfo t;
  if (transport == upstream::Transport::kDoT) {
    t.protocol = control::Protocol::kDoT;
    t.port = server.dnsOverTls->tlsPort;
    t.hostname = server.dnsOverTls->certificateSubjectName;
  } else {
    t.protocol = control::Protocol::kDoH;
    t.port = server.dnsOverHttps->httpsPort;
    t.templateUrl = server.dnsOverHttps->queryUrl;
    t.hostname = control::dohTemplateHost(t.templateUrl);
  }
  t.health = control::Health::kUnknown;  // until the pool has checked it
  t.healthy = false;
  for (const auto& st : status) {
    if (st.address != server.ipAddress || st.transport != transport) continue;
    t.health = st.health;
    t.healthy = st.health == upstream::Health::kUp;
    if (st.lastRtt) t.lastRttMs = toMs(*st.lastRtt);
    t.lastError = st.lastError;
    t.lastFailure = st.lastFailure;
    if (st.lastFailureAt) t.lastFailureAt = control::formatRfc3339(*st.lastFailureAt);
  }
  return t;
}

}  // namespace

control::ServerList serverList(const config::Config& config,
                               const std::vector<upstream::ServerStatus>& status) {
  control::ServerList list;
  for (const auto& s : config.secureDnsServers) {
    control::ServerInfo info;
    info.name = s.displayName;
    info.address = s.ipAddress;
    info.priority = s.priority;
    if (s.dnsOverTls)
      info.transports.push_back(transportInfo(s, upstream::Transport::kDoT, status));
    if (s.dnsOverHttps)
      info.transports.push_back(transportInfo(s, upstream::Transport::kDoH, status));
    list.servers.push_back(std::move(info));
  }
  return list;
}

control::Stats statsFrom(const resolver::StubStats& stub, const enforce::AllowSetStats& allow,
                         const CountingSink& connections, const observe::LogSinkStats& logs) {
  using resolver::ServfailCause;
  auto servfail = [&](ServfailCause c) { return stub.servfail[static_cast<size_t>(c)]; };
  control::Stats s;
  s.queries = stub.queries;
  s.cacheHits = stub.cacheHits;
  s.servfail.noServers = servfail(ServfailCause::kNoServers);
  s.servfail.allServersFailed = servfail(ServfailCause::kAllServersFailed);
  s.servfail.timeout = servfail(ServfailCause::kUpstreamTimeout);
  s.servfail.badAnswer = servfail(ServfailCause::kBadAnswer);
  s.servfail.allowFailed =
      servfail(ServfailCause::kAllowFailed) + servfail(ServfailCause::kAllowTimeout);
  s.servfail.overloaded = servfail(ServfailCause::kOverloaded);
  s.allowInserted = allow.inserted;
  s.allowSkippedFresh = allow.skippedFresh;
  s.allowEvicted = allow.evicted;
  s.allowRefused = allow.refused;
  s.allowSize = allow.size;
  s.blocked = connections.blocked();
  s.audited = connections.audited();
  s.permitted = connections.permitted();
  s.suppressed = connections.suppressed();
  for (const auto& c : logs.channels) s.logLinesLost += c.lost;
  return s;
}

control::ResolveResult resolveResult(const control::ResolveParams& params,
                                     const resolver::ResolveOutcome& outcome,
                                     const enforce::AllowSet& allowSet,
                                     const config::Config& config) {
  control::ResolveResult r;
  r.name = params.name;
  r.type = params.type;
  r.rcode = dns::rcodeName(outcome.rcode);
  r.fromCache = outcome.fromCache;
  r.enforcement = !config.enabled           ? control::Enforcement::kDisabled
                  : config.auditModeEnabled ? control::Enforcement::kAudit
                                            : control::Enforcement::kEnforce;
  if (outcome.failure.empty()) {
    r.serverName = outcome.server;
    if (outcome.source == "DoT" || outcome.source == "DoH") {
      r.server = Endpoint{outcome.serverAddress, outcome.serverPort};
      r.protocol = outcome.source == "DoT" ? control::Protocol::kDoT : control::Protocol::kDoH;
      if (!outcome.fromCache) r.rttMs = toMs(outcome.rtt);
    }
  } else {
    r.failure = outcome.failure;  // why the stub answered SERVFAIL itself
  }
  auto text = dns::answerText(outcome.answer);
  if (!text) return r;
  auto now = std::chrono::system_clock::now();
  // In the kernel's order: loopback (rule 2), exceptions (5), resolved addresses (6).
  auto judge = [&](const IpAddress& address, const char* source) {
    control::AddressAllowance a;
    a.address = address;
    a.source = source;
    IpAddress key = address;
    switch (enforce::classifyAnswerAddress(key)) {
      case enforce::AddressVerdict::kInsert:
        a.verdict = control::AddressVerdict::kNotAllowed;
        if (auto entry = allowSet.lookup(key)) {
          a.verdict = control::AddressVerdict::kResolved;
          a.allowed = true;
          a.remainingSeconds =
              std::chrono::duration_cast<std::chrono::seconds>(entry->expires - now).count();
        }
        break;
      case enforce::AddressVerdict::kSkipLoopback:
        a.verdict = control::AddressVerdict::kLoopback;
        a.allowed = !config.loopbackTrafficBlocked;
        break;
      case enforce::AddressVerdict::kSkipUnspecified:
        a.verdict = control::AddressVerdict::kUnspecified;
        break;
      case enforce::AddressVerdict::kSkipMulticast:
        a.verdict = control::AddressVerdict::kMulticast;
        break;
    }
    if (a.verdict != control::AddressVerdict::kLoopback || !a.allowed) {
      int best = -1;
      for (const auto& rule : config.exemptionRules) {
        for (const auto& prefix : rule.ipAddresses) {
          if (prefix.contains(key) && prefix.length() > best) {
            best = prefix.length();
            a.exception = rule.displayName;
          }
        }
      }
      if (best >= 0) {
        a.verdict = control::AddressVerdict::kException;
        a.allowed = true;
      }
    }
    r.addresses.push_back(std::move(a));
  };
  for (auto& rec : text->answers) {
    if (rec.type == "A" || rec.type == "AAAA") {
      if (auto address = IpAddress::parse(rec.data)) judge(*address, "answer");
    }
    for (const auto& hint : rec.ipv4Hints) judge(hint, "ipv4hint");
    for (const auto& hint : rec.ipv6Hints) judge(hint, "ipv6hint");
    r.answers.push_back(control::ResourceRecord{std::move(rec.owner), std::move(rec.type), rec.ttl,
                                                std::move(rec.data)});
  }
  return r;
}

std::string probeReason(upstream::ErrorClass cls) {
  // The protocol's codes are the class names in lower case, words joined by dashes
  // ("unknown CA" -> "unknown-ca"); kNone has none.
  if (cls == upstream::ErrorClass::kNone) return "";
  std::string code = upstream::errorClassName(cls);
  for (char& c : code)
    c = c == ' ' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return code;
}

control::ServerProbe serverProbe(const upstream::ProbeReport& report, bool mtls) {
  control::ServerProbe p;
  p.name = report.server;
  p.address = report.address;
  p.port = report.port;
  p.protocol = report.transport == upstream::Transport::kDoT ? control::Protocol::kDoT
                                                             : control::Protocol::kDoH;
  p.mtls = mtls;
  struct Stage {
    const char* step;
    const char* reportStage;
    const std::optional<std::chrono::microseconds>& time;
  };
  const Stage stages[] = {{"connect", "connect", report.tcpConnect},
                          {"tls", "TLS", report.tlsHandshake},
                          {"query", "query", report.query}};
  for (const auto& s : stages) {
    control::ProbeStep step;
    step.step = s.step;
    bool failedHere = !report.ok && report.stage == s.reportStage;
    step.ok = s.time.has_value() && !failedHere;
    if (s.time) {
      step.ms = toMs(*s.time);
    } else if (failedHere && report.failedAfter) {
      step.ms = toMs(*report.failedAfter);
    }
    if (!step.ok) {
      step.reason = probeReason(report.errorClass);
      if (step.reason.empty()) step.reason = "cancelled";
      step.error = report.error.empty() ? std::string("no result") : report.error;
    }
    bool ok = step.ok;
    p.steps.push_back(std::move(step));
    if (!ok) break;  // the protocol's steps stop at the first failure
  }
  return p;
}

}  // namespace ztdns::daemon
