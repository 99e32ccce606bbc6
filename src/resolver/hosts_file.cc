#include "resolver/hosts_file.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace ztdns::resolver {

namespace {

std::string_view keyOf(const dns::Name& lower) {
  return {reinterpret_cast<const char*>(lower.data()), lower.size()};
}

}  // namespace

HostsFile HostsFile::parse(std::string_view text) {
  HostsFile hosts;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);

    std::vector<std::string_view> fields;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
      if (j > i) fields.push_back(line.substr(i, j - i));
      i = j;
    }
    if (fields.size() < 2) continue;
    auto address = IpAddress::parse(fields[0]);
    if (!address) continue;
    for (size_t f = 1; f < fields.size(); ++f) {
      auto name = dns::Name::fromText(fields[f]);
      if (!name) continue;
      auto& list = hosts.names_[std::string(keyOf(name->lowered()))];
      if (std::find(list.begin(), list.end(), *address) == list.end()) list.push_back(*address);
    }
  }
  return hosts;
}

Result<HostsFile> HostsFile::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::fromErrno("hosts file " + path, errno);
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str());
}

const std::vector<IpAddress>* HostsFile::find(const dns::Name& lowerName) const {
  auto it = names_.find(keyOf(lowerName));
  return it == names_.end() ? nullptr : &it->second;
}

std::vector<IpAddress> HostsFile::allAddresses() const {
  std::vector<IpAddress> out;
  for (const auto& [name, addresses] : names_)
    out.insert(out.end(), addresses.begin(), addresses.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace ztdns::resolver
