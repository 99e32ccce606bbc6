// Config edits: one row per control change, with the config it must produce or the error the
// client must get (its code and the words that name what is wrong).
#include "daemon/config_edit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/protocol.h"

namespace ztdns::daemon {
namespace {

using ::testing::HasSubstr;

IpAddress ip(const char* text) {
  return IpAddress::parse(text).value();
}
IpPrefix prefix(const char* text) {
  return IpPrefix::parse(text).value();
}

config::Config withOneServer() {
  config::Config c;
  config::SecureDnsServer s;
  s.displayName = "pdns1";
  s.ipAddress = ip("198.51.100.53");
  s.priority = 1;
  s.dnsOverTls = config::DotSettings{853, "pdns1.example.test"};
  c.secureDnsServers.push_back(s);
  return c;
}

control::AddServerParams dot(const char* address, const char* hostname) {
  control::AddServerParams p;
  p.type = control::Protocol::kDoT;
  p.address = ip(address);
  p.port = 853;
  p.hostname = hostname;
  return p;
}

control::AddServerParams doh(const char* address, const char* url) {
  control::AddServerParams p;
  p.type = control::Protocol::kDoH;
  p.address = ip(address);
  p.port = 443;
  p.templateUrl = url;
  return p;
}

void expectError(const Result<Edited>& r, control::ErrorCode code, const std::string& words) {
  ASSERT_FALSE(r) << "the edit must fail";
  EXPECT_EQ(control::errorCodeOf(r.error()), code) << r.error().message;
  EXPECT_THAT(r.error().message, HasSubstr(words));
}

TEST(EditSetState, EnableWithoutAuditKeepsTheAuditFlagSoTheFirstEnableIsAudit) {
  auto r = editSetState(withOneServer(), {true, std::nullopt});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->config.enabled);
  EXPECT_TRUE(r->config.auditModeEnabled);

  auto enforce = editSetState(r->config, {true, false});
  ASSERT_TRUE(enforce);
  EXPECT_FALSE(enforce->config.auditModeEnabled);
  auto again = editSetState(enforce->config, {true, std::nullopt});
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->config.auditModeEnabled) << "audit absent keeps enforcing";

  auto off = editSetState(enforce->config, {false, false});
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->config.enabled);
}

TEST(EditSetState, EnablingWithoutAServerIsRefused) {
  expectError(editSetState(config::Config{}, {true, std::nullopt}), control::ErrorCode::kConflict,
              "no protective DNS server is configured");
  EXPECT_TRUE(editSetState(config::Config{}, {false, false})) << "disabling is always fine";
}

TEST(EditAddServer, ANewAddressAddsAServerWithDefaults) {
  auto r = editAddServer(config::Config{}, dot("198.51.100.54", "pdns2.example.test"));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->config.secureDnsServers.size(), 1u);
  const auto& s = r->config.secureDnsServers[0];
  EXPECT_EQ(s.displayName, "198.51.100.54");
  EXPECT_EQ(s.priority, 100);
  ASSERT_TRUE(s.dnsOverTls);
  EXPECT_EQ(s.dnsOverTls->certificateSubjectName, "pdns2.example.test");
  EXPECT_FALSE(s.dnsOverHttps);
}

TEST(EditAddServer, AnExistingAddressGainsTheOtherTransportAsItIs) {
  auto p = doh("198.51.100.53", "https://pdns1.example.test/dns-query");
  p.name = "pdns1";  // the same name and priority may be repeated
  p.priority = 1;
  auto r = editAddServer(withOneServer(), p);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->config.secureDnsServers.size(), 1u);
  const auto& s = r->config.secureDnsServers[0];
  EXPECT_TRUE(s.dnsOverTls && s.dnsOverHttps);
  EXPECT_EQ(s.dnsOverHttps->queryUrl, "https://pdns1.example.test/dns-query");
  EXPECT_EQ(s.displayName, "pdns1");
  EXPECT_EQ(s.priority, 1);
}

// A tester's find: adding DoH to pdns1 with name=othername priority=7 renamed the server and
// moved its DoT in the failover order, silently.
TEST(EditAddServer, AnotherNameOrPriorityForAnExistingAddressIsRefused) {
  auto renamed = doh("198.51.100.53", "https://pdns1.example.test/dns-query");
  renamed.name = "othername";
  expectError(editAddServer(withOneServer(), renamed), control::ErrorCode::kConflict,
              "name: 198.51.100.53 is server \"pdns1\" already; leave out name= to add DoH to it");
  auto moved = doh("198.51.100.53", "https://pdns1.example.test/dns-query");
  moved.priority = 7;
  expectError(editAddServer(withOneServer(), moved), control::ErrorCode::kConflict,
              "priority: 198.51.100.53 is server \"pdns1\" already with priority 1");
}

