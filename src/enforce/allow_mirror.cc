#include "enforce/allow_mirror.h"

#include <algorithm>
#include <functional>

namespace ztdns::enforce {

namespace {
constexpr auto kHeapOrder = std::greater<>{};
}

AllowMirror::Clock::duration AllowMirror::freshSlack(uint32_t timeoutSeconds) {
  // A tenth of the allow time, at most 10 s: never more than a small part of the grace.
  return std::min<Clock::duration>(std::chrono::milliseconds(uint64_t{timeoutSeconds} * 100),
                                   std::chrono::seconds(10));
}

AllowMirror::Plan AllowMirror::plan(const IpAddress& address, uint32_t timeoutSeconds,
                                    Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(address);
  if (it == entries_.end()) return Plan::kNew;
  const auto wanted = now + std::chrono::seconds(timeoutSeconds) - freshSlack(timeoutSeconds);
  if (it->second.expires != Clock::time_point::min() && it->second.expires >= wanted) {
    return Plan::kFresh;
  }
  return Plan::kExtend;
}

std::optional<AllowMirror::Clock::time_point> AllowMirror::confirmedExpiry(
    const IpAddress& address) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(address);
  if (it == entries_.end() || it->second.expires == Clock::time_point::min()) return std::nullopt;
  return it->second.expires;
}

void AllowMirror::beginWrite(const IpAddress& address, const Origin& origin) {
  std::lock_guard lock(mutex_);
  auto& e = entries_[address];
  ++e.inFlight;
  e.origin = origin;
}

void AllowMirror::commitWrite(const IpAddress& address, Clock::time_point expires,
                              uint64_t generation) {
  std::lock_guard lock(mutex_);
  if (generation != generation_) return;
  auto it = entries_.find(address);
  if (it == entries_.end()) return;  // evicted meanwhile
  auto& e = it->second;
  if (e.inFlight) --e.inFlight;
  if (expires > e.expires) {
    e.expires = expires;
    pushHeap(address, expires);
  }
}

void AllowMirror::abortWrite(const IpAddress& address, uint64_t generation) {
  std::lock_guard lock(mutex_);
  if (generation != generation_) return;
  auto it = entries_.find(address);
  if (it == entries_.end()) return;
  if (it->second.inFlight) --it->second.inFlight;
  if (it->second.inFlight == 0 && it->second.expires == Clock::time_point::min()) {
    entries_.erase(it);
  }
}

bool AllowMirror::valid(const HeapItem& item) const {
  auto it = entries_.find(item.address);
  return it != entries_.end() && it->second.expires == item.expires;
}

void AllowMirror::pushHeap(const IpAddress& address, Clock::time_point expires) {
  // Stale items (older expiries of the same address) stay until popped; rebuild when they
  // outnumber the live ones so that the heap stays proportional to the set.
  if (heap_.size() > 2 * entries_.size() + 1024) {
    heap_.clear();
    for (const auto& [addr, e] : entries_) {
      if (e.expires != Clock::time_point::min()) heap_.push_back({e.expires, addr});
    }
    std::make_heap(heap_.begin(), heap_.end(), kHeapOrder);
  }
  heap_.push_back({expires, address});
  std::push_heap(heap_.begin(), heap_.end(), kHeapOrder);
}

std::vector<IpAddress> AllowMirror::evictionCandidates(size_t n) const {
  std::lock_guard lock(mutex_);
  std::vector<IpAddress> out;
  std::vector<HeapItem> popped;
  while (out.size() < n && !heap_.empty()) {
    std::pop_heap(heap_.begin(), heap_.end(), kHeapOrder);
    HeapItem item = heap_.back();
    heap_.pop_back();
    if (!valid(item)) continue;  // stale: drop it for good
    popped.push_back(item);
    if (entries_.at(item.address).inFlight == 0) out.push_back(item.address);
  }
  for (auto& item : popped) {
    heap_.push_back(std::move(item));
    std::push_heap(heap_.begin(), heap_.end(), kHeapOrder);
  }
  return out;
}

void AllowMirror::erase(const IpAddress& address) {
  std::lock_guard lock(mutex_);
  entries_.erase(address);
}

size_t AllowMirror::expire(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  size_t dropped = 0;
  while (!heap_.empty() && heap_.front().expires <= now) {
    std::pop_heap(heap_.begin(), heap_.end(), kHeapOrder);
    HeapItem item = heap_.back();
    heap_.pop_back();
    if (!valid(item)) continue;
    auto it = entries_.find(item.address);
    if (it->second.inFlight) {
      it->second.expires = Clock::time_point::min();  // the write in flight decides
    } else {
      entries_.erase(it);
      ++dropped;
    }
  }
  return dropped;
}

void AllowMirror::load(const IpAddress& address, Clock::time_point expires, const Origin& origin) {
  std::lock_guard lock(mutex_);
  auto& e = entries_[address];
  e.origin = origin;
  if (expires > e.expires) {
    e.expires = expires;
    pushHeap(address, expires);
  }
}

void AllowMirror::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  heap_.clear();
  ++generation_;
}

uint64_t AllowMirror::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

std::optional<AllowEntryInfo> AllowMirror::lookup(const IpAddress& address,
                                                  Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(address);
  if (it == entries_.end() || it->second.expires == Clock::time_point::min() ||
      it->second.expires <= now) {
    return std::nullopt;
  }
  AllowEntryInfo info;
  info.expires =
      std::chrono::system_clock::now() +
      std::chrono::duration_cast<std::chrono::system_clock::duration>(it->second.expires - now);
  if (it->second.origin) info.origin = *it->second.origin;
  return info;
}

void AllowMirror::reserve(size_t entries) {
  std::lock_guard lock(mutex_);
  entries_.reserve(entries);
  heap_.reserve(entries);
}

size_t AllowMirror::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace ztdns::enforce
