// Where a permitted connection's reason comes from. The NFLOG prefix gives the type; for
// "resolved" the AllowSet mirror knows which name and server created the allow, and for
// "exception" the configured exemption rules name the prefix. The daemon plugs the real
// sources in; tests plug in their own (tests/support/fake_permit_reason_source.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/ip.h"
#include "config/config.h"

namespace ztdns::observe {

struct ResolvedOrigin {
  std::string name;    // the question name of the answer that allowed the address
  std::string server;  // displayName of the PDNS server that answered
};

// Called on the observe thread; implementations must be thread-safe.
class PermitReasonSource {
 public:
  virtual ~PermitReasonSource() = default;
  virtual std::optional<ResolvedOrigin> resolvedOrigin(const IpAddress& dst) const = 0;
  virtual std::optional<std::string> exceptionName(const IpAddress& dst) const = 0;
};

// Longest-prefix match over the exemption rules: which rule's prefix covers an address.
class ExceptionTable {
 public:
  ExceptionTable() = default;
  explicit ExceptionTable(const std::vector<config::ExemptionRule>& rules);
  std::optional<std::string> match(const IpAddress& address) const;
  size_t size() const { return entries_; }

 private:
  struct Level;                                       // all prefixes of one family and length
  std::vector<std::shared_ptr<const Level>> levels_;  // longest first
  size_t entries_ = 0;
};

// The daemon's implementation: a lookup function for the allow-set mirror (e.g. a lambda
// around enforce::AllowSet::lookup) and the exemption rules, replaceable at runtime.
class PermitReasons final : public PermitReasonSource {
 public:
  using ResolvedLookup = std::function<std::optional<ResolvedOrigin>(const IpAddress&)>;

  explicit PermitReasons(ResolvedLookup resolved,
                         const std::vector<config::ExemptionRule>& rules = {});

  // From the control thread after a config change.
  void setExceptions(const std::vector<config::ExemptionRule>& rules);

  std::optional<ResolvedOrigin> resolvedOrigin(const IpAddress& dst) const override;
  std::optional<std::string> exceptionName(const IpAddress& dst) const override;

 private:
  ResolvedLookup resolved_;
  mutable std::shared_mutex mutex_;
  std::shared_ptr<const ExceptionTable> exceptions_;
};

}  // namespace ztdns::observe
