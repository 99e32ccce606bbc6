// Stub: allow-before-answer, cache, coalescing and failures, over real UDP sockets.
#include <gtest/gtest.h>

#include <random>

#include "stub_harness.h"

namespace ztdns::resolver::test {
namespace {

using Strings = std::vector<std::string>;
using std::chrono::milliseconds;

class StubTest : public StubHarness {};

ResolveRequest request(const std::string& name, uint16_t qtype) {
  ResolveRequest r;
  r.name = name;
  r.qtype = qtype;
  return r;
}

TEST_F(StubTest, DigGetsTheAnswerAfterItsAddressIsAllowed) {
  pool_.setResponder(zoneAnswer);
  allow_.setAutoAck(true);
  ASSERT_TRUE(startStub().ok());
  EXPECT_EQ(dig("+short www.allowed.test A", v4()), "203.0.113.80\n");
  EXPECT_EQ(dig("+short www.allowed.test AAAA", v6()), "2001:db8:80::80\n");
  ASSERT_EQ(allow_.insertCount(), 2u);
  auto first = allow_.insertAt(0);
  ASSERT_EQ(first.requests.size(), 1u);
  EXPECT_EQ(first.requests[0].address.toString(), "203.0.113.80");
  EXPECT_EQ(first.requests[0].timeoutSeconds, config_.allowSecondsForTtl(300));
  EXPECT_EQ(first.origin.name, "www.allowed.test");
  EXPECT_EQ(first.origin.server, "pdns1");
  EXPECT_TRUE(allow_.isAllowed(IpAddress::parse("2001:db8:80::80").value()));
  // The upstream query was padded and lowercase.
  auto q = pool_.query(0);
  EXPECT_EQ(q.size() % 128, 0u);
  EXPECT_EQ(stats().answered, 2u);
  EXPECT_EQ(stats().insertsRequested, 2u);
}

TEST_F(StubTest, NeverReleasedBeforeTheKernelAcknowledges) {
  pool_.setResponder(zoneAnswer);
  ASSERT_TRUE(startStub().ok());
  UdpClient client(v4());
  client.send(clientQuery("WwW.Allowed.TEST", KNOT_RRTYPE_A, 0x1111));
  ASSERT_TRUE(allow_.waitForInserts(1));
  barrier();  // whatever the stub would send in that turn is in our socket by now
  EXPECT_FALSE(client.pending());
  EXPECT_FALSE(allow_.isAllowed(IpAddress::parse("203.0.113.80").value()));
  allow_.ack(0);
  auto answer = client.recv();
  ASSERT_TRUE(answer);
  EXPECT_TRUE(allow_.isAllowed(IpAddress::parse("203.0.113.80").value()));
  Reply r(*answer);
  ASSERT_EQ(r.parseRc(), KNOT_EOK);
  EXPECT_EQ(r.id(), 0x1111);
  EXPECT_EQ(r.qname(), "WwW.Allowed.TEST.");
  EXPECT_EQ(r.addresses(), (Strings{"203.0.113.80"}));
}

TEST_F(StubTest, InsertFailureIsServfailAndNotCached) {
  pool_.setResponder(zoneAnswer);
  ASSERT_TRUE(startStub().ok());
  UdpClient client(v4());
  client.send(clientQuery("www.allowed.test", KNOT_RRTYPE_A, 7));
  ASSERT_TRUE(allow_.waitForInserts(1));
  allow_.fail(0, "allow set full");
  auto answer = client.recv();
  ASSERT_TRUE(answer);
  Reply r(*answer);
  EXPECT_EQ(r.rcode(), KNOT_RCODE_SERVFAIL);
  EXPECT_EQ(r.answers(), 0u);
  EXPECT_EQ(servfail(ServfailCause::kAllowFailed), 1u);
  // Not cached: the next query goes upstream again.
  client.send(clientQuery("www.allowed.test", KNOT_RRTYPE_A, 8));
  ASSERT_TRUE(pool_.waitForCalls(2));
}

TEST_F(StubTest, InsertTimeoutIsServfailAndALateAckReleasesNothing) {
  pool_.setResponder(zoneAnswer);
  StubOptions options;
  options.allowTimeout = milliseconds(200);
  ASSERT_TRUE(startStub(options).ok());
  UdpClient client(v4());
  client.send(clientQuery("www.allowed.test", KNOT_RRTYPE_A, 9));
  ASSERT_TRUE(allow_.waitForInserts(1));
  auto answer = client.recv();
  ASSERT_TRUE(answer);
  EXPECT_EQ(Reply(*answer).rcode(), KNOT_RCODE_SERVFAIL);
  EXPECT_EQ(servfail(ServfailCause::kAllowTimeout), 1u);
  allow_.ack(0);
  barrier();
  barrier();
  EXPECT_FALSE(client.pending());
}

TEST_F(StubTest, PoolFailuresAreServfailCountedByCause) {
  ASSERT_TRUE(startStub().ok());
  UdpClient client(v4());
  const std::pair<upstream::FailureCause, ServfailCause> cases[] = {
      {upstream::FailureCause::kAllServersFailed, ServfailCause::kAllServersFailed},
      {upstream::FailureCause::kNoServers, ServfailCause::kNoServers},
      {upstream::FailureCause::kTimeout, ServfailCause::kUpstreamTimeout},
      {upstream::FailureCause::kBadAnswer, ServfailCause::kBadAnswer},
  };
  size_t i = 0;
  for (auto [poolCause, cause] : cases) {
    client.send(clientQuery("www.allowed.test", KNOT_RRTYPE_A, static_cast<uint16_t>(100 + i)));
    ASSERT_TRUE(pool_.waitForCalls(i + 1));
    pool_.fail(i, poolCause, "TLS: certificate name mismatch");
    auto answer = client.recv();
    ASSERT_TRUE(answer);
    Reply r(*answer);
    EXPECT_EQ(r.rcode(), KNOT_RCODE_SERVFAIL);
    EXPECT_EQ(r.id(), 100 + i);
    EXPECT_EQ(servfail(cause), 1u);
    ++i;
  }
  EXPECT_EQ(allow_.insertCount(), 0u);
  EXPECT_EQ(stats().servfailTotal(), 4u);
}

TEST_F(StubTest, SilentPoolIsServfailWithinTwoSeconds) {
  ASSERT_TRUE(startStub().ok());
  UdpClient client(v4());
  auto sent = std::chrono::steady_clock::now();
  client.send(clientQuery("www.allowed.test", KNOT_RRTYPE_A, 1));
  ASSERT_TRUE(pool_.waitForCalls(1));
  EXPECT_LE(pool_.deadline(0) - sent, std::chrono::seconds(2));
  auto answer = client.recv(3000);
  auto elapsed = std::chrono::steady_clock::now() - sent;
  ASSERT_TRUE(answer);
  EXPECT_EQ(Reply(*answer).rcode(), KNOT_RCODE_SERVFAIL);
  EXPECT_LT(elapsed, std::chrono::seconds(2));  // the bound
  EXPECT_EQ(servfail(ServfailCause::kUpstreamTimeout), 1u);
  // The pool's late answer changes nothing.
  pool_.answer(0, zoneAnswer(pool_.query(0))->value());
  barrier();
  barrier();
  EXPECT_FALSE(client.pending());
  EXPECT_EQ(allow_.insertCount(), 0u);
}

TEST_F(StubTest, IdenticalConcurrentQueriesShareOneUpstreamQuery) {
  allow_.setAutoAck(true);
  ASSERT_TRUE(startStub().ok());
  UdpClient a(v4()), b(v6());
  TcpClient c(v4());
  ASSERT_TRUE(c.connected());
  a.send(clientQuery("www.allowed.test", KNOT_RRTYPE_A, 1));
  b.send(clientQuery("WWW.ALLOWED.TEST", KNOT_RRTYPE_A, 2, true));
  c.sendAll({clientQuery("www.Allowed.test", KNOT_RRTYPE_A, 3)});
  ASSERT_TRUE(eventually([&] { return stats().queries == 3; }));
  barrier();
  EXPECT_EQ(pool_.callCount(), 1u);
  EXPECT_EQ(stats().coalesced, 2u);
  pool_.answer(0, zoneAnswer(pool_.query(0))->value());
  auto ra = a.recv(), rb = b.recv();
  auto rc = c.recv();
  ASSERT_TRUE(ra && rb && rc);
  Reply x(*ra), y(*rb), z(*rc);
  EXPECT_EQ(x.id(), 1);
  EXPECT_EQ(y.id(), 2);
  EXPECT_EQ(z.id(), 3);
  EXPECT_EQ(x.qname(), "www.allowed.test.");
  EXPECT_EQ(y.qname(), "WWW.ALLOWED.TEST.");
  EXPECT_EQ(z.qname(), "www.Allowed.test.");
  EXPECT_EQ(x.addresses(), (Strings{"203.0.113.80"}));
  EXPECT_EQ(allow_.insertCount(), 1u);  // one insert for all three
  // A different type is a different question.
  a.send(clientQuery("www.allowed.test", KNOT_RRTYPE_AAAA, 4));
  ASSERT_TRUE(pool_.waitForCalls(2));
}

TEST_F(StubTest, FloodsAreBoundedWithServfail) {
  StubOptions options;
  options.maxJobs = 2;
  options.maxWaitersPerJob = 2;
  ASSERT_TRUE(startStub(options).ok());
  UdpClient client(v4());
  client.send(clientQuery("a1.test", KNOT_RRTYPE_A, 1));
  client.send(clientQuery("a2.test", KNOT_RRTYPE_A, 2));
  ASSERT_TRUE(pool_.waitForCalls(2));
  client.send(clientQuery("a3.test", KNOT_RRTYPE_A, 3));  // a third job
  auto refused = client.recv();
  ASSERT_TRUE(refused);
  EXPECT_EQ(Reply(*refused).id(), 3);
  EXPECT_EQ(Reply(*refused).rcode(), KNOT_RCODE_SERVFAIL);
  client.send(clientQuery("a1.test", KNOT_RRTYPE_A, 4));  // second waiter on job 1: fine
  client.send(clientQuery("a1.test", KNOT_RRTYPE_A, 5));  // third waiter: refused
  auto second = client.recv();
  ASSERT_TRUE(second);
  EXPECT_EQ(Reply(*second).id(), 5);
  EXPECT_EQ(servfail(ServfailCause::kOverloaded), 2u);
  EXPECT_EQ(pool_.callCount(), 2u);
  EXPECT_EQ(stats().coalesced, 1u);
}

TEST_F(StubTest, CacheHitReassertsAllowsWithTheRemainingTtl) {
  config_.allowGraceSeconds = 0;
  config_.minimumAllowTimeInSeconds = 1;  // timeout == TTL, so the remaining TTL shows
  pool_.setResponder(zoneAnswer);
  allow_.setAutoAck(true);
  ASSERT_TRUE(startStub().ok());
  UdpClient client(v4());
  client.send(clientQuery("short.test", KNOT_RRTYPE_A, 1));
  ASSERT_TRUE(client.recv());
  ASSERT_EQ(allow_.insertCount(), 1u);
  EXPECT_EQ(allow_.insertAt(0).requests.at(0).timeoutSeconds, 3u);

  std::this_thread::sleep_for(milliseconds(1100));  // the TTL is in whole seconds
  client.send(clientQuery("SHORT.test", KNOT_RRTYPE_A, 2));
  auto hit = client.recv();
  ASSERT_TRUE(hit);
  Reply r(*hit);
  EXPECT_EQ(r.id(), 2);
  EXPECT_EQ(r.qname(), "SHORT.test.");
  EXPECT_EQ(r.addresses(), (Strings{"203.0.113.3"}));
  EXPECT_LE(r.firstTtl(), 2u);
  EXPECT_EQ(pool_.callCount(), 1u);
  ASSERT_EQ(allow_.insertCount(), 2u);
  auto again = allow_.insertAt(1);
  EXPECT_LE(again.requests.at(0).timeoutSeconds, 2u);
  EXPECT_GE(again.requests.at(0).timeoutSeconds, 1u);
  EXPECT_EQ(again.origin.server, "pdns1");
  EXPECT_EQ(stats().cacheHits, 1u);
}

TEST_F(StubTest, CacheHitWaitsForItsOwnAck) {
  pool_.setResponder(zoneAnswer);
  allow_.setAutoAck(true);
  ASSERT_TRUE(startStub().ok());
  UdpClient client(v4());
  client.send(clientQuery("www.allowed.test", KNOT_RRTYPE_A, 1));
  ASSERT_TRUE(client.recv());
  allow_.setAutoAck(false);
  client.send(clientQuery("www.allowed.test", KNOT_RRTYPE_A, 2));
  ASSERT_TRUE(allow_.waitForInserts(2));
  barrier();
  EXPECT_FALSE(client.pending());
  allow_.ack(1);
  auto hit = client.recv();
  ASSERT_TRUE(hit);
  EXPECT_EQ(Reply(*hit).id(), 2);
  EXPECT_EQ(pool_.callCount(), 1u);
}

TEST_F(StubTest, NegativeAnswersAreCached) {
  pool_.setResponder(zoneAnswer);
  ASSERT_TRUE(startStub().ok());
  UdpClient client(v4());
  for (uint16_t id = 1; id <= 2; ++id) {
    client.send(clientQuery("nx.test", KNOT_RRTYPE_A, id));
    auto answer = client.recv();
    ASSERT_TRUE(answer);
    Reply r(*answer);
    EXPECT_EQ(r.rcode(), KNOT_RCODE_NXDOMAIN);
    EXPECT_EQ(r.id(), id);
  }
  EXPECT_EQ(pool_.callCount(), 1u);
  EXPECT_EQ(stats().cacheHits, 1u);
  EXPECT_EQ(allow_.insertCount(), 0u);  // nothing to allow in a negative answer
}

TEST_F(StubTest, CacheMemoryIsBoundedLeastRecentlyUsedFirst) {
  pool_.setResponder(zoneAnswer);
  allow_.setAutoAck(true);
  StubOptions options;
  options.cacheBytes = 8 * 1024;
  ASSERT_TRUE(startStub(options).ok());
  UdpClient client(v4());
  for (int i = 0; i < 60; ++i) {
    client.send(clientQuery("n" + std::to_string(1000 + i) + ".test", KNOT_RRTYPE_A, 1));
    ASSERT_TRUE(client.recv());
  }
  StubStats s = stats();
  EXPECT_LE(s.cacheBytes, options.cacheBytes);
  EXPECT_LT(s.cacheEntries, 60u);
  EXPECT_GT(s.cacheEvictions, 0u);
  size_t calls = pool_.callCount();
  client.send(clientQuery("n1059.test", KNOT_RRTYPE_A, 2));  // most recent: still cached
  ASSERT_TRUE(client.recv());
  EXPECT_EQ(pool_.callCount(), calls);
  client.send(clientQuery("n1000.test", KNOT_RRTYPE_A, 3));  // oldest: evicted
  ASSERT_TRUE(client.recv());
  EXPECT_EQ(pool_.callCount(), calls + 1);
}

TEST_F(StubTest, MalformedQueriesNeverReachThePool) {
  ASSERT_TRUE(startStub().ok());
  UdpClient client(v4());
  auto plain = clientQuery("www.allowed.test", KNOT_RRTYPE_A, 0x4242);
  struct Case {
    Bytes wire;
    int rcode;  // -1: no answer
  };
  auto with = [&](size_t at, uint8_t v) {
    Bytes w = plain;
    w[at] = v;
    return w;
  };
  Bytes trailing = plain;
  trailing.push_back(0);
  Bytes chaos = plain;
  chaos.back() = 3;
  std::vector<Case> cases = {
      {{1, 2, 3}, -1},
      {with(2, 0x81), -1},  // a response
      {with(5, 2), KNOT_RCODE_FORMERR},
      {with(7, 1), KNOT_RCODE_FORMERR},
      {with(12, 60), KNOT_RCODE_FORMERR},
      {trailing, KNOT_RCODE_FORMERR},
      {with(2, 0x21), KNOT_RCODE_NOTIMPL},  // NOTIFY
      {clientQuery("example.test", KNOT_RRTYPE_AXFR, 5), KNOT_RCODE_NOTIMPL},
      {chaos, KNOT_RCODE_REFUSED},
      {PacketBuilder::query("v.test", 1, 6).edns(1232, false, {}, {}, 1).build(), 16},
  };
  for (const Case& c : cases) {
    client.send(c.wire);
    if (c.rcode < 0) continue;
    auto answer = client.recv();
    ASSERT_TRUE(answer);
    Reply r(*answer);
    uint16_t rcode = r.rcode();
    if (c.rcode == 16) {
      ASSERT_EQ(r.parseRc(), KNOT_EOK);
      EXPECT_EQ(rcode, 0);  // BADVERS lives in the OPT's extended bits
    } else {
      EXPECT_EQ(rcode, c.rcode);
    }
  }
  // Random bytes, many shapes of garbage.
  std::mt19937 rng(42);
  for (int i = 0; i < 300; ++i) {
    Bytes junk(rng() % 80);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    if (junk.size() > 2) junk[2] &= 0x7F;  // mostly "queries"
    client.send(junk);
  }
  // And malformed messages over TCP.
  TcpClient tcp(v4());
  tcp.sendAll({with(5, 0), trailing});
  auto t1 = tcp.recv(), t2 = tcp.recv();
  ASSERT_TRUE(t1 && t2);
  EXPECT_EQ(Reply(*t1).rcode(), KNOT_RCODE_FORMERR);
  EXPECT_EQ(Reply(*t2).rcode(), KNOT_RCODE_FORMERR);
  ASSERT_TRUE(eventually([&] { return stats().queries >= cases.size() + 300 + 2; }));
  barrier();
  EXPECT_EQ(pool_.callCount(), 0u);
  EXPECT_GE(stats().formerr, 6u);
  EXPECT_GE(stats().dropped, 2u);
}

TEST_F(StubTest, BadUpstreamAnswersAreServfailWithNothingInserted) {
  pool_.setResponder([](std::span<const uint8_t> q) -> std::optional<Result<upstream::Answer>> {
    if (qnameOf(q) == "wrong.test") {  // an answer to another question
      return FakeServerPool::makeAnswer(
          PacketBuilder::response("other.test", 1).a("other.test", 60, "203.0.113.66").build());
    }
    Bytes junk = PacketBuilder::responseTo(q).a(qnameOf(q), 60, "203.0.113.66").build();
    junk.resize(junk.size() - 3);  // cut inside the A record
    return FakeServerPool::makeAnswer(junk);
  });
  allow_.setAutoAck(true);
  ASSERT_TRUE(startStub().ok());
  UdpClient client(v4());
  for (const char* name : {"wrong.test", "cut.test"}) {
    client.send(clientQuery(name, KNOT_RRTYPE_A, 1));
    auto answer = client.recv();
    ASSERT_TRUE(answer);
    EXPECT_EQ(Reply(*answer).rcode(), KNOT_RCODE_SERVFAIL);
  }
  EXPECT_EQ(allow_.insertCount(), 0u);
  EXPECT_EQ(servfail(ServfailCause::kBadAnswer), 2u);
}

TEST_F(StubTest, CnameChainAllowsOnlyTheFinalAddressesWithTheChainsLowestTtl) {
  pool_.setResponder(zoneAnswer);
  allow_.setAutoAck(true);
  ASSERT_TRUE(startStub().ok());
  EXPECT_NE(dig("chain.test A", v4()).find("203.0.113.81"), std::string::npos);
  ASSERT_EQ(allow_.insertCount(), 1u);
  auto insert = allow_.insertAt(0);
  ASSERT_EQ(insert.requests.size(), 1u);
  EXPECT_EQ(insert.requests[0].address.toString(), "203.0.113.81");
  EXPECT_EQ(insert.requests[0].timeoutSeconds, config_.allowSecondsForTtl(60));
  EXPECT_EQ(insert.origin.name, "chain.test");
}

TEST_F(StubTest, TtlZeroIsAllowedForTheMinimumTime) {
  pool_.setResponder(zoneAnswer);
  allow_.setAutoAck(true);
  config_.allowGraceSeconds = 5;
  config_.minimumAllowTimeInSeconds = 120;
  ASSERT_TRUE(startStub().ok());
  EXPECT_EQ(dig("+short ttl0.test A", v4()), "203.0.113.4\n");
  ASSERT_EQ(allow_.insertCount(), 1u);
  EXPECT_EQ(allow_.insertAt(0).requests.at(0).timeoutSeconds, 120u);
  EXPECT_EQ(dig("+short ttl0.test A", v4()), "203.0.113.4\n");
  EXPECT_EQ(pool_.callCount(), 2u);  // TTL 0: never cached
}

TEST_F(StubTest, UnspecifiedAndMappedAddresses) {
  pool_.setResponder(zoneAnswer);
  allow_.setAutoAck(true);
  ASSERT_TRUE(startStub().ok());
  // 0.0.0.0 (a PDNS's block answer) is released without any insert.
  EXPECT_EQ(dig("+short zero.test A", v4()), "0.0.0.0\n");
  EXPECT_EQ(allow_.insertCount(), 0u);
  // ::ffff:203.0.113.9 is allowed as the IPv4 address it is.
  EXPECT_EQ(dig("+short mapped.test AAAA", v4()), "::ffff:203.0.113.9\n");
  ASSERT_EQ(allow_.insertCount(), 1u);
  EXPECT_EQ(allow_.insertAt(0).requests.at(0).address.toString(), "203.0.113.9");
}

TEST_F(StubTest, ResolveReportsServerProtocolRttAndAllows) {
  pool_.setResponder(zoneAnswer);
  allow_.setAutoAck(true);
  ASSERT_TRUE(startStub().ok());
  auto ask = [&](ResolveRequest req) {
    std::promise<Result<ResolveOutcome>> p;
    auto f = p.get_future();
    asio::post(io_, [&] {
      stub_->resolve(req, [&p](Result<ResolveOutcome> r) { p.set_value(std::move(r)); });
    });
    return f.get();
  };
  auto fresh = ask(request("www.allowed.test", KNOT_RRTYPE_A));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->rcode, KNOT_RCODE_NOERROR);
  EXPECT_EQ(fresh->source, "DoT");
  EXPECT_EQ(fresh->server, "pdns1");
  EXPECT_EQ(fresh->serverAddress.toString(), "198.51.100.53");
  EXPECT_EQ(fresh->serverPort, 853);
  EXPECT_EQ(fresh->rtt.count(), 1500);
  EXPECT_FALSE(fresh->fromCache);
  ASSERT_EQ(fresh->allowed.size(), 1u);
  EXPECT_EQ(fresh->allowed[0].address.toString(), "203.0.113.80");
  EXPECT_EQ(fresh->allowed[0].timeoutSeconds, config_.allowSecondsForTtl(300));
  EXPECT_EQ(Reply(fresh->answer).addresses(), (Strings{"203.0.113.80"}));

