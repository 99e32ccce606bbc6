#include "control/log_query.h"

#include "control/time_text.h"

namespace ztdns::control {

namespace {

std::string stringField(const nlohmann::json& event, const char* key) {
  auto it = event.find(key);
  return it != event.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

bool logEventMatches(const nlohmann::json& event, const LogShowParams& params,
                     std::chrono::system_clock::time_point now) {
  if (!event.is_object()) return false;
  if (params.sinceSeconds) {
    auto t = parseRfc3339(stringField(event, "time"));
    if (!t || *t < now - std::chrono::seconds(*params.sinceSeconds)) return false;
  }
  if (params.process) {
    std::string process = stringField(event, "process");
    std::string base =
        process.substr(process.rfind('/') == std::string::npos ? 0 : process.rfind('/') + 1);
    if (process != *params.process && base != *params.process &&
        stringField(event, "unit") != *params.process) {
      return false;
    }
  }
  if (params.dst) {
    auto dst = IpAddress::parse(stringField(event, "dst"));
    if (!dst || !params.dst->contains(dst->unmapped())) return false;
  }
  return true;
}

}  // namespace ztdns::control
