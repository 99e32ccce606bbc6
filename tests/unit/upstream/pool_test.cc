// ServerPool against real unbound servers: priority, DoT then DoH, failover and failback,
// every server down (refused and black-holed) answered with an error before the
// deadline, nothing ever sent to port 53, health (unknown until checked, checked at once
// without a query, errors only while current) and its events, resolveVia, diagnose,
// reconfigure.
#include <set>

#include "upstream/probe.h"
#include "upstream/server_pool_impl.h"
#include "upstream_fixture.h"

namespace ztdns::upstream::test {
namespace {

class PoolTest : public UpstreamNetTest {
 protected:
  std::unique_ptr<testing::UnboundPeer> unbound(const char* addr, const testing::IssuedCert& cert,
                                                uint16_t dot, uint16_t doh = 0) {
    testing::UnboundSpec s;
    s.addresses = {addr};
    s.tlsPort = dot;
    s.httpsPort = doh;
    s.certFile = cert.chainFile;
    s.keyFile = cert.keyFile;
    return std::make_unique<testing::UnboundPeer>(
        dir(), std::string("u") + addr + "-" + std::to_string(dot), s);
  }
  std::vector<observe::Event> healthEvents() const {
    std::vector<observe::Event> out;
    for (auto& e : events_.events()) {
      if (e.eventId == observe::event_id::kUpstreamHealth) out.push_back(e);
    }
    return out;
  }
};

TEST_F(PoolTest, LowerPriorityNumberWins) {
  uint16_t p1 = freshPort(), p2 = freshPort();
  auto u1 = unbound(kPdns1, pki().pdns1, p1);
  auto u2 = unbound(kPdns2, pki().pdns2, p2);
  ASSERT_TRUE(u1->start() && u2->start());
  auto pool = makeServerPool(io_,
                             options({dotServer("pdns1", kPdns1, p1, kName1, 200),
                                      dotServer("pdns2", kPdns2, p2, kName2, 100)}),
                             events_);
  ASSERT_TRUE(pool);
  for (int i = 0; i < 5; ++i) {
    auto r = resolve(**pool);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->serverName, "pdns2");
  }
  auto st = (*pool)->status();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].name, "pdns2");
  EXPECT_EQ(st[0].priority, 100);
  EXPECT_EQ(st[1].name, "pdns1");
}

TEST_F(PoolTest, AServerWithBothTransportsUsesDotFirstThenDoh) {
  uint16_t dot = freshPort(), doh = freshPort();
  auto u = unbound(kPdns1, pki().pdns1, 0, doh);  // DoT port configured but nothing listens
  ASSERT_TRUE(u->start()) << u->log();
  auto s = dotServer("pdns1", kPdns1, dot, kName1);
  s.dnsOverHttps = config::DohSettings{doh, std::string("https://") + kName1 + "/dns-query"};
  auto pool = makeServerPool(io_, options({s}), events_);
  ASSERT_TRUE(pool);
  auto r = resolve(**pool);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->transport, Transport::kDoH);
  auto st = (*pool)->status();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].transport, Transport::kDoT);
  EXPECT_EQ(st[0].health, Health::kDown);
  EXPECT_EQ(st[0].lastError, "connect: connection refused");
  EXPECT_EQ(st[1].transport, Transport::kDoH);
  EXPECT_EQ(st[1].health, Health::kUp);
  EXPECT_EQ(port53Packets(), 0u);
}

