// KernelAllowSet against the real kernel (nftables sets and conntrack), in a private
// network namespace.
#include "enforce/kernel_allow_set.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <thread>

#include "enforce/policy_applier.h"
#include "enforce/set_elem_netlink.h"
#include "fakes.h"
#include "netns.h"

namespace ztdns::enforce {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ztdns::testing::runShell;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

// Bulk addresses from a counter, in the documentation range 2001:db8:ffff::/48.
IpAddress docV6(uint32_t i) {
  uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff};
  b[12] = static_cast<uint8_t>(i >> 24);
  b[13] = static_cast<uint8_t>(i >> 16);
  b[14] = static_cast<uint8_t>(i >> 8);
  b[15] = static_cast<uint8_t>(i);
  return IpAddress::v6(b);
}

class KernelAllowSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ZTDNS_ENTER_PRIVATE_NETNS_OR_SKIP();
    runShell("nft delete table inet ztdns 2>/dev/null; conntrack -F 2>/dev/null");
    auto applier = PolicyApplier::create();
    ASSERT_TRUE(applier.ok());
    Policy p;
    p.audit = false;
    ASSERT_TRUE(applier->apply(p).ok());
    make(1000);
  }
  void TearDown() override {
    set_.reset();
    // Only ever inside our own namespace: a skipped test must not flush the host's conntrack.
    if (ztdns::testing::enterPrivateNetns().empty()) runShell("conntrack -F 2>/dev/null");
  }

  void make(uint32_t capacity, KernelAllowSetOptions options = {}) {
    set_.reset();
    auto s = KernelAllowSet::create(io_, capacity, events_, options);
    ASSERT_TRUE(s.ok()) << s.error().message;
    set_ = std::move(*s);
  }

  // Runs the loop until `done` has run; returns its status.
  Status insert(std::vector<AllowRequest> requests,
                AllowOrigin origin = {"www.allowed.test", "pdns1"}) {
    std::optional<Status> result;
    set_->insert(std::move(requests), std::move(origin), [&](Status st) { result = st; });
    runUntil([&] { return result.has_value(); });
    return result.value_or(Error{"insert never completed"});
  }

  void runUntil(const std::function<bool()>& cond, milliseconds limit = milliseconds(5000)) {
    auto end = std::chrono::steady_clock::now() + limit;
    io_.restart();
    while (!cond() && std::chrono::steady_clock::now() < end) {
      io_.run_for(milliseconds(10));
      io_.restart();
    }
  }

  std::optional<KernelElement> kernel(const IpAddress& a) {
    auto list = dumpAllowSet(a.family());
    if (!list) return std::nullopt;
    for (auto& k : *list)
      if (k.address == a) return k;
    return std::nullopt;
  }

  // A conntrack entry from this host to `dst`, as a live TCP flow would leave.
  void liveFlowTo(const char* dst, int sport) {
    ASSERT_EQ(runShell(std::string("conntrack -I -p tcp -s 192.0.2.10 -d ") + dst + " --sport " +
                       std::to_string(sport) +
                       " --dport 443 --state ESTABLISHED -u SEEN_REPLY,ASSURED -t 300 "
                       ">/dev/null 2>&1"),
              0)
        << "conntrack -I failed (is the conntrack tool installed?)";
  }

  asio::io_context io_;
  ztdns::testing::RecordingEventSink events_;
  std::unique_ptr<KernelAllowSet> set_;
};

TEST_F(KernelAllowSetTest, DoneRunsOnlyOnceTheKernelHasTheAddresses) {
  const auto v4 = ip("203.0.113.80"), v6 = ip("2001:db8:80::80");
  std::optional<Status> result;
  bool inKernelAtDone = false;
  set_->insert({{v4, 60}, {v6, 60}}, {"www.allowed.test", "pdns1"}, [&](Status st) {
    inKernelAtDone = kernel(v4).has_value() && kernel(v6).has_value();
    result = st;
  });
  EXPECT_FALSE(kernel(v4)) << "nothing is written before the loop turns";
  runUntil([&] { return result.has_value(); });
  ASSERT_TRUE(result && result->ok()) << (result ? result->error().message : "no result");
  EXPECT_TRUE(inKernelAtDone);
  auto k = kernel(v4);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->timeoutMs, 60000u);
  EXPECT_EQ(k->comment, "www.allowed.test via pdns1");
  auto info = set_->lookup(v6);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->origin.name, "www.allowed.test");
  EXPECT_EQ(info->origin.server, "pdns1");
  auto left = info->expires - std::chrono::system_clock::now();
  EXPECT_GT(left, seconds(50));
  EXPECT_LE(left, seconds(60));
  auto st = set_->stats();
  EXPECT_EQ(st.inserted, 2u);
  EXPECT_EQ(st.batches, 1u);
  EXPECT_EQ(st.size, 2u);
}

