// Reply builders: daemon snapshots in the control protocol's shapes.
#include "daemon/reply_builders.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include "dns_packet_builder.h"
#include "fake_allow_set.h"

namespace ztdns::daemon {
namespace {

using ::testing::HasSubstr;

IpAddress ip(const char* text) {
  return IpAddress::parse(text).value();
}

TEST(ServerList, TransportsCarryTheirIdentityAndHealthDoTFirst) {
  config::Config c;
  config::SecureDnsServer s;
  s.displayName = "pdns1";
  s.ipAddress = ip("198.51.100.53");
  s.priority = 3;
  s.dnsOverHttps = config::DohSettings{443, "https://doh.example.test/dns-query"};
  s.dnsOverTls = config::DotSettings{853, "pdns1.example.test"};
  c.secureDnsServers = {s};
  upstream::ServerStatus dotDown;
  dotDown.address = s.ipAddress;
  dotDown.transport = upstream::Transport::kDoT;
  dotDown.health = upstream::Health::kDown;
  dotDown.lastError = "connect: connection refused";
  upstream::ServerStatus dohUp;
  dohUp.address = s.ipAddress;
  dohUp.transport = upstream::Transport::kDoH;
  dohUp.health = upstream::Health::kUp;
  dohUp.lastRtt = std::chrono::microseconds(2500);
  dohUp.lastFailure = "TLS: hostname mismatch";  // history: it is up now
  dohUp.lastFailureAt = std::chrono::system_clock::time_point(std::chrono::seconds(1777636800));

  auto list = serverList(c, {dohUp, dotDown});
  ASSERT_EQ(list.servers.size(), 1u);
  const auto& info = list.servers[0];
  EXPECT_EQ(info.priority, 3);
  ASSERT_EQ(info.transports.size(), 2u);
  EXPECT_EQ(info.transports[0].protocol, control::Protocol::kDoT);
  EXPECT_EQ(info.transports[0].hostname, "pdns1.example.test");
  EXPECT_FALSE(info.transports[0].healthy);
  EXPECT_EQ(info.transports[0].health, control::Health::kDown);
  EXPECT_EQ(info.transports[0].lastError, "connect: connection refused");
  EXPECT_FALSE(info.transports[0].lastFailureAt.has_value());
  EXPECT_EQ(info.transports[1].protocol, control::Protocol::kDoH);
  EXPECT_EQ(info.transports[1].hostname, "doh.example.test");
  EXPECT_TRUE(info.transports[1].healthy);
  EXPECT_EQ(info.transports[1].health, control::Health::kUp);
  EXPECT_DOUBLE_EQ(*info.transports[1].lastRttMs, 2.5);
  EXPECT_EQ(info.transports[1].lastError, "");
  EXPECT_EQ(info.transports[1].lastFailure, "TLS: hostname mismatch");
  EXPECT_EQ(info.transports[1].lastFailureAt, "2026-05-01T12:00:00Z");

  // Not checked yet (or not in the pool's snapshot): unknown, not healthy.
  upstream::ServerStatus dotUnknown = dotDown;
  dotUnknown.health = upstream::Health::kUnknown;
  dotUnknown.lastError.clear();
  list = serverList(c, {dotUnknown});
  EXPECT_EQ(list.servers[0].transports[0].health, control::Health::kUnknown);
  EXPECT_FALSE(list.servers[0].transports[0].healthy);
  EXPECT_EQ(list.servers[0].transports[1].health, control::Health::kUnknown);
  EXPECT_FALSE(list.servers[0].transports[1].healthy);
}

TEST(ServerProbe, StepsStopAtTheFailureWithItsStableReason) {
  upstream::ProbeReport r;
  r.server = "wrong";
  r.address = ip("198.51.100.56");
  r.port = 853;
  r.tcpConnect = std::chrono::microseconds(400);
  r.stage = "TLS";
  r.errorClass = upstream::ErrorClass::kNameMismatch;
  r.error = "TLS: certificate name mismatch";
  auto p = serverProbe(r, true);
  EXPECT_TRUE(p.mtls);
  ASSERT_EQ(p.steps.size(), 2u);
  EXPECT_EQ(p.steps[0].step, "connect");
  EXPECT_TRUE(p.steps[0].ok);
  EXPECT_DOUBLE_EQ(*p.steps[0].ms, 0.4);
  EXPECT_EQ(p.steps[1].step, "tls");
  EXPECT_FALSE(p.steps[1].ok);
  EXPECT_EQ(p.steps[1].reason, "name-mismatch");
  EXPECT_EQ(p.steps[1].error, "TLS: certificate name mismatch");
  EXPECT_FALSE(p.steps[1].ms) << "no time when the probe does not say";
  r.failedAfter = std::chrono::microseconds(2500);
  EXPECT_DOUBLE_EQ(*serverProbe(r, true).steps[1].ms, 2.5) << "the failed step's time";

  upstream::ProbeReport fine = r;
  fine.ok = true;
  fine.stage.clear();
  fine.errorClass = upstream::ErrorClass::kNone;
  fine.tlsHandshake = std::chrono::microseconds(2000);
  fine.query = std::chrono::microseconds(900);
  auto all = serverProbe(fine, false);
  ASSERT_EQ(all.steps.size(), 3u);
  for (const auto& s : all.steps) EXPECT_TRUE(s.ok) << s.step;
}

TEST(ProbeReason, EveryClassHasTheProtocolsCode) {
  using upstream::ErrorClass;
  EXPECT_EQ(probeReason(ErrorClass::kRefused), "refused");
  EXPECT_EQ(probeReason(ErrorClass::kCertExpired), "certificate-expired");
  EXPECT_EQ(probeReason(ErrorClass::kUnknownCa), "unknown-ca");
  EXPECT_EQ(probeReason(ErrorClass::kClientCertRejected), "client-certificate-rejected");
  EXPECT_EQ(probeReason(ErrorClass::kPinMismatch), "pin-mismatch");
  EXPECT_EQ(probeReason(ErrorClass::kTls), "tls");
  EXPECT_EQ(probeReason(ErrorClass::kHttp), "http");
  EXPECT_EQ(probeReason(ErrorClass::kBadAnswer), "bad-answer");
  EXPECT_EQ(probeReason(ErrorClass::kNone), "");
}

TEST(ResolveResult, RecordsServerAndWhetherEachAddressIsAllowedNow) {
  asio::io_context io;
  testing::FakeAllowSet allow(io);
  allow.insert({{ip("203.0.113.82"), 60}}, {"www.chain.test", "pdns1"}, [](Status) {});
  allow.ack(0);
  io.run();

  auto wire = testing::PacketBuilder::response("www.chain.test", 1)
                  .cname("www.chain.test", 300, "host.cdn-b.test")
                  .a("host.cdn-b.test", 30, "203.0.113.82")
                  .a("host.cdn-b.test", 30, "203.0.113.99")
                  .build();
  resolver::ResolveOutcome o;
  o.answer = wire;
  o.source = "DoT";
  o.server = "pdns1";
  o.serverAddress = ip("198.51.100.53");
  o.serverPort = 853;
  o.rtt = std::chrono::microseconds(1500);
  control::ResolveParams params{"www.chain.test", "A", std::nullopt};
  config::Config enforcing;
  enforcing.enabled = true;
  enforcing.auditModeEnabled = false;

  auto r = resolveResult(params, o, allow, enforcing);
  EXPECT_EQ(r.enforcement, control::Enforcement::kEnforce);
  EXPECT_EQ(r.rcode, "NOERROR");
  ASSERT_EQ(r.answers.size(), 3u);
  EXPECT_EQ(r.answers[0].type, "CNAME");
  EXPECT_EQ(r.answers[0].data, "host.cdn-b.test.");
  EXPECT_EQ(r.answers[1].ttl, 30u);
  EXPECT_EQ(r.serverName, "pdns1");
  ASSERT_TRUE(r.server);
  EXPECT_EQ(r.server->port, 853);
  EXPECT_EQ(r.protocol, control::Protocol::kDoT);
  EXPECT_DOUBLE_EQ(*r.rttMs, 1.5);
  ASSERT_EQ(r.addresses.size(), 2u);
  EXPECT_TRUE(r.addresses[0].allowed);
  ASSERT_TRUE(r.addresses[0].remainingSeconds);
  EXPECT_GT(*r.addresses[0].remainingSeconds, 0);
  EXPECT_EQ(r.addresses[0].verdict, control::AddressVerdict::kResolved);
  EXPECT_EQ(r.addresses[0].source, "answer");
  EXPECT_FALSE(r.addresses[1].allowed) << "never inserted, so never reported as allowed";
  EXPECT_EQ(r.addresses[1].verdict, control::AddressVerdict::kNotAllowed);
  EXPECT_TRUE(r.failure.empty());
}

TEST(ResolveResult, SaysWhatThePolicyDoesWithEachAddressAndListsTheHints) {
  asio::io_context io;
  testing::FakeAllowSet allow(io);
  allow.insert({{ip("203.0.113.87"), 60}, {ip("2001:db8:80::87"), 60}},
               {"svc.allowed.test", "pdns1"}, [](Status) {});
  allow.ack(0);
  io.run();
  resolver::ResolveOutcome o;
  o.source = "DoT";
  o.server = "pdns1";
  o.answer = testing::PacketBuilder::response("svc.allowed.test", KNOT_RRTYPE_HTTPS)
                 .svcb(KNOT_RRTYPE_HTTPS, "svc.allowed.test", 300, 1, ".", {"203.0.113.87"},
                       {"2001:db8:80::87"})
                 .build();
  config::Config audit;
  audit.enabled = true;
  audit.auditModeEnabled = true;
  auto r = resolveResult({"svc.allowed.test", "HTTPS", std::nullopt}, o, allow, audit);
  EXPECT_EQ(r.enforcement, control::Enforcement::kAudit);
  ASSERT_EQ(r.answers.size(), 1u);
  ASSERT_EQ(r.addresses.size(), 2u) << "the hints are allowed, so they are listed";
  EXPECT_EQ(r.addresses[0].address.toString(), "203.0.113.87");
  EXPECT_EQ(r.addresses[0].source, "ipv4hint");
  EXPECT_TRUE(r.addresses[0].allowed);
  EXPECT_EQ(r.addresses[1].source, "ipv6hint");
  EXPECT_EQ(r.addresses[1].verdict, control::AddressVerdict::kResolved);

  o.answer = testing::PacketBuilder::response("odd.test", 1)
                 .a("odd.test", 300, "127.0.0.1")
                 .a("odd.test", 300, "0.0.0.0")
                 .a("odd.test", 300, "233.252.0.1")
                 .a("odd.test", 300, "203.0.113.200")
                 .a("odd.test", 300, "203.0.113.9")
                 .build();
  config::Config c;
  c.enabled = true;
  c.auditModeEnabled = false;
  c.exemptionRules = {{"relay-wide", "", {*IpPrefix::parse("203.0.113.0/24")}},
                      {"relay", "", {*IpPrefix::parse("203.0.113.200/31")}}};
  auto odd = resolveResult({"odd.test", "A", std::nullopt}, o, allow, c);
  ASSERT_EQ(odd.addresses.size(), 5u);
  EXPECT_EQ(odd.addresses[0].verdict, control::AddressVerdict::kLoopback);
  EXPECT_TRUE(odd.addresses[0].allowed) << "loopbackTrafficBlocked is false by default";
  EXPECT_EQ(odd.addresses[1].verdict, control::AddressVerdict::kUnspecified);
  EXPECT_FALSE(odd.addresses[1].allowed);
  EXPECT_EQ(odd.addresses[2].verdict, control::AddressVerdict::kMulticast);
  EXPECT_FALSE(odd.addresses[2].allowed);
  EXPECT_EQ(odd.addresses[3].verdict, control::AddressVerdict::kException);
  EXPECT_EQ(odd.addresses[3].exception, "relay") << "the most specific exception";
  EXPECT_TRUE(odd.addresses[3].allowed);
  EXPECT_EQ(odd.addresses[4].exception, "relay-wide");

  c.loopbackTrafficBlocked = true;
  c.enabled = false;
  auto blocked = resolveResult({"odd.test", "A", std::nullopt}, o, allow, c);
  EXPECT_EQ(blocked.enforcement, control::Enforcement::kDisabled);
  EXPECT_EQ(blocked.addresses[0].verdict, control::AddressVerdict::kLoopback);
  EXPECT_FALSE(blocked.addresses[0].allowed);
}

TEST(ResolveResult, AStubSERVFAILSaysWhyAndNamesNoServer) {
  asio::io_context io;
  testing::FakeAllowSet allow(io);
  resolver::ResolveOutcome o;
  o.answer = testing::PacketBuilder::response("x.test", 1).rcode(2).build();
  o.rcode = 2;
  o.failure = "every protective DNS server failed";
  auto r = resolveResult({"x.test", "A", std::nullopt}, o, allow, config::Config{});
  EXPECT_EQ(r.rcode, "SERVFAIL");
  EXPECT_FALSE(r.server);
  EXPECT_THAT(r.failure, HasSubstr("every protective DNS server failed"));
  EXPECT_EQ(r.serverName, "") << "serverName is for server names";
  EXPECT_TRUE(r.addresses.empty());
}

}  // namespace
}  // namespace ztdns::daemon