TEST_F(PoolTest, FailsOverWhenTheFirstStopsAndFailsBackWhenItReturns) {
  uint16_t p1 = freshPort(), p2 = freshPort();
  auto u1 = unbound(kPdns1, pki().pdns1, p1);
  auto u2 = unbound(kPdns2, pki().pdns2, p2);
  ASSERT_TRUE(u1->start() && u2->start());
  auto pool = makeServerPool(io_,
                             options({dotServer("pdns1", kPdns1, p1, kName1, 1),
                                      dotServer("pdns2", kPdns2, p2, kName2, 2)}),
                             events_);
  ASSERT_TRUE(pool);
  auto r = resolve(**pool);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->serverName, "pdns1");

  u1->stop();
  for (int i = 0; i < 5; ++i) {
    r = resolve(**pool);
    ASSERT_TRUE(r) << i << ": " << r.error().message;
    EXPECT_EQ(r->serverName, "pdns2");
  }
  auto st = (*pool)->status();
  EXPECT_EQ(st[0].health, Health::kDown);
  EXPECT_FALSE(st[0].lastError.empty());
  auto ev = healthEvents();
  ASSERT_GE(ev.size(), 1u);
  EXPECT_EQ(ev[0].fields.value("server", ""), "pdns1");
  EXPECT_FALSE(ev[0].fields.value("healthy", true));

  ASSERT_TRUE(u1->start()) << u1->log();
  auto back = Clock::now();
  bool failedBack = runUntil([&] { return (*pool)->status()[0].health == Health::kUp; }, 8s);
  ASSERT_TRUE(failedBack) << "pdns1 was not used again; last error "
                          << (*pool)->status()[0].lastError;
  // Background probing at 200 ms doubling to 1 s (test settings) finds it within ~1 s.
  EXPECT_LT(Clock::now() - back, 3s);
  r = resolve(**pool);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->serverName, "pdns1");
  ev = healthEvents();
  ASSERT_GE(ev.size(), 2u);
  EXPECT_TRUE(ev.back().fields.value("healthy", false));
  EXPECT_EQ(port53Packets(), 0u);
}

// A secondary that nothing asks dies: the idle check notices without a client query, so
// `show server` and the Operational log tell the truth before failover needs it.
TEST_F(PoolTest, AnIdleUpServerThatDiesIsFoundDownWithoutAQuery) {
  uint16_t p1 = freshPort(), p2 = freshPort();
  auto u1 = unbound(kPdns1, pki().pdns1, p1);
  auto u2 = unbound(kPdns2, pki().pdns2, p2);
  ASSERT_TRUE(u1->start() && u2->start());
  PoolOptions o = options(
      {dotServer("pdns1", kPdns1, p1, kName1, 1), dotServer("pdns2", kPdns2, p2, kName2, 2)});
  o.idleCheckInterval = 300ms;
  auto pool = makeServerPool(io_, o, events_);
  ASSERT_TRUE(pool);
  ASSERT_TRUE(runUntil([&] { return (*pool)->status()[1].health == Health::kUp; }, 5s));

  u2->stop();
  ASSERT_TRUE(runUntil([&] { return (*pool)->status()[1].health == Health::kDown; }, 5s))
      << "the idle pdns2 was not checked again";
  EXPECT_FALSE((*pool)->status()[1].lastError.empty());
  EXPECT_EQ((*pool)->status()[0].health, Health::kUp) << "the idle, healthy pdns1 stays up";
  auto ev = healthEvents();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].fields.value("server", ""), "pdns2");
  EXPECT_FALSE(ev[0].fields.value("healthy", true));

  ASSERT_TRUE(u2->start()) << u2->log();
  ASSERT_TRUE(runUntil([&] { return (*pool)->status()[1].health == Health::kUp; }, 5s));
  EXPECT_EQ(port53Packets(), 0u);
}

TEST_F(PoolTest, AllServersRefusingGiveAnErrorRightAway) {
  auto pool = makeServerPool(io_,
                             options({dotServer("pdns1", kPdns1, freshPort(), kName1, 1),
                                      dohServer("pdns2", kPdns2, freshPort(), kName2, 2)}),
                             events_);
  ASSERT_TRUE(pool);
  auto start = Clock::now();
  auto r = resolve(**pool, "www.example.test", 1, 1800ms);
  auto took = Clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, static_cast<int>(FailureCause::kAllServersFailed));
  EXPECT_NE(r.error().message.find("connect: connection refused"), std::string::npos)
      << r.error().message;
  EXPECT_LT(took, 1000ms);
  // Both are down now: the next query fails without waiting for anything.
  start = Clock::now();
  r = resolve(**pool, "www.example.test", 1, 1800ms);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("down"), std::string::npos) << r.error().message;
  EXPECT_LT(Clock::now() - start, 200ms);
  EXPECT_EQ(port53Packets(), 0u);
}

