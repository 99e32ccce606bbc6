#include "control/dispatcher.h"

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>

#include "control/cert_info.h"

namespace ztdns::control {

namespace {

struct NoFix {
  template <class R>
  Result<R> operator()(R r) const {
    return r;
  }
};

}  // namespace

template <class R, class Fix>
Reply<R> Dispatcher::replyTo(Done done, Fix fix) {
  auto once = std::make_shared<std::atomic<bool>>(false);
  return [post = post_, done = std::move(done), fix = std::move(fix), once](Result<R> r) mutable {
    if (once->exchange(true)) return;  // a second reply is a handler bug; ignore it
    post([done = std::move(done), fix = std::move(fix), r = std::move(r)]() mutable {
      if (!r) return done(r.error());
      Result<R> fixed = fix(std::move(r).value());
      if (!fixed) return done(fixed.error());
      done(Result<nlohmann::json>(toJson(fixed.value())));
    });
  };
}

void Dispatcher::dispatch(const Peer& peer, const Request& request, Done done) {
  Handler& h = handler_;
  // Decodes the params of method M and calls `call(params, reply)`.
  auto run = [&](auto tag, auto call, auto fix) {
    using Traits = MethodTraits<decltype(tag)::value>;
    auto params = decodeParams<typename Traits::Params>(request.params);
    if (!params) return done(params.error());
    auto reply = replyTo<typename Traits::Result>(done, std::move(fix));
    try {
      call(*params, reply);
    } catch (const std::exception& e) {
      reply(makeError(ErrorCode::kInternal, std::string("internal error: ") + e.what()));
    } catch (...) {
      reply(makeError(ErrorCode::kInternal, "internal error"));
    }
  };
  auto now = [] { return std::chrono::system_clock::now(); };
  using M = Method;
  switch (request.method) {
    case M::kPing:
      return run(
          std::integral_constant<M, M::kPing>{},
          [&](const EmptyParams&, auto r) { h.ping(peer, r); }, NoFix{});
    case M::kShowState:
      return run(
          std::integral_constant<M, M::kShowState>{},
          [&](const EmptyParams&, auto r) { h.showState(peer, r); }, NoFix{});
    case M::kShowSettings:
      return run(
          std::integral_constant<M, M::kShowSettings>{},
          [&](const EmptyParams&, auto r) { h.showSettings(peer, r); },
          [](nlohmann::json j) -> Result<nlohmann::json> {
            if (!j.is_object())
              return makeError(ErrorCode::kInternal, "internal error: settings are not an object");
            return j;
          });
    case M::kShowServer: {
      auto address = decodeParams<ShowServerParams>(request.params);
      return run(
          std::integral_constant<M, M::kShowServer>{},
          [&](const ShowServerParams&, auto r) { h.showServers(peer, r); },
          [address =
               address ? address->address : std::nullopt](ServerList list) -> Result<ServerList> {
            if (!address) return list;
            ServerList only;
            for (auto& s : list.servers)
              if (s.address == *address) only.servers.push_back(std::move(s));
            if (only.servers.empty())
              return notFound("no server with address " + address->toString() + " is configured");
            return only;
          });
    }
    case M::kShowException: {
      auto name = decodeParams<ShowExceptionParams>(request.params);
      return run(
          std::integral_constant<M, M::kShowException>{},
          [&](const ShowExceptionParams&, auto r) { h.showExceptions(peer, r); },
          [name = name ? name->name : std::nullopt](ExceptionList list) -> Result<ExceptionList> {
            if (!name) return list;
            ExceptionList only;
            for (auto& e : list.exceptions)
              if (e.name == *name) only.exceptions.push_back(std::move(e));
            if (only.exceptions.empty()) return notFound("no exception named \"" + *name + "\"");
            return only;
          });
    }
    case M::kShowClientCert:
      return run(
          std::integral_constant<M, M::kShowClientCert>{},
          [&](const EmptyParams&, auto r) { h.showClientCert(peer, r); },
          [now](ClientCertInfo info) -> Result<ClientCertInfo> {
            fillClientCertInfo(info, now());
            return info;
          });
    case M::kShowTrustedCa:
      return run(
          std::integral_constant<M, M::kShowTrustedCa>{},
          [&](const EmptyParams&, auto r) { h.showTrustedCa(peer, r); },
          [now](TrustedCaInfo info) -> Result<TrustedCaInfo> {
            fillTrustedCaInfo(info, now());
            return info;
          });
    case M::kShowStats:
      return run(
          std::integral_constant<M, M::kShowStats>{},
          [&](const EmptyParams&, auto r) { h.showStats(peer, r); }, NoFix{});
    case M::kSetState:
      return run(
          std::integral_constant<M, M::kSetState>{},
          [&](const SetStateParams& p, auto r) { h.setState(peer, p, r); }, NoFix{});
    case M::kAddServer:
      return run(
          std::integral_constant<M, M::kAddServer>{},
          [&](const AddServerParams& p, auto r) { h.addServer(peer, p, r); }, NoFix{});
    case M::kDeleteServer:
      return run(
          std::integral_constant<M, M::kDeleteServer>{},
          [&](const DeleteServerParams& p, auto r) { h.deleteServer(peer, p, r); }, NoFix{});
    case M::kAddException:
      return run(
          std::integral_constant<M, M::kAddException>{},
          [&](const AddExceptionParams& p, auto r) { h.addException(peer, p, r); }, NoFix{});
    case M::kDeleteException:
      return run(
          std::integral_constant<M, M::kDeleteException>{},
          [&](const DeleteExceptionParams& p, auto r) { h.deleteException(peer, p, r); }, NoFix{});
    case M::kAddTrustedCa:
      return run(
          std::integral_constant<M, M::kAddTrustedCa>{},
          [&](const TrustedCaParams& p, auto r) { h.addTrustedCa(peer, p, r); },
          [now](TrustedCaInfo info) -> Result<TrustedCaInfo> {
            fillTrustedCaInfo(info, now());
            return info;
          });
    case M::kDeleteTrustedCa:
      return run(
          std::integral_constant<M, M::kDeleteTrustedCa>{},
          [&](const TrustedCaParams& p, auto r) { h.deleteTrustedCa(peer, p, r); },
          [now](TrustedCaInfo info) -> Result<TrustedCaInfo> {
            fillTrustedCaInfo(info, now());
            return info;
          });
    case M::kAddClientCert:
      return run(
          std::integral_constant<M, M::kAddClientCert>{},
          [&](const AddClientCertParams& p, auto r) { h.addClientCert(peer, p, r); },
          [now](ClientCertInfo info) -> Result<ClientCertInfo> {
            fillClientCertInfo(info, now());
            return info;
          });
    case M::kDeleteClientCert:
      return run(
          std::integral_constant<M, M::kDeleteClientCert>{},
          [&](const EmptyParams&, auto r) { h.deleteClientCert(peer, r); }, NoFix{});
    case M::kLogShow:
      return run(
          std::integral_constant<M, M::kLogShow>{},
          [&](const LogShowParams& p, auto r) { h.logShow(peer, p, r); }, NoFix{});
    case M::kLogSet:
      return run(
          std::integral_constant<M, M::kLogSet>{},
          [&](const LogSetParams& p, auto r) { h.logSet(peer, p, r); }, NoFix{});
    case M::kResolve:
      return run(
          std::integral_constant<M, M::kResolve>{},
          [&](const ResolveParams& p, auto r) { h.resolve(peer, p, r); }, NoFix{});
    case M::kDiagnoseServer:
      return run(
          std::integral_constant<M, M::kDiagnoseServer>{},
          [&](const DiagnoseServerParams& p, auto r) { h.diagnoseServer(peer, p, r); }, NoFix{});
    case M::kReload:
      return run(
          std::integral_constant<M, M::kReload>{},
          [&](const EmptyParams&, auto r) { h.reload(peer, r); }, NoFix{});
  }
  done(makeError(ErrorCode::kUnknownMethod, "unknown method"));
}

}  // namespace ztdns::control