  auto cached = ask(request("www.allowed.test", KNOT_RRTYPE_A));
  ASSERT_TRUE(cached.ok());
  EXPECT_TRUE(cached->fromCache);
  EXPECT_EQ(cached->source, "cache");
  EXPECT_EQ(cached->allowed.size(), 1u);

  ResolveRequest via = request("www.allowed.test", KNOT_RRTYPE_A);
  via.server = IpAddress::parse("198.51.100.54").value();
  size_t before = pool_.callCount();
  auto direct = ask(via);
  ASSERT_TRUE(direct.ok());
  ASSERT_EQ(pool_.callCount(), before + 1);
  EXPECT_EQ(pool_.via(before)->toString(), "198.51.100.54");
  EXPECT_FALSE(direct->fromCache);

  EXPECT_FALSE(ask(request("bad..name", KNOT_RRTYPE_A)).ok());

  pool_.setResponder(nullptr);
  std::promise<Result<ResolveOutcome>> p;
  auto f = p.get_future();
  asio::post(io_, [&] {
    stub_->resolve(request("fails.test", KNOT_RRTYPE_A),
                   [&p](Result<ResolveOutcome> r) { p.set_value(std::move(r)); });
  });
  ASSERT_TRUE(pool_.waitForCalls(before + 2));
  pool_.fail(before + 1, upstream::FailureCause::kAllServersFailed, "connect: refused");
  auto failed = f.get();
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->rcode, KNOT_RCODE_SERVFAIL);
  EXPECT_NE(failed->failure.find("connect: refused"), std::string::npos);
}

}  // namespace
}  // namespace ztdns::resolver::test