TEST_F(PoolTest, BlackHoledServersGiveAnErrorBeforeTheDeadline) {
  // Packets to these ports vanish: connect times out.
  uint16_t p1 = freshPort(), p2 = freshPort();
  ASSERT_EQ(testing::runShell(
                "nft add table inet zt_drop && nft add chain inet zt_drop out "
                "'{ type filter hook output priority 0; }' && nft add rule inet zt_drop out "
                "tcp dport { " +
                std::to_string(p1) + ", " + std::to_string(p2) + " } drop"),
            0);
  auto pool = makeServerPool(io_,
                             options({dotServer("pdns1", kPdns1, p1, kName1, 1),
                                      dotServer("pdns2", kPdns2, p2, kName2, 2)}),
                             events_);
  ASSERT_TRUE(pool);
  // The resolver gives the pool 1.8 s so that its client sees SERVFAIL within 2 s.
  auto start = Clock::now();
  auto r = resolve(**pool, "www.example.test", 1, 1800ms);
  auto took = Clock::now() - start;
  // diagnose names the timeout and where it happened.
  std::optional<std::vector<ProbeReport>> reports;
  ASSERT_TRUE(probeServer(io_, options({dotServer("pdns1", kPdns1, p1, kName1)}),
                          {*IpAddress::parse(kPdns1), std::nullopt, "", 2, 500ms},
                          [&](auto v) { reports = std::move(v); }));
  ASSERT_TRUE(runUntil([&] { return reports.has_value(); }));
  testing::runShell("nft delete table inet zt_drop");
  ASSERT_EQ(reports->size(), 1u);
  EXPECT_EQ((*reports)[0].errorClass, ErrorClass::kTimeout);
  EXPECT_EQ((*reports)[0].stage, "connect");
  EXPECT_FALSE((*reports)[0].tcpConnect.has_value());
  ASSERT_FALSE(r);
  EXPECT_LE(took, 1900ms);
  EXPECT_GE(took, 600ms);  // it did wait for the servers
  EXPECT_NE(r.error().message.find("no answer"), std::string::npos) << r.error().message;
  auto st = (*pool)->status();
  EXPECT_EQ(st[0].health, Health::kDown);
  EXPECT_EQ(st[1].health, Health::kDown);
  EXPECT_EQ(port53Packets(), 0u);
}

TEST_F(PoolTest, ResolveViaAsksOnlyThatServer) {
  uint16_t p1 = freshPort(), p2 = freshPort();
  auto u1 = unbound(kPdns1, pki().pdns1, p1);
  auto u2 = unbound(kPdns2, pki().pdns2, p2);
  ASSERT_TRUE(u1->start() && u2->start());
  auto pool = makeServerPool(io_,
                             options({dotServer("pdns1", kPdns1, p1, kName1, 1),
                                      dotServer("pdns2", kPdns2, p2, kName2, 2)}),
                             events_);
  ASSERT_TRUE(pool);
  std::optional<Result<Answer>> got;
  auto q = wire::makeQuery("www.example.test", 1, 9);
  (*pool)->resolveVia(*IpAddress::parse(kPdns2), q, Clock::now() + 1800ms,
                      [&](Result<Answer> r) { got.emplace(std::move(r)); });
  ASSERT_TRUE(runUntil([&] { return got.has_value(); }));
  ASSERT_TRUE(*got) << got->error().message;
  EXPECT_EQ((*got)->serverName, "pdns2");

  got.reset();
  (*pool)->resolveVia(*IpAddress::parse("203.0.113.53"), q, Clock::now() + 1800ms,
                      [&](Result<Answer> r) { got.emplace(std::move(r)); });
  ASSERT_TRUE(runUntil([&] { return got.has_value(); }));
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().code, static_cast<int>(FailureCause::kNoServers));
  EXPECT_NE(got->error().message.find("not a configured"), std::string::npos);
}

