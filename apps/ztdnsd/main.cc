// ztdnsd: the daemon's thin main. Command-line parsing and --check live in ztdns::config,
// the wiring in ztdns::daemon; this file only owns the process: signals and exit codes.
#include <signal.h>

#include <cstring>
#include <iostream>

#include "config/config.h"
#include "config/config_check.h"
#include "config/daemon_options.h"
#include "daemon/daemon.h"

int main(int argc, char** argv) {
  using namespace ztdns::config;
  // Blocked before any thread exists, so every thread inherits the mask and the signals
  // arrive only at the sigwaitinfo() below.
  sigset_t handled;
  sigemptyset(&handled);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&handled, s);
  pthread_sigmask(SIG_BLOCK, &handled, nullptr);
  signal(SIGPIPE, SIG_IGN);

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

  auto daemon =
      ztdns::daemon::Daemon::start(*options, std::move(*loaded.config), std::move(loaded.digest));
  if (!daemon) {
    std::cerr << "ztdnsd: " << daemon.error().message << "\n";
    return 1;
  }
  std::cerr << "ztdnsd: ready, control socket " << options->runDir << "/control.sock\n";

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&handled, &info);
    if (sig == SIGHUP) {
      (*daemon)->requestReload();
      continue;
    }
    if (sig == SIGTERM || sig == SIGINT) {
      // The control thread owns the running config and may change it until stop() has
      // joined it, so the state is read (and the line written) after stop().
      (*daemon)->stop();
      std::cerr << "ztdnsd: " << strsignal(sig) << ", stopping ("
                << ((*daemon)->config().enabled ? "enforcement stays in place"
                                                : "ZTDNS is disabled: nothing is enforced")
                << ")\n";
      return 0;
    }
  }
}
