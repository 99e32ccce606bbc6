// AnswerCache: positive and negative answers (RFC 2308), bounded in bytes, least
// recently used first out. Keys are built by cacheKey(): the lowercase question name,
// type and class, plus the DO and CD bits (answers differ with them). Data-plane
// thread only.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "dns/client_query.h"
#include "resolver/resolved.h"

namespace ztdns::resolver {

inline constexpr size_t kMaxCacheKeySize = 5 + dns::kMaxNameSize;
using CacheKeyBuffer = std::array<char, kMaxCacheKeySize>;

// The key for `query`, written into `buffer` (no allocation).
std::string_view cacheKey(const dns::ClientQuery& query, CacheKeyBuffer& buffer);

class AnswerCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit AnswerCache(size_t maxBytes) : maxBytes_(maxBytes) {}

  struct Hit {
    std::shared_ptr<const Resolved> value;
    uint32_t ageSeconds = 0;
  };

  // A live entry (made most recently used), or nothing; expired entries are dropped here.
  std::optional<Hit> find(std::string_view key, Clock::time_point now);

  // Stores `value` for `ttlSeconds` counted from value->received; replaces an old entry.
  void insert(std::string_view key, std::shared_ptr<const Resolved> value, uint32_t ttlSeconds);

  void clear();
  void setCapacity(size_t maxBytes);

  size_t size() const { return map_.size(); }
  size_t bytes() const { return bytes_; }
  uint64_t evictions() const { return evictions_; }

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const Resolved> value;
    Clock::time_point expires;
    size_t footprint = 0;
  };
  using List = std::list<Entry>;

  void erase(List::iterator it);
  void evictToFit();

  size_t maxBytes_;
  size_t bytes_ = 0;
  uint64_t evictions_ = 0;
  List lru_;  // front: most recently used
  // Keys view Entry::key. The standard hasher makes libstdc++ keep each node's hash, so a
  // lookup never rehashes the other keys in its bucket.
  std::unordered_map<std::string_view, List::iterator> map_;
};

}  // namespace ztdns::resolver
