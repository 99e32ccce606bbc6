// AttributionJoiner: pairs each NFLOG message with the BPF record of the same packet.
//
// Both describe one skb at one moment (the record is taken in the same call chain as the
// log), so they share a PacketFingerprint. Either may reach userspace first: a message
// waits up to `packetWait` for its record, a record waits up to `recordTtl` for its
// message (the kernel rate guard and NFLOG overruns leave records without messages).
// Per fingerprint both sides are consumed in order (FIFO), and a record stamped later
// than a message was received can never be that message's record. Pure logic: time is
// passed in, so tests drive it directly.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "observe/kernel_attribution.h"
#include "observe/nflog_reader.h"
#include "observe/packet.h"

namespace ztdns::observe {

struct JoinedPacket {
  LoggedPacket logged;
  PacketSummary summary;
  std::optional<KernelRecord> record;  // none: no record arrived in time
};

struct JoinerStats {
  uint64_t matched = 0;
  uint64_t packetsWithoutRecord = 0;
  uint64_t recordsWithoutPacket = 0;  // expired or displaced unmatched records
  uint64_t unparsable = 0;
};

class AttributionJoiner {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::chrono::milliseconds packetWait{250};
    std::chrono::milliseconds recordTtl{1000};
    std::chrono::milliseconds clockSlack{20};  // record stamped at most this after receipt
    size_t maxWaitingPackets = 16384;
    size_t maxRecords = 65536;
  };

  AttributionJoiner() : AttributionJoiner(Options{}) {}
  explicit AttributionJoiner(Options options) : options_(options) {}

  void addRecord(KernelRecord record, Clock::time_point now);
  void addPacket(LoggedPacket packet, PacketSummary summary, Clock::time_point now);
  // Resolves packets that waited long enough and drops stale records.
  void expire(Clock::time_point now);
  // Packets resolved so far, in the order they were resolved.
  std::vector<JoinedPacket> takeResolved();

  std::optional<Clock::time_point> nextDeadline() const;
  size_t waitingPackets() const { return waiting_.size(); }
  size_t heldRecords() const { return recordCount_; }
  const JoinerStats& stats() const { return stats_; }

 private:
  struct HeldRecord {
    uint64_t seq;
    KernelRecord record;
  };
  struct Waiting {
    LoggedPacket packet;
    PacketSummary summary;
    PacketFingerprint fingerprint;
    Clock::time_point deadline;
  };
  struct Bucket {
    std::deque<HeldRecord> records;
    std::deque<uint64_t> waiting;  // packet ids, oldest first
  };

  bool recordFits(const KernelRecord& r, const LoggedPacket& p) const;
  void resolve(uint64_t packetId, std::optional<KernelRecord> record);
  void dropOldestRecord();

  Options options_;
  std::unordered_map<PacketFingerprint, Bucket, PacketFingerprintHash> buckets_;
  std::map<uint64_t, Waiting> waiting_;  // by arrival
  std::deque<std::pair<uint64_t, PacketFingerprint>> recordOrder_;
  uint64_t nextRecordSeq_ = 0;
  uint64_t nextPacketId_ = 0;
  size_t recordCount_ = 0;
  std::vector<JoinedPacket> resolved_;
  JoinerStats stats_;
};

}  // namespace ztdns::observe
