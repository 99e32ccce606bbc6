#include "observe/attribution_joiner.h"

namespace ztdns::observe {

bool AttributionJoiner::recordFits(const KernelRecord& r, const LoggedPacket& p) const {
  return r.time <= p.received + options_.clockSlack && r.time + options_.recordTtl >= p.received;
}

void AttributionJoiner::addRecord(KernelRecord record, Clock::time_point now) {
  (void)now;
  auto fp = fingerprintPacket(record.packet);
  if (!fp) {
    ++stats_.unparsable;
    return;
  }
  auto& bucket = buckets_[*fp];
  // The oldest waiting message this record can belong to. A message received before the
  // record was stamped (minus slack) cannot be its packet: skip it, it will time out.
  for (auto wi = bucket.waiting.begin(); wi != bucket.waiting.end();) {
    auto it = waiting_.find(*wi);
    if (it == waiting_.end()) {
      wi = bucket.waiting.erase(wi);
      continue;
    }
    if (!recordFits(record, it->second.packet)) {
      ++wi;
      continue;
    }
    uint64_t id = *wi;
    bucket.waiting.erase(wi);
    if (bucket.records.empty() && bucket.waiting.empty()) buckets_.erase(*fp);
    ++stats_.matched;
    resolve(id, std::move(record));
    return;
  }
  if (recordCount_ >= options_.maxRecords) dropOldestRecord();
  auto& b = buckets_[*fp];  // dropOldestRecord may have erased buckets
  b.records.push_back(HeldRecord{nextRecordSeq_, std::move(record)});
  recordOrder_.emplace_back(nextRecordSeq_, *fp);
  ++nextRecordSeq_;
  ++recordCount_;
}

void AttributionJoiner::addPacket(LoggedPacket packet, PacketSummary summary,
                                  Clock::time_point now) {
  auto fp = fingerprintPacket(packet.payload);
  if (!fp) {
    ++stats_.unparsable;
    resolved_.push_back(JoinedPacket{std::move(packet), summary, std::nullopt});
    return;
  }
  if (auto bit = buckets_.find(*fp); bit != buckets_.end()) {
    auto& records = bit->second.records;
    // Records too old for this message had their own messages lost: discard them.
    while (!records.empty() && !recordFits(records.front().record, packet) &&
           records.front().record.time < packet.received) {
      records.pop_front();
      --recordCount_;
      ++stats_.recordsWithoutPacket;
    }
    if (!records.empty() && recordFits(records.front().record, packet)) {
      KernelRecord r = std::move(records.front().record);
      records.pop_front();
      --recordCount_;
      if (records.empty() && bit->second.waiting.empty()) buckets_.erase(bit);
      ++stats_.matched;
      resolved_.push_back(JoinedPacket{std::move(packet), summary, std::move(r)});
      return;
    }
  }
  if (waiting_.size() >= options_.maxWaitingPackets) resolve(waiting_.begin()->first, std::nullopt);
  uint64_t id = nextPacketId_++;
  buckets_[*fp].waiting.push_back(id);
  waiting_.emplace(id, Waiting{std::move(packet), summary, *fp, now + options_.packetWait});
}

void AttributionJoiner::resolve(uint64_t packetId, std::optional<KernelRecord> record) {
  auto it = waiting_.find(packetId);
  if (it == waiting_.end()) return;
  if (!record) {
    ++stats_.packetsWithoutRecord;
    auto bit = buckets_.find(it->second.fingerprint);
    if (bit != buckets_.end()) {
      auto& w = bit->second.waiting;
      for (auto wi = w.begin(); wi != w.end(); ++wi) {
        if (*wi == packetId) {
          w.erase(wi);
          break;
        }
      }
      if (w.empty() && bit->second.records.empty()) buckets_.erase(bit);
    }
  }
  resolved_.push_back(
      JoinedPacket{std::move(it->second.packet), it->second.summary, std::move(record)});
  waiting_.erase(it);
}

void AttributionJoiner::dropOldestRecord() {
  while (!recordOrder_.empty()) {
    auto [seq, fp] = recordOrder_.front();
    recordOrder_.pop_front();
    auto bit = buckets_.find(fp);
    if (bit == buckets_.end() || bit->second.records.empty() ||
        bit->second.records.front().seq != seq) {
      continue;  // already matched
    }
    bit->second.records.pop_front();
    --recordCount_;
    ++stats_.recordsWithoutPacket;
    if (bit->second.records.empty() && bit->second.waiting.empty()) buckets_.erase(bit);
    return;
  }
}

void AttributionJoiner::expire(Clock::time_point now) {
  while (!waiting_.empty() && waiting_.begin()->second.deadline <= now) {
    resolve(waiting_.begin()->first, std::nullopt);
  }
  while (!recordOrder_.empty()) {
    auto& [seq, fp] = recordOrder_.front();
    auto bit = buckets_.find(fp);
    if (bit == buckets_.end() || bit->second.records.empty() ||
        bit->second.records.front().seq != seq) {
      recordOrder_.pop_front();  // matched earlier
      continue;
    }
    if (bit->second.records.front().record.time + options_.recordTtl > now) break;
    bit->second.records.pop_front();
    --recordCount_;
    ++stats_.recordsWithoutPacket;
    if (bit->second.records.empty() && bit->second.waiting.empty()) buckets_.erase(bit);
    recordOrder_.pop_front();
  }
}

std::vector<JoinedPacket> AttributionJoiner::takeResolved() {
  std::vector<JoinedPacket> out;
  out.swap(resolved_);
  return out;
}

std::optional<AttributionJoiner::Clock::time_point> AttributionJoiner::nextDeadline() const {
  std::optional<Clock::time_point> d;
  if (!waiting_.empty()) d = waiting_.begin()->second.deadline;
  if (recordCount_ > 0) {
    auto r = std::chrono::steady_clock::now() + options_.recordTtl;
    if (!d || r < *d) d = r;
  }
  return d;
}

}  // namespace ztdns::observe