TEST_F(PoolTest, DiagnoseProbeTimesEachStep) {
  uint16_t dot = freshPort(), doh = freshPort();
  auto u = unbound(kPdns1, pki().pdns1, dot, doh);
  ASSERT_TRUE(u->start());
  auto s = dotServer("pdns1", kPdns1, dot, kName1);
  s.dnsOverHttps = config::DohSettings{doh, std::string("https://") + kName1 + "/dns-query"};
  auto refused = dotServer("gone", kPdns2, freshPort(), kName2);
  auto o = options({s, refused});
  std::optional<std::vector<ProbeReport>> reports;
  ASSERT_TRUE(probeServer(io_, o,
                          {*IpAddress::parse(kPdns1), std::nullopt, "www.example.test", 1, 3000ms},
                          [&](auto v) { reports = std::move(v); }));
  ASSERT_TRUE(runUntil([&] { return reports.has_value(); }));
  ASSERT_EQ(reports->size(), 2u);
  for (const auto& rep : *reports) {
    EXPECT_TRUE(rep.ok) << rep.error;
    EXPECT_TRUE(rep.tcpConnect && rep.tlsHandshake && rep.query);
    EXPECT_EQ(rep.rcode, 0);
    EXPECT_EQ(rep.identity, kName1);
    EXPECT_FALSE(rep.tlsVersion.empty());
  }
  EXPECT_EQ((*reports)[0].transport, Transport::kDoT);
  EXPECT_EQ((*reports)[1].transport, Transport::kDoH);

  reports.reset();
  ASSERT_TRUE(probeServer(io_, o, {*IpAddress::parse(kPdns2), std::nullopt, "", 2, 3000ms},
                          [&](auto v) { reports = std::move(v); }));
  ASSERT_TRUE(runUntil([&] { return reports.has_value(); }));
  ASSERT_EQ(reports->size(), 1u);
  EXPECT_FALSE((*reports)[0].ok);
  EXPECT_EQ((*reports)[0].errorClass, ErrorClass::kRefused);
  EXPECT_EQ((*reports)[0].stage, "connect");
  EXPECT_EQ((*reports)[0].error, "connect: connection refused");
}

TEST_F(PoolTest, ReconfigureSwitchesServersWithoutARestart) {
  uint16_t p1 = freshPort(), p2 = freshPort();
  auto u1 = unbound(kPdns1, pki().pdns1, p1);
  auto u2 = unbound(kPdns2, pki().pdns2, p2);
  ASSERT_TRUE(u1->start() && u2->start());
  auto pool = makeServerPool(io_, options({dotServer("pdns1", kPdns1, p1, kName1)}), events_);
  ASSERT_TRUE(pool);
  auto r = resolve(**pool);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->serverName, "pdns1");
  // A bad change is refused and the old servers stay.
  auto bad = options({dotServer("pdns2", kPdns2, p2, kName2)});
  bad.rootCertificates = {"/nonexistent.pem"};
  EXPECT_FALSE((*pool)->reconfigure(bad));
  r = resolve(**pool);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->serverName, "pdns1");
  ASSERT_TRUE((*pool)->reconfigure(options({dotServer("pdns2", kPdns2, p2, kName2)})));
  r = resolve(**pool);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->serverName, "pdns2");
  EXPECT_EQ((*pool)->status().size(), 1u);
}

