#include "daemon/control_handler.h"

#include <unistd.h>

#include <memory>
#include <mutex>

#include "config/config.h"
#include "control/protocol.h"
#include "control/validation.h"
#include "daemon/config_edit.h"
#include "daemon/daemon.h"
#include "daemon/reply_builders.h"
#include "dns/knot.h"
#include "observe/log_query.h"

namespace ztdns::daemon {

namespace {

observe::ops::Actor actorOf(const control::Peer& p) {
  observe::ops::Actor a;
  if (p.pid > 0) a.pid = static_cast<uint32_t>(p.pid);
  a.executable = p.executable;
  a.uid = p.uid;
  return a;
}

observe::Channel channelOf(control::LogChannel c) {
  switch (c) {
    case control::LogChannel::kBlocked:
      return observe::Channel::Blocked;
    case control::LogChannel::kPermitted:
      return observe::Channel::Permitted;
    case control::LogChannel::kOperational:
      break;
  }
  return observe::Channel::Operational;
}

}  // namespace

// ---- reads ----------------------------------------------------------------------------

void ControlHandler::ping(const control::Peer&, control::Reply<control::PingResult> reply) {
  std::string version = config::daemonVersionLine();
  reply(control::PingResult{control::kProtocolVersion, version.substr(version.find(' ') + 1),
                            static_cast<int64_t>(::getpid())});
}

control::StateInfo ControlHandler::state() const {
  const config::Config& c = daemon_.config();
  control::StateInfo s;
  s.enabled = c.enabled;
  s.audit = c.auditModeEnabled;
  s.uptimeSeconds =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::steady_clock::now() - daemon_.startedAt())
                                .count());
  auto status = daemon_.dataPlane().pool().status();
  // Health is per server: a server is healthy when any of its transports is known to be
  // up, and not checked yet when none is up and one is still unknown.
  for (const auto& server : c.secureDnsServers) {
    ++s.serversTotal;
    bool up = false, unknown = false;
    for (const auto& st : status) {
      if (st.address != server.ipAddress) continue;
      up = up || st.health == upstream::Health::kUp;
      unknown = unknown || st.health == upstream::Health::kUnknown;
    }
    if (up) {
      ++s.serversHealthy;
    } else if (unknown) {
      ++s.serversUnknown;
    }
  }
  s.allowedAddresses = daemon_.dataPlane().allowSet().stats().size;
  s.exceptions = static_cast<uint32_t>(c.exemptionRules.size());
  s.loopbackBlocked = c.loopbackTrafficBlocked;
  s.permittedLogEnabled = c.permittedConnectionsLogEnabled;
  s.listenAddresses = daemon_.dataPlane().stub().listening();
  s.configFile = daemon_.options().configPath;
  s.logDir = daemon_.options().logDir;
  s.pid = ::getpid();
  std::string version = config::daemonVersionLine();
  s.version = version.substr(version.find(' ') + 1);
  return s;
}

void ControlHandler::showState(const control::Peer&, control::Reply<control::StateInfo> reply) {
  reply(state());
}

void ControlHandler::showSettings(const control::Peer&, control::Reply<nlohmann::json> reply) {
  reply(config::toJson(daemon_.config()));
}

control::ServerList ControlHandler::servers() const {
  return serverList(daemon_.config(), daemon_.dataPlane().pool().status());
}

void ControlHandler::showServers(const control::Peer&, control::Reply<control::ServerList> reply) {
  reply(servers());
}

void ControlHandler::showExceptions(const control::Peer&,
                                    control::Reply<control::ExceptionList> reply) {
  control::ExceptionList list;
  for (const auto& r : daemon_.config().exemptionRules) {
    list.exceptions.push_back(control::ExceptionInfo{r.displayName, r.description, r.ipAddresses});
  }
  reply(std::move(list));
}

control::ClientCertInfo ControlHandler::clientCert() const {
  control::ClientCertInfo info;
  if (const auto& cc = daemon_.config().clientCertificate) {
    info.configured = true;
    info.certFile = cc->certificateFile;
    info.keyFile = cc->privateKeyFile;
  }
  return info;  // the control server reads the files (subject, issuer, EKUs, expiry)
}

control::TrustedCaInfo ControlHandler::trustedCa() const {
  control::TrustedCaInfo info;
  for (const auto& f : daemon_.config().rootCertificatesForServerValidation) {
    info.files.push_back(control::TrustedCaFile{f, {}, {}});
  }
  return info;
}

void ControlHandler::showClientCert(const control::Peer&,
                                    control::Reply<control::ClientCertInfo> reply) {
  reply(clientCert());
}

