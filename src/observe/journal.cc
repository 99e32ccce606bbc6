#include "observe/journal.h"

#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include <cctype>

namespace ztdns::observe {

std::string journalFieldName(std::string_view camel) {
  std::string out;
  out.reserve(camel.size() + 4);
  for (size_t i = 0; i < camel.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(camel[i]);
    if (std::isupper(c) && i > 0 && !out.empty() && out.back() != '_' &&
        !std::isupper(static_cast<unsigned char>(camel[i - 1]))) {
      out.push_back('_');
    }
    if (std::isalnum(c)) {
      out.push_back(static_cast<char>(std::toupper(c)));
    } else {
      out.push_back('_');
    }
  }
  return out;
}

namespace {

int priorityOf(const Event& e) {
  switch (e.eventId) {
    case event_id::kBlock:
      return LOG_NOTICE;
    case event_id::kPermit:
      return LOG_INFO;
    case event_id::kLogLoss:
    case event_id::kEnforcementError:
      return LOG_ERR;
    case event_id::kAllowCapacity:
    case event_id::kSuppressed:
      return LOG_WARNING;
    case event_id::kUpstreamHealth:
      return e.fields.is_object() && e.fields.value("state", "") == "down" ? LOG_WARNING : LOG_INFO;
    default:
      return LOG_NOTICE;
  }
}

void flatten(const std::string& prefix, const nlohmann::json& value,
             std::vector<std::string>& out) {
  if (value.is_null()) return;
  if (value.is_object()) {
    for (const auto& [k, v] : value.items()) flatten(prefix + "_" + journalFieldName(k), v, out);
    return;
  }
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  // Journal field names: at most 64 characters.
  std::string name = prefix.size() > 64 ? prefix.substr(0, 64) : prefix;
  out.push_back(name + "=" + text);
}

}  // namespace

std::vector<std::string> journalFields(const Event& e) {
  std::vector<std::string> out;
  out.push_back("MESSAGE=" + e.message);
  out.push_back("PRIORITY=" + std::to_string(priorityOf(e)));
  out.push_back("SYSLOG_IDENTIFIER=ztdns");
  out.push_back(std::string("ZTDNS_CHANNEL=") + channelName(e.channel));
  out.push_back("ZTDNS_EVENT_ID=" + std::to_string(e.eventId));
  out.push_back("ZTDNS_ACTION=" + e.action);
  if (e.fields.is_object()) {
    for (const auto& [k, v] : e.fields.items()) {
      std::string name = journalFieldName(k);
      if (name == "EVENT_ID" || name == "ACTION" || name == "CHANNEL") continue;
      flatten("ZTDNS_" + name, v, out);
    }
  }
  return out;
}

int sendToJournal(const std::vector<std::string>& fields) {
  std::vector<iovec> iov(fields.size());
  for (size_t i = 0; i < fields.size(); ++i) {
    iov[i].iov_base = const_cast<char*>(fields[i].data());
    iov[i].iov_len = fields[i].size();
  }
  return sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
}

}  // namespace ztdns::observe
