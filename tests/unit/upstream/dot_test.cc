// DoT against real unbound and the scripted DoT server: answers over both families,
// pipelining, out-of-order answers, idle closes with queries in flight, resumption.
#include "upstream/server_pool_impl.h"
#include "upstream_fixture.h"

namespace ztdns::upstream::test {
namespace {

class DotTest : public UpstreamNetTest {
 protected:
  std::unique_ptr<testing::UnboundPeer> startUnbound(uint16_t port, int idleMs = 30000) {
    testing::UnboundSpec s;
    s.addresses = {kPdns1, kPdns1v6};
    s.tlsPort = port;
    s.certFile = pki().pdns1.chainFile;
    s.keyFile = pki().pdns1.keyFile;
    s.tcpIdleTimeoutMs = idleMs;
    auto u = std::make_unique<testing::UnboundPeer>(dir(), "dot" + std::to_string(port), s);
    EXPECT_TRUE(u->start()) << u->log();
    return u;
  }

  // Sends `names` at once; returns the answers (or errors) by index.
  std::vector<std::optional<Result<Answer>>> burst(ServerPool& pool,
                                                   const std::vector<std::string>& names,
                                                   uint16_t idBase = 100) {
    std::vector<std::optional<Result<Answer>>> got(names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      auto q = wire::makeQuery(names[i].c_str(), 1, static_cast<uint16_t>(idBase + i));
      pool.resolve(q, Clock::now() + 1800ms,
                   [&got, i](Result<Answer> r) { got[i].emplace(std::move(r)); });
    }
    runUntil([&] {
      for (auto& g : got) {
        if (!g) return false;
      }
      return true;
    });
    return got;
  }
};

TEST_F(DotTest, AnswersFromUnboundOverIpv4AndIpv6) {
  uint16_t port = freshPort();
  auto unbound = startUnbound(port);
  for (const char* addr : {kPdns1, kPdns1v6}) {
    auto pool = makeServerPool(io_, options({dotServer("pdns1", addr, port, kName1)}), events_);
    ASSERT_TRUE(pool) << pool.error().message;
    auto r = resolve(**pool, "www.example.test", 1, 1800ms, 0xABCD);
    ASSERT_TRUE(r) << addr << ": " << r.error().message << "\n" << unbound->log();
    EXPECT_EQ(firstA(r->wire), "203.0.113.80");
    EXPECT_EQ(wire::readU16(r->wire.data()), 0xABCD);
    EXPECT_EQ(r->transport, Transport::kDoT);
    EXPECT_EQ(r->serverAddress, *IpAddress::parse(addr));
    EXPECT_EQ(r->serverName, "pdns1");
    auto st = (*pool)->status();
    EXPECT_EQ(st[0].health, Health::kUp);
    EXPECT_TRUE(st[0].lastRtt.has_value());
    EXPECT_EQ(st[0].answered, 1u);
  }
  EXPECT_EQ(port53Packets(), 0u);
}

TEST_F(DotTest, PipelinesManyQueriesOnOneConnectionWithTheCallersIds) {
  uint16_t port = freshPort();
  auto unbound = startUnbound(port);
  auto o = options({dotServer("pdns1", kPdns1, port, kName1)});
  o.softInFlightPerConnection = 1000;
  auto pool = makeServerPool(io_, o, events_);
  ASSERT_TRUE(pool);
  // 60 queries, every one with the same client ID: the wire IDs must still be unique.
  std::vector<std::optional<Result<Answer>>> got(60);
  for (size_t i = 0; i < got.size(); ++i) {
    auto q = wire::makeQuery(i % 2 ? "www.example.test" : "two.example.test", 1, 7);
    (*pool)->resolve(q, Clock::now() + 1800ms,
                     [&got, i](Result<Answer> r) { got[i].emplace(std::move(r)); });
  }
  ASSERT_TRUE(runUntil([&] {
    for (auto& g : got)
      if (!g) return false;
    return true;
  }));
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(*got[i]) << got[i]->error().message;
    EXPECT_EQ(wire::readU16((*got[i])->wire.data()), 7);
    EXPECT_EQ(firstA((*got[i])->wire), i % 2 ? "203.0.113.80" : "203.0.113.81");
  }
  EXPECT_EQ(static_cast<ServerPoolImpl&>(**pool).connectionsOpenedForTest(0), 1u);
}

TEST_F(DotTest, SpreadsOverConnectionsUpToTheLimit) {
  uint16_t port = freshPort();
  testing::DotScript script;
  script.reverseBatch = 8;  // holds answers until 8 queries (or 150 ms) have arrived
  testing::ScriptedDotServer server({kPdns1, port, pki().pdns1.chainFile, pki().pdns1.keyFile},
                                    script);
  ASSERT_TRUE(server.start());
  auto o = options({dotServer("pdns1", kPdns1, port, kName1)});
  o.softInFlightPerConnection = 4;
  o.maxConnectionsPerEndpoint = 2;
  auto pool = makeServerPool(io_, o, events_);
  ASSERT_TRUE(pool);
  std::vector<std::string> names(40, "www.example.test");
  auto got = burst(**pool, names);
  for (auto& g : got) ASSERT_TRUE(g && *g) << (g ? g->error().message : "none");
  EXPECT_EQ(static_cast<ServerPoolImpl&>(**pool).connectionsOpenedForTest(0), 2u);
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(DotTest, OutOfOrderAnswersAreMatchedById) {
  uint16_t port = freshPort();
  testing::DotScript script;
  script.reverseBatch = 8;
  testing::ScriptedDotServer server({kPdns1, port, pki().pdns1.chainFile, pki().pdns1.keyFile},
                                    script);
  ASSERT_TRUE(server.start());
  auto pool = makeServerPool(io_, options({dotServer("pdns1", kPdns1, port, kName1)}), events_);
  ASSERT_TRUE(pool);
  std::vector<std::string> names;
  for (int i = 0; i < 16; ++i) names.push_back("q" + std::to_string(i) + ".example.test");
  auto got = burst(**pool, names, 500);
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_TRUE(got[i] && *got[i]) << i;
    const auto& a = (*got[i])->wire;
    EXPECT_EQ(wire::readU16(a.data()), 500 + i);
    auto q = wire::makeQuery(names[i].c_str(), 1, 0);
    EXPECT_TRUE(wire::answerMatchesQuery(q, a)) << "answer " << i << " is another query's";
  }
  auto ids = server.wireIds();
  ASSERT_EQ(ids.size(), 17u) << "the pool's first check of the server, then the 16 queries";
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end()) << "wire IDs repeat on one connection";
  EXPECT_EQ(server.connections(), 1);
}