TEST_F(PoolTest, NewServersAreUnknownUntilTheFirstCheckWhichNeedsNoQuery) {
  // pdns1 answers; pdns2's certificate names another host; nothing listens for pdns3.
  uint16_t p1 = freshPort(), p2 = freshPort(), p3 = freshPort();
  auto u1 = unbound(kPdns1, pki().pdns1, p1);
  auto u2 = unbound(kPdns2, pki().wrongName, p2);
  ASSERT_TRUE(u1->start() && u2->start());
  auto pool = makeServerPool(
      io_,
      options({dotServer("pdns1", kPdns1, p1, kName1, 1), dotServer("pdns2", kPdns2, p2, kName2, 2),
               dotServer("pdns3", kPdns1v6, p3, kName1, 3)}),
      events_);
  ASSERT_TRUE(pool);
  for (const auto& st : (*pool)->status()) {
    EXPECT_EQ(st.health, Health::kUnknown) << st.name;
    EXPECT_FALSE(st.lastRtt.has_value()) << st.name;
    EXPECT_EQ(st.lastError, "") << st.name;
  }
  // No query at all: the pool checks every endpoint by itself.
  ASSERT_TRUE(runUntil(
      [&] {
        for (const auto& st : (*pool)->status()) {
          if (st.health == Health::kUnknown) return false;
        }
        return true;
      },
      5s));
  auto st = (*pool)->status();
  ASSERT_EQ(st.size(), 3u);
  EXPECT_EQ(st[0].health, Health::kUp);
  ASSERT_TRUE(st[0].lastRtt.has_value());
  EXPECT_GT(st[0].lastRtt->count(), 0);
  EXPECT_EQ(st[0].lastError, "");
  EXPECT_FALSE(st[0].lastFailureAt.has_value());
  EXPECT_EQ(st[0].answered, 0u) << "a probe is not a client's answer";
  EXPECT_EQ(st[1].health, Health::kDown);
  EXPECT_EQ(st[1].lastError, "TLS: hostname mismatch");
  EXPECT_EQ(st[1].lastFailure, "TLS: hostname mismatch");
  EXPECT_TRUE(st[1].lastFailureAt.has_value());
  EXPECT_EQ(st[2].health, Health::kDown);
  EXPECT_EQ(st[2].lastError, "connect: connection refused");
  // The Operational log hears of the two that are down (news), not of pdns1 being up: it
  // never was down.
  auto ev = healthEvents();
  ASSERT_EQ(ev.size(), 2u);
  std::set<std::string> down;
  for (const auto& e : ev) {
    EXPECT_EQ(e.fields.value("state", ""), "down");
    down.insert(e.fields.value("server", "") + ": " + e.fields.value("error", ""));
  }
  EXPECT_EQ(down, (std::set<std::string>{"pdns2: TLS: hostname mismatch",
                                         "pdns3: connect: connection refused"}));
  // Down after the first check means skipped: the next query goes straight to pdns1 and
  // the error names the others as down.
  auto r = resolve(**pool);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->serverName, "pdns1");
  EXPECT_EQ(port53Packets(), 0u);
}

TEST_F(PoolTest, AnUnknownServerIsTriedInPriorityOrderLikeAnUpOne) {
  // The first query leaves before any check has finished: pdns2 is unknown, and it is
  // asked first; pdns1 is not preferred for being checked sooner.
  uint16_t p1 = freshPort(), p2 = freshPort();
  auto u1 = unbound(kPdns1, pki().pdns1, p1);
  auto u2 = unbound(kPdns2, pki().pdns2, p2);
  ASSERT_TRUE(u1->start() && u2->start());
  auto pool = makeServerPool(io_,
                             options({dotServer("pdns1", kPdns1, p1, kName1, 2),
                                      dotServer("pdns2", kPdns2, p2, kName2, 1)}),
                             events_);
  ASSERT_TRUE(pool);
  ASSERT_EQ((*pool)->status()[0].health, Health::kUnknown);
  auto r = resolve(**pool);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->serverName, "pdns2");
  auto st = (*pool)->status();
  EXPECT_EQ(st[0].name, "pdns2");
  EXPECT_EQ(st[0].health, Health::kUp);
  EXPECT_EQ(st[0].answered, 1u);
  EXPECT_TRUE(healthEvents().empty());
}

