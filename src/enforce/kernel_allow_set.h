// KernelAllowSet: the AllowSet on allow4/allow6, written with libnftnl + libmnl.
//
// Data-plane thread only (the io_context's thread), except lookup()/stats() and
// adoptKernelState(), which any thread may call (adoption only reads the kernel on a socket
// of its own and merges into the mirror, so a large set can be adopted off the data plane).
// insert() plans against the mirror, queues kernel writes and posts one flush per loop turn; the
// flush sends them as one netlink batch (BATCH_BEGIN, DESTROYSETELEM for evictions, NEWSETELEM,
// BATCH_END) with an ACK requested per message. The netlink socket is non-blocking and registered
// with asio; ACKs are matched to batches by sequence number, and a batch not acknowledged within
// ackTimeout fails.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "enforce/allow_set.h"
#include "enforce/set_elem_netlink.h"

namespace ztdns::enforce {

struct KernelAllowSetOptions {
  std::chrono::milliseconds ackTimeout{1000};
  size_t maxElementsPerMessage = 256;
  size_t maxElementsPerBatch = 4096;       // callers are never split across batches
  std::chrono::seconds sweepInterval{10};  // how often expired mirror entries are dropped
  // Detected from the kernel release when empty; tests force the legacy paths with it.
  std::optional<KernelFeatures> features;
};

class KernelAllowSet final : public AllowSet {
 public:
  static Result<std::unique_ptr<KernelAllowSet>> create(asio::io_context& io, uint32_t capacity,
                                                        observe::EventSink& events,
                                                        KernelAllowSetOptions options = {});
  ~KernelAllowSet() override;

  void insert(std::vector<AllowRequest> requests, AllowOrigin origin,
              std::function<void(Status)> done) override;
  std::optional<AllowEntryInfo> lookup(const IpAddress& address) const override;
  AllowSetStats stats() const override;
  Status adoptKernelState() override;
  void setActive(bool active) override;
  void setCapacity(uint32_t maxAddresses) override;

  // Stops reading ACKs, as a kernel that never answers would: tests of the ACK timeout.
  void stopReadingAcksForTest();

  class Core;

 private:
  explicit KernelAllowSet(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  std::shared_ptr<Core> core_;
};

}  // namespace ztdns::enforce
