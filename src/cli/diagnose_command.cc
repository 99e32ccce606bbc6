// ztdns diagnose: the guide's troubleshooting checklist, automated (docs/cli.md).
//
// Facts come from the daemon (state, servers, probes, exceptions, the Blocked log) and from
// the host (resolv.conf, /proc, browser policies; roots overridable, see host_facts.h).
// When the daemon cannot be reached the host checks still run, with the default listen
// addresses, and the daemon checks fail or are skipped.
#include "cli/arg_specs.h"
#include "cli/commands.h"
#include "cli/diagnose_checks.h"
#include "cli/event_source.h"
#include "cli/key_value_args.h"
#include "control/protocol.h"
#include "control/validation.h"

namespace ztdns::cli {

namespace {

constexpr const char* kDefaultName = "network-test.debian.org";
constexpr uint64_t kDefaultSince = 3600;

std::vector<Endpoint> defaultListen() {
  return {*Endpoint::parse("127.0.0.1:53"), *Endpoint::parse("[::1]:53")};
}

Check skipped(int step, const std::string& id, const std::string& subject, const std::string& why) {
  return Check{step, id, subject, CheckStatus::kSkip, why, "", {}};
}

}  // namespace

int runDiagnose(Context& ctx, const Words& words) {
  const ArgSpec& spec = argSpec("diagnose");
  auto args = parseArgs(spec, words);
  if (!args) return ctx.usage("diagnose", args.error().message);
  ctx.setJson(args->keyword("json"));
  std::string name = args->text("name").value_or(kDefaultName);
  if (auto why = control::checkQueryName(name); !why.empty())
    return ctx.usage("diagnose", "name: " + why);
  uint64_t since = args->durationSeconds("since").value_or(kDefaultSince);
  if (since == 0) return ctx.usage("diagnose", "since: must be longer than 0s");

  DiagnoseReport report;

  // Step 1: servers.
  auto state = ctx.call<control::Method::kShowState>({});
  auto servers = state ? ctx.call<control::Method::kShowServer>({})
                       : Result<control::ServerList>(state.error());
  report.add(checkServersConfigured(servers));
  // Why the daemon's facts are missing, for the checks that are skipped.
  auto missing = [](const Error& e) -> std::string {
    return control::errorCodeOf(e) == control::ErrorCode::kPermissionDenied
               ? "ztdnsd refused this user (permission denied)"
               : "ztdnsd is not reachable";
  };
  const std::string unreachable = state ? "" : missing(state.error());

  // Step 2: the daemon probes each server (connect, TLS, query).
  std::optional<control::DiagnoseServerResult> probes;
  if (servers && !servers->servers.empty()) {
    auto r = ctx.call<control::Method::kDiagnoseServer>({});
    if (r) {
      probes = *r;
      for (auto& c : checkServerProbes(*servers, *r)) report.add(std::move(c));
    } else {
      report.add(Check{2,
                       "server",
                       "server probes",
                       CheckStatus::kFail,
                       r.error().message,
                       "check ztdns log show operational",
                       {}});
    }
  } else {
    report.add(skipped(2, "server", "server probes",
                       servers ? "no server to probe" : missing(servers.error())));
  }

  // Step 3: the system path.
  std::vector<Endpoint> listen = state ? state->listenAddresses : defaultListen();
  std::string resolvPath = ctx.getenv("ZTDNS_RESOLV_CONF").value_or("/etc/resolv.conf");
  auto rc = readResolvConf(resolvPath);
  Check rcCheck = checkResolvConf(rc, listen, resolvPath);
  if (!state)
    rcCheck.details.push_back(unreachable + ": assumed it listens on " + listen[0].toString() +
                              " and " + listen[1].toString());
  report.add(rcCheck);
  LookupOutcome lookup = lookupName(name, std::chrono::seconds(10));
  report.add(checkLookup(name, lookup));
  if (lookup.ok && !lookup.addresses.empty()) {
    std::vector<uint16_t> ports =
        args->has("port") ? std::vector<uint16_t>{static_cast<uint16_t>(*args->integer("port"))}
                          : std::vector<uint16_t>{443, 80};
    std::vector<ConnectOutcome> attempts;
    bool connected = false;
    for (size_t i = 0; i < lookup.addresses.size() && i < 4 && !connected; ++i) {
      for (uint16_t port : ports) {
        attempts.push_back(
            connectTcp(Endpoint{lookup.addresses[i], port}, std::chrono::seconds(3)));
        if (attempts.back().ok) {
          connected = true;
          break;
        }
      }
    }
    report.add(checkConnect(name, attempts));
  } else {
    report.add(skipped(3, "connect", "connect to " + name, "the name did not resolve"));
  }

  // Step 4: configuration sanity.
  std::string procRoot = ctx.getenv("ZTDNS_PROC_ROOT").value_or("/proc");
  auto sockets = readBoundSockets(procRoot);
  std::set<uint64_t> inodes;
  for (const auto& s : sockets)
    if (s.port == 53) inodes.insert(s.inode);
  report.add(
      checkPort53(sockets, findSocketOwners(procRoot, inodes), listen, state ? state->pid : 0));
  if (state)
    report.add(checkListeners(listen));
  else
    report.add(skipped(4, "listener-not-loopback", "stub listeners", unreachable));

  auto exceptions = state ? ctx.call<control::Method::kShowException>({})
                          : Result<control::ExceptionList>(state.error());
  if (exceptions) {
    for (auto& c : checkExceptions(exceptions->exceptions)) report.add(std::move(c));
  } else {
    report.add(skipped(4, "exceptions", "exceptions", exceptions.error().message));
  }
  if (state)
    report.add(checkLoopback(state->loopbackBlocked, rc ? *rc : ResolvConf{}, listen));
  else
    report.add(skipped(4, "loopback", "loopback switch", unreachable));
  if (servers)
    report.add(checkIpv6(readIpv6Facts(procRoot), *servers, probes));
  else
    report.add(skipped(4, "ipv6", "IPv6", unreachable));
  std::vector<std::string> policyFiles;
  auto findings =
      scanBrowserPolicies(ctx.getenv("ZTDNS_BROWSER_POLICY_ROOT").value_or(""), &policyFiles);
  report.add(checkBrowserPolicies(findings, policyFiles));

  // Step 5: audit findings from BlockedConnections.
  if (state) {
    ControlEventSource source(ctx, 100000);
    auto batch = source.blocked(since);
    if (batch)
      report.add(checkAuditFindings(*batch, since));
    else
      report.add(skipped(5, "audit", "blocked connections", batch.error().message));
  } else {
    report.add(skipped(5, "audit", "blocked connections", unreachable));
  }

  if (ctx.json())
    ctx.printJson(report.toJson());
  else
    report.print(ctx.out());
  return report.failed() ? kExitFailure : kExitOk;
}

}  // namespace ztdns::cli
