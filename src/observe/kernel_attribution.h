// KernelAttribution: loads the attribution BPF program (bpf/attribution.bpf.c) and reads
// its ring buffer. Each KernelRecord describes one packet seen at the drop or transmit
// tracepoint: its first bytes (to join with the NFLOG copy) and, when the sender was
// `current`, the sending task.
//
// Owned by the observe thread. The programs are filtered to one network namespace (the
// caller's) and detach when the object is destroyed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "observe/process_info.h"

namespace ztdns::observe {

struct KernelRecord {
  enum class Kind { Drop, Transmit };
  Kind kind = Kind::Drop;
  std::chrono::steady_clock::time_point time;  // when the kernel saw the packet
  uint32_t flags = 0;                          // ZTDNS_ATTR_F_*
  std::optional<TaskIdentity> task;            // only when the sender was current
  std::vector<uint8_t> packet;                 // from the network header
};

struct KernelAttributionStats {
  uint64_t records = 0;         // records the kernel emitted
  uint64_t ringBufferFull = 0;  // records lost because userspace fell behind
  // Program invocations and their total run time (all four programs), when the kernel's
  // BPF run-time statistics are enabled (BPF_ENABLE_STATS, e.g. by the benchmark).
  uint64_t runCount = 0;
  uint64_t runTimeNs = 0;
  uint64_t packetRuns = 0;  // of those, the drop and transmit programs
  uint64_t packetRunTimeNs = 0;
};

class KernelAttribution {
 public:
  struct Options {
    ino_t netnsIno = 0;             // 0: the caller's (/proc/self/ns/net)
    bool attributeAccepted = true;  // the transmit tracepoint (audit and permit events)
  };

  virtual ~KernelAttribution() = default;

  // Loads and attaches. Fails, with the reason in words, without BTF, without
  // CAP_BPF/CAP_PERFMON, or when the project was built without the BPF object.
  static Result<std::unique_ptr<KernelAttribution>> load(const Options& options);

  // Whether this build carries the BPF object at all.
  static bool built();

  virtual int fd() const = 0;  // readable when records are waiting
  virtual void consume(const std::function<void(KernelRecord&&)>& onRecord) = 0;
  // Attach or detach the transmit tracepoint (not needed when neither audit mode nor the
  // permitted channel is on: blocks use the drop tracepoint only).
  virtual Status setAttributeAccepted(bool on) = 0;
  virtual KernelAttributionStats stats() const = 0;
};

// Parses one raw ring-buffer record (struct ztdns_attr_record); exposed for tests.
std::optional<KernelRecord> parseKernelRecord(const void* data, size_t size, bool initPidNamespace);

// Components "curl\0bin\0usr\0" (leaf first) -> "/usr/bin/curl".
std::string pathFromLeafFirst(const char* names, size_t length, uint32_t count);

}  // namespace ztdns::observe