class DotIdleCloseTest : public DotTest,
                         public ::testing::WithParamInterface<testing::CloseStyle> {};

TEST_P(DotIdleCloseTest, QueriesInFlightSurviveTheServerClosing) {
  uint16_t port = freshPort();
  testing::DotScript script;
  script.closeAfterQueries = 3;
  script.closeStyle = GetParam();
  testing::ScriptedDotServer server({kPdns1, port, pki().pdns1.chainFile, pki().pdns1.keyFile},
                                    script);
  ASSERT_TRUE(server.start());
  auto pool = makeServerPool(io_, options({dotServer("pdns1", kPdns1, port, kName1)}), events_);
  ASSERT_TRUE(pool);
  ASSERT_TRUE(resolve(**pool, "warm.example.test")) << "first connection";
  std::vector<std::string> names(10, "www.example.test");
  auto got = burst(**pool, names);
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(got[i] && *got[i]) << i << ": " << (got[i] ? (*got[i]).error().message : "none");
  }
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ((*pool)->status()[0].health, Health::kUp);
}

INSTANTIATE_TEST_SUITE_P(Styles, DotIdleCloseTest,
                         ::testing::Values(testing::CloseStyle::kCloseNotify,
                                           testing::CloseStyle::kFin, testing::CloseStyle::kRst),
                         [](const auto& p) {
                           switch (p.param) {
                             case testing::CloseStyle::kCloseNotify:
                               return std::string("close_notify");
                             case testing::CloseStyle::kFin:
                               return std::string("fin");
                             default:
                               return std::string("rst");
                           }
                         });

// Chaos-ish: unbound closes idle connections after 150 ms; bursts land just before,
// around and after that moment. Every query must be answered.
TEST_F(DotTest, UnboundIdleTimeoutNeverFailsQueries) {
  uint16_t port = freshPort();
  auto unbound = startUnbound(port, 150);
  auto pool = makeServerPool(io_, options({dotServer("pdns1", kPdns1, port, kName1)}), events_);
  ASSERT_TRUE(pool);
  int answered = 0, total = 0;
  for (int round = 0; round < 12; ++round) {
    std::vector<std::string> names(20, round % 2 ? "www.example.test" : "two.example.test");
    auto got = burst(**pool, names);
    for (auto& g : got) {
      ++total;
      if (g && *g)
        ++answered;
      else
        ADD_FAILURE() << "round " << round << ": " << (g ? g->error().message : "no callback");
    }
    // Idle for 100..320 ms: sometimes the server has closed, sometimes it is closing.
    auto idle = std::chrono::milliseconds(100 + 20 * round);
    auto until = Clock::now() + idle;
    while (Clock::now() < until) io_.run_one_for(5ms);
  }
  EXPECT_EQ(answered, total);
  EXPECT_EQ((*pool)->status()[0].health, Health::kUp);
  EXPECT_GT(static_cast<ServerPoolImpl&>(**pool).connectionsOpenedForTest(0), 1u)
      << "unbound never closed an idle connection: the test did not test anything";
}

