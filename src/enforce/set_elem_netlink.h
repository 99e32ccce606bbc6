// Netlink messages for allow-set elements, built and parsed with libnftnl (katran-style:
// building a message is separate from sending it, so it can be tested without root).
//
// A batch is NFNL_MSG_BATCH_BEGIN, element messages, NFNL_MSG_BATCH_END: the kernel applies
// it as one transaction. Every element message asks for an ACK, so the sender knows when
// the kernel has committed (or why not) by sequence number.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/ip.h"
#include "common/result.h"

namespace ztdns::enforce {

// NFT_MSG_DESTROYSETELEM (Linux 6.3+): like DELSETELEM but an absent element is not an
// error, so evicting an entry the kernel has just expired cannot fail a whole batch.
// Debian 12's uapi header predates it, hence the number here.
inline constexpr uint16_t kNftMsgDestroySetElem = 30;

struct ElemWrite {
  IpAddress address;
  uint32_t timeoutSeconds = 0;  // 0 only for deletions
  std::string comment;          // shown by `nft list set` and read back on adoption
  // Kernels without element timeout updates: delete and re-add in the same batch (atomic)
  // to extend an element that is known to exist.
  bool replace = false;
};

// What the running kernel's nf_tables can do for the allow sets.
struct KernelFeatures {
  bool elementTimeoutUpdate = true;  // re-adding an element updates its timeout (6.12+)
  bool destroyElement = true;        // NFT_MSG_DESTROYSETELEM (6.3+)
};
// From a uname release such as "6.18.44-fc-v1252"; unknown formats get the legacy paths.
KernelFeatures kernelFeaturesForRelease(const std::string& release);
KernelFeatures detectKernelFeatures();

class SetElemBatch {
 public:
  explicit SetElemBatch(uint32_t firstSeq);

  // One NEWSETELEM (create or update the timeout; never NLM_F_EXCL) for `elems`, all of
  // one family, into allow4 or allow6. Returns the message's sequence number.
  uint32_t addElements(const std::vector<const ElemWrite*>& elems);
  // One DESTROYSETELEM (absent elements are fine) or, for kernels before 6.3, DELSETELEM
  // (an absent element fails the batch) for `addresses`, all of one family.
  uint32_t destroyElements(const std::vector<IpAddress>& addresses, bool destroySupported = true);
  void finish();  // appends BATCH_END

  const std::vector<char>& bytes() const { return bytes_; }
  uint32_t beginSeq() const { return beginSeq_; }
  uint32_t endSeq() const { return seq_ - 1; }
  const std::vector<uint32_t>& messageSeqs() const { return messageSeqs_; }

 private:
  uint32_t append(uint16_t type, uint16_t flags, IpFamily family,
                  const std::vector<const ElemWrite*>& elems);

  std::vector<char> bytes_;
  std::vector<uint32_t> messageSeqs_;
  uint32_t beginSeq_;
  uint32_t seq_;
};

// The comment stored with an element: "<name> via <server>", cut to nft's 127 bytes.
std::string originComment(const std::string& name, const std::string& server);
void parseOriginComment(const std::string& comment, std::string& name, std::string& server);

struct KernelElement {
  IpAddress address;
  uint64_t timeoutMs = 0;    // 0: the element has no timeout
  uint64_t expiresInMs = 0;  // remaining time
  std::string comment;
};

// A blocking dump (GETSETELEM) of one allow set, on a socket of its own.
Result<std::vector<KernelElement>> dumpAllowSet(IpFamily family);

}  // namespace ztdns::enforce
