#include "cli/context.h"

namespace ztdns::cli {

Result<control::Client*> Context::connect() {
  if (!client_) {
    auto c = control::Client::connect(socketPath_, timeout_.value_or(std::chrono::seconds(10)));
    if (!c) return c.error();
    client_.emplace(std::move(*c));
  }
  return &*client_;
}

std::chrono::milliseconds Context::timeoutFor(control::Method m) const {
  if (timeout_) return *timeout_;
  switch (m) {
    case control::Method::kDiagnoseServer:
      return std::chrono::seconds(130);  // daemon: 120 s
    case control::Method::kResolve:
      return std::chrono::seconds(30);
    case control::Method::kLogShow:
      return std::chrono::seconds(60);
    default:
      return std::chrono::seconds(20);
  }
}

int Context::fail(const std::string& message) {
  env_.err << "ztdns: " << message << '\n';
  return kExitFailure;
}

int Context::usage(const std::string& verb, const std::string& message) {
  env_.err << "ztdns " << verb << ": " << message << '\n'
           << "Run 'ztdns " << verb << " help' for usage.\n";
  return kExitUsage;
}

void Context::printJson(const nlohmann::json& j) {
  env_.out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

}  // namespace ztdns::cli
