// DoH against real unbound (https-port) and the scripted HTTP/2 server: answers over both
// families, the request's shape (POST, content types, :authority, ID 0), multiplexing,
// GOAWAY, error statuses, wrong content types, a connection dropped mid-stream, a slow
// server failing over.
#include "upstream/server_pool_impl.h"
#include "upstream_fixture.h"

namespace ztdns::upstream::test {
namespace {

class DohTest : public UpstreamNetTest {
 protected:
  std::vector<std::optional<Result<Answer>>> burst(ServerPool& pool, size_t n,
                                                   uint16_t idBase = 40) {
    std::vector<std::optional<Result<Answer>>> got(n);
    for (size_t i = 0; i < n; ++i) {
      auto q = wire::makeQuery("www.example.test", 1, static_cast<uint16_t>(idBase + i));
      pool.resolve(q, Clock::now() + 1800ms,
                   [&got, i](Result<Answer> r) { got[i].emplace(std::move(r)); });
    }
    runUntil([&] {
      for (auto& g : got)
        if (!g) return false;
      return true;
    });
    return got;
  }
  testing::TlsServerSpec spec(uint16_t port) const {
    return {kPdns1, port, pki().pdns1.chainFile, pki().pdns1.keyFile};
  }
};

TEST_F(DohTest, AnswersFromUnboundOverIpv4AndIpv6) {
  uint16_t port = freshPort();
  testing::UnboundSpec s;
  s.addresses = {kPdns1, kPdns1v6};
  s.tlsPort = 0;
  s.httpsPort = port;
  s.certFile = pki().pdns1.chainFile;
  s.keyFile = pki().pdns1.keyFile;
  testing::UnboundPeer unbound(dir(), "doh", s);
  ASSERT_TRUE(unbound.start()) << unbound.log();
  for (const char* addr : {kPdns1, kPdns1v6}) {
    auto pool = makeServerPool(io_, options({dohServer("pdns1", addr, port, kName1)}), events_);
    ASSERT_TRUE(pool) << pool.error().message;
    auto r = resolve(**pool, "www.example.test", 1, 1800ms, 0x4242);
    ASSERT_TRUE(r) << addr << ": " << r.error().message << "\n" << unbound.log();
    EXPECT_EQ(firstA(r->wire), "203.0.113.80");
    EXPECT_EQ(wire::readU16(r->wire.data()), 0x4242);
    EXPECT_EQ(r->transport, Transport::kDoH);
    auto got = burst(**pool, 30);
    for (auto& g : got) {
      ASSERT_TRUE(g && *g) << (g ? g->error().message : "none");
      EXPECT_EQ(firstA((*g)->wire), "203.0.113.80");
    }
  }
  EXPECT_EQ(port53Packets(), 0u);
}

TEST_F(DohTest, PostsWithIdZeroAndTheRightHeadersMultiplexedOnOneConnection) {
  uint16_t port = freshPort();
  testing::ScriptedDohServer server(spec(port), {});
  ASSERT_TRUE(server.start());
  auto pool = makeServerPool(io_, options({dohServer("pdns1", kPdns1, port, kName1)}), events_);
  ASSERT_TRUE(pool);
  auto got = burst(**pool, 20, 1000);
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(got[i] && *got[i]) << i;
    EXPECT_EQ(wire::readU16((*got[i])->wire.data()), 1000 + i) << "client ID not restored";
  }
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 21u) << "the pool's first check of the server, then the 20 queries";
  for (const auto& r : reqs) {
    EXPECT_EQ(r.wireId, 0) << "a DoH query went up with a non-zero ID";
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.scheme, "https");
    EXPECT_EQ(r.path, "/dns-query");
    EXPECT_EQ(r.authority, kName1);
    EXPECT_EQ(r.contentType, "application/dns-message");
    EXPECT_EQ(r.accept, "application/dns-message");
    EXPECT_EQ(r.connection, 0) << "streams should share one connection";
  }
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(DohTest, GoawayStreamsAreRetriedOnANewConnection) {
  uint16_t port = freshPort();
  testing::DohScript script;
  script.goawayAfterStreams = 3;
  testing::ScriptedDohServer server(spec(port), script);
  ASSERT_TRUE(server.start());
  auto pool = makeServerPool(io_, options({dohServer("pdns1", kPdns1, port, kName1)}), events_);
  ASSERT_TRUE(pool);
  auto got = burst(**pool, 12);
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(got[i] && *got[i]) << i << ": " << (got[i] ? got[i]->error().message : "none");
    EXPECT_EQ(wire::readU16((*got[i])->wire.data()), 40 + i);
  }
  EXPECT_GE(server.connections(), 2);
  int answeredOnFirst = 0, onLater = 0;
  for (const auto& r : server.requests()) {
    if (r.connection == 0 && r.answered) ++answeredOnFirst;
    if (r.connection > 0) ++onLater;
  }
  EXPECT_EQ(answeredOnFirst, 3);
  EXPECT_GE(onLater, 9);
  EXPECT_EQ((*pool)->status()[0].health, Health::kUp);
}

