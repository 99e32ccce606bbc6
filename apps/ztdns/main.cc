// ztdns: the Zero Trust DNS command line (see docs/cli.md).
#include <csignal>
#include <iostream>

#include "cli/cli.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // `ztdns log show | head` must not die mid-line
  std::vector<std::string> args(argv + 1, argv + argc);
  ztdns::cli::Environment env(std::cout, std::cerr);
  int rc = ztdns::cli::runCli(args, env);
  std::cout.flush();
  return rc;
}
