// A PermitReasonSource with fixed answers, for tests of the permitted-connection reasons.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "observe/permit_reasons.h"

namespace ztdns::testing {

class FakePermitReasonSource final : public observe::PermitReasonSource {
 public:
  void setResolved(const IpAddress& address, std::string name, std::string server) {
    std::lock_guard lock(mutex_);
    resolved_[address] = observe::ResolvedOrigin{std::move(name), std::move(server)};
  }
  void setException(const IpAddress& address, std::string name) {
    std::lock_guard lock(mutex_);
    exceptions_[address] = std::move(name);
  }

  std::optional<observe::ResolvedOrigin> resolvedOrigin(const IpAddress& dst) const override {
    std::lock_guard lock(mutex_);
    auto it = resolved_.find(dst);
    if (it == resolved_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::string> exceptionName(const IpAddress& dst) const override {
    std::lock_guard lock(mutex_);
    auto it = exceptions_.find(dst);
    if (it == exceptions_.end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<IpAddress, observe::ResolvedOrigin> resolved_;
  std::map<IpAddress, std::string> exceptions_;
};

}  // namespace ztdns::testing
