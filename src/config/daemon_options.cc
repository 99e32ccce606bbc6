#include "config/daemon_options.h"

#include <CLI/CLI.hpp>

#include "config/parse_context.h"

#ifndef ZTDNS_VERSION
#define ZTDNS_VERSION "unknown"
#endif

namespace ztdns::config {

Result<DaemonOptions> parseDaemonOptions(int argc, const char* const* argv) {
  DaemonOptions o;
  CLI::App app{
      "ztdnsd: Zero Trust DNS for Linux (default-deny egress, encrypted-only stub "
      "resolver)",
      "ztdnsd"};
  app.add_option("--config", o.configPath,
                 "configuration file (JSON; our schema or an Intune "
                 "windowsZtdnsConfiguration export)")
      ->capture_default_str();
  app.add_option("--run-dir", o.runDir, "runtime directory (control socket)")
      ->capture_default_str();
  app.add_option("--state-dir", o.stateDir, "state directory")->capture_default_str();
  app.add_option("--log-dir", o.logDir, "log directory (connection and operational channels)")
      ->capture_default_str();
  app.add_flag("--check", o.check, "validate the configuration, print every problem, and exit");
  app.add_flag("--version", o.version, "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success&) {  // --help
    o.help = true;
    o.helpText = app.help();
    return o;
  } catch (const CLI::ParseError& e) {
    return Error{std::string("ztdnsd: ") + e.what() + " (see ztdnsd --help)", 2};
  }
  for (const auto& [name, value] :
       {std::pair{"--config", &o.configPath}, std::pair{"--run-dir", &o.runDir},
        std::pair{"--state-dir", &o.stateDir}, std::pair{"--log-dir", &o.logDir}}) {
    if (value->empty()) return Error{std::string("ztdnsd: ") + name + " must not be empty", 2};
    // The daemon outlives the shell it was started from, and its messages and the CLI's name
    // these paths; relative to an unknown working directory they would mislead. Refused
    // before anything is created. `--check` only reads a file, now, from here: like
    // `nginx -t -c ./nginx.conf`, a relative --config is fine there.
    const bool checkOnly = o.check && std::string_view(name) == "--config";
    if ((*value)[0] != '/' && !checkOnly) {
      return Error{std::string("ztdnsd: ") + name + ": " + detail::quoteText(*value) +
                       " is not an absolute path",
                   2};
    }
  }
  return o;
}

std::string daemonVersionLine() {
  return std::string("ztdnsd ") + ZTDNS_VERSION;
}

}  // namespace ztdns::config
