// Context: what every verb needs: output streams, the global options, and a lazily
// connected control client with per-method timeouts.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/cli.h"
#include "common/result.h"
#include "control/client.h"

namespace ztdns::cli {

class Context {
 public:
  Context(Environment& env, std::string socketPath, bool json,
          std::optional<std::chrono::milliseconds> timeout)
      : env_(env), socketPath_(std::move(socketPath)), json_(json), timeout_(timeout) {}

  Environment& env() { return env_; }
  std::ostream& out() { return env_.out; }
  std::ostream& err() { return env_.err; }
  bool json() const { return json_; }
  void setJson(bool json) { json_ = json_ || json; }
  const std::string& socketPath() const { return socketPath_; }
  std::optional<std::string> getenv(const std::string& name) const { return env_.getenv(name); }

  // The daemon call, typed; connects on first use.
  template <control::Method M>
  Result<typename control::MethodTraits<M>::Result> call(
      const typename control::MethodTraits<M>::Params& params) {
    auto client = connect();
    if (!client) return client.error();
    auto result = (*client)->template call<M>(params, timeoutFor(M));
    for (const auto& w : (*client)->lastWarnings()) err() << "warning: " << w << '\n';
    return result;
  }

  // Prints "ztdns: <message>" and returns kExitFailure.
  int fail(const std::string& message);
  int fail(const Error& error) { return fail(error.message); }
  // Prints the message and a pointer to the verb's help; returns kExitUsage.
  int usage(const std::string& verb, const std::string& message);

  // Pretty JSON on stdout.
  void printJson(const nlohmann::json& j);

 private:
  Result<control::Client*> connect();
  std::chrono::milliseconds timeoutFor(control::Method m) const;

  Environment& env_;
  std::string socketPath_;
  bool json_;
  std::optional<std::chrono::milliseconds> timeout_;
  std::optional<control::Client> client_;
};

}  // namespace ztdns::cli
