// control::Handler: what ztdnsd implements to answer the control socket.
//
// Threading: every method is called on the control thread (the Server's io_context). A
// method answers by calling `reply` exactly once, from any thread, at once or later (probes
// and resolutions finish on the data-plane thread). A method may throw: the Server turns
// the exception into a failed answer ("internal"). A reply that does not come within the
// Server's handler timeout is answered with "timeout" for it, and the late reply is dropped.
//
// Authorization is done before a method is called: change methods are only called for a
// peer with root or CAP_NET_ADMIN, read methods for those plus members of the ztdns group.
// Params have passed the codec's validation (types, ranges, names, paths); the handler
// still validates against the configuration (duplicates, the last server, file contents).
//
// Errors: reply with control::notFound / conflict / failed / invalidParams (protocol.h);
// the message is one line in words, naming what is wrong. A change that fails changes
// nothing: validate -> apply to the kernel -> persist -> Operational event -> reply.
//
// The Server adds a few things itself so that the daemon does not have to:
//   - show.server address=X and show.exception name=N filter the full list and answer
//     not-found when nothing matches;
//   - show.clientcert / show.trustedca / add.* of certificates: the Server reads the PEM
//     files named in the reply (subject, issuer, EKUs, expiry, whether the key matches) when
//     the handler left `certificate` / `certificates` empty.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/messages.h"

namespace ztdns::control {

// Who is asking (SO_PEERCRED plus /proc), for authorization and for the Operational
// "changed by process" fields.
struct Peer {
  pid_t pid = 0;  // 0 when unknown
  uid_t uid = 0;
  gid_t gid = 0;
  std::string executable;  // /proc/<pid>/exe; empty when it could not be read
  std::string command;     // /proc/<pid>/comm
  bool root = false;       // uid 0
  bool netAdmin = false;   // CAP_NET_ADMIN in the daemon's user namespace
  bool inReadGroup = false;
  // Warnings for the client besides the result (the answer's "warnings"); one per request.
  std::shared_ptr<std::vector<std::string>> warnings;
  bool mayRead() const { return root || netAdmin || inReadGroup; }
  bool mayChange() const { return root || netAdmin; }
};

template <class T>
using Reply = std::function<void(Result<T>)>;

class Handler {
 public:
  virtual ~Handler() = default;

  // ---- reads --------------------------------------------------------------------------
  virtual void ping(const Peer& peer, Reply<PingResult> reply) = 0;
  virtual void showState(const Peer& peer, Reply<StateInfo> reply) = 0;
  // The effective config in the config-file schema (config::toJson).
  virtual void showSettings(const Peer& peer, Reply<nlohmann::json> reply) = 0;
  // Every server; the Server filters for address=.
  virtual void showServers(const Peer& peer, Reply<ServerList> reply) = 0;
  // Every exception; the Server filters for name=.
  virtual void showExceptions(const Peer& peer, Reply<ExceptionList> reply) = 0;
  // configured/certFile/keyFile; the Server fills certificate/keyMatches/error.
  virtual void showClientCert(const Peer& peer, Reply<ClientCertInfo> reply) = 0;
  // The file paths; the Server fills certificates/error per file.
  virtual void showTrustedCa(const Peer& peer, Reply<TrustedCaInfo> reply) = 0;
  virtual void showStats(const Peer& peer, Reply<Stats> reply) = 0;
  // The newest `limit` events of a channel that match the filters (LogQuery helps).
  virtual void logShow(const Peer& peer, const LogShowParams& params,
                       Reply<LogShowResult> reply) = 0;
  // Resolve through the stub path (allow-before-answer included), or directly over the
  // configured transport to `server`; report which addresses are allowed now.
  virtual void resolve(const Peer& peer, const ResolveParams& params,
                       Reply<ResolveResult> reply) = 0;
  // Probe each server (or one): TCP connect, TLS handshake with validation (mTLS where
  // configured), one test query; a ServerProbe per server and transport.
  virtual void diagnoseServer(const Peer& peer, const DiagnoseServerParams& params,
                              Reply<DiagnoseServerResult> reply) = 0;

  // ---- changes ------------------------------------------------------------------------
  // enable; audit absent keeps the current audit flag. Replies with the new state.
  virtual void setState(const Peer& peer, const SetStateParams& params, Reply<StateInfo> reply) = 0;
  // A new address adds a server (name defaults to the address, priority to 100). An
  // existing address gains the transport when it lacks it (name/priority updated when
  // given); a transport it already has is a conflict. Replies with the server after.
  virtual void addServer(const Peer& peer, const AddServerParams& params,
                         Reply<ServerInfo> reply) = 0;
  // One server, or all when address is absent. Leaving no server while enabled is a
  // conflict ("... would leave no server while ZTDNS is enabled; ...").
  virtual void deleteServer(const Peer& peer, const DeleteServerParams& params,
                            Reply<DeleteServerResult> reply) = 0;
  // A duplicate name is a conflict.
  virtual void addException(const Peer& peer, const AddExceptionParams& params,
                            Reply<ExceptionInfo> reply) = 0;
  virtual void deleteException(const Peer& peer, const DeleteExceptionParams& params,
                               Reply<EmptyResult> reply) = 0;
  // Reply with the list after the change (paths only is fine).
  virtual void addTrustedCa(const Peer& peer, const TrustedCaParams& params,
                            Reply<TrustedCaInfo> reply) = 0;
  virtual void deleteTrustedCa(const Peer& peer, const TrustedCaParams& params,
                               Reply<TrustedCaInfo> reply) = 0;
  virtual void addClientCert(const Peer& peer, const AddClientCertParams& params,
                             Reply<ClientCertInfo> reply) = 0;
  virtual void deleteClientCert(const Peer& peer, Reply<EmptyResult> reply) = 0;
  virtual void logSet(const Peer& peer, const LogSetParams& params, Reply<LogSetResult> reply) = 0;
  // Re-read the config file (as SIGHUP), all or nothing.
  virtual void reload(const Peer& peer, Reply<EmptyResult> reply) = 0;
};

}  // namespace ztdns::control
