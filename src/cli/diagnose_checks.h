// The checks of `ztdns diagnose`, as pure functions from facts (daemon answers, parsed host
// files, probe outcomes) to Checks. diagnose_command.cc gathers the facts and runs them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/diagnose_report.h"
#include "cli/event_source.h"
#include "cli/host_facts.h"
#include "cli/system_path.h"
#include "common/result.h"
#include "control/messages.h"

namespace ztdns::cli {

// What to do when ztdnsd could not be asked: permission, a daemon that is not running, other.
std::string daemonRemedy(const Error& error);
// Step 1
Check checkServersConfigured(const Result<control::ServerList>& servers);
// Step 2: one check per configured server and transport.
std::vector<Check> checkServerProbes(const control::ServerList& servers,
                                     const control::DiagnoseServerResult& probes);
std::string probeRemedy(const std::string& reason, const control::ServerProbe& probe);
// Step 3
Check checkResolvConf(const Result<ResolvConf>& rc, const std::vector<Endpoint>& listen,
                      const std::string& path);
Check checkLookup(const std::string& name, const LookupOutcome& lookup);
Check checkConnect(const std::string& name, const std::vector<ConnectOutcome>& attempts);
// Step 4
Check checkPort53(const std::vector<BoundSocket>& sockets,
                  const std::map<uint64_t, SocketOwner>& owners,
                  const std::vector<Endpoint>& listen, int64_t daemonPid);
// WARN when a listener is not on a loopback address: the stub is for this host only.
Check checkListeners(const std::vector<Endpoint>& listen);
std::vector<Check> checkExceptions(const std::vector<control::ExceptionInfo>& exceptions);
Check checkLoopback(bool loopbackBlocked, const ResolvConf& rc,
                    const std::vector<Endpoint>& listen);
Check checkIpv6(const Ipv6Facts& facts, const control::ServerList& servers,
                const std::optional<control::DiagnoseServerResult>& probes);
Check checkBrowserPolicies(const std::vector<BrowserPolicyFinding>& findings,
                           const std::vector<std::string>& files);
// Step 5: worded from the events' own mix of BLOCK and AUDIT (a window can span a switch).
Check checkAuditFindings(const EventBatch& batch, uint64_t sinceSeconds);

// The private and special ranges an exception should not cover, with their names.
struct NamedRange {
  IpPrefix prefix;
  const char* name;
};
const std::vector<NamedRange>& privateRanges();

}  // namespace ztdns::cli