TEST_F(PoolTest, ARecoveredServerShowsNoOldErrorButKeepsItAsTheLastFailure) {
  uint16_t p1 = freshPort();
  auto u1 = unbound(kPdns1, pki().pdns1, p1);  // not started yet: refused
  auto pool = makeServerPool(io_, options({dotServer("pdns1", kPdns1, p1, kName1)}), events_);
  ASSERT_TRUE(pool);
  ASSERT_TRUE(runUntil([&] { return (*pool)->status()[0].health == Health::kDown; }, 3s));
  auto before = std::chrono::system_clock::now();
  auto st = (*pool)->status()[0];
  EXPECT_EQ(st.lastError, "connect: connection refused");
  ASSERT_TRUE(st.lastFailureAt.has_value());
  EXPECT_LE(*st.lastFailureAt, before);

  ASSERT_TRUE(u1->start()) << u1->log();
  ASSERT_TRUE(runUntil([&] { return (*pool)->status()[0].health == Health::kUp; }, 5s));
  st = (*pool)->status()[0];
  EXPECT_EQ(st.lastError, "") << "the error is not current any more";
  EXPECT_TRUE(st.lastRtt.has_value());
  EXPECT_EQ(st.lastFailure, "connect: connection refused");
  ASSERT_TRUE(st.lastFailureAt.has_value());
  auto ev = healthEvents();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].fields.value("state", ""), "down");
  EXPECT_EQ(ev[0].fields.value("error", ""), "connect: connection refused");
  EXPECT_EQ(ev[1].fields.value("state", ""), "up");
}

TEST_F(PoolTest, AReconfigurationChecksEveryServerAgainAndLogsOnlyRealChanges) {
  // pdns1 is fine; pdns2's certificate comes from a CA the first configuration does not
  // trust, and the second does (as `ztdns add trustedca`).
  uint16_t p1 = freshPort(), p2 = freshPort();
  auto u1 = unbound(kPdns1, pki().pdns1, p1);
  auto u2 = unbound(kPdns2, pki().untrusted, p2);
  ASSERT_TRUE(u1->start() && u2->start());
  auto servers = std::vector<config::SecureDnsServer>{dotServer("pdns1", kPdns1, p1, kName1, 1),
                                                      dotServer("pdns2", kPdns2, p2, kName1, 2)};
  auto pool = makeServerPool(io_, options(servers), events_);
  ASSERT_TRUE(pool);
  auto settled = [&] {
    auto st = (*pool)->status();
    return st.size() == 2 && st[0].health != Health::kUnknown && st[1].health != Health::kUnknown;
  };
  ASSERT_TRUE(runUntil(settled, 5s));
  EXPECT_EQ((*pool)->status()[0].health, Health::kUp);
  EXPECT_EQ((*pool)->status()[1].health, Health::kDown);
  const std::string why = (*pool)->status()[1].lastError;
  EXPECT_EQ(why.rfind("TLS: certificate verify failed: ", 0), 0u) << why;
  ASSERT_EQ(healthEvents().size(), 1u);

  // The same servers again (the pool builds new endpoints): unknown until checked again.
  ASSERT_TRUE((*pool)->reconfigure(options(servers)));
  for (const auto& st : (*pool)->status()) EXPECT_EQ(st.health, Health::kUnknown) << st.name;
  ASSERT_TRUE(runUntil(settled, 5s));
  EXPECT_EQ((*pool)->status()[0].health, Health::kUp);
  EXPECT_EQ((*pool)->status()[1].health, Health::kDown);
  EXPECT_EQ(healthEvents().size(), 1u) << "pdns1 still up, pdns2 down for the same reason";

  auto trusting = options(servers);
  trusting.rootCertificates.push_back(pki().otherCa.certFile);
  ASSERT_TRUE((*pool)->reconfigure(trusting));
  ASSERT_TRUE(runUntil(settled, 5s));
  auto st = (*pool)->status();
  EXPECT_EQ(st[0].health, Health::kUp);
  EXPECT_EQ(st[1].health, Health::kUp);
  EXPECT_EQ(st[1].lastError, "");
  EXPECT_EQ(st[1].lastFailure, why) << "kept across the reconfiguration";
  auto ev = healthEvents();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].fields.value("server", ""), "pdns2");
  EXPECT_EQ(ev[1].fields.value("state", ""), "up") << "down before, up now: news";
  EXPECT_EQ(port53Packets(), 0u);
}