void ControlHandler::showTrustedCa(const control::Peer&,
                                   control::Reply<control::TrustedCaInfo> reply) {
  reply(trustedCa());
}

void ControlHandler::showStats(const control::Peer&, control::Reply<control::Stats> reply) {
  reply(statsFrom(daemon_.dataPlane().stub().stats(), daemon_.dataPlane().allowSet().stats(),
                  daemon_.counters(), daemon_.logSink().stats()));
}

void ControlHandler::logShow(const control::Peer&, const control::LogShowParams& params,
                             control::Reply<control::LogShowResult> reply) {
  observe::LogFilter filter;
  if (params.sinceSeconds) filter.since = std::chrono::seconds(*params.sinceSeconds);
  filter.process = params.process;
  filter.dst = params.dst;
  filter.last = static_cast<size_t>(params.limit) + 1;  // one more tells "truncated"
  auto result = observe::queryLog(daemon_.options().logDir, channelOf(params.channel), filter);
  if (!result) return reply(control::failed("reading the log: " + result.error().message));
  control::LogShowResult out;
  out.events = std::move(result->events);
  if (out.events.size() > params.limit) {
    out.truncated = true;
    out.events.erase(
        out.events.begin(),
        out.events.begin() + static_cast<std::ptrdiff_t>(out.events.size() - params.limit));
  }
  reply(std::move(out));
}

void ControlHandler::resolve(const control::Peer&, const control::ResolveParams& params,
                             control::Reply<control::ResolveResult> reply) {
  uint16_t qtype = 0;
  if (knot_rrtype_from_string(params.type.c_str(), &qtype) != 0) {
    return reply(control::invalidParams("type: \"" + params.type + "\" is not a record type"));
  }
  if (params.server) {
    bool configured = false;
    for (const auto& s : daemon_.config().secureDnsServers)
      configured |= s.ipAddress == *params.server;
    if (!configured) {
      return reply(control::notFound("server " + params.server->toString() +
                                     " is not configured (see ztdns show server); ztdns only "
                                     "asks configured servers"));
    }
  }
  resolver::ResolveRequest request;
  request.name = params.name;
  request.qtype = qtype;
  request.server = params.server;
  DataPlane& dp = daemon_.dataPlane();
  // The state, exceptions and loopback switch as they are now (the control thread's copy).
  auto policy = std::make_shared<const config::Config>(daemon_.config());
  dp.post([&dp, request, params, policy, reply = std::move(reply)]() mutable {
    dp.stub().resolve(request, [&dp, params, policy, reply = std::move(reply)](
                                   Result<resolver::ResolveOutcome> outcome) mutable {
      if (!outcome) return reply(control::invalidParams(outcome.error().message));
      reply(resolveResult(params, *outcome, dp.allowSet(), *policy));
    });
  });
}

void ControlHandler::diagnoseServer(const control::Peer&,
                                    const control::DiagnoseServerParams& params,
                                    control::Reply<control::DiagnoseServerResult> reply) {
  const config::Config& c = daemon_.config();
  std::vector<IpAddress> targets;
  for (const auto& s : c.secureDnsServers) {
    if (!params.address || s.ipAddress == *params.address) targets.push_back(s.ipAddress);
  }
  if (targets.empty()) {
    return reply(control::notFound(
        params.address ? "no server with address " + params.address->toString() +
                             " is configured (see ztdns show server)"
                       : std::string("no protective DNS server is configured; add one with: "
                                     "ztdns add server ...")));
  }
  struct Collect {
    std::mutex mutex;
    control::DiagnoseServerResult result;
    size_t left = 0;
    control::Reply<control::DiagnoseServerResult> reply;
  };
  auto collect = std::make_shared<Collect>();
  collect->left = targets.size();
  collect->reply = std::move(reply);
  upstream::PoolOptions options = upstream::poolOptionsFromConfig(c);
  DataPlane& dp = daemon_.dataPlane();
  dp.post([&dp, options, targets, collect] {
    for (const auto& address : targets) {
      upstream::ProbeRequest request;
      request.server = address;
      Status st =
          upstream::probeServer(dp.io(), options, request,
                                [collect, options](std::vector<upstream::ProbeReport> reports) {
                                  std::lock_guard lock(collect->mutex);
                                  for (const auto& r : reports) {
                                    collect->result.servers.push_back(
                                        serverProbe(r, options.clientCertificate.has_value()));
                                  }
                                  if (--collect->left == 0)
                                    collect->reply(std::move(collect->result));
                                });
      if (!st) {
        std::lock_guard lock(collect->mutex);
        if (collect->left != 0) {
          collect->left = 0;
          collect->reply(control::failed("probe: " + st.error().message));
        }
        return;
      }
    }
  });
}

