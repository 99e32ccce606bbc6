// The pure half of enforcement: Policy -> one nftables script (text for libnftables).
//
// Glossary of the objects in `table inet ztdns` (names are part of the contract with the
// log consumer and the CLI, which read them back with `nft list table inet ztdns`):
//   output            the base chain (hook output); rules in the order of docs/enforcement.md
//   allow4 / allow6   dynamic allow sets (timeouts), written only by AllowSet; a policy apply
//                     creates them once and never flushes or recreates them
//   exc4 / exc6       exception prefixes (interval sets), replaced on every apply
//   servers4/6        PDNS server ip . tcp port (concatenated sets)
//   stubs4/6          the stub's own listeners, reachable on loopback even when it is blocked
//   log_guard         limit object: NFLOG packets beyond this rate are not logged ...
//   log_suppressed    ... but counted here, so suppression is never silent
//   blocked / would_block   counters of packets that reached the final verdict
//   log_block, log_audit, permit_<reason>   small chains that log (behind the guard)
//
// Replacement without touching allow4/allow6: every apply runs `add` for the table, the
// allow sets and the counters (a no-op when they exist), flushes every chain, then deletes
// and re-adds the stateless objects (exception/server/stub sets, the limit) and refills.
// It never deletes the table or flushes a set that carries allows.
#pragma once

#include <string>
#include <vector>

#include "common/ip.h"
#include "common/result.h"
#include "enforce/policy.h"

namespace ztdns::enforce {

namespace nft_name {
inline constexpr const char* kOutputChain = "output";
inline constexpr const char* kNotrackChain = "stub_notrack";
inline constexpr const char* kExceptions4 = "exc4";
inline constexpr const char* kExceptions6 = "exc6";
inline constexpr const char* kServers4 = "servers4";
inline constexpr const char* kServers6 = "servers6";
inline constexpr const char* kStubs4 = "stubs4";
inline constexpr const char* kStubs6 = "stubs6";
inline constexpr const char* kLogGuard = "log_guard";
inline constexpr const char* kLogSuppressed = "log_suppressed";
inline constexpr const char* kBlockedCounter = "blocked";
inline constexpr const char* kWouldBlockCounter = "would_block";
}  // namespace nft_name

// Kernel `size` of allow4/allow6 for a userspace cap of `maxAllowedAddresses`. The mirror
// enforces the cap exactly; the kernel limit is a backstop with headroom for elements that
// have expired but are not yet garbage-collected by the kernel.
uint32_t kernelAllowSetSize(uint32_t maxAllowedAddresses);

// Sorted, host bits cleared, duplicates and prefixes covered by another one removed.
// Interval sets reject overlapping elements, so the builder never sends any.
std::vector<IpPrefix> mergePrefixes(std::vector<IpPrefix> prefixes);

// The whole policy as one script; libnftables submits it as one transaction. Fails (in
// words) only on a policy that no kernel could accept, e.g. a zero log rate.
Result<std::string> buildPolicyScript(const Policy& policy);

// `delete table inet ztdns`: what enabled=false does.
std::string buildRemoveScript();

}  // namespace ztdns::enforce
