// FakeControlHandler: an in-memory control::Handler for tests of the control server and
// the CLI. It keeps a small config (state, servers, exceptions, certificates, log switch),
// applies the same rules the daemon documents (duplicate names, the last server while
// enabled, audit kept when absent), serves canned log events, probes and resolutions,
// and records every call with its peer. Thread-safe: tests read it from their own thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "control/handler.h"
#include "control/log_query.h"
#include "control/protocol.h"
#include "control/validation.h"

namespace ztdns::testing {

class FakeControlHandler final : public control::Handler {
 public:
  struct Call {
    std::string method;
    control::Peer peer;
  };

  // ---- knobs (set before the calls they affect) ----
  std::atomic<bool> throwNext{false};   // the next call throws std::runtime_error
  std::atomic<bool> neverReply{false};  // calls do not reply (handler timeout tests)

  // ---- state, guarded by mutex() ----
  std::mutex& mutex() const { return mutex_; }
  control::StateInfo state;
  std::vector<control::ServerInfo> servers;
  std::vector<control::ExceptionInfo> exceptions;
  std::vector<std::string> trustedCaFiles;
  std::optional<control::AddClientCertParams> clientCert;
  std::vector<nlohmann::json> blockedEvents, permittedEvents, operationalEvents;
  control::DiagnoseServerResult probes;
  control::ResolveResult resolveAnswer;
  control::Stats stats;
  nlohmann::json settings = nlohmann::json::object();
  int reloads = 0;

  FakeControlHandler() {
    state.enabled = false;
    state.audit = true;
    state.version = "test";
    state.listenAddresses = {*Endpoint::parse("127.0.0.1:53"), *Endpoint::parse("[::1]:53")};
  }

  std::vector<Call> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  size_t changeCalls() const {
    std::lock_guard lock(mutex_);
    size_t n = 0;
    for (const auto& c : calls_) {
      auto m = control::methodFromName(c.method);
      n += m && control::methodAccess(*m) == control::Access::kChange;
    }
    return n;
  }

  // ---- reads ----
  void ping(const control::Peer& p, control::Reply<control::PingResult> r) override {
    if (!enter("ping", p)) return;
    r(control::PingResult{control::kProtocolVersion, "test", 4242});
  }
  void showState(const control::Peer& p, control::Reply<control::StateInfo> r) override {
    if (!enter("show.state", p)) return;
    r(currentState());
  }
  void showSettings(const control::Peer& p, control::Reply<nlohmann::json> r) override {
    if (!enter("show.settings", p)) return;
    std::lock_guard lock(mutex_);
    nlohmann::json j = settings;
    j["enabled"] = state.enabled;
    j["auditModeEnabled"] = state.audit;
    r(j);
  }
  void showServers(const control::Peer& p, control::Reply<control::ServerList> r) override {
    if (!enter("show.server", p)) return;
    std::lock_guard lock(mutex_);
    r(control::ServerList{servers});
  }
  void showExceptions(const control::Peer& p, control::Reply<control::ExceptionList> r) override {
    if (!enter("show.exception", p)) return;
    std::lock_guard lock(mutex_);
    r(control::ExceptionList{exceptions});
  }
  void showClientCert(const control::Peer& p, control::Reply<control::ClientCertInfo> r) override {
    if (!enter("show.clientcert", p)) return;
    r(clientCertInfo());
  }
  void showTrustedCa(const control::Peer& p, control::Reply<control::TrustedCaInfo> r) override {
    if (!enter("show.trustedca", p)) return;
    r(trustedCaInfo());
  }
  void showStats(const control::Peer& p, control::Reply<control::Stats> r) override {
    if (!enter("show.stats", p)) return;
    std::lock_guard lock(mutex_);
    r(stats);
  }
  void logShow(const control::Peer& p, const control::LogShowParams& params,
               control::Reply<control::LogShowResult> r) override {
    if (!enter("log.show", p)) return;
    std::lock_guard lock(mutex_);
    const auto& all = params.channel == control::LogChannel::kBlocked     ? blockedEvents
                      : params.channel == control::LogChannel::kPermitted ? permittedEvents
                                                                          : operationalEvents;
    control::LogShowResult out;
    auto now = std::chrono::system_clock::now();
    for (const auto& e : all)
      if (control::logEventMatches(e, params, now)) out.events.push_back(e);
    if (out.events.size() > params.limit) {
      out.events.erase(out.events.begin(), out.events.end() - params.limit);
      out.truncated = true;
    }
    r(out);
  }
  void resolve(const control::Peer& p, const control::ResolveParams&,
               control::Reply<control::ResolveResult> r) override {
    if (!enter("resolve", p)) return;
    std::lock_guard lock(mutex_);
    r(resolveAnswer);
  }
  void diagnoseServer(const control::Peer& p, const control::DiagnoseServerParams& params,
                      control::Reply<control::DiagnoseServerResult> r) override {
    if (!enter("diagnose.server", p)) return;
    std::lock_guard lock(mutex_);
    control::DiagnoseServerResult out;
    for (const auto& s : probes.servers)
      if (!params.address || s.address == *params.address) out.servers.push_back(s);
    r(out);
  }

