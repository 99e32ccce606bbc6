// The ztdns command line: `ztdns [--socket PATH] [--json] [--timeout S] VERB ...`.
//
// runCli() is the whole program without the process around it, so tests run it in-process
// against a control::Server. Exit codes: 0 ok, 1 failure or a failed check, 2 usage.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace ztdns::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct Environment {
  std::ostream& out;
  std::ostream& err;
  // Environment variables (ZTDNS_SOCKET, ZTDNS_RESOLV_CONF, ...); the process's by default.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  std::function<std::chrono::system_clock::time_point()> now;

  Environment(std::ostream& o, std::ostream& e);
};

// `args` excludes the program name.
int runCli(const std::vector<std::string>& args, Environment& env);

}  // namespace ztdns::cli
