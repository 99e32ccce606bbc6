// changeEvents: which Operational events a configuration change produces, and in what order.
#include "daemon/change_events.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ztdns::daemon {
namespace {

using ::testing::HasSubstr;

std::vector<int> ids(const std::vector<observe::Event>& events) {
  std::vector<int> out;
  for (const auto& e : events) out.push_back(e.eventId);
  return out;
}

config::ExemptionRule rule(const char* name, const char* prefix) {
  return config::ExemptionRule{name, "", {IpPrefix::parse(prefix).value()}};
}

TEST(ChangeEvents, EqualConfigsSayNothing) {
  EXPECT_TRUE(changeEvents(config::Config{}, config::Config{}, {}).empty());
}

TEST(ChangeEvents, EachKindOfDifferenceHasItsWindowsEventInAStableOrder) {
  config::Config before;
  before.exemptionRules = {rule("old", "203.0.113.1/32"), rule("kept", "203.0.113.2/32"),
                           rule("moved", "203.0.113.3/32")};
  config::Config after = before;
  after.enabled = true;
  config::SecureDnsServer s;
  s.displayName = "pdns1";
  s.ipAddress = IpAddress::parse("198.51.100.53").value();
  s.priority = 1;
  s.dnsOverTls = config::DotSettings{853, "pdns1.example.test"};
  after.secureDnsServers = {s};
  after.exemptionRules = {rule("kept", "203.0.113.2/32"), rule("moved", "203.0.113.30/32"),
                          rule("new", "203.0.113.4/32")};
  after.loopbackTrafficBlocked = true;
  after.allowGraceSeconds = 5;

  observe::ops::Actor by{1234u, "/usr/local/bin/ztdns", 0u};
  auto events = changeEvents(before, after, by);
  // state (6), servers (3), removed old and moved (4, 4), added moved and new (5, 5), other (105)
  EXPECT_EQ(ids(events), (std::vector<int>{6, 3, 4, 4, 5, 5, 105}));
  EXPECT_THAT(events[0].message, HasSubstr("by process (1234) /usr/local/bin/ztdns"));
  EXPECT_THAT(events[1].message, HasSubstr("pdns1 198.51.100.53 DoT:853 priority 1"));
  EXPECT_EQ(events[2].fields["name"], "old");
  EXPECT_EQ(events[3].fields["name"], "moved");
  EXPECT_EQ(events[5].fields["name"], "new");
  EXPECT_EQ(events[6].fields["keys"],
            nlohmann::json::array({"loopbackTrafficBlocked", "allowGraceSeconds"}));
}

TEST(ChangeEvents, AnAuditSwitchAloneIsAStateChange) {
  config::Config before;
  before.enabled = true;
  config::Config after = before;
  after.auditModeEnabled = false;
  auto events = changeEvents(before, after, {});
  ASSERT_EQ(ids(events), std::vector<int>{6});
  EXPECT_THAT(events[0].message, HasSubstr("enabled (enforcing)"));
}

}  // namespace
}  // namespace ztdns::daemon
