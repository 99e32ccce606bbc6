// ControlHandler: ztdnsd's answers to the control socket (control/handler.h has the
// contract). Reads are snapshots of the daemon's state; every change is a config edit
// (config_edit.h) committed through Daemon::commit, so a change over the socket and a
// SIGHUP reload take the same path. Runs on the control thread; resolve and diagnose
// answer later, from the data plane.
#pragma once

#include "control/handler.h"

namespace ztdns::daemon {

class Daemon;

class ControlHandler final : public control::Handler {
 public:
  explicit ControlHandler(Daemon& daemon) : daemon_(daemon) {}

  void ping(const control::Peer& peer, control::Reply<control::PingResult> reply) override;
  void showState(const control::Peer& peer, control::Reply<control::StateInfo> reply) override;
  void showSettings(const control::Peer& peer, control::Reply<nlohmann::json> reply) override;
  void showServers(const control::Peer& peer, control::Reply<control::ServerList> reply) override;
  void showExceptions(const control::Peer& peer,
                      control::Reply<control::ExceptionList> reply) override;
  void showClientCert(const control::Peer& peer,
                      control::Reply<control::ClientCertInfo> reply) override;
  void showTrustedCa(const control::Peer& peer,
                     control::Reply<control::TrustedCaInfo> reply) override;
  void showStats(const control::Peer& peer, control::Reply<control::Stats> reply) override;
  void logShow(const control::Peer& peer, const control::LogShowParams& params,
               control::Reply<control::LogShowResult> reply) override;
  void resolve(const control::Peer& peer, const control::ResolveParams& params,
               control::Reply<control::ResolveResult> reply) override;
  void diagnoseServer(const control::Peer& peer, const control::DiagnoseServerParams& params,
                      control::Reply<control::DiagnoseServerResult> reply) override;

  void setState(const control::Peer& peer, const control::SetStateParams& params,
                control::Reply<control::StateInfo> reply) override;
  void addServer(const control::Peer& peer, const control::AddServerParams& params,
                 control::Reply<control::ServerInfo> reply) override;
  void deleteServer(const control::Peer& peer, const control::DeleteServerParams& params,
                    control::Reply<control::DeleteServerResult> reply) override;
  void addException(const control::Peer& peer, const control::AddExceptionParams& params,
                    control::Reply<control::ExceptionInfo> reply) override;
  void deleteException(const control::Peer& peer, const control::DeleteExceptionParams& params,
                       control::Reply<control::EmptyResult> reply) override;
  void addTrustedCa(const control::Peer& peer, const control::TrustedCaParams& params,
                    control::Reply<control::TrustedCaInfo> reply) override;
  void deleteTrustedCa(const control::Peer& peer, const control::TrustedCaParams& params,
                       control::Reply<control::TrustedCaInfo> reply) override;
  void addClientCert(const control::Peer& peer, const control::AddClientCertParams& params,
                     control::Reply<control::ClientCertInfo> reply) override;
  void deleteClientCert(const control::Peer& peer,
                        control::Reply<control::EmptyResult> reply) override;
  void logSet(const control::Peer& peer, const control::LogSetParams& params,
              control::Reply<control::LogSetResult> reply) override;
  void reload(const control::Peer& peer, control::Reply<control::EmptyResult> reply) override;

 private:
  control::StateInfo state() const;
  control::ServerList servers() const;
  control::TrustedCaInfo trustedCa() const;
  control::ClientCertInfo clientCert() const;

  Daemon& daemon_;
};

}  // namespace ztdns::daemon
