#include "resolver/answer_cache.h"

#include <cstring>

namespace ztdns::resolver {

namespace {
// Per-entry bookkeeping beyond the answer itself: list node, hash node, key.
constexpr size_t kEntryOverhead = sizeof(void*) * 8 + 64;
}  // namespace

std::string_view cacheKey(const dns::ClientQuery& query, CacheKeyBuffer& buffer) {
  buffer[0] = static_cast<char>((query.edns.dnssecOk ? 1 : 0) | (query.checkingDisabled() ? 2 : 0));
  buffer[1] = static_cast<char>(query.qtype >> 8);
  buffer[2] = static_cast<char>(query.qtype & 0xFF);
  buffer[3] = static_cast<char>(query.qclass >> 8);
  buffer[4] = static_cast<char>(query.qclass & 0xFF);
  std::memcpy(buffer.data() + 5, query.qnameLower.data(), query.qnameLower.size());
  return {buffer.data(), 5 + query.qnameLower.size()};
}

std::optional<AnswerCache::Hit> AnswerCache::find(std::string_view key, Clock::time_point now) {
  auto it = map_.find(key);
  if (it == map_.end()) return std::nullopt;
  List::iterator entry = it->second;
  if (now >= entry->expires) {
    erase(entry);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, entry);
  auto age = std::chrono::duration_cast<std::chrono::seconds>(now - entry->value->received);
  return Hit{entry->value, static_cast<uint32_t>(std::max<int64_t>(0, age.count()))};
}

void AnswerCache::insert(std::string_view key, std::shared_ptr<const Resolved> value,
                         uint32_t ttlSeconds) {
  size_t footprint = kEntryOverhead + key.size() + value->footprint();
  if (footprint > maxBytes_) return;
  Clock::time_point expires = value->received + std::chrono::seconds(ttlSeconds);
  lru_.push_front(Entry{std::string(key), std::move(value), expires, footprint});
  // One lookup: the new entry's own key is the map key; an older entry gives way to it.
  auto [it, inserted] = map_.try_emplace(std::string_view(lru_.front().key), lru_.begin());
  if (!inserted) {
    List::iterator old = it->second;
    bytes_ -= old->footprint;
    map_.erase(it);
    lru_.erase(old);
    map_.emplace(std::string_view(lru_.front().key), lru_.begin());
  }
  bytes_ += footprint;
  evictToFit();
}

void AnswerCache::erase(List::iterator it) {
  bytes_ -= it->footprint;
  map_.erase(std::string_view(it->key));
  lru_.erase(it);
}

void AnswerCache::evictToFit() {
  while (bytes_ > maxBytes_ && !lru_.empty()) {
    erase(std::prev(lru_.end()));
    ++evictions_;
  }
}

void AnswerCache::clear() {
  map_.clear();
  lru_.clear();
  bytes_ = 0;
}

void AnswerCache::setCapacity(size_t maxBytes) {
  maxBytes_ = maxBytes;
  evictToFit();
}

}  // namespace ztdns::resolver
