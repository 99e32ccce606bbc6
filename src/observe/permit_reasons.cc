#include "observe/permit_reasons.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>

namespace ztdns::observe {

struct ExceptionTable::Level {
  IpFamily family;
  uint8_t length;
  std::unordered_map<IpAddress, std::string> byNetwork;  // network address -> rule name
};

ExceptionTable::ExceptionTable(const std::vector<config::ExemptionRule>& rules) {
  std::vector<std::shared_ptr<Level>> levels;
  for (const auto& rule : rules) {
    for (const auto& prefix : rule.ipAddresses) {
      auto p = prefix.normalized();
      auto it = std::find_if(levels.begin(), levels.end(), [&](const auto& l) {
        return l->family == p.family() && l->length == p.length();
      });
      if (it == levels.end()) {
        levels.push_back(std::make_shared<Level>(Level{p.family(), p.length(), {}}));
        it = levels.end() - 1;
      }
      // Two rules with the same prefix: the first one named in the config wins.
      if ((*it)->byNetwork.emplace(p.address(), rule.displayName).second) ++entries_;
    }
  }
  std::sort(levels.begin(), levels.end(),
            [](const auto& a, const auto& b) { return a->length > b->length; });
  levels_.assign(levels.begin(), levels.end());
}

std::optional<std::string> ExceptionTable::match(const IpAddress& address) const {
  IpAddress a = address.unmapped();
  for (const auto& level : levels_) {
    if (level->family != a.family()) continue;
    auto network = IpPrefix(a, level->length).normalized().address();
    auto it = level->byNetwork.find(network);
    if (it != level->byNetwork.end()) return it->second;
  }
  return std::nullopt;
}

PermitReasons::PermitReasons(ResolvedLookup resolved,
                             const std::vector<config::ExemptionRule>& rules)
    : resolved_(std::move(resolved)), exceptions_(std::make_shared<ExceptionTable>(rules)) {}

void PermitReasons::setExceptions(const std::vector<config::ExemptionRule>& rules) {
  auto table = std::make_shared<const ExceptionTable>(rules);
  std::unique_lock lock(mutex_);
  exceptions_ = std::move(table);
}

std::optional<ResolvedOrigin> PermitReasons::resolvedOrigin(const IpAddress& dst) const {
  if (!resolved_) return std::nullopt;
  return resolved_(dst);
}

std::optional<std::string> PermitReasons::exceptionName(const IpAddress& dst) const {
  std::shared_ptr<const ExceptionTable> table;
  {
    std::shared_lock lock(mutex_);
    table = exceptions_;
  }
  return table->match(dst);
}

}  // namespace ztdns::observe