TEST(EditAddServer, ConflictsAndInvalidValuesAreRefusedWithTheirReason) {
  expectError(editAddServer(withOneServer(), dot("198.51.100.53", "x.example.test")),
              control::ErrorCode::kConflict, "server 198.51.100.53 already has DoT");
  auto sameName = dot("198.51.100.54", "pdns2.example.test");
  sameName.name = "pdns1";
  expectError(editAddServer(withOneServer(), sameName), control::ErrorCode::kConflict,
              "a server named \"pdns1\" exists already");
  auto badPriority = dot("198.51.100.54", "pdns2.example.test");
  badPriority.priority = 5000;
  expectError(editAddServer(withOneServer(), badPriority), control::ErrorCode::kInvalidParams,
              "priority: 5000 is out of range 1..1000");
}

// Validation errors about what the request wrote name the request's arguments (docs/cli.md),
// not the field paths of the file the user never typed.
TEST(EditAddServer, ErrorsNameTheArgumentNotTheConfigPath) {
  auto r = editAddServer(withOneServer(), dot("0.0.0.0", "a.test"));
  expectError(r, control::ErrorCode::kInvalidParams,
              "address: 0.0.0.0 is not a unicast address a server can have");
  EXPECT_EQ(r.error().message, "address: 0.0.0.0 is not a unicast address a server can have");
  r = editAddServer(withOneServer(), dot("::ffff:198.51.100.60", "a.test"));
  EXPECT_EQ(r.error().message,
            "address: ::ffff:198.51.100.60 is an IPv4-mapped address; use 198.51.100.60");
  EXPECT_EQ(control::errorCodeOf(r.error()), control::ErrorCode::kInvalidParams);
  r = editAddServer(withOneServer(), dot("::ffff:198.51.100.53", "pdns1.example.test"));
  EXPECT_EQ(r.error().message,
            "address: ::ffff:198.51.100.53 is an IPv4-mapped address; use 198.51.100.53")
      << "not accepted next to 198.51.100.53:853";
  r = editAddServer(withOneServer(), dot("198.51.100.54", "bad..name"));
  EXPECT_EQ(r.error().message, "hostname: \"bad..name\" is not a DNS name or IP address");
  r = editAddServer(withOneServer(), doh("198.51.100.54", "http://x.test/q"));
  EXPECT_THAT(r.error().message, ::testing::StartsWith("template: "));
  auto named = dot("198.51.100.54", "a.test");
  named.name = "bad\x01name";
  r = editAddServer(withOneServer(), named);
  EXPECT_EQ(r.error().message, "name: \"bad\\u0001name\" contains a control character");
  auto port0 = dot("198.51.100.54", "a.test");
  port0.port = 0;
  r = editAddServer(withOneServer(), port0);
  EXPECT_EQ(r.error().message, "port: 0 is out of range 1..65535");
}

// A CA file deleted since the config was loaded must not lock out every change (disabling
// ZTDNS above all): the problem is the config's, not the edit's. The edit goes through and
// the reply says what is wrong and which command fixes it.
TEST(EditAddServer, AProblemTheConfigHadAlreadyIsAWarningWithItsRemedy) {
  config::Config c = withOneServer();
  c.enabled = true;
  c.rootCertificatesForServerValidation = {"/nonexistent/ca.pem"};  // gone since it was loaded
  auto r = editAddServer(c, dot("198.51.100.54", "a.test"));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->replyWarnings.size(), 1u);
  EXPECT_THAT(r->replyWarnings[0], HasSubstr("the config already had this problem: "
                                             "rootCertificatesForServerValidation[0]: "));
  EXPECT_THAT(r->replyWarnings[0], HasSubstr("ztdns delete trustedca file=/nonexistent/ca.pem"));
  auto off = editSetState(c, {false, false});
  ASSERT_TRUE(off) << off.error().message;
  EXPECT_FALSE(off->config.enabled);
  EXPECT_EQ(off->replyWarnings.size(), 1u);
  auto fixed = editDeleteTrustedCa(c, {"/nonexistent/ca.pem"});
  ASSERT_TRUE(fixed) << fixed.error().message;
  EXPECT_TRUE(fixed->replyWarnings.empty());
  // What the request itself gets wrong is still refused, in the request's words.
  r = editAddServer(c, dot("0.0.0.0", "a.test"));
  expectError(r, control::ErrorCode::kInvalidParams,
              "address: 0.0.0.0 is not a unicast address a server can have");
}

TEST(EditAddServer, ValidationWarningsTheEditBringsInAreReported) {
  auto p = doh("198.51.100.54", "https://pdns2.example.test:444/dns-query");
  auto r = editAddServer(withOneServer(), p);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->replyWarnings.size(), 1u);
  EXPECT_THAT(r->replyWarnings[0], HasSubstr("names port 444 but httpsPort is 443"));
}

