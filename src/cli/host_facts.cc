#include "cli/host_facts.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ztdns::cli {

namespace {

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    size_t end = pos;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
    if (end > pos) out.push_back(line.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    out.push_back(text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return out;
}

template <class T>
bool hex(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// /proc/net prints each 32-bit word of an address as a native-endian integer.
bool procAddress(std::string_view text, bool v6, IpAddress& out) {
  size_t words = v6 ? 4 : 1;
  if (text.size() != words * 8) return false;
  uint8_t bytes[16];
  for (size_t i = 0; i < words; ++i) {
    uint32_t w = 0;
    if (!hex(text.substr(i * 8, 8), w)) return false;
    std::memcpy(bytes + i * 4, &w, 4);
  }
  out = v6 ? IpAddress::v6(bytes) : IpAddress::v4(bytes);
  return true;
}

// if_inet6 and ipv6_route print addresses as 32 hex digits in network order.
bool plainV6(std::string_view text, IpAddress& out) {
  if (text.size() != 32) return false;
  uint8_t bytes[16];
  for (int i = 0; i < 16; ++i)
    if (!hex(text.substr(static_cast<size_t>(i) * 2, 2), bytes[i])) return false;
  out = IpAddress::v6(bytes);
  return true;
}

std::string trimNewline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string lowerText(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void addJsonFiles(const std::filesystem::path& dir, std::vector<std::string>& out) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return;
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".json") found.push_back(entry.path().string());
  }
  std::sort(found.begin(), found.end());
  out.insert(out.end(), found.begin(), found.end());
}

}  // namespace

std::string readFileOr(const std::string& path, const std::string& fallback) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fallback;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ResolvConf parseResolvConf(std::string_view text) {
  ResolvConf rc;
  for (auto line : lines(text)) {
    auto hashPos = line.find_first_of("#;");
    if (hashPos != std::string_view::npos) line = line.substr(0, hashPos);
    auto f = fields(line);
    if (f.size() < 2 || f[0] != "nameserver") continue;
    std::string_view value = f[1];
    value = value.substr(0, value.find('%'));  // fe80::1%eth0
    if (auto a = IpAddress::parse(value))
      rc.nameservers.push_back(a->unmapped());
    else
      rc.unparsable.emplace_back(f[1]);
  }
  return rc;
}

Result<ResolvConf> readResolvConf(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::fromErrno("cannot read " + path, errno);
  std::ostringstream s;
  s << in.rdbuf();
  return parseResolvConf(s.str());
}

std::vector<BoundSocket> parseProcNetSockets(std::string_view text, bool tcp, bool v6) {
  std::vector<BoundSocket> out;
  auto all = lines(text);
  for (size_t i = 1; i < all.size(); ++i) {  // line 0 is the header
    auto f = fields(all[i]);
    if (f.size() < 10) continue;
    std::string_view local = f[1];
    auto colon = local.rfind(':');
    if (colon == std::string_view::npos) continue;
    unsigned state = 0;
    if (!hex(f[3], state)) continue;
    if (tcp ? state != 0x0A : state != 0x07) continue;  // LISTEN / unconnected UDP
    BoundSocket s;
    s.protocol = tcp ? "tcp" : "udp";
    if (!procAddress(local.substr(0, colon), v6, s.address)) continue;
    if (!hex(local.substr(colon + 1), s.port)) continue;
    std::from_chars(f[9].data(), f[9].data() + f[9].size(), s.inode);
    s.address = s.address.unmapped();
    out.push_back(s);
  }
  return out;
}

std::vector<BoundSocket> readBoundSockets(const std::string& procRoot) {
  std::vector<BoundSocket> out;
  struct File {
    const char* name;
    bool tcp, v6;
  };
  for (const File& f : {File{"tcp", true, false}, File{"tcp6", true, true},
                        File{"udp", false, false}, File{"udp6", false, true}}) {
    auto parsed = parseProcNetSockets(readFileOr(procRoot + "/net/" + f.name, ""), f.tcp, f.v6);
    out.insert(out.end(), parsed.begin(), parsed.end());
  }
  return out;
}

