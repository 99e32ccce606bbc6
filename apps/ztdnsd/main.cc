// ztdnsd: the daemon's thin main. Command-line parsing and --check live in ztdns::config so
// that the daemon wiring and the tests share them.
#include <iostream>

#include "config/config.h"
#include "config/config_check.h"
#include "config/daemon_options.h"

int main(int argc, char** argv) {
  using namespace ztdns::config;
  auto options = parseDaemonOptions(argc, argv);
  if (!options) {
    std::cerr << options.error().message << "\n";
    return 2;
  }
  if (options->help) {
    std::cout << options->helpText;
    return 0;
  }
  if (options->version) {
    std::cout << daemonVersionLine() << "\n";
    return 0;
  }
  if (options->check) return runConfigCheck(options->configPath, std::cout, std::cerr);

  // A missing file starts from the defaults (ZTDNS disabled), so a fresh install is harmless;
  // a file that exists but fails validation stops the start-up with every problem listed.
  LoadResult loaded = loadConfigFileOrDefaults(options->configPath);
  for (const auto& e : loaded.diagnostics.errors) {
    std::cerr << options->configPath << ": error: " << e << "\n";
  }
  for (const auto& w : loaded.diagnostics.warnings) {
    std::cerr << options->configPath << ": warning: " << w << "\n";
  }
  for (const auto& u : loaded.diagnostics.unmapped) {
    std::cerr << options->configPath << ": not mapped: " << u << "\n";
  }
  if (!loaded.config) return 1;
  std::cerr << "ztdnsd: daemon not yet wired\n";
  return 1;
}
