// Reply builders: the daemon's internal state in the control protocol's shapes. Pure
// functions of snapshots, so that they are unit-tested without a running daemon.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "control/messages.h"
#include "daemon/counting_sink.h"
#include "enforce/allow_set.h"
#include "observe/log_sink.h"
#include "resolver/stub.h"
#include "upstream/probe.h"
#include "upstream/server_pool.h"

namespace ztdns::daemon {

// Every configured server with its transports (DoT first) and each transport's health.
control::ServerList serverList(const config::Config& config,
                               const std::vector<upstream::ServerStatus>& status);

control::Stats statsFrom(const resolver::StubStats& stub, const enforce::AllowSetStats& allow,
                         const CountingSink& connections, const observe::LogSinkStats& logs);

// The records of an outcome, who answered (or why the stub failed), the state, and for every
// A/AAAA and SVCB/HTTPS address hint whether a connection to it is allowed now: the
// allow-set mirror (only kernel-acknowledged entries), the exceptions and the loopback
// switch of `config`, as the kernel's rules apply them.
control::ResolveResult resolveResult(const control::ResolveParams& params,
                                     const resolver::ResolveOutcome& outcome,
                                     const enforce::AllowSet& allowSet,
                                     const config::Config& config);

// One probe report as the steps `ztdns diagnose` prints: connect, tls, query.
control::ServerProbe serverProbe(const upstream::ProbeReport& report, bool mtls);

// The protocol's stable reason code for a failure class ("name-mismatch", ...).
std::string probeReason(upstream::ErrorClass cls);

}  // namespace ztdns::daemon