TEST(EditDeleteServer, OneOrAllAndNeverTheLastWhileEnabled) {
  config::Config two =
      editAddServer(withOneServer(), dot("198.51.100.54", "b.example.test"))->config;
  std::vector<IpAddress> deleted;
  auto one = editDeleteServer(two, {ip("198.51.100.53")}, deleted);
  ASSERT_TRUE(one);
  EXPECT_EQ(deleted, std::vector<IpAddress>{ip("198.51.100.53")});
  EXPECT_EQ(one->config.secureDnsServers.size(), 1u);

  auto all = editDeleteServer(two, {std::nullopt}, deleted);
  ASSERT_TRUE(all);
  EXPECT_EQ(deleted.size(), 2u);
  EXPECT_TRUE(all->config.secureDnsServers.empty());

  expectError(editDeleteServer(two, {ip("203.0.113.1")}, deleted), control::ErrorCode::kNotFound,
              "no server with address 203.0.113.1");

  two.enabled = true;
  expectError(editDeleteServer(two, {std::nullopt}, deleted), control::ErrorCode::kConflict,
              "would leave no server while ZTDNS is enabled");
  EXPECT_TRUE(editDeleteServer(two, {ip("198.51.100.54")}, deleted)) << "one of two is fine";
}

TEST(EditExceptions, AddNormalisesWithAWarningAndRefusesDuplicates) {
  control::AddExceptionParams p{"relay", "media relay", {prefix("203.0.113.201/31")}};
  auto r = editAddException(config::Config{}, p);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->config.exemptionRules.size(), 1u);
  EXPECT_EQ(r->config.exemptionRules[0].ipAddresses[0], prefix("203.0.113.200/31"));
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_THAT(r->warnings[0], HasSubstr("203.0.113.201/31"));

  expectError(editAddException(r->config, p), control::ErrorCode::kConflict,
              "an exception named \"relay\" exists already");
  control::AddExceptionParams mapped{
      "mapped", "", {prefix("203.0.113.8/32"), prefix("::ffff:203.0.113.9")}};
  auto m = editAddException(r->config, mapped);
  expectError(m, control::ErrorCode::kInvalidParams, "");
  EXPECT_EQ(m.error().message,
            "subnets: ::ffff:203.0.113.9/128 is an IPv4-mapped prefix; use 203.0.113.9/32");
  control::AddExceptionParams badName{"bad\x7fname", "", {prefix("203.0.113.8/32")}};
  EXPECT_EQ(editAddException(r->config, badName).error().message,
            "name: \"bad\\u007fname\" contains a control character");
  auto gone = editDeleteException(r->config, {"relay"});
  ASSERT_TRUE(gone);
  EXPECT_TRUE(gone->config.exemptionRules.empty());
  expectError(editDeleteException(gone->config, {"relay"}), control::ErrorCode::kNotFound,
              "no exception named \"relay\"");
}

TEST(EditCertificates, TrustedCaAndClientCertNeedReadableFilesAndReportAbsence) {
  expectError(editAddTrustedCa(config::Config{}, {"/nonexistent/ca.pem"}),
              control::ErrorCode::kInvalidParams, "file: \"/nonexistent/ca.pem\" ");
  expectError(editAddTrustedCa(config::Config{}, {"/etc/passwd"}),
              control::ErrorCode::kInvalidParams, "file: \"/etc/passwd\" holds no PEM certificate");
  auto cert = editAddClientCert(config::Config{}, {"/etc/passwd", "/nonexistent/c.key"});
  expectError(cert, control::ErrorCode::kInvalidParams,
              "certfile: \"/etc/passwd\" holds no PEM certificate");
  EXPECT_THAT(cert.error().message, HasSubstr("; keyfile: \"/nonexistent/c.key\" "));
  expectError(editDeleteTrustedCa(config::Config{}, {"/etc/ca.pem"}), control::ErrorCode::kNotFound,
              "is not a trusted CA file");
  expectError(editDeleteClientCert(config::Config{}), control::ErrorCode::kNotFound,
              "no client certificate is configured");
  expectError(editAddClientCert(config::Config{}, {"/nonexistent/c.pem", "/nonexistent/c.key"}),
              control::ErrorCode::kInvalidParams, "/nonexistent/c.pem");
}

TEST(EditLogSet, OnlyThePermittedChannelSwitches) {
  auto on = editLogSet(config::Config{}, {control::LogChannel::kPermitted, true});
  ASSERT_TRUE(on);
  EXPECT_TRUE(on->config.permittedConnectionsLogEnabled);
  expectError(editLogSet(config::Config{}, {control::LogChannel::kBlocked, false}),
              control::ErrorCode::kInvalidParams, "only the permitted channel");
}

}  // namespace
}  // namespace ztdns::daemon