// Chaos transport: every connection dies after a random number of queries, in a random
// way. Liveness is the property: every query gets exactly one callback, by its deadline,
// and most are answered (a query hit by two closes in a row fails, by design).
TEST_F(DotTest, ChaosEveryQueryCompletesExactlyOnce) {
  uint16_t port = freshPort();
  testing::DotScript script;
  script.chaosMaxQueries = 12;
  script.chaosSeed = 42;
  testing::ScriptedDotServer server({kPdns1, port, pki().pdns1.chainFile, pki().pdns1.keyFile},
                                    script);
  ASSERT_TRUE(server.start());
  auto o = options({dotServer("pdns1", kPdns1, port, kName1)});
  auto pool = makeServerPool(io_, o, events_);
  ASSERT_TRUE(pool);
  constexpr size_t kQueries = 400;
  std::vector<int> calls(kQueries, 0);
  std::vector<bool> answered(kQueries, false);
  std::vector<Clock::time_point> deadlines(kQueries);
  size_t late = 0;
  for (size_t i = 0; i < kQueries; ++i) {
    auto q = wire::makeQuery(("c" + std::to_string(i) + ".example.test").c_str(), 1,
                             static_cast<uint16_t>(i));
    deadlines[i] = Clock::now() + 1500ms;
    (*pool)->resolve(q, deadlines[i], [&, i](Result<Answer> r) {
      ++calls[i];
      answered[i] = r.ok() && wire::readU16(r->wire.data()) == i;
      if (Clock::now() > deadlines[i] + 50ms) ++late;
    });
    if (i % 4 == 3) io_.run_for(10ms);  // bursts of 4
  }
  ASSERT_TRUE(runUntil(
      [&] { return std::all_of(calls.begin(), calls.end(), [](int c) { return c > 0; }); }, 5s));
  auto until = Clock::now() + 300ms;  // any second callback would show up here
  while (Clock::now() < until) io_.run_one_for(5ms);
  for (size_t i = 0; i < kQueries; ++i) ASSERT_EQ(calls[i], 1) << "query " << i;
  EXPECT_EQ(late, 0u);
  size_t ok = std::count(answered.begin(), answered.end(), true);
  EXPECT_GT(ok, kQueries * 8 / 10) << "answered " << ok << " of " << kQueries;
  EXPECT_GT(server.connections(), 20) << "the chaos did not happen";
}

TEST_F(DotTest, AReconnectResumesTheTlsSession) {
  uint16_t port = freshPort();
  testing::ScriptedDotServer server({kPdns1, port, pki().pdns1.chainFile, pki().pdns1.keyFile}, {});
  ASSERT_TRUE(server.start());
  auto o = options({dotServer("pdns1", kPdns1, port, kName1)});
  o.idleTimeout = 200ms;
  auto pool = makeServerPool(io_, o, events_);
  ASSERT_TRUE(pool);
  ASSERT_TRUE(resolve(**pool));
  auto* cache = static_cast<ServerPoolImpl&>(**pool).sessionCacheForTest(0);
  ASSERT_TRUE(runUntil([&] { return cache->latest() != nullptr; }, 3s)) << "no session ticket kept";
  // Our idle timeout closes the connection; the next query reconnects and resumes.
  auto until = Clock::now() + 700ms;
  while (Clock::now() < until) io_.run_one_for(5ms);
  ASSERT_TRUE(resolve(**pool));
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(server.resumedConnections(), 1);
}

TEST_F(DotTest, AReconnectToUnboundResumesTheSession) {
  uint16_t port = freshPort();
  auto unbound = startUnbound(port);
  auto o = options({dotServer("pdns1", kPdns1, port, kName1)});
  o.idleTimeout = 200ms;
  auto pool = makeServerPool(io_, o, events_);
  ASSERT_TRUE(pool);
  auto& impl = static_cast<ServerPoolImpl&>(**pool);
  ASSERT_TRUE(resolve(**pool));
  EXPECT_FALSE(impl.lastConnectionResumedForTest(0));
  ASSERT_TRUE(runUntil([&] { return impl.sessionCacheForTest(0)->latest() != nullptr; }, 3s));
  auto until = Clock::now() + 700ms;  // our idle timeout closes the connection
  while (Clock::now() < until) io_.run_one_for(5ms);
  ASSERT_TRUE(resolve(**pool));
  EXPECT_EQ(impl.connectionsOpenedForTest(0), 2u);
  EXPECT_TRUE(impl.lastConnectionResumedForTest(0)) << "SSL_session_reused was 0 on the reconnect";
}

TEST_F(DotTest, PaddedQueriesReachTheServerIn128ByteBlocks) {
  uint16_t port = freshPort();
  auto unbound = startUnbound(port);
  auto pool = makeServerPool(io_, options({dotServer("pdns1", kPdns1, port, kName1)}), events_);
  ASSERT_TRUE(pool);
  auto r = resolve(**pool);
  ASSERT_TRUE(r) << r.error().message;
  // unbound pads answers to padded queries (RFC 7830 over TLS): the answer's size shows it.
  EXPECT_EQ(r->wire.size() % 468, 0u) << "answer size " << r->wire.size();
}

}  // namespace
}  // namespace ztdns::upstream::test
