// AllowMirror: the daemon's copy of allow4/allow6 (address -> expiry, origin).
//
// Written by the data-plane thread (AllowSet), read by any thread (lookup/size); one
// mutex, held for map operations only. An entry has a confirmed expiry (acknowledged by
// the kernel) and a count of writes in flight; only confirmed entries are "allowed" to
// readers, and only confirmed, idle entries can be evicted. Expiries are steady_clock.
// A min-heap ordered by expiry (with lazy deletion of stale items) finds the entries
// closest to expiry for eviction and for the periodic sweep.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/ip.h"
#include "enforce/allow_set.h"

namespace ztdns::enforce {

class AllowMirror {
 public:
  using Clock = std::chrono::steady_clock;
  using Origin = std::shared_ptr<const AllowOrigin>;

  // Re-inserts that would extend an entry by less than this are skipped (kFresh): a
  // popular name re-resolved every second must not cost a kernel write each time.
  static Clock::duration freshSlack(uint32_t timeoutSeconds);

  enum class Plan {
    kFresh,   // confirmed and allowed long enough: no kernel write
    kExtend,  // known (confirmed or in flight): write, no new slot
    kNew,     // unknown: write, needs a slot
  };
  Plan plan(const IpAddress& address, uint32_t timeoutSeconds, Clock::time_point now) const;
  // The kernel-acknowledged expiry, if any.
  std::optional<Clock::time_point> confirmedExpiry(const IpAddress& address) const;

  // A write goes to the kernel: count it in flight (creates the entry when new).
  void beginWrite(const IpAddress& address, const Origin& origin);
  // The kernel acknowledged: the confirmed expiry becomes the later of the two.
  void commitWrite(const IpAddress& address, Clock::time_point expires, uint64_t generation);
  // The write failed: an entry that was never confirmed disappears.
  void abortWrite(const IpAddress& address, uint64_t generation);

  // Up to `n` confirmed entries with no write in flight, closest to expiry first.
  std::vector<IpAddress> evictionCandidates(size_t n) const;
  void erase(const IpAddress& address);
  // Drops entries whose confirmed expiry has passed; returns how many.
  size_t expire(Clock::time_point now);

  // Adoption: an entry the kernel already holds.
  void load(const IpAddress& address, Clock::time_point expires, const Origin& origin);
  // Forget everything (state disabled); writes still in flight are ignored when they land.
  void clear();
  // Room for `entries` without rehashing: a growing map rehashed every node again and again
  // while a busy resolver filled it (about 1% of the stub's CPU).
  void reserve(size_t entries);
  uint64_t generation() const;

  std::optional<AllowEntryInfo> lookup(const IpAddress& address, Clock::time_point now) const;
  size_t size() const;

 private:
  struct Entry {
    Clock::time_point expires = Clock::time_point::min();  // min(): never confirmed
    uint32_t inFlight = 0;
    Origin origin;
  };
  struct HeapItem {
    Clock::time_point expires;
    IpAddress address;
    bool operator>(const HeapItem& o) const { return expires > o.expires; }
  };
  void pushHeap(const IpAddress& address, Clock::time_point expires);  // mutex held
  bool valid(const HeapItem& item) const;                              // mutex held

  mutable std::mutex mutex_;
  std::unordered_map<IpAddress, Entry> entries_;
  mutable std::vector<HeapItem> heap_;  // min-heap on expires (std::greater)
  uint64_t generation_ = 0;
};

}  // namespace ztdns::enforce
