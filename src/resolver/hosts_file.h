// HostsFile: names and addresses from an /etc/hosts file, for hostsFileResolutionEnabled.
// Lines are "address name [aliases...]" with # comments; addresses with a zone index
// (fe80::1%eth0) and names that are not valid domain names are skipped.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/ip.h"
#include "common/result.h"
#include "dns/name.h"

namespace ztdns::resolver {

class HostsFile {
 public:
  static HostsFile parse(std::string_view text);
  static Result<HostsFile> load(const std::string& path);

  // Addresses for a lowercase name, in file order, or nullptr.
  const std::vector<IpAddress>* find(const dns::Name& lowerName) const;
  // Every address in the file, each once.
  std::vector<IpAddress> allAddresses() const;
  size_t size() const { return names_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  // Key: the lowercase wire name.
  std::unordered_map<std::string, std::vector<IpAddress>, Hash, std::equal_to<>> names_;
};

}  // namespace ztdns::resolver
