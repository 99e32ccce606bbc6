// ConnectionEvent: one BlockedConnections / PermittedConnections entry (event IDs 2 and 1),
// and the meaning of the NFLOG prefixes the enforcement table writes.
//
// Glossary: action BLOCK = refused; AUDIT = would have been refused (audit mode), written
// to BlockedConnections with "audit": true; PERMIT = allowed, with the reason it was.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/ip.h"
#include "observe/event_sink.h"
#include "observe/time_format.h"

namespace ztdns::observe {

enum class ConnectionAction { Block, Audit, Permit };
enum class PermitType { Resolved, Exception, Server, Dhcp, Ndp, Loopback };

const char* actionName(ConnectionAction action);  // "BLOCK", "AUDIT", "PERMIT"
const char* permitTypeName(PermitType type);      // "resolved", "exception", ...

struct PermitReason {
  PermitType type = PermitType::Resolved;
  std::string name;    // resolved: the DNS name; exception: the rule's displayName
  std::string server;  // resolved: the PDNS server's displayName
};

// What an NFLOG prefix (enforce::log_prefix) says about the packet.
struct LogVerdict {
  ConnectionAction action = ConnectionAction::Block;
  std::optional<PermitType> permit;  // set for Permit
};
std::optional<LogVerdict> verdictFromPrefix(std::string_view prefix);

// The initiating process as far as it could be determined. An empty executable means
// unknown; the pid is only set when it is known to be the sender.
struct ProcessRef {
  std::optional<uint32_t> pid;
  std::string executable;
  std::optional<uint32_t> uid;
  std::string unit;  // systemd unit, else the cgroup path; empty when unknown
  std::string comm;  // the kernel's short task name, when known (not a substitute for pid)
};

struct ConnectionEvent {
  SystemTime time;
  ConnectionAction action = ConnectionAction::Block;
  uint8_t protocol = 0;
  IpAddress src;
  IpAddress dst;
  std::optional<uint16_t> srcPort;  // TCP and UDP only
  std::optional<uint16_t> dstPort;
  std::optional<uint8_t> icmpType;  // ICMP and ICMPv6 only
  std::optional<uint8_t> icmpCode;
  ProcessRef process;
  std::optional<PermitReason> reason;  // Permit only
  std::string attribution;             // how the process was found: kernel, procfs, none
};

// The Event the sink writes: channel, eventId, action, message and the fields
// time, audit, protocol, src, srcPort, dst, dstPort, pid, process, uid, unit, reason, ...
Event toEvent(const ConnectionEvent& event);

}  // namespace ztdns::observe