std::map<uint64_t, SocketOwner> findSocketOwners(const std::string& procRoot,
                                                 const std::set<uint64_t>& inodes) {
  std::map<uint64_t, SocketOwner> owners;
  if (inodes.empty()) return owners;
  std::error_code ec;
  for (const auto& proc : std::filesystem::directory_iterator(procRoot, ec)) {
    std::string pidText = proc.path().filename().string();
    pid_t pid = 0;
    auto [p, perr] = std::from_chars(pidText.data(), pidText.data() + pidText.size(), pid);
    if (perr != std::errc() || p != pidText.data() + pidText.size()) continue;
    std::error_code fdErr;
    for (const auto& fd : std::filesystem::directory_iterator(proc.path() / "fd", fdErr)) {
      char target[128];
      ssize_t n = ::readlink(fd.path().c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      std::string_view t(target, static_cast<size_t>(n));
      if (t.substr(0, 8) != "socket:[" || t.back() != ']') continue;
      uint64_t inode = 0;
      std::from_chars(t.data() + 8, t.data() + t.size() - 1, inode);
      if (!inodes.count(inode) || owners.count(inode)) continue;
      SocketOwner o;
      o.pid = pid;
      o.command = trimNewline(readFileOr((proc.path() / "comm").string(), ""));
      char exe[4096];
      ssize_t m = ::readlink((proc.path() / "exe").c_str(), exe, sizeof exe - 1);
      if (m > 0) o.executable.assign(exe, static_cast<size_t>(m));
      owners[inode] = o;
    }
    if (owners.size() == inodes.size()) break;
  }
  return owners;
}

Ipv6Facts parseIpv6Facts(std::string_view ifInet6, std::string_view ipv6Route) {
  Ipv6Facts facts;
  for (auto line : lines(ifInet6)) {
    auto f = fields(line);
    if (f.size() < 6) continue;
    IpAddress a;
    unsigned scope = 0, flags = 0;
    if (!plainV6(f[0], a) || !hex(f[3], scope) || !hex(f[4], flags)) continue;
    constexpr unsigned kTentative = 0x40, kDadFailed = 0x08;
    if (scope != 0 || (flags & (kTentative | kDadFailed))) continue;
    facts.globalAddresses.push_back(a);
  }
  for (auto line : lines(ipv6Route)) {
    auto f = fields(line);
    if (f.size() < 10) continue;
    unsigned destLen = 0, flags = 0;
    IpAddress dest;
    if (!plainV6(f[0], dest) || !hex(f[1], destLen) || !hex(f[8], flags)) continue;
    constexpr unsigned kUp = 0x1, kReject = 0x200;
    if (destLen == 0 && dest.isUnspecified() && (flags & kUp) && !(flags & kReject) &&
        f[9] != "lo") {
      facts.defaultRoute = true;
    }
  }
  return facts;
}

Ipv6Facts readIpv6Facts(const std::string& procRoot) {
  return parseIpv6Facts(readFileOr(procRoot + "/net/if_inet6", ""),
                        readFileOr(procRoot + "/net/ipv6_route", ""));
}

std::vector<BrowserPolicyFinding> inspectChromePolicy(const std::string& file,
                                                      const nlohmann::json& policy) {
  std::vector<BrowserPolicyFinding> out;
  const std::string browser = "Chrome/Chromium/Edge/Brave";
  if (!policy.is_object()) return out;
  if (auto it = policy.find("DnsOverHttpsMode"); it != policy.end() && it->is_string()) {
    std::string mode = lowerText(it->get<std::string>());
    if (mode == "secure") {
      out.push_back({file, browser, "DnsOverHttpsMode=secure", 2,
                     "the browser resolves only over its own DoH, bypassing the stub: its "
                     "connections are blocked "
                     "when enforcing and unaccounted for in audit mode"});
    } else if (mode == "automatic") {
      out.push_back({file, browser, "DnsOverHttpsMode=automatic", 1,
                     "the browser upgrades to its own DoH when it recognises the resolver, "
                     "bypassing the stub"});
    } else {
      out.push_back({file, browser, "DnsOverHttpsMode=" + mode, 0, "the browser's own DoH is off"});
    }
  }
  if (auto it = policy.find("BuiltInDnsClientEnabled"); it != policy.end() && it->is_boolean()) {
    if (it->get<bool>()) {
      out.push_back(
          {file, browser, "BuiltInDnsClientEnabled=true", 1,
           "the browser's built-in DNS client is forced on; it can switch to DoH on its own"});
    } else {
      out.push_back({file, browser, "BuiltInDnsClientEnabled=false", 0,
                     "the browser uses the system resolver"});
    }
  }
  return out;
}

std::vector<BrowserPolicyFinding> inspectFirefoxPolicy(const std::string& file,
                                                       const nlohmann::json& doc) {
  std::vector<BrowserPolicyFinding> out;
  if (!doc.is_object()) return out;
  auto policies = doc.find("policies");
  if (policies == doc.end() || !policies->is_object()) return out;
  if (auto doh = policies->find("DNSOverHTTPS"); doh != policies->end() && doh->is_object()) {
    auto enabled = doh->find("Enabled");
    if (enabled != doh->end() && enabled->is_boolean()) {
      if (enabled->get<bool>()) {
        out.push_back({file, "Firefox", "DNSOverHTTPS.Enabled=true", 2,
                       "Firefox resolves over its own DoH (TRR), bypassing the stub"});
      } else {
        out.push_back({file, "Firefox", "DNSOverHTTPS.Enabled=false", 0, "Firefox's DoH is off"});
      }
    }
  }
  if (auto prefs = policies->find("Preferences"); prefs != policies->end() && prefs->is_object()) {
    if (auto trr = prefs->find("network.trr.mode"); trr != prefs->end()) {
      const nlohmann::json& v = trr->is_object() && trr->contains("Value") ? (*trr)["Value"] : *trr;
      if (v.is_number_integer()) {
        int mode = v.get<int>();
        if (mode == 3) {
          out.push_back(
              {file, "Firefox", "network.trr.mode=3", 2, "Firefox resolves only over its own DoH"});
        } else if (mode == 2) {
          out.push_back(
              {file, "Firefox", "network.trr.mode=2", 1, "Firefox tries its own DoH first"});
        } else {
          out.push_back({file, "Firefox", "network.trr.mode=" + std::to_string(mode), 0,
                         "Firefox's DoH is off"});
        }
      }
    }
  }
  return out;
}

std::vector<BrowserPolicyFinding> scanBrowserPolicies(const std::string& root,
                                                      std::vector<std::string>* filesSeen) {
  namespace fs = std::filesystem;
  std::vector<std::string> chrome, firefox;
  for (const char* dir : {"/etc/opt/chrome/policies/managed", "/etc/chromium/policies/managed",
                          "/etc/chromium-browser/policies/managed",
                          "/etc/opt/edge/policies/managed", "/etc/brave/policies/managed"}) {
    addJsonFiles(fs::path(root + dir), chrome);
  }
  std::error_code ec;
  if (fs::exists(root + "/etc/firefox/policies/policies.json", ec))
    firefox.push_back(root + "/etc/firefox/policies/policies.json");
  for (const char* base : {"/usr/lib", "/usr/lib64", "/opt"}) {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(root + base, ec)) {
      std::string name = entry.path().filename().string();
      if (name.rfind("firefox", 0) != 0) continue;
      fs::path policy = entry.path() / "distribution" / "policies.json";
      std::error_code e2;
      if (fs::exists(policy, e2)) found.push_back(policy.string());
    }
    std::sort(found.begin(), found.end());
    firefox.insert(firefox.end(), found.begin(), found.end());
  }
  std::vector<BrowserPolicyFinding> out;
  auto load = [&](const std::string& file, bool isFirefox) {
    if (filesSeen) filesSeen->push_back(file);
    auto j = nlohmann::json::parse(readFileOr(file, ""), nullptr, false);
    if (j.is_discarded()) {
      out.push_back({file, isFirefox ? "Firefox" : "Chrome/Chromium/Edge/Brave", "(unparsable)", 1,
                     "the policy file is not valid JSON, so the browser ignores it"});
      return;
    }
    auto found = isFirefox ? inspectFirefoxPolicy(file, j) : inspectChromePolicy(file, j);
    out.insert(out.end(), found.begin(), found.end());
  };
  for (const auto& f : chrome) load(f, false);
  for (const auto& f : firefox) load(f, true);
  return out;
}

}  // namespace ztdns::cli