// ---- changes --------------------------------------------------------------------------

namespace {

// Commits an edit; on success answers with make(), on failure with the error.
template <class T, class Make>
void commitEdit(Daemon& daemon, const control::Peer& peer, Result<Edited> edited,
                control::Reply<T>& reply, Make make) {
  if (!edited) return reply(edited.error());
  if (auto st = daemon.commit(edited->config, actorOf(peer)); !st) return reply(st.error());
  if (peer.warnings) {
    for (auto& w : edited->replyWarnings) peer.warnings->push_back(std::move(w));
  }
  reply(make());
}

}  // namespace

void ControlHandler::setState(const control::Peer& peer, const control::SetStateParams& params,
                              control::Reply<control::StateInfo> reply) {
  commitEdit(daemon_, peer, editSetState(daemon_.config(), params), reply, [&] { return state(); });
}

void ControlHandler::addServer(const control::Peer& peer, const control::AddServerParams& params,
                               control::Reply<control::ServerInfo> reply) {
  commitEdit(daemon_, peer, editAddServer(daemon_.config(), params), reply, [&] {
    for (auto& s : servers().servers)
      if (s.address == params.address) return s;
    return control::ServerInfo{};
  });
}

void ControlHandler::deleteServer(const control::Peer& peer,
                                  const control::DeleteServerParams& params,
                                  control::Reply<control::DeleteServerResult> reply) {
  std::vector<IpAddress> deleted;
  auto edited = editDeleteServer(daemon_.config(), params, deleted);
  commitEdit(daemon_, peer, std::move(edited), reply, [&] {
    return control::DeleteServerResult{
        deleted, static_cast<uint32_t>(daemon_.config().secureDnsServers.size())};
  });
}

void ControlHandler::addException(const control::Peer& peer,
                                  const control::AddExceptionParams& params,
                                  control::Reply<control::ExceptionInfo> reply) {
  commitEdit(daemon_, peer, editAddException(daemon_.config(), params), reply, [&] {
    for (const auto& r : daemon_.config().exemptionRules)
      if (r.displayName == params.name)
        return control::ExceptionInfo{r.displayName, r.description, r.ipAddresses};
    return control::ExceptionInfo{};
  });
}

void ControlHandler::deleteException(const control::Peer& peer,
                                     const control::DeleteExceptionParams& params,
                                     control::Reply<control::EmptyResult> reply) {
  commitEdit(daemon_, peer, editDeleteException(daemon_.config(), params), reply,
             [] { return control::EmptyResult{}; });
}

void ControlHandler::addTrustedCa(const control::Peer& peer, const control::TrustedCaParams& params,
                                  control::Reply<control::TrustedCaInfo> reply) {
  commitEdit(daemon_, peer, editAddTrustedCa(daemon_.config(), params), reply,
             [&] { return trustedCa(); });
}

void ControlHandler::deleteTrustedCa(const control::Peer& peer,
                                     const control::TrustedCaParams& params,
                                     control::Reply<control::TrustedCaInfo> reply) {
  commitEdit(daemon_, peer, editDeleteTrustedCa(daemon_.config(), params), reply,
             [&] { return trustedCa(); });
}

void ControlHandler::addClientCert(const control::Peer& peer,
                                   const control::AddClientCertParams& params,
                                   control::Reply<control::ClientCertInfo> reply) {
  commitEdit(daemon_, peer, editAddClientCert(daemon_.config(), params), reply,
             [&] { return clientCert(); });
}

void ControlHandler::deleteClientCert(const control::Peer& peer,
                                      control::Reply<control::EmptyResult> reply) {
  commitEdit(daemon_, peer, editDeleteClientCert(daemon_.config()), reply,
             [] { return control::EmptyResult{}; });
}

void ControlHandler::logSet(const control::Peer& peer, const control::LogSetParams& params,
                            control::Reply<control::LogSetResult> reply) {
  commitEdit(daemon_, peer, editLogSet(daemon_.config(), params), reply, [&] {
    return control::LogSetResult{params.channel, daemon_.config().permittedConnectionsLogEnabled};
  });
}

void ControlHandler::reload(const control::Peer& peer, control::Reply<control::EmptyResult> reply) {
  if (auto st = daemon_.reload(actorOf(peer)); !st) return reply(st.error());
  reply(control::EmptyResult{});
}

}  // namespace ztdns::daemon