TEST_F(KernelAllowSetTest, InsertsQueuedInOneLoopTurnGoOutAsOneBatch) {
  make(100000);
  int ok = 0, failed = 0;
  for (int i = 0; i < 200; ++i) {
    set_->insert({{IpAddress::fromV4Host(0xCB007100u + static_cast<uint32_t>(i % 250)), 120},
                  {IpAddress::fromV4Host(0xC6336400u + static_cast<uint32_t>(i)), 120}},
                 {"n" + std::to_string(i) + ".test", "pdns1"},
                 [&](Status st) { st.ok() ? ++ok : ++failed; });
  }
  runUntil([&] { return ok + failed == 200; });
  EXPECT_EQ(ok, 200);
  EXPECT_EQ(set_->stats().batches, 1u);
  EXPECT_EQ(dumpAllowSet(IpFamily::V4)->size(), 400u);

  // More than one batch's worth from many callers: split at caller boundaries only.
  ok = 0;
  for (int i = 0; i < 100; ++i) {
    std::vector<AllowRequest> reqs;
    for (int j = 0; j < 100; ++j) {
      reqs.push_back({docV6(static_cast<uint32_t>(i * 100 + j)), 120});
    }
    set_->insert(std::move(reqs), {"bulk.test", "pdns1"}, [&](Status st) { ok += st.ok(); });
  }
  runUntil([&] { return ok == 100; });
  EXPECT_EQ(ok, 100);
  EXPECT_EQ(set_->stats().batches, 1u + 3u) << "10,000 elements at 4,096 per batch";
  EXPECT_EQ(dumpAllowSet(IpFamily::V4)->size(), 400u);
  EXPECT_EQ(dumpAllowSet(IpFamily::V6)->size(), 10000u);
}

TEST_F(KernelAllowSetTest, TheSameNewAddressFromTwoCallersInOneTurnIsOneElement) {
  const auto a = ip("203.0.113.80");
  int ok = 0;
  set_->insert({{a, 60}}, {"one.test", "pdns1"}, [&](Status st) { ok += st.ok(); });
  set_->insert({{a, 300}, {a, 30}}, {"two.test", "pdns1"}, [&](Status st) { ok += st.ok(); });
  runUntil([&] { return ok == 2; });
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(set_->stats().batches, 1u);
  auto k = kernel(a);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->timeoutMs, 300000u) << "the longest timeout of the turn";
  EXPECT_GT(set_->lookup(a)->expires - std::chrono::system_clock::now(), seconds(290));
  EXPECT_EQ(set_->stats().size, 1u);
}

TEST_F(KernelAllowSetTest, AReinsertNeverShortensAndALongerOneExtendsInTheKernel) {
  const auto a = ip("203.0.113.80");
  ASSERT_TRUE(insert({{a, 100}}).ok());
  ASSERT_TRUE(insert({{a, 10}}).ok());
  EXPECT_EQ(set_->stats().skippedFresh, 1u);
  EXPECT_EQ(set_->stats().batches, 1u) << "a shorter re-insert costs no kernel write";
  auto k = kernel(a);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->timeoutMs, 100000u);
  EXPECT_GT(k->expiresInMs, 90000u);

  ASSERT_TRUE(insert({{a, 100}}).ok());
  EXPECT_EQ(set_->stats().skippedFresh, 2u) << "the same again is fresh too";

  ASSERT_TRUE(insert({{a, 3000}}).ok());
  k = kernel(a);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->timeoutMs, 3000000u) << "the kernel updated the element's timeout";
  EXPECT_GT(k->expiresInMs, 2990000u);
  EXPECT_GT(set_->lookup(a)->expires - std::chrono::system_clock::now(), seconds(2990));
  EXPECT_EQ(dumpAllowSet(IpFamily::V4)->size(), 1u);
}

