// The kernel-side rate guard in front of NFLOG: when more new connections hit the log
// rules than enforce's `limit rate` admits, the rest are still enforced but not logged.
// The enforcement table counts them in a named counter (enforce::nft_name::kLogSuppressed); the
// observe thread reads it periodically and reports the growth in Operational
// (event_id::kSuppressed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"

namespace ztdns::observe {

class KernelRateGuard {
 public:
  virtual ~KernelRateGuard() = default;
  // Packets that matched a log rule but were over the rate, since the counter was made.
  virtual Result<uint64_t> packetsNotLogged() = 0;
  // The configured limit, for the message; nullopt when unknown.
  virtual std::optional<uint32_t> limitPerSecond() const = 0;
};

// Reads the named counter object with one NFT_MSG_GETOBJ netlink request (libnftnl +
// libmnl: no libnftables parser state, so it is safe beside the control thread's
// PolicyApplier) in the caller's network namespace. A missing table or counter is an
// error value. `family` is "inet", "ip" or "ip6".
class NftCounterRateGuard final : public KernelRateGuard {
 public:
  NftCounterRateGuard(std::string family, std::string table, std::string counter,
                      std::optional<uint32_t> limitPerSecond = std::nullopt);
  Result<uint64_t> packetsNotLogged() override;
  std::optional<uint32_t> limitPerSecond() const override { return limit_; }

 private:
  std::string family_, table_, counter_;
  std::optional<uint32_t> limit_;
};

}  // namespace ztdns::observe