struct BadStatusCase {
  const char* label;
  int status;
  const char* contentType;
  const char* words;
};

class DohBadAnswerTest : public DohTest, public ::testing::WithParamInterface<BadStatusCase> {};

TEST_P(DohBadAnswerTest, IsAnUpstreamFailureInWords) {
  const auto& c = GetParam();
  uint16_t port = freshPort();
  testing::DohScript script;
  script.status = c.status;
  script.contentType = c.contentType;
  testing::ScriptedDohServer server(spec(port), script);
  ASSERT_TRUE(server.start());
  auto pool = makeServerPool(io_, options({dohServer("pdns1", kPdns1, port, kName1)}), events_);
  ASSERT_TRUE(pool);
  auto r = resolve(**pool);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, static_cast<int>(FailureCause::kAllServersFailed));
  EXPECT_NE(r.error().message.find(c.words), std::string::npos) << r.error().message;
  auto st = (*pool)->status();
  EXPECT_EQ(st[0].lastError.rfind(c.words, 0), 0u) << st[0].lastError;
  // A server that answers nothing usable (every answer an HTTP failure, no good one since
  // the query left) is down: it would otherwise stay first in line and cost every query a
  // failover, and `show server` would call it up beside a current error.
  EXPECT_EQ(st[0].health, Health::kDown);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DohBadAnswerTest,
    ::testing::Values(BadStatusCase{"http500", 500, "text/plain", "DoH: HTTP 500"},
                      BadStatusCase{"http404", 404, "text/plain", "DoH: HTTP 404"},
                      BadStatusCase{"wrong_content_type", 200, "text/html",
                                    "DoH: wrong content-type \"text/html\""}),
    [](const auto& p) { return std::string(p.param.label); });

TEST_F(DohTest, AConnectionDroppedMidStreamIsRetriedOnce) {
  uint16_t port = freshPort();
  testing::DohScript script;
  script.closeMidStream = true;
  testing::ScriptedDohServer server(spec(port), script);
  ASSERT_TRUE(server.start());
  auto pool = makeServerPool(io_, options({dohServer("pdns1", kPdns1, port, kName1)}), events_);
  ASSERT_TRUE(pool);
  auto r = resolve(**pool);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(DohTest, ASlowServerFailsOverAndIsMarkedDown) {
  uint16_t slowPort = freshPort(), fastPort = freshPort();
  testing::DohScript slow;
  slow.delay = 1500ms;
  slow.misbehavingConnections = 100;
  testing::ScriptedDohServer slowServer(spec(slowPort), slow);
  testing::ScriptedDohServer fastServer(
      {kPdns2, fastPort, pki().pdns2.chainFile, pki().pdns2.keyFile}, {});
  ASSERT_TRUE(slowServer.start());
  ASSERT_TRUE(fastServer.start());
  auto o = options({dohServer("slow", kPdns1, slowPort, kName1, 1),
                    dohServer("fast", kPdns2, fastPort, kName2, 2)});
  o.attemptTimeout = 300ms;
  auto pool = makeServerPool(io_, o, events_);
  ASSERT_TRUE(pool);
  auto start = Clock::now();
  auto r = resolve(**pool);
  auto took = Clock::now() - start;
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->serverName, "fast");
  EXPECT_LT(took, 1200ms);
  auto st = (*pool)->status();
  EXPECT_EQ(st[0].health, Health::kDown);
  EXPECT_NE(st[0].lastError.find("no answer within"), std::string::npos) << st[0].lastError;
  // While it is down, queries go straight to the second server.
  auto r2 = resolve(**pool);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->serverName, "fast");
  EXPECT_LT(r2->rtt, 300ms);
}

}  // namespace
}  // namespace ztdns::upstream::test
