#include "cli/connection_event.h"

#include "cli/render.h"
#include "control/time_text.h"

namespace ztdns::cli {

namespace {

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

template <class T>
T integer(const nlohmann::json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return fallback;
  auto v = it->get<int64_t>();
  if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
      v > static_cast<int64_t>(std::numeric_limits<T>::max())) {
    return fallback;
  }
  return static_cast<T>(v);
}

}  // namespace

Result<ConnectionEvent> parseConnectionEvent(const nlohmann::json& j) {
  if (!j.is_object()) return Error{"not a JSON object"};
  ConnectionEvent e;
  e.time = control::parseRfc3339(str(j, "time"));
  if (!e.time) return Error{"time: missing or not an RFC 3339 time"};
  e.eventId = integer<int>(j, "eventId", 0);
  e.action = str(j, "action");
  bool connection = e.action == "BLOCK" || e.action == "AUDIT" || e.action == "PERMIT" ||
                    (e.action.empty() && (e.eventId == 1 || e.eventId == 2));
  if (!connection) {
    return Error{"action: " + (e.action.empty() ? std::string("missing") : "\"" + e.action + "\"") +
                 " is not a connection event's (BLOCK, AUDIT or PERMIT)"};
  }
  auto audit = j.find("audit");
  e.audit = (audit != j.end() && audit->is_boolean() && audit->get<bool>()) || e.action == "AUDIT";
  if (auto p = j.find("protocol"); p != j.end()) e.protocol = protocolText(*p);
  auto dst = IpAddress::parse(str(j, "dst"));
  if (!dst) return Error{"dst: " + dst.error().message};
  e.dst = dst->unmapped();
  if (auto src = IpAddress::parse(str(j, "src"))) e.src = src->unmapped();
  e.srcPort = integer<uint16_t>(j, "srcPort", 0);
  e.dstPort = integer<uint16_t>(j, "dstPort", 0);
  e.pid = integer<int64_t>(j, "pid", 0);
  e.process = str(j, "process");
  e.uid = integer<int64_t>(j, "uid", -1);
  e.unit = str(j, "unit");
  return e;
}

}  // namespace ztdns::cli