  // ---- changes ----
  void setState(const control::Peer& p, const control::SetStateParams& params,
                control::Reply<control::StateInfo> r) override {
    if (!enter("set.state", p)) return;
    {
      std::lock_guard lock(mutex_);
      if (params.enable && servers.empty()) {
        return r(control::conflict(
            "cannot enable ZTDNS without a server; add one with ztdns add server"));
      }
      state.enabled = params.enable;
      if (params.audit) state.audit = *params.audit;
    }
    r(currentState());
  }
  void addServer(const control::Peer& p, const control::AddServerParams& params,
                 control::Reply<control::ServerInfo> r) override {
    if (!enter("add.server", p)) return;
    std::lock_guard lock(mutex_);
    // A value only the daemon checks: invalid-params naming the argument, as ztdnsd answers.
    if (params.address.isUnspecified() || params.address.isMulticast()) {
      return r(control::invalidParams("address: " + params.address.toString() +
                                      " is not a unicast address a server can have"));
    }
    control::TransportInfo t;
    t.protocol = params.type;
    t.port = params.port;
    t.hostname = params.type == control::Protocol::kDoT
                     ? params.hostname
                     : control::dohTemplateHost(params.templateUrl);
    t.templateUrl = params.templateUrl;
    for (auto& s : servers) {
      if (s.address != params.address) continue;
      for (const auto& existing : s.transports)
        if (existing.protocol == params.type)
          return r(control::conflict("server " + params.address.toString() + " already has " +
                                     control::protocolName(params.type) + "; delete it first"));
      s.transports.push_back(t);
      if (params.name) s.name = *params.name;
      if (params.priority) s.priority = *params.priority;
      return r(s);
    }
    control::ServerInfo s;
    s.name = params.name.value_or(params.address.toString());
    s.address = params.address;
    s.priority = params.priority.value_or(100);
    s.transports.push_back(t);
    servers.push_back(s);
    r(s);
  }
  void deleteServer(const control::Peer& p, const control::DeleteServerParams& params,
                    control::Reply<control::DeleteServerResult> r) override {
    if (!enter("delete.server", p)) return;
    std::lock_guard lock(mutex_);
    std::vector<control::ServerInfo> keep;
    control::DeleteServerResult out;
    for (const auto& s : servers) {
      if (!params.address || s.address == *params.address)
        out.deleted.push_back(s.address);
      else
        keep.push_back(s);
    }
    if (params.address && out.deleted.empty()) {
      return r(control::notFound("no server with address " + params.address->toString() +
                                 " is configured"));
    }
    if (keep.empty() && state.enabled) {
      return r(control::conflict(
          "deleting " +
          std::string(params.address ? "server " + params.address->toString() : "every server") +
          " would leave no server while ZTDNS is enabled, and every name would fail to resolve; "
          "add another server first, or disable ZTDNS with ztdns set state enable=no"));
    }
    servers = keep;
    out.remaining = static_cast<uint32_t>(keep.size());
    r(out);
  }
  void addException(const control::Peer& p, const control::AddExceptionParams& params,
                    control::Reply<control::ExceptionInfo> r) override {
    if (!enter("add.exception", p)) return;
    std::lock_guard lock(mutex_);
    for (const auto& e : exceptions)
      if (e.name == params.name)
        return r(control::conflict("an exception named \"" + params.name + "\" exists already"));
    control::ExceptionInfo e{params.name, params.description, {}};
    for (const auto& s : params.subnets) e.subnets.push_back(s.normalized());
    exceptions.push_back(e);
    r(e);
  }
  void deleteException(const control::Peer& p, const control::DeleteExceptionParams& params,
                       control::Reply<control::EmptyResult> r) override {
    if (!enter("delete.exception", p)) return;
    std::lock_guard lock(mutex_);
    for (auto it = exceptions.begin(); it != exceptions.end(); ++it) {
      if (it->name == params.name) {
        exceptions.erase(it);
        return r(control::EmptyResult{});
      }
    }
    r(control::notFound("no exception named \"" + params.name + "\""));
  }
  void addTrustedCa(const control::Peer& p, const control::TrustedCaParams& params,
                    control::Reply<control::TrustedCaInfo> r) override {
    if (!enter("add.trustedca", p)) return;
    {
      std::lock_guard lock(mutex_);
      for (const auto& f : trustedCaFiles)
        if (f == params.file) return r(control::conflict(params.file + " is already trusted"));
      trustedCaFiles.push_back(params.file);
    }
    r(trustedCaInfo());
  }
  void deleteTrustedCa(const control::Peer& p, const control::TrustedCaParams& params,
                       control::Reply<control::TrustedCaInfo> r) override {
    if (!enter("delete.trustedca", p)) return;
    {
      std::lock_guard lock(mutex_);
      auto it = std::find(trustedCaFiles.begin(), trustedCaFiles.end(), params.file);
      if (it == trustedCaFiles.end())
        return r(control::notFound(params.file + " is not a trusted CA file"));
      trustedCaFiles.erase(it);
    }
    r(trustedCaInfo());
  }
  void addClientCert(const control::Peer& p, const control::AddClientCertParams& params,
                     control::Reply<control::ClientCertInfo> r) override {
    if (!enter("add.clientcert", p)) return;
    {
      std::lock_guard lock(mutex_);
      clientCert = params;
    }
    r(clientCertInfo());
  }
  void deleteClientCert(const control::Peer& p, control::Reply<control::EmptyResult> r) override {
    if (!enter("delete.clientcert", p)) return;
    std::lock_guard lock(mutex_);
    if (!clientCert) return r(control::notFound("no client certificate is configured"));
    clientCert.reset();
    r(control::EmptyResult{});
  }
  void logSet(const control::Peer& p, const control::LogSetParams& params,
              control::Reply<control::LogSetResult> r) override {
    if (!enter("log.set", p)) return;
    std::lock_guard lock(mutex_);
    state.permittedLogEnabled = params.enable;
    r(control::LogSetResult{params.channel, params.enable});
  }
  void reload(const control::Peer& p, control::Reply<control::EmptyResult> r) override {
    if (!enter("reload", p)) return;
    std::lock_guard lock(mutex_);
    ++reloads;
    r(control::EmptyResult{});
  }