TEST_F(PoolTest, FirstChecksCanWaitForTheCallerAndThenCheckOnlyTheUnknown) {
  // ztdnsd makes the pool before its firewall lets anything out, so it defers the checks.
  uint16_t p1 = freshPort(), p2 = freshPort();
  auto u1 = unbound(kPdns1, pki().pdns1, p1);
  auto u2 = unbound(kPdns2, pki().pdns2, p2);
  ASSERT_TRUE(u1->start() && u2->start());
  auto o = options(
      {dotServer("pdns1", kPdns1, p1, kName1, 1), dotServer("pdns2", kPdns2, p2, kName2, 2)});
  o.deferFirstChecks = true;
  auto pool = makeServerPool(io_, o, events_);
  ASSERT_TRUE(pool);
  auto& impl = static_cast<ServerPoolImpl&>(**pool);
  EXPECT_FALSE(runUntil([&] { return (*pool)->status()[1].health != Health::kUnknown; }, 300ms));
  EXPECT_EQ(impl.connectionsOpenedForTest(0) + impl.connectionsOpenedForTest(1), 0u)
      << "nothing was sent before checkUnknown()";
  // A query still goes to the unknown pdns1 first (and makes it up); then only pdns2 is
  // left to check.
  auto r = resolve(**pool);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->serverName, "pdns1");
  EXPECT_EQ((*pool)->status()[0].health, Health::kUp);
  EXPECT_EQ((*pool)->status()[1].health, Health::kUnknown);
  (*pool)->checkUnknown();
  ASSERT_TRUE(runUntil([&] { return (*pool)->status()[1].health == Health::kUp; }, 3s));
  EXPECT_EQ(impl.connectionsOpenedForTest(0), 1u);
  EXPECT_EQ(impl.connectionsOpenedForTest(1), 1u);
  EXPECT_TRUE(healthEvents().empty());
}

TEST_F(PoolTest, DestroyingThePoolWithQueriesInFlightCallsNothing) {
  uint16_t port = freshPort();
  testing::DotScript slow;
  slow.delay = 500ms;
  slow.reverseBatch = 5;  // read all five, then wait, then answer
  testing::ScriptedDotServer server({kPdns1, port, pki().pdns1.chainFile, pki().pdns1.keyFile},
                                    slow);
  ASSERT_TRUE(server.start());
  int called = 0;
  {
    auto pool = makeServerPool(io_, options({dotServer("pdns1", kPdns1, port, kName1)}), events_);
    ASSERT_TRUE(pool);
    auto q = wire::makeQuery("www.example.test", 1, 1);
    for (int i = 0; i < 5; ++i) {
      (*pool)->resolve(q, Clock::now() + 1800ms, [&](Result<Answer>) { ++called; });
    }
    ASSERT_TRUE(runUntil([&] { return server.queries() == 5; }, 3s));
    EXPECT_EQ(called, 0);
  }
  auto until = Clock::now() + 800ms;
  while (Clock::now() < until) io_.run_one_for(5ms);
  EXPECT_EQ(called, 0);
}

}  // namespace
}  // namespace ztdns::upstream::test
