// AllowSet: the dynamic allow sets (allow4/allow6 in table inet ztdns) and their mirror.
//
// Owned by the data-plane thread (the resolver's asio::io_context). insert() queues
// addresses; every insert queued in one turn of the loop goes to the kernel as one
// netlink batch, and each caller's callback runs once the kernel has acknowledged it.
// The mirror (address -> expiry, origin) makes re-inserts that would not extend an
// entry free, keeps the later expiry, and drives capacity eviction.
#pragma once

#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ip.h"
#include "common/result.h"

namespace ztdns::observe {
class EventSink;
}

namespace ztdns::enforce {

struct AllowRequest {
  IpAddress address;
  uint32_t timeoutSeconds = 0;
};

// Which answer created an allow: the PermittedConnections "resolved" reason.
struct AllowOrigin {
  std::string name;    // the question name
  std::string server;  // displayName of the PDNS server that answered
};

// What an answer address means for the allow sets.
enum class AddressVerdict {
  kInsert,           // a unicast address to allow (IPv4-mapped already unmapped)
  kSkipUnspecified,  // 0.0.0.0, :: - never inserted
  kSkipMulticast,    // multicast and broadcast - never inserted
  kSkipLoopback,     // governed by the loopback switch alone
};
AddressVerdict classifyAnswerAddress(IpAddress& address);  // unmaps ::ffff:a.b.c.d in place

struct AllowEntryInfo {
  std::chrono::system_clock::time_point expires;
  AllowOrigin origin;
};

struct AllowSetStats {
  uint64_t inserted = 0;      // elements written to the kernel
  uint64_t skippedFresh = 0;  // already allowed long enough: no kernel round trip
  uint64_t batches = 0;       // netlink batches sent
  uint64_t evicted = 0;       // removed early because the set was full
  uint64_t refused = 0;       // inserts failed because nothing could be evicted
  uint64_t failures = 0;      // kernel errors
  size_t size = 0;            // entries now (mirror)
};

class AllowSet {
 public:
  virtual ~AllowSet() = default;

  // Queue addresses (already classified: kInsert only). `done` runs on the io thread when
  // the kernel has acknowledged every one, or with the error (then the caller must not
  // release the answer). Entries already allowed at least as long cost nothing.
  // While inactive (state disabled) `done(ok)` runs at once and nothing is written.
  virtual void insert(std::vector<AllowRequest> requests, AllowOrigin origin,
                      std::function<void(Status)> done) = 0;

  // Thread-safe reads for the log pipeline and the control plane.
  virtual std::optional<AllowEntryInfo> lookup(const IpAddress& address) const = 0;
  virtual AllowSetStats stats() const = 0;

  // Control plane. setActive/setCapacity are posted to the io thread by the daemon.
  // adoptKernelState() reads allow4/allow6 (with their remaining time and origin comment)
  // and merges them into the mirror; any thread may call it, and it blocks for as long as
  // the kernel takes to dump the sets (see docs/enforcement.md). It fails when the table
  // does not exist.
  virtual Status adoptKernelState() = 0;
  // false (state disabled): inserts succeed at once and write nothing; the mirror is
  // forgotten, because removing the table removed the allows.
  virtual void setActive(bool active) = 0;
  // The userspace cap on allowed addresses (eviction, then refusal, beyond it). Apply the
  // policy with the same maxAllowedAddresses so that the kernel backstop follows.
  virtual void setCapacity(uint32_t maxAddresses) = 0;
};

// The netlink implementation (libnftnl + libmnl) on `io`.
Result<std::unique_ptr<AllowSet>> makeKernelAllowSet(asio::io_context& io, uint32_t capacity,
                                                     observe::EventSink& events);

}  // namespace ztdns::enforce
