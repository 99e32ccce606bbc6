// DaemonOptions: ztdnsd's command line, fixed by issue 2 because every test relies on it:
//   ztdnsd --config FILE --run-dir DIR --state-dir DIR --log-dir DIR [--check] [--version]
// Several instances run side by side (one per lab namespace), each with its own directories.
#pragma once

#include <string>

#include "common/result.h"

namespace ztdns::config {

struct DaemonOptions {
  std::string configPath = "/etc/ztdns/ztdns.json";
  std::string runDir = "/run/ztdns";        // control socket, pid file
  std::string stateDir = "/var/lib/ztdns";  // state that survives restarts
  std::string logDir = "/var/log/ztdns";    // the three channel files
  bool check = false;                       // validate the config, print every problem, exit 0/1
  bool version = false;                     // print versionLine() and exit 0
  bool help = false;                        // print helpText and exit 0
  std::string helpText;
};

// Errors are usage errors, in words, e.g. "ztdnsd: The following argument was not expected:
// --bogus (see ztdnsd --help)"; ztdnsd exits 2 on them. The four paths must be absolute
// ("ztdnsd: --run-dir: \"run\" is not an absolute path").
Result<DaemonOptions> parseDaemonOptions(int argc, const char* const* argv);

// "ztdnsd 0.1.0"
std::string daemonVersionLine();

}  // namespace ztdns::config
