// Pure-logic tests: padding, answer matching, queryUrl parsing, identities, error classes.
#include "upstream/wire.h"

#include <gtest/gtest.h>

#include "upstream/tls_context.h"
#include "upstream/upstream_endpoint.h"

namespace ztdns::upstream {
namespace {

TEST(Wire, PaddingAddsOptToQueriesWithoutEdnsAndFillsA128ByteBlock) {
  auto q = wire::makeQuery("www.example.test", 1, 0xBEEF);
  ASSERT_TRUE(wire::padQuery(q));
  EXPECT_EQ(q.size() % 128, 0u);
  EXPECT_EQ(wire::readU16(q.data() + 10), 1);  // ARCOUNT: the new OPT
  EXPECT_EQ(wire::readU16(q.data()), 0xBEEF);
  // Padding again keeps the size (the old padding option is replaced, not stacked).
  auto again = q;
  ASSERT_TRUE(wire::padQuery(again));
  EXPECT_EQ(again, q);
}

TEST(Wire, PaddingKeepsOtherEdnsOptionsAndFlags) {
  auto q = wire::makeQuery("a.example.test", 28, 1);
  // OPT with DO set and a cookie option (code 10, 8 bytes).
  const uint8_t opt[] = {0,  0, 41, 0x10, 0x00, 0, 0, 0x80, 0, 0, 12, 0,
                         10, 0, 8,  1,    2,    3, 4, 5,    6, 7, 8};
  q.insert(q.end(), opt, opt + sizeof opt);
  q[11] = 1;
  ASSERT_TRUE(wire::padQuery(q, 128));
  EXPECT_EQ(q.size() % 128, 0u);
  EXPECT_EQ(wire::readU16(q.data() + 10), 1);
  auto qe = wire::questionEnd(q);
  ASSERT_TRUE(qe);
  const uint8_t* o = q.data() + *qe;
  EXPECT_EQ(wire::readU16(o + 1), 41);
  EXPECT_EQ(wire::readU16(o + 3), 0x1000);  // UDP size kept
  EXPECT_EQ(o[7], 0x80);                    // DO kept
  EXPECT_EQ(wire::readU16(o + 11), 10);     // cookie first
  EXPECT_EQ(wire::readU16(o + 23), 12);     // then padding
}

TEST(Wire, PaddingRefusesMalformedMessages) {
  std::vector<uint8_t> junk = {1, 2, 3};
  EXPECT_FALSE(wire::padQuery(junk));
  auto q = wire::makeQuery("x.test", 1, 1);
  q[7] = 1;  // ANCOUNT 1 with no record
  auto copy = q;
  EXPECT_FALSE(wire::padQuery(q));
  EXPECT_EQ(q, copy);
}

TEST(Wire, AnswerMatchingComparesQuestionCaseInsensitively) {
  auto q = wire::makeQuery("WwW.Example.TEST", 1, 5);
  auto a = wire::makeQuery("www.example.test", 1, 9);
  a[2] |= 0x80;
  EXPECT_TRUE(wire::answerMatchesQuery(q, a));
  auto other = wire::makeQuery("www.example.tesx", 1, 5);
  other[2] |= 0x80;
  EXPECT_FALSE(wire::answerMatchesQuery(q, other));
  auto notAnswer = wire::makeQuery("www.example.test", 1, 5);
  EXPECT_FALSE(wire::answerMatchesQuery(q, notAnswer));  // QR clear
  auto otherType = wire::makeQuery("www.example.test", 28, 5);
  otherType[2] |= 0x80;
  EXPECT_FALSE(wire::answerMatchesQuery(q, otherType));
}

TEST(Wire, AnAnswerWhoseRecordsDoNotFitIsNotAMatch) {
  auto q = wire::makeQuery("www.example.test", 1, 5);
  auto a = q;
  a[2] |= 0x80;
  a[7] = 1;  // ANCOUNT 1
  // www.example.test (a pointer to the question) A IN TTL 300, RDLENGTH 4: 203.0.113.80
  const uint8_t rr[] = {0xC0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 203, 0, 113, 80};
  a.insert(a.end(), rr, rr + sizeof rr);
  EXPECT_TRUE(wire::answerMatchesQuery(q, a));
  // The lab's malformed server: RDLENGTH claims 4 bytes and the message carries 2.
  auto lying = a;
  lying.resize(lying.size() - 2);
  EXPECT_FALSE(wire::answerMatchesQuery(q, lying));
  // A record count with no record behind it.
  auto missing = a;
  missing[7] = 2;
  EXPECT_FALSE(wire::answerMatchesQuery(q, missing));
  // A header cut inside the fixed part of the record.
  auto cut = a;
  cut.resize(cut.size() - 8);
  EXPECT_FALSE(wire::answerMatchesQuery(q, cut));
}

TEST(QueryUrl, ParsesHostPortAndPath) {
  auto u = parseQueryUrl("https://dns.example.test/dns-query");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->host, "dns.example.test");
  EXPECT_EQ(u->authority, "dns.example.test");
  EXPECT_EQ(u->path, "/dns-query");
  u = parseQueryUrl("https://[2001:db8::1]:8443/q{?dns}");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "2001:db8::1");
  EXPECT_EQ(u->authority, "[2001:db8::1]:8443");
  EXPECT_EQ(u->path, "/q");
  u = parseQueryUrl("https://198.51.100.53");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->path, "/");
  EXPECT_FALSE(parseQueryUrl("http://dns.example.test/dns-query"));
  EXPECT_FALSE(parseQueryUrl("https:///x"));
}

