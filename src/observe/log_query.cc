#include "observe/log_query.h"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>

#include "observe/channels.h"

namespace ztdns::observe {

Result<LogShowRequest> parseLogShowArgs(const std::vector<std::string>& args) {
  LogShowRequest r;
  if (args.empty()) return Error{"log show: which log? blocked, permitted or operational"};
  auto channel = parseChannel(args[0]);
  if (!channel) {
    return Error{"log show: \"" + args[0] + "\" is not a log (blocked, permitted, operational)"};
  }
  r.channel = *channel;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "json") {
      r.json = true;
      continue;
    }
    auto eq = a.find('=');
    if (eq == std::string::npos) return Error{"log show: unknown word \"" + a + "\""};
    std::string key = a.substr(0, eq), value = a.substr(eq + 1);
    if (key == "since") {
      auto d = parseDuration(value);
      if (!d)
        return Error{"log show: since=\"" + value + "\" is not a duration (e.g. 90s, 10m, 2h, 1d)"};
      r.filter.since = *d;
    } else if (key == "process") {
      if (value.empty()) return Error{"log show: process= needs a name or path"};
      r.filter.process = value;
    } else if (key == "dst") {
      auto p = IpPrefix::parse(value);
      if (!p) return Error{"log show: dst=\"" + value + "\" is not an IP address or prefix"};
      r.filter.dst = p->normalized();
    } else {
      return Error{"log show: unknown filter \"" + key + "\" (since, process, dst)"};
    }
  }
  return r;
}

namespace {

std::string basename(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string str(const nlohmann::json& e, const char* key) {
  auto it = e.find(key);
  if (it == e.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

bool matchesFilter(const nlohmann::json& e, const LogFilter& f, SystemTime now) {
  if (!e.is_object()) return false;
  if (f.since) {
    auto t = parseTime(str(e, "time"));
    if (!t || *t < now - *f.since) return false;
  }
  if (f.process) {
    // The executable path, its basename, or the systemd unit (docs/cli.md, as
    // control::logEventMatches).
    std::string process = str(e, "process");
    std::string unit = str(e, "unit");
    const std::string& want = *f.process;
    bool match =
        (!process.empty() &&
         (process == want || (want.find('/') == std::string::npos && basename(process) == want))) ||
        (!unit.empty() && unit == want);
    if (!match) return false;
  }
  if (f.dst) {
    auto a = IpAddress::parse(str(e, "dst"));
    if (!a || !f.dst->contains(a->unmapped())) return false;
  }
  return true;
}

Result<LogQueryResult> queryLog(const std::string& logDir, Channel channel, const LogFilter& filter,
                                SystemTime now) {
  namespace fs = std::filesystem;
  std::string base = channelFileName(channel);
  std::error_code ec;
  if (!fs::is_directory(logDir, ec)) return Error{"log directory " + logDir + " does not exist"};
  // Rotated generations: base.N, oldest = highest N.
  std::vector<std::pair<unsigned long, std::string>> rotated;
  for (const auto& entry : fs::directory_iterator(logDir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() <= base.size() + 1 || name.compare(0, base.size() + 1, base + ".") != 0)
      continue;
    std::string suffix = name.substr(base.size() + 1);
    if (suffix.empty() || !std::all_of(suffix.begin(), suffix.end(), ::isdigit)) continue;
    rotated.emplace_back(std::stoul(suffix), entry.path().string());
  }
  std::sort(rotated.begin(), rotated.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  LogQueryResult out;
  for (auto& [n, path] : rotated) out.files.push_back(path);
  if (fs::exists(logDir + "/" + base, ec)) out.files.push_back(logDir + "/" + base);
  std::deque<nlohmann::json> kept;
  for (const auto& path : out.files) {
    // A file last written before the window holds nothing newer: skip it unread.
    if (filter.since && path != logDir + "/" + base) {
      auto mtime = fs::last_write_time(path, ec);
      if (!ec) {
        auto wall = std::chrono::time_point_cast<SystemTime::duration>(
            mtime - fs::file_time_type::clock::now() + std::chrono::system_clock::now());
        if (wall < now - *filter.since) continue;
      }
    }
    std::ifstream in(path);
    if (!in) continue;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        ++out.malformedLines;
        continue;
      }
      if (!matchesFilter(j, filter, now)) continue;
      kept.push_back(std::move(j));
      if (filter.last && kept.size() > *filter.last) kept.pop_front();
    }
  }
  out.events.assign(std::make_move_iterator(kept.begin()), std::make_move_iterator(kept.end()));
  return out;
}

namespace {

std::string endpoint(const std::string& address, const std::string& port) {
  if (address.empty()) return "?";
  std::string a = address.find(':') != std::string::npos ? "[" + address + "]" : address;
  return port.empty() ? a : a + ":" + port;
}

std::string shortTime(const std::string& t) {
  // 2026-01-02T03:04:05.123456Z -> 2026-01-02 03:04:05
  if (t.size() >= 19 && t[10] == 'T') return t.substr(0, 10) + " " + t.substr(11, 8);
  return t;
}

std::string reasonText(const nlohmann::json& e) {
  auto it = e.find("reason");
  if (it == e.end() || !it->is_object()) return "";
  std::string type = str(*it, "type");
  std::string name = str(*it, "name");
  std::string server = str(*it, "server");
  std::string text = type;
  if (!name.empty()) text += " " + name;
  if (!server.empty()) text += " via " + server;
  return text;
}

std::string renderRows(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& r : rows) {
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t c = 0; c < r.size(); ++c) {
      s += r[c];
      if (c + 1 < r.size()) s += std::string(width[c] - r[c].size() + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out += s + "\n";
  };
  line(header);
  std::vector<std::string> rule;
  for (size_t c = 0; c < header.size(); ++c) rule.push_back(std::string(width[c], '-'));
  line(rule);
  for (const auto& r : rows) line(r);
  return out;
}

}  // namespace

std::string renderLogTable(Channel channel, const std::vector<nlohmann::json>& events) {
  std::vector<std::vector<std::string>> rows;
  if (channel == Channel::Operational) {
    for (const auto& e : events) {
      rows.push_back(
          {shortTime(str(e, "time")), str(e, "eventId"), str(e, "action"), str(e, "message")});
    }
    return renderRows({"TIME (UTC)", "ID", "ACTION", "MESSAGE"}, rows);
  }
  for (const auto& e : events) {
    std::string action = str(e, "action");
    std::string flow = endpoint(str(e, "src"), str(e, "srcPort")) + " -> " +
                       endpoint(str(e, "dst"), str(e, "dstPort"));
    std::string pid = str(e, "pid");
    rows.push_back({shortTime(str(e, "time")), action, str(e, "protocol"), flow,
                    pid.empty() ? "-" : pid, str(e, "process"),
                    str(e, "unit").empty() ? "-" : str(e, "unit"), reasonText(e)});
  }
  std::vector<std::string> header = {"TIME (UTC)", "ACTION",  "PROTO", "SOURCE -> DESTINATION",
                                     "PID",        "PROCESS", "UNIT",  "REASON"};
  if (channel == Channel::Blocked) {
    header.pop_back();
    for (auto& r : rows) r.pop_back();
  }
  return renderRows(header, rows);
}

std::string renderJsonLines(const std::vector<nlohmann::json>& events) {
  std::string out;
  for (const auto& e : events)
    out += e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return out;
}

}  // namespace ztdns::observe
