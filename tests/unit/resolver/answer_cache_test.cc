#include "resolver/answer_cache.h"

#include <gtest/gtest.h>

#include <string>

#include "dns_packet_builder.h"

namespace ztdns::resolver {
namespace {

using testing::PacketBuilder;
using Clock = std::chrono::steady_clock;

dns::ClientQuery query(const std::string& name, uint16_t qtype = 1, bool dnssecOk = false,
                       bool cd = false) {
  auto b = PacketBuilder::query(name, qtype).edns(1232, dnssecOk);
  if (cd) b.setFlags2(0x10);
  auto p = dns::parseClientQuery(b.build());
  EXPECT_EQ(p.verdict, dns::QueryVerdict::kOk);
  return p.query;
}

std::shared_ptr<const Resolved> resolvedFor(const std::string& name, Clock::time_point received,
                                            int records = 1) {
  auto b = PacketBuilder::response(name, 1);
  for (int i = 0; i < records; ++i) b.a(name, 300, "192.0.2.1");
  auto wire = b.build();
  dns::AnswerAnalysis a;
  auto q = query(name);
  EXPECT_EQ(dns::analyzeAnswer(wire, q.qnameLower, 1, 1, a), dns::AnswerProblem::kNone);
  auto r = std::make_shared<Resolved>();
  r->answer = dns::storeAnswer(wire, std::move(a));
  r->received = received;
  return r;
}

std::string key(const dns::ClientQuery& q) {
  CacheKeyBuffer buf;
  return std::string(cacheKey(q, buf));
}

TEST(AnswerCache, KeyIgnoresCaseButNotTypeDoOrCd) {
  EXPECT_EQ(key(query("WWW.Example.com")), key(query("www.example.COM")));
  EXPECT_NE(key(query("a.test", 1)), key(query("a.test", 28)));
  EXPECT_NE(key(query("a.test", 1, false)), key(query("a.test", 1, true)));
  EXPECT_NE(key(query("a.test", 1, false, false)), key(query("a.test", 1, false, true)));
  EXPECT_NE(key(query("a.test")), key(query("b.test")));
}

TEST(AnswerCache, HitsCarryTheirAgeAndExpire) {
  AnswerCache cache(1 << 20);
  auto t0 = Clock::now();
  cache.insert(key(query("a.test")), resolvedFor("a.test", t0), 10);
  auto hit = cache.find(key(query("A.test")), t0 + std::chrono::milliseconds(3500));
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->ageSeconds, 3u);
  EXPECT_FALSE(cache.find(key(query("a.test")), t0 + std::chrono::seconds(10)));
  EXPECT_EQ(cache.size(), 0u);  // dropped when found expired
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(AnswerCache, BoundedWithLeastRecentlyUsedEviction) {
  auto t0 = Clock::now();
  auto probe = resolvedFor("n0.test", t0);
  AnswerCache sizing(1 << 20);
  sizing.insert(key(query("n0.test")), probe, 60);
  const size_t entry = sizing.bytes();
  ASSERT_GT(entry, 0u);

  AnswerCache cache(entry * 10 + entry / 2);  // room for 10
  for (int i = 0; i < 10; ++i) {
    std::string n = "n" + std::to_string(i) + ".test";
    cache.insert(key(query(n)), resolvedFor(n, t0), 60);
  }
  EXPECT_EQ(cache.size(), 10u);
  ASSERT_TRUE(cache.find(key(query("n0.test")), t0));  // n0 becomes most recently used
  cache.insert(key(query("n10.test")), resolvedFor("n10.test", t0), 60);
  EXPECT_EQ(cache.size(), 10u);
  EXPECT_LE(cache.bytes(), entry * 10 + entry / 2);
  EXPECT_EQ(cache.evictions(), 1u);
  EXPECT_TRUE(cache.find(key(query("n0.test")), t0));
  EXPECT_FALSE(cache.find(key(query("n1.test")), t0));  // the least recently used went
  EXPECT_TRUE(cache.find(key(query("n10.test")), t0));

  // A bigger answer evicts as many as it needs.
  cache.insert(key(query("big.test")), resolvedFor("big.test", t0, 40), 60);
  EXPECT_LE(cache.bytes(), entry * 10 + entry / 2);
  EXPECT_TRUE(cache.find(key(query("big.test")), t0));

  cache.setCapacity(entry * 2);
  EXPECT_LE(cache.size(), 2u);
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(AnswerCache, ReplacesAnEntryAndRefusesOneLargerThanTheCache) {
  auto t0 = Clock::now();
  AnswerCache cache(1 << 20);
  cache.insert(key(query("a.test")), resolvedFor("a.test", t0), 60);
  size_t before = cache.bytes();
  cache.insert(key(query("a.test")), resolvedFor("a.test", t0), 60);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.bytes(), before);

  AnswerCache tiny(64);
  tiny.insert(key(query("a.test")), resolvedFor("a.test", t0), 60);
  EXPECT_EQ(tiny.size(), 0u);
}

}  // namespace
}  // namespace ztdns::resolver
