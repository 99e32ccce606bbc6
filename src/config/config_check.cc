#include "config/config_check.h"

#include "config/config.h"

namespace ztdns::config {

int runConfigCheck(const std::string& path, std::ostream& out, std::ostream& err) {
  LoadResult r = loadConfigFile(path);
  const Diagnostics& d = r.diagnostics;
  if (r.fromIntune) {
    err << path
        << ": note: an Intune windowsZtdnsConfiguration export; mapped onto ztdnsd's "
           "schema with ZTDNS enabled\n";
  }
  for (const auto& e : d.errors) err << path << ": error: " << e << "\n";
  for (const auto& w : d.warnings) err << path << ": warning: " << w << "\n";
  for (const auto& u : d.unmapped) err << path << ": not mapped: " << u << "\n";
  if (!d.ok()) {
    err << "ztdnsd: configuration file " << path << " test failed (" << d.errors.size()
        << (d.errors.size() == 1 ? " error" : " errors") << ")\n";
    return 1;
  }
  out << "ztdnsd: configuration file " << path << " test is successful\n";
  return 0;
}

}  // namespace ztdns::config
