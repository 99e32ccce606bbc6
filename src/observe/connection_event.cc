#include "observe/connection_event.h"

#include "enforce/policy.h"
#include "observe/packet.h"

namespace ztdns::observe {

const char* actionName(ConnectionAction action) {
  switch (action) {
    case ConnectionAction::Block:
      return "BLOCK";
    case ConnectionAction::Audit:
      return "AUDIT";
    case ConnectionAction::Permit:
      return "PERMIT";
  }
  return "?";
}

const char* permitTypeName(PermitType type) {
  switch (type) {
    case PermitType::Resolved:
      return "resolved";
    case PermitType::Exception:
      return "exception";
    case PermitType::Server:
      return "server";
    case PermitType::Dhcp:
      return "dhcp";
    case PermitType::Ndp:
      return "ndp";
    case PermitType::Loopback:
      return "loopback";
  }
  return "?";
}

std::optional<LogVerdict> verdictFromPrefix(std::string_view prefix) {
  namespace lp = enforce::log_prefix;
  // nftables may pad or the kernel may cut a prefix; compare without trailing blanks.
  while (!prefix.empty() && (prefix.back() == ' ' || prefix.back() == '\0'))
    prefix.remove_suffix(1);
  struct Row {
    const char* prefix;
    ConnectionAction action;
    std::optional<PermitType> permit;
  };
  static const Row kRows[] = {
      {lp::kBlock, ConnectionAction::Block, std::nullopt},
      {lp::kAudit, ConnectionAction::Audit, std::nullopt},
      {lp::kPermitResolved, ConnectionAction::Permit, PermitType::Resolved},
      {lp::kPermitException, ConnectionAction::Permit, PermitType::Exception},
      {lp::kPermitServer, ConnectionAction::Permit, PermitType::Server},
      {lp::kPermitDhcp, ConnectionAction::Permit, PermitType::Dhcp},
      {lp::kPermitNdp, ConnectionAction::Permit, PermitType::Ndp},
      {lp::kPermitLoopback, ConnectionAction::Permit, PermitType::Loopback},
  };
  for (const auto& row : kRows) {
    if (prefix == row.prefix) return LogVerdict{row.action, row.permit};
  }
  return std::nullopt;
}

namespace {

std::string endpointText(const IpAddress& a, const std::optional<uint16_t>& port) {
  std::string s = "[" + a.toString() + "]";
  if (port) s += ":" + std::to_string(*port);
  return s;
}

}  // namespace

Event toEvent(const ConnectionEvent& e) {
  Event out;
  out.channel = e.action == ConnectionAction::Permit ? Channel::Permitted : Channel::Blocked;
  out.eventId = e.action == ConnectionAction::Permit ? event_id::kPermit : event_id::kBlock;
  out.action = actionName(e.action);

  auto& f = out.fields;
  f = nlohmann::json::object();
  f["time"] = formatTime(e.time);
  if (e.action == ConnectionAction::Audit) f["audit"] = true;
  f["protocol"] = protocolName(e.protocol);
  f["src"] = e.src.toString();
  f["srcPort"] = e.srcPort ? nlohmann::json(*e.srcPort) : nlohmann::json(nullptr);
  f["dst"] = e.dst.toString();
  f["dstPort"] = e.dstPort ? nlohmann::json(*e.dstPort) : nlohmann::json(nullptr);
  if (e.icmpType) f["icmpType"] = *e.icmpType;
  if (e.icmpCode) f["icmpCode"] = *e.icmpCode;
  f["pid"] = e.process.pid ? nlohmann::json(*e.process.pid) : nlohmann::json(nullptr);
  f["process"] = e.process.executable.empty() ? "unknown" : e.process.executable;
  f["uid"] = e.process.uid ? nlohmann::json(*e.process.uid) : nlohmann::json(nullptr);
  f["unit"] = e.process.unit.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.process.unit);
  if (!e.process.comm.empty()) f["comm"] = e.process.comm;
  if (!e.attribution.empty()) f["attribution"] = e.attribution;
  if (e.reason) {
    nlohmann::json r = {{"type", permitTypeName(e.reason->type)}};
    if (e.reason->type == PermitType::Resolved) {
      r["name"] = e.reason->name.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.reason->name);
      r["server"] =
          e.reason->server.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.reason->server);
    } else if (e.reason->type == PermitType::Exception) {
      r["name"] = e.reason->name.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.reason->name);
    }
    f["reason"] = std::move(r);
  }

  // Windows' wording: "BLOCK - Connection [a]:p -> [b]:q by process (pid) path ..."
  std::string m = std::string(out.action) + " - Connection " + endpointText(e.src, e.srcPort) +
                  " -> " + endpointText(e.dst, e.dstPort) + " " + protocolName(e.protocol) +
                  " by process (" + (e.process.pid ? std::to_string(*e.process.pid) : "?") + ") " +
                  (e.process.executable.empty() ? "unknown" : e.process.executable);
  if (!e.process.unit.empty()) m += " from unit " + e.process.unit;
  if (e.action == ConnectionAction::Audit) m += " (audit: would be blocked)";
  if (e.reason) {
    m += std::string(" because of ") + permitTypeName(e.reason->type);
    if (!e.reason->name.empty()) m += " " + e.reason->name;
    if (!e.reason->server.empty()) m += " from server " + e.reason->server;
  }
  out.message = std::move(m);
  return out;
}

}  // namespace ztdns::observe
