// Pure logic of the allow-set mirror and of answer-address classification (no root).
#include "enforce/allow_mirror.h"

#include <gtest/gtest.h>

#include "enforce/set_elem_netlink.h"

namespace ztdns::enforce {
namespace {

using Clock = AllowMirror::Clock;
using std::chrono::seconds;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

TEST(ClassifyAnswerAddressTest, Table) {
  struct Row {
    const char* in;
    AddressVerdict verdict;
    const char* out;
    const char* description;
  };
  const Row rows[] = {
      {"203.0.113.80", AddressVerdict::kInsert, "203.0.113.80", "unicast IPv4"},
      {"2001:db8:80::80", AddressVerdict::kInsert, "2001:db8:80::80", "unicast IPv6"},
      {"::ffff:203.0.113.80", AddressVerdict::kInsert, "203.0.113.80", "mapped goes to IPv4"},
      {"0.0.0.0", AddressVerdict::kSkipUnspecified, "0.0.0.0", "PDNS block answer"},
      {"::", AddressVerdict::kSkipUnspecified, "::", "IPv6 unspecified"},
      {"::ffff:0.0.0.0", AddressVerdict::kSkipUnspecified, "0.0.0.0", "mapped unspecified"},
      {"224.0.0.251", AddressVerdict::kSkipMulticast, "224.0.0.251", "IPv4 multicast"},
      {"ff02::fb", AddressVerdict::kSkipMulticast, "ff02::fb", "IPv6 multicast"},
      {"255.255.255.255", AddressVerdict::kSkipMulticast, "255.255.255.255", "broadcast"},
      {"127.0.0.1", AddressVerdict::kSkipLoopback, "127.0.0.1", "loopback: the switch decides"},
      {"127.1.2.3", AddressVerdict::kSkipLoopback, "127.1.2.3", "all of 127/8"},
      {"::1", AddressVerdict::kSkipLoopback, "::1", "IPv6 loopback"},
      {"::ffff:127.0.0.1", AddressVerdict::kSkipLoopback, "127.0.0.1", "mapped loopback"},
  };
  for (const auto& r : rows) {
    IpAddress a = ip(r.in);
    EXPECT_EQ(classifyAnswerAddress(a), r.verdict) << r.description;
    EXPECT_EQ(a.toString(), r.out) << r.description;
  }
}

TEST(AllowMirrorTest, OnlyConfirmedEntriesAreAllowedAndTheLaterExpiryWins) {
  AllowMirror m;
  const auto now = Clock::now();
  const auto a = ip("203.0.113.80");
  auto origin = std::make_shared<const AllowOrigin>(AllowOrigin{"www.allowed.test", "pdns1"});
  EXPECT_EQ(m.plan(a, 100, now), AllowMirror::Plan::kNew);
  m.beginWrite(a, origin);
  EXPECT_FALSE(m.lookup(a, now)) << "not acknowledged yet";
  EXPECT_EQ(m.plan(a, 100, now), AllowMirror::Plan::kExtend) << "in flight: write again";
  m.commitWrite(a, now + seconds(100), m.generation());
  auto info = m.lookup(a, now);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->origin.name, "www.allowed.test");
  EXPECT_EQ(m.plan(a, 100, now), AllowMirror::Plan::kFresh);
  EXPECT_EQ(m.plan(a, 50, now), AllowMirror::Plan::kFresh) << "shorter: nothing to do";
  EXPECT_EQ(m.plan(a, 300, now), AllowMirror::Plan::kExtend);
  // A late commit of a shorter expiry never shortens the entry.
  m.beginWrite(a, origin);
  m.commitWrite(a, now + seconds(10), m.generation());
  EXPECT_EQ(m.plan(a, 95, now), AllowMirror::Plan::kFresh);
}

TEST(AllowMirrorTest, FreshSlackIsSmall) {
  EXPECT_EQ(AllowMirror::freshSlack(30), std::chrono::seconds(3));
  EXPECT_EQ(AllowMirror::freshSlack(86400), std::chrono::seconds(10));
  AllowMirror m;
  const auto now = Clock::now();
  const auto a = ip("203.0.113.80");
  m.beginWrite(a, nullptr);
  m.commitWrite(a, now + seconds(300), m.generation());
  EXPECT_EQ(m.plan(a, 300, now + seconds(5)), AllowMirror::Plan::kFresh);
  EXPECT_EQ(m.plan(a, 300, now + seconds(11)), AllowMirror::Plan::kExtend);
}

TEST(AllowMirrorTest, AbortedNewEntriesDisappearButConfirmedOnesStay) {
  AllowMirror m;
  const auto now = Clock::now();
  const auto a = ip("203.0.113.80"), b = ip("203.0.113.81");
  m.beginWrite(a, nullptr);
  m.abortWrite(a, m.generation());
  EXPECT_EQ(m.size(), 0u);
  m.beginWrite(b, nullptr);
  m.commitWrite(b, now + seconds(100), m.generation());
  m.beginWrite(b, nullptr);
  m.abortWrite(b, m.generation());
  EXPECT_TRUE(m.lookup(b, now));
}

TEST(AllowMirrorTest, EvictionCandidatesAreClosestToExpiryAndIdle) {
  AllowMirror m;
  const auto now = Clock::now();
  const char* addrs[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"};
  const int secs[] = {400, 100, 300, 200};
  for (int i = 0; i < 4; ++i) {
    m.beginWrite(ip(addrs[i]), nullptr);
    m.commitWrite(ip(addrs[i]), now + seconds(secs[i]), m.generation());
  }
  // Extending 192.0.2.2 leaves a stale heap item behind that must be ignored.
  m.beginWrite(ip("192.0.2.2"), nullptr);
  m.commitWrite(ip("192.0.2.2"), now + seconds(500), m.generation());
  // A write in flight keeps 192.0.2.4 out of the candidates.
  m.beginWrite(ip("192.0.2.4"), nullptr);
  auto c = m.evictionCandidates(2);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0], ip("192.0.2.3"));
  EXPECT_EQ(c[1], ip("192.0.2.1"));
  // Asking does not remove.
  EXPECT_EQ(m.evictionCandidates(10).size(), 3u);
}