TEST(Identity, IpLiteralsAndPins) {
  auto id = makeIdentity("198.51.100.53", {}, "");
  ASSERT_TRUE(id);
  EXPECT_TRUE(id->nameIsIp);
  id = makeIdentity("[2001:db8::53]", {}, "h2");
  ASSERT_TRUE(id);
  EXPECT_TRUE(id->nameIsIp);
  EXPECT_EQ(id->name, "2001:db8::53");
  id = makeIdentity("pdns1.example.test", {"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}, "");
  ASSERT_TRUE(id);
  EXPECT_FALSE(id->nameIsIp);
  ASSERT_EQ(id->pins.size(), 1u);
  EXPECT_EQ(id->pins[0][0], 0xE3);  // SHA-256("") starts e3b0
  auto bad = makeIdentity("x.test", {"not-a-pin"}, "");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("not-a-pin"), std::string::npos);
}

TEST(Endpoints, PriorityOrderThenDotBeforeDoh) {
  PoolOptions o;
  config::SecureDnsServer a, b;
  a.displayName = "a";
  a.ipAddress = *IpAddress::parse("198.51.100.53");
  a.priority = 200;
  a.dnsOverTls = config::DotSettings{853, "a.test"};
  b.displayName = "b";
  b.ipAddress = *IpAddress::parse("198.51.100.54");
  b.priority = 100;
  b.dnsOverHttps = config::DohSettings{443, "https://b.test/dns-query"};
  b.dnsOverTls = config::DotSettings{853, "b.test"};
  o.servers = {a, b};
  auto eps = endpointConfigs(o);
  ASSERT_TRUE(eps) << eps.error().message;
  ASSERT_EQ(eps->size(), 3u);
  EXPECT_EQ((*eps)[0].serverName, "b");
  EXPECT_EQ((*eps)[0].transport, Transport::kDoT);
  EXPECT_EQ((*eps)[1].serverName, "b");
  EXPECT_EQ((*eps)[1].transport, Transport::kDoH);
  EXPECT_EQ((*eps)[1].identity->alpn, "h2");
  EXPECT_EQ((*eps)[1].doh->authority, "b.test");
  EXPECT_EQ((*eps)[2].serverName, "a");
}

TEST(Errors, ServerHealthClasses) {
  EXPECT_TRUE((UpstreamError{ErrorClass::kRefused, ""}).marksServerDown());
  EXPECT_TRUE((UpstreamError{ErrorClass::kNameMismatch, ""}).marksServerDown());
  EXPECT_FALSE((UpstreamError{ErrorClass::kHttp, ""}).marksServerDown());
  EXPECT_FALSE((UpstreamError{ErrorClass::kBadAnswer, ""}).marksServerDown());
  EXPECT_FALSE((UpstreamError{ErrorClass::kClosed, ""}).marksServerDown());
  EXPECT_TRUE((UpstreamError{ErrorClass::kTimeout, ""}).marksServerDown());
  EXPECT_TRUE((UpstreamError{ErrorClass::kClientCertRejected, ""}).marksServerDown());
  EXPECT_STREQ(errorClassName(ErrorClass::kClientCertRejected), "client certificate rejected");
}

TEST(TlsContextLoad, UnreadableRootsAreAnErrorNamingTheFile) {
  auto ctx = TlsContext::create({"/nonexistent/ca.pem"}, std::nullopt);
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().message.find("/nonexistent/ca.pem"), std::string::npos);
  auto sys = TlsContext::create({}, std::nullopt);
  EXPECT_TRUE(sys) << sys.error().message;
}

}  // namespace
}  // namespace ztdns::upstream
