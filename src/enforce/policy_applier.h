// PolicyApplier: submits the policy script to the kernel through libnftables.
//
// Every apply is one nftables transaction: it replaces chains, rules, exception, server
// and stub sets and the log guard together, and leaves the allow sets' elements alone.
// When the kernel refuses it, nothing changes and the error comes back in words.
// Threading: owned by the control thread; not thread-safe (one nft_ctx, one caller).
#pragma once

#include <nftables/libnftables.h>

#include <cstdint>
#include <string>

#include "common/c_ptr.h"
#include "common/result.h"
#include "enforce/policy.h"

namespace ztdns::enforce {

// The table's named counters, for `show state` and the Operational channel.
struct PolicyCounters {
  uint64_t logSuppressedPackets = 0;  // first packets not sent to NFLOG (over the guard)
  uint64_t blockedPackets = 0;        // rejected (enforce)
  uint64_t wouldBlockPackets = 0;     // accepted and logged as would-block (audit)
};

class PolicyApplier {
 public:
  static Result<PolicyApplier> create();

  // One transaction; on failure the previous table stays exactly as it was.
  Status apply(const Policy& policy);
  // enabled=false: deletes table inet ztdns (allow sets included). Absent table: ok.
  Status removeTable();
  // exists() and readCounters() ask the kernel for one object each (not libnftables, whose
  // cache would fetch every allow element): cheap at any set size.
  bool exists();
  Result<PolicyCounters> readCounters();
  // `nft list table inet ztdns`; stateless omits counter values and element expiry times,
  // which tick, so two stateless listings of an unchanged table compare equal. Lists every
  // allow element: slow for large sets, meant for the CLI and tests.
  Result<std::string> listTable(bool stateless = false);

  // Runs any script as one transaction: tests use it to force a kernel-side failure.
  Status applyScriptForTest(const std::string& script) { return run(script, nullptr); }

 private:
  using Ctx = CPtr<nft_ctx, nft_ctx_free>;
  explicit PolicyApplier(Ctx ctx) : ctx_(std::move(ctx)) {}
  Status run(const std::string& script, std::string* output);

  Ctx ctx_;
};

}  // namespace ztdns::enforce