TEST_F(KernelAllowSetTest, LegacyKernelPathsExtendByReplacingAndEvictWithDelete) {
  // What a kernel before 6.3 (no DESTROYSETELEM) and before 6.12 (no timeout update) gets:
  // forced here on a new kernel, where the legacy messages work the same.
  KernelAllowSetOptions legacy;
  legacy.features = KernelFeatures{false, false};
  make(3, legacy);
  const auto a = ip("203.0.113.1"), b = ip("203.0.113.2"), c = ip("203.0.113.3"),
             d = ip("203.0.113.4");
  ASSERT_TRUE(insert({{a, 100}}).ok());
  ASSERT_TRUE(insert({{a, 3000}}).ok()) << "delete and re-add in one batch";
  auto k = kernel(a);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->timeoutMs, 3000000u);
  EXPECT_GT(k->expiresInMs, 2990000u);
  ASSERT_TRUE(insert({{b, 200}}).ok());
  ASSERT_TRUE(insert({{c, 300}}).ok());
  ASSERT_TRUE(insert({{d, 400}}).ok()) << "evicts b with DELSETELEM";
  EXPECT_FALSE(kernel(b));
  EXPECT_TRUE(kernel(a) && kernel(c) && kernel(d));
  EXPECT_EQ(set_->stats().evicted, 1u);
  EXPECT_EQ(set_->stats().failures, 0u);
}

TEST_F(KernelAllowSetTest, UninsertableAddressesAreNeverWritten) {
  ASSERT_TRUE(insert({{ip("0.0.0.0"), 60},
                      {ip("::"), 60},
                      {ip("224.0.0.1"), 60},
                      {ip("127.0.0.1"), 60},
                      {ip("::ffff:203.0.113.80"), 60}})
                  .ok());
  EXPECT_EQ(dumpAllowSet(IpFamily::V6)->size(), 0u);
  auto v4 = dumpAllowSet(IpFamily::V4);
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ((*v4)[0].address, ip("203.0.113.80")) << "the mapped address went to allow4";
  auto zero = insert({{ip("203.0.113.81"), 0}});
  EXPECT_FALSE(zero.ok()) << "an allow without timeout would never expire";
}

TEST_F(KernelAllowSetTest, WhenFullItEvictsTheEntryClosestToExpiryWithoutAFlow) {
  make(3);
  const auto a = ip("203.0.113.1"), b = ip("203.0.113.2"), c = ip("203.0.113.3"),
             d = ip("203.0.113.4"), e = ip("203.0.113.5");
  ASSERT_TRUE(insert({{a, 100}}).ok());
  ASSERT_TRUE(insert({{b, 200}}).ok());
  ASSERT_TRUE(insert({{c, 300}}).ok());
  liveFlowTo("203.0.113.1", 40001);  // a is closest to expiry but carries a flow

  ASSERT_TRUE(insert({{d, 400}}).ok());
  EXPECT_TRUE(kernel(a)) << "a has a live flow";
  EXPECT_FALSE(kernel(b)) << "b was closest to expiry without a flow";
  EXPECT_TRUE(kernel(c));
  EXPECT_TRUE(kernel(d));
  EXPECT_FALSE(set_->lookup(b));
  EXPECT_EQ(set_->stats().evicted, 1u);
  EXPECT_EQ(set_->stats().size, 3u);

  liveFlowTo("203.0.113.3", 40003);
  liveFlowTo("203.0.113.4", 40004);
  auto refused = insert({{e, 500}});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("none can be evicted"), std::string::npos)
      << refused.error().message;
  EXPECT_FALSE(kernel(e));
  EXPECT_EQ(set_->stats().refused, 1u);
  EXPECT_EQ(dumpAllowSet(IpFamily::V4)->size(), 3u);

  bool evictEvent = false, refuseEvent = false;
  for (const auto& ev : events_.events()) {
    if (ev.eventId != observe::event_id::kAllowCapacity) continue;
    EXPECT_EQ(ev.action, "CAPACITY");  // docs/logging.md
    const std::string what = ev.fields.value("what", "");
    evictEvent |= what.find("evicted") != std::string::npos;
    refuseEvent |= what.find("refused") != std::string::npos;
  }
  EXPECT_TRUE(evictEvent);
  EXPECT_TRUE(refuseEvent);

  // Re-inserting an address already allowed needs no slot, even when full.
  EXPECT_TRUE(insert({{c, 600}}).ok());
}

TEST_F(KernelAllowSetTest, EvictingAnElementTheKernelNoLongerHasDoesNotFailTheBatch) {
  make(1);
  const auto a = ip("203.0.113.1"), b = ip("203.0.113.2");
  ASSERT_TRUE(insert({{a, 100}}).ok());
  ASSERT_EQ(runShell("nft delete element inet ztdns allow4 '{ 203.0.113.1 }'"), 0);
  auto st = insert({{b, 100}});
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(kernel(b));
  EXPECT_EQ(set_->stats().evicted, 1u);
}

