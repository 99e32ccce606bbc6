#include "observe/operational_events.h"

#include <unistd.h>

#include <array>

namespace ztdns::observe::ops {

namespace {

Event operational(int id, const char* action, std::string message, nlohmann::json fields) {
  Event e;
  e.channel = Channel::Operational;
  e.eventId = id;
  e.action = action;
  e.message = std::move(message);
  e.fields = std::move(fields);
  return e;
}

std::string byText(const Actor& by) {
  return " by process (" + (by.pid ? std::to_string(*by.pid) : std::string("?")) + ") " +
         (by.executable.empty() ? std::string("unknown") : by.executable);
}

void addActor(nlohmann::json& f, const Actor& by) {
  f["pid"] = by.pid ? nlohmann::json(*by.pid) : nlohmann::json(nullptr);
  f["process"] = by.executable.empty() ? "unknown" : by.executable;
  f["uid"] = by.uid ? nlohmann::json(*by.uid) : nlohmann::json(nullptr);
}

}  // namespace

Actor actorFromPid(pid_t pid, std::optional<uint32_t> uid) {
  Actor a;
  a.pid = static_cast<uint32_t>(pid);
  a.uid = uid;
  std::array<char, 4096> buf;
  std::string link = "/proc/" + std::to_string(pid) + "/exe";
  ssize_t n = ::readlink(link.c_str(), buf.data(), buf.size() - 1);
  if (n > 0) a.executable.assign(buf.data(), static_cast<size_t>(n));
  return a;
}

Event serviceStart(std::string_view status, std::string_view version, bool enabled, bool audit) {
  return operational(
      event_id::kServiceStart, "START", "START - ZTDNS service with status " + std::string(status),
      {{"status", status}, {"version", version}, {"enabled", enabled}, {"audit", audit}});
}

Event serviceStop(std::string_view status) {
  return operational(event_id::kServiceStop, "STOP",
                     "STOP - ZTDNS service with status " + std::string(status),
                     {{"status", status}});
}

Event stateChanged(bool enabled, bool audit, const Actor& by) {
  std::string state = !enabled ? "disabled" : (audit ? "enabled (audit)" : "enabled (enforcing)");
  nlohmann::json f = {{"enabled", enabled}, {"audit", audit}, {"state", state}};
  addActor(f, by);
  return operational(event_id::kStateUpdated, "UPDATE", "UPDATE - State to " + state + byText(by),
                     f);
}

Event serversUpdated(const std::vector<std::string>& servers, const Actor& by) {
  nlohmann::json f = {{"servers", servers}};
  addActor(f, by);
  std::string list;
  for (const auto& s : servers) list += (list.empty() ? "" : ", ") + s;
  return operational(
      event_id::kServersUpdated, "UPDATE",
      "UPDATE - Trusted servers (" + (list.empty() ? std::string("none") : list) + ")" + byText(by),
      f);
}

Event exceptionAdded(std::string_view name, const std::vector<IpPrefix>& prefixes,
                     const Actor& by) {
  std::vector<std::string> text;
  for (const auto& p : prefixes) text.push_back(p.toString());
  nlohmann::json f = {{"name", name}, {"prefixes", text}};
  addActor(f, by);
  std::string list;
  for (const auto& t : text) list += (list.empty() ? "" : ",") + t;
  return operational(event_id::kExceptionAdded, "ADD",
                     "ADD - Exceptions " + std::string(name) + " (" + list + ")" + byText(by), f);
}

Event exceptionRemoved(std::string_view name, const Actor& by) {
  nlohmann::json f = {{"name", name}};
  addActor(f, by);
  return operational(event_id::kExceptionRemoved, "REMOVE",
                     "REMOVE - Exceptions " + std::string(name) + byText(by), f);
}

Event upstreamHealth(std::string_view server, bool up, std::string_view error) {
  nlohmann::json f = {{"server", server}, {"state", up ? "up" : "down"}};
  if (!error.empty()) f["error"] = error;
  std::string m = "HEALTH - Server " + std::string(server) + (up ? " is up" : " is down");
  if (!error.empty()) m += ": " + std::string(error);
  return operational(event_id::kUpstreamHealth, "HEALTH", m, f);
}

Event allowCapacity(std::string_view what, uint64_t count, size_t size, uint32_t capacity) {
  return operational(event_id::kAllowCapacity, "CAPACITY",
                     "CAPACITY - Allow set full (" + std::to_string(size) + "/" +
                         std::to_string(capacity) + "): " + std::to_string(count) + " " +
                         std::string(what),
                     {{"what", what}, {"count", count}, {"size", size}, {"capacity", capacity}});
}

Event suppressed(const SuppressedSummary& s, std::string_view channel) {
  std::vector<uint16_t> ports = s.dstPorts;
  nlohmann::json f = {{"count", s.count},
                      {"channel", channel},
                      {"connectionAction", s.action},
                      {"process", s.process},
                      {"dst", s.dst},
                      {"dstPorts", ports},
                      {"protocol", s.protocol},
                      {"firstTime", formatTime(s.first)},
                      {"lastTime", formatTime(s.last)}};
  if (s.overflow) f["overflow"] = true;
  std::string what = s.overflow ? std::string("for other processes and destinations")
                                : s.action + " " + s.process + " -> " + s.dst;
  return operational(event_id::kSuppressed, "SUPPRESSED",
                     "SUPPRESSED - " + std::to_string(s.count) + " similar events suppressed in " +
                         std::string(channel) + ": " + what,
                     f);
}

Event kernelRateGuard(uint64_t notLogged, std::optional<uint32_t> limitPerSecond) {
  nlohmann::json f = {{"count", notLogged}, {"source", "kernel"}};
  std::string m = "SUPPRESSED - " + std::to_string(notLogged) +
                  " connection attempts over the kernel log rate were enforced but not logged";
  if (limitPerSecond) {
    f["limitPerSecond"] = *limitPerSecond;
    m += " (limit " + std::to_string(*limitPerSecond) + "/s)";
  }
  return operational(event_id::kSuppressed, "SUPPRESSED", m, f);
}

Event logLoss(std::string_view channel, uint64_t lines, SystemTime since, std::string_view reason) {
  return operational(
      event_id::kLogLoss, "LOSS",
      "LOSS - " + std::to_string(lines) + " log lines lost in " + std::string(channel) + " since " +
          formatTime(since) + ": " + std::string(reason),
      {{"channel", channel}, {"count", lines}, {"since", formatTime(since)}, {"reason", reason}});
}

Event configUpdated(std::string_view what, const Actor& by) {
  nlohmann::json f = {{"what", what}};
  addActor(f, by);
  return operational(event_id::kConfigUpdated, "UPDATE",
                     "UPDATE - Configuration: " + std::string(what) + byText(by), f);
}

Event enforcementError(std::string_view error) {
  return operational(
      event_id::kEnforcementError, "ERROR",
      "ERROR - Enforcement change failed, previous policy kept: " + std::string(error),
      {{"error", error}});
}

Event attributionMode(std::string_view mode, std::string_view detail) {
  return operational(event_id::kAttribution, "ATTRIBUTION",
                     "ATTRIBUTION - Processes are named by " + std::string(mode) +
                         (detail.empty() ? std::string() : ": " + std::string(detail)),
                     {{"mode", mode}, {"detail", detail}});
}

}  // namespace ztdns::observe::ops
