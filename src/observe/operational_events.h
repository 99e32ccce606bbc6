// Operational channel events: the message formats every module uses, so the log reads
// the same whoever wrote it. Each returns an Event for EventSink::emit.
//
// Event IDs 3-8 keep Windows' meanings (UPDATE servers, REMOVE/ADD exception, UPDATE
// state, START, STOP); 101+ are ours (see event_id in event_sink.h).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip.h"
#include "observe/event_sink.h"
#include "observe/flood_suppressor.h"
#include "observe/time_format.h"

namespace ztdns::observe::ops {

// Who made a change: the peer of the control socket (SO_PEERCRED), like Windows' "by
// process (pid) path".
struct Actor {
  std::optional<uint32_t> pid;
  std::string executable;  // empty: unknown
  std::optional<uint32_t> uid;
};

// The actor for a peer pid (reads /proc/<pid>/exe; unknown if it cannot).
Actor actorFromPid(pid_t pid, std::optional<uint32_t> uid = std::nullopt);

// START / STOP with a status: "ok", or the failure in words.
Event serviceStart(std::string_view status, std::string_view version, bool enabled, bool audit);
Event serviceStop(std::string_view status);

// UPDATE - State: enabled / audit changed.
Event stateChanged(bool enabled, bool audit, const Actor& by);

// UPDATE - Trusted servers: the new list, one display string per server.
Event serversUpdated(const std::vector<std::string>& servers, const Actor& by);

// ADD / REMOVE - Exceptions.
Event exceptionAdded(std::string_view name, const std::vector<IpPrefix>& prefixes, const Actor& by);
Event exceptionRemoved(std::string_view name, const Actor& by);

// A PDNS server went up or down; `error` says why in words ("TLS: certificate has
// expired", "connect: timed out").
Event upstreamHealth(std::string_view server, bool up, std::string_view error);

// The allow set is full: entries were evicted early, or an insert was refused (the client
// got SERVFAIL).
Event allowCapacity(std::string_view what, uint64_t count, size_t size, uint32_t capacity);

// N similar connection events suppressed (flood).
Event suppressed(const SuppressedSummary& summary, std::string_view channel);

// The kernel's rate guard kept connection attempts from being logged at all.
Event kernelRateGuard(uint64_t notLogged, std::optional<uint32_t> limitPerSecond);

// Lines lost: the log directory was unwritable or full, the queue overflowed, or NFLOG
// overran. Reported once writing works again.
Event logLoss(std::string_view channel, uint64_t lines, SystemTime since, std::string_view reason);

// Other configuration changes (certificates, log switches, reloads).
Event configUpdated(std::string_view what, const Actor& by);

// A kernel transaction failed; the previous policy stays in force.
Event enforcementError(std::string_view error);

// How connection events name processes (BPF tracepoints, or the procfs fallback and why).
Event attributionMode(std::string_view mode, std::string_view detail);

}  // namespace ztdns::observe::ops