TEST_F(KernelAllowSetTest, ANewInstanceAdoptsTheKernelsAllowsWithTheirRemainingTime) {
  ASSERT_TRUE(insert({{ip("203.0.113.80"), 600}, {ip("2001:db8:80::80"), 600}},
                     {"www.allowed.test", "pdns1"})
                  .ok());
  ASSERT_TRUE(insert({{ip("203.0.113.81"), 60}}, {"other.test", "pdns2"}).ok());
  make(1000);  // the daemon restarted: a fresh mirror
  EXPECT_FALSE(set_->lookup(ip("203.0.113.80")));
  auto st = set_->adoptKernelState();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(set_->stats().size, 3u);
  auto info = set_->lookup(ip("2001:db8:80::80"));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->origin.name, "www.allowed.test");
  EXPECT_EQ(info->origin.server, "pdns1");
  auto left = info->expires - std::chrono::system_clock::now();
  EXPECT_GT(left, seconds(590));
  EXPECT_LE(left, seconds(600));
  EXPECT_EQ(set_->lookup(ip("203.0.113.81"))->origin.server, "pdns2");
  // Adopted entries are fresh: re-inserting them costs nothing.
  ASSERT_TRUE(insert({{ip("203.0.113.80"), 600}}).ok());
  EXPECT_EQ(set_->stats().skippedFresh, 1u);
}

TEST_F(KernelAllowSetTest, AdoptionWithoutTheTableFailsInWords) {
  runShell("nft delete table inet ztdns");
  auto st = set_->adoptKernelState();
  ASSERT_FALSE(st.ok());
  EXPECT_FALSE(st.error().message.empty());
}

TEST_F(KernelAllowSetTest, InactiveInsertsSucceedAtOnceAndWriteNothing) {
  set_->setActive(false);
  ASSERT_TRUE(insert({{ip("203.0.113.80"), 60}}).ok());
  EXPECT_FALSE(kernel(ip("203.0.113.80")));
  EXPECT_EQ(set_->stats().batches, 0u);
  set_->setActive(true);
  ASSERT_TRUE(insert({{ip("203.0.113.80"), 60}}).ok());
  EXPECT_TRUE(kernel(ip("203.0.113.80")));
}

TEST_F(KernelAllowSetTest, AKernelErrorFailsTheCallerAndLeavesNoMirrorEntry) {
  runShell("nft delete table inet ztdns");
  auto st = insert({{ip("203.0.113.80"), 60}});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("do not exist"), std::string::npos) << st.error().message;
  EXPECT_FALSE(set_->lookup(ip("203.0.113.80")));
  EXPECT_EQ(set_->stats().failures, 1u);
  EXPECT_EQ(set_->stats().size, 0u);
}

TEST_F(KernelAllowSetTest, AnUnacknowledgedBatchFailsAfterTheAckTimeout) {
  KernelAllowSetOptions options;
  options.ackTimeout = milliseconds(300);
  make(1000, options);
  set_->stopReadingAcksForTest();
  const auto a = ip("203.0.113.80");
  auto t0 = std::chrono::steady_clock::now();
  auto st = insert({{a, 60}});
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ETIMEDOUT) << st.error().message;
  EXPECT_GE(waited, milliseconds(300));
  EXPECT_FALSE(set_->lookup(a)) << "not confirmed, so not in the mirror";
  EXPECT_EQ(set_->stats().failures, 1u);
}

TEST_F(KernelAllowSetTest, ExpiredAllowsLeaveTheKernelAndTheMirror) {
  KernelAllowSetOptions options;
  options.sweepInterval = seconds(1);
  make(1000, options);
  const auto a = ip("203.0.113.80");
  ASSERT_TRUE(insert({{a, 1}}).ok());
  EXPECT_TRUE(set_->lookup(a));
  runUntil([&] { return !kernel(a) && set_->stats().size == 0; }, milliseconds(5000));
  EXPECT_FALSE(kernel(a));
  EXPECT_FALSE(set_->lookup(a));
  EXPECT_EQ(set_->stats().size, 0u);
}

TEST_F(KernelAllowSetTest, LookupAndStatsAreSafeFromAnotherThread) {
  make(100000);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0};
  std::thread reader([&] {
    while (!stop) {
      set_->lookup(docV6(1));
      set_->stats();
      ++reads;
    }
  });
  int ok = 0;
  for (int i = 0; i < 50; ++i) {
    std::vector<AllowRequest> reqs;
    for (int j = 0; j < 100; ++j) {
      reqs.push_back({docV6(static_cast<uint32_t>(i * 100 + j)), 60});
    }
    set_->insert(std::move(reqs), {"t.test", "p"}, [&](Status st) { ok += st.ok(); });
    runUntil([&] { return ok == i + 1; });
  }
  stop = true;
  reader.join();
  EXPECT_EQ(ok, 50);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(set_->stats().size, 5000u);
}

}  // namespace
}  // namespace ztdns::enforce
