// NflogReader: the NFLOG group the enforcement table logs to, read without blocking.
//
// Copy-packet mode with enough bytes for the IP and transport headers; the kernel adds
// the prefix, the socket owner's uid/gid and a per-group sequence number. A receive buffer
// overrun (ENOBUFS) loses messages: it is counted, and the reader carries on.
// Owned by one thread (the observe thread); the socket lives in the network namespace of
// the thread that opened it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace ztdns::observe {

struct LoggedPacket {
  std::string prefix;
  std::optional<uint32_t> uid;  // owner of the sending socket, when the kernel knows it
  std::optional<uint32_t> gid;
  std::optional<uint32_t> seq;  // per-group sequence: gaps mean lost messages
  uint16_t hwProtocol = 0;      // ethertype: 0x0800 IPv4, 0x86dd IPv6
  uint32_t outIfindex = 0;
  std::vector<uint8_t> payload;  // from the network header, at most copyBytes
  std::chrono::steady_clock::time_point received;
  // NFULA_TIMESTAMP: the kernel sets it only for prerouting/input/forward hooks; packets
  // logged at output (ours) have none, and their time comes from the BPF record or receipt.
  std::optional<std::chrono::system_clock::time_point> timestamp;
};

struct NflogOptions {
  uint16_t group = 0;
  uint32_t copyBytes = 128;                // IPv6 + extension headers + TCP header fit
  uint32_t receiveBufferBytes = 8u << 20;  // room for ~40k messages before ENOBUFS
  uint32_t queueThreshold = 16;            // kernel batches this many messages ...
  uint32_t flushTimeoutCentis = 1;         // ... or waits at most 10 ms
};

struct NflogStats {
  uint64_t messages = 0;
  uint64_t overruns = 0;      // ENOBUFS events (each loses at least one message)
  uint64_t sequenceGaps = 0;  // messages known lost from sequence numbers
  uint64_t receiveErrors = 0;
};

class NflogReader {
 public:
  virtual ~NflogReader() = default;

  // Binds `options.group` in the caller's network namespace. Fails (with the reason in
  // words) without CAP_NET_ADMIN or when another process has bound the group.
  static Result<std::unique_ptr<NflogReader>> open(const NflogOptions& options);

  virtual int fd() const = 0;
  // Reads what is queued now, at most maxReads datagrams; never blocks.
  virtual void readAvailable(const std::function<void(LoggedPacket&&)>& onPacket,
                             int maxReads = 64) = 0;
  virtual NflogStats stats() const = 0;
};

}  // namespace ztdns::observe