 private:
  // Records the call; false when the call must not reply (neverReply). Throws on throwNext.
  bool enter(const char* method, const control::Peer& peer) {
    {
      std::lock_guard lock(mutex_);
      calls_.push_back({method, peer});
    }
    if (throwNext.exchange(false))
      throw std::runtime_error("fake failure in " + std::string(method));
    return !neverReply.load();
  }
  control::StateInfo currentState() {
    std::lock_guard lock(mutex_);
    control::StateInfo s = state;
    s.serversTotal = static_cast<uint32_t>(servers.size());
    s.serversHealthy = 0;
    for (const auto& srv : servers) {
      bool healthy = true;
      for (const auto& t : srv.transports) healthy = healthy && t.healthy;
      s.serversHealthy += healthy;
    }
    s.exceptions = static_cast<uint32_t>(exceptions.size());
    return s;
  }
  control::ClientCertInfo clientCertInfo() {
    std::lock_guard lock(mutex_);
    control::ClientCertInfo info;
    if (clientCert) {
      info.configured = true;
      info.certFile = clientCert->certFile;
      info.keyFile = clientCert->keyFile;
    }
    return info;
  }
  control::TrustedCaInfo trustedCaInfo() {
    std::lock_guard lock(mutex_);
    control::TrustedCaInfo info;
    for (const auto& f : trustedCaFiles) info.files.push_back({f, {}, ""});
    return info;
  }

  mutable std::mutex mutex_;
  std::vector<Call> calls_;
};

}  // namespace ztdns::testing