TEST(AllowMirrorTest, ExpireDropsOnlyWhatHasExpiredAndClearFencesLateWrites) {
  AllowMirror m;
  const auto now = Clock::now();
  m.beginWrite(ip("192.0.2.1"), nullptr);
  m.commitWrite(ip("192.0.2.1"), now + seconds(1), m.generation());
  m.beginWrite(ip("192.0.2.2"), nullptr);
  m.commitWrite(ip("192.0.2.2"), now + seconds(100), m.generation());
  EXPECT_EQ(m.expire(now + seconds(2)), 1u);
  EXPECT_EQ(m.size(), 1u);
  auto gen = m.generation();
  m.beginWrite(ip("192.0.2.3"), nullptr);
  m.clear();
  m.commitWrite(ip("192.0.2.3"), now + seconds(100), gen);
  EXPECT_EQ(m.size(), 0u);
}

TEST(OriginCommentTest, RoundTripAndLimit) {
  std::string name, server;
  parseOriginComment(originComment("www.allowed.test", "pdns1"), name, server);
  EXPECT_EQ(name, "www.allowed.test");
  EXPECT_EQ(server, "pdns1");
  EXPECT_LE(originComment(std::string(300, 'a'), "pdns1").size(), 127u);
}

TEST(KernelFeaturesTest, FromTheRelease) {
  struct Row {
    const char* release;
    bool update;
    bool destroy;
  };
  const Row rows[] = {{"6.18.44-fc-v1252", true, true}, {"6.12.0", true, true},
                      {"6.11.9-amd64", false, true},    {"6.3.0", false, true},
                      {"6.1.0-18-amd64", false, false}, {"5.10.0", false, false},
                      {"7.0.0-30-generic", true, true}, {"garbage", false, false}};
  for (const auto& r : rows) {
    auto f = kernelFeaturesForRelease(r.release);
    EXPECT_EQ(f.elementTimeoutUpdate, r.update) << r.release;
    EXPECT_EQ(f.destroyElement, r.destroy) << r.release;
  }
}

TEST(SetElemBatchTest, BeginMessagesEndWithSequentialSeqs) {
  SetElemBatch b(100);
  ElemWrite w{ip("203.0.113.80"), 60, "x via y"};
  EXPECT_EQ(b.addElements({&w}), 101u);
  EXPECT_EQ(b.destroyElements({ip("203.0.113.81")}), 102u);
  b.finish();
  EXPECT_EQ(b.beginSeq(), 100u);
  EXPECT_EQ(b.endSeq(), 103u);
  EXPECT_EQ(b.messageSeqs(), (std::vector<uint32_t>{101, 102}));
  // BEGIN, two messages and END, each at least a netlink header.
  EXPECT_GT(b.bytes().size(), 4 * 16u);
}

}  // namespace
}  // namespace ztdns::enforce
