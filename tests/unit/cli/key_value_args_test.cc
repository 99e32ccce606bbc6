// netsh-style argument parsing: every kind of value and every error, word for word.
#include "cli/key_value_args.h"

#include <gtest/gtest.h>

namespace ztdns::cli {
namespace {

ArgSpec spec() {
  return ArgSpec{"add thing",
                 {{"name", ValueKind::kName, true, {}, 0, 0, "NAME"},
                  {"enable", ValueKind::kYesNo, false, {}, 0, 0, "yes|no"},
                  {"address", ValueKind::kIp, false, {}, 0, 0, "IP"},
                  {"subnets", ValueKind::kPrefixList, false, {}, 0, 0, "CIDR"},
                  {"port", ValueKind::kPort, false, {}, 0, 0, "PORT"},
                  {"priority", ValueKind::kInt, false, {}, 1, 1000, "N"},
                  {"since", ValueKind::kDuration, false, {}, 0, 0, "D"},
                  {"type", ValueKind::kChoice, false, {"dot", "doh"}, 0, 0, "dot|doh"},
                  {"rr", ValueKind::kRecordType, false, {}, 0, 0, "TYPE"},
                  {"description", ValueKind::kDescription, false, {}, 0, 0, "TEXT"},
                  {"dst", ValueKind::kIpOrPrefix, false, {}, 0, 0, "IP|PREFIX"}},
                 {"json"},
                 0,
                 "",
                 ""};
}

std::string error(std::vector<std::string> args) {
  auto r = parseArgs(spec(), args);
  return r ? "(accepted)" : r.error().message;
}

TEST(KeyValueArgs, ParsesEveryKind) {
  auto r = parseArgs(
      spec(), {"NAME=relay", "Enable=YES", "address=2001:db8::1",
               "subnets=203.0.113.0/24,198.51.100.7", "port=853", "priority=7", "since=1h30m",
               "type=DoT", "rr=aaaa", "description=", "dst=203.0.113.0/24", "JSON"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->text("name"), "relay");
  EXPECT_EQ(r->yesNo("enable"), true);
  EXPECT_EQ(r->ip("address"), IpAddress::parse("2001:db8::1").value());
  ASSERT_EQ(r->prefixes("subnets")->size(), 2u);
  EXPECT_EQ((*r->prefixes("subnets"))[1].toString(), "198.51.100.7/32");
  EXPECT_EQ(r->integer("port"), 853);
  EXPECT_EQ(r->integer("priority"), 7);
  EXPECT_EQ(r->durationSeconds("since"), 5400u);
  EXPECT_EQ(r->text("type"), "dot");
  EXPECT_EQ(r->text("rr"), "AAAA");
  EXPECT_EQ(r->text("description"), "");
  EXPECT_EQ(r->ipOrPrefix("dst")->toString(), "203.0.113.0/24");
  EXPECT_TRUE(r->keyword("json"));
  EXPECT_FALSE(r->has("nope"));
}

TEST(KeyValueArgs, ErrorsNameTheArgument) {
  EXPECT_EQ(error({}), "name: required (name=NAME)");
  EXPECT_EQ(error({"name=a", "subnets=10.0.0.0/33"}), "subnets: \"10.0.0.0/33\" is not a prefix");
  EXPECT_EQ(error({"name=a", "subnets=203.0.113.0/24,,1.2.3.4"}),
            "subnets: \"203.0.113.0/24,,1.2.3.4\" has an empty entry");
  EXPECT_EQ(error({"name=a", "enable=maybe"}), "enable: \"maybe\" is not yes or no");
  EXPECT_EQ(error({"name=a", "address=1.2.3"}), "address: \"1.2.3\" is not an IP address");
  EXPECT_EQ(error({"name=a", "port=0"}), "port: \"0\" is not a port (1-65535)");
  EXPECT_EQ(error({"name=a", "port=65536"}), "port: \"65536\" is not a port (1-65535)");
  EXPECT_EQ(error({"name=a", "port=12ab"}), "port: \"12ab\" is not a port (1-65535)");
  EXPECT_EQ(error({"name=a", "priority=0"}),
            "priority: \"0\" is not a whole number from 1 to 1000");
  EXPECT_EQ(error({"name=a", "since=soon"}),
            "since: \"soon\" is not a duration (e.g. 90s, 30m, 1h, 7d)");
  EXPECT_EQ(error({"name=a", "type=doq"}), "type: \"doq\" is not dot or doh");
  EXPECT_EQ(error({"name=a", "rr=BOGUS"}),
            "rr: \"BOGUS\" is not a record type (A, AAAA, CNAME, HTTPS, ... or TYPEnnn)");
  EXPECT_EQ(error({"name=a", "dst=nowhere"}), "dst: \"nowhere\" is not an IP address or prefix");
  EXPECT_EQ(error({"name="}), "name: must not be empty");
  EXPECT_EQ(error({"name=a", "name=b"}), "name: given twice");
  EXPECT_EQ(error({"name=a", "NAME=b"}), "name: given twice");
  EXPECT_EQ(error({"name=a", "colour=red"}),
            "\"colour\": unknown argument for \"add thing\" (expected name, enable, address, "
            "subnets, port, priority, "
            "since, type, rr, description, dst)");
  EXPECT_EQ(error({"name=a", "verbose"}),
            "\"verbose\": unexpected argument for \"add thing\" (arguments are key=value: name, "
            "enable, address, "
            "subnets, port, priority, since, type, rr, description, dst)");
  EXPECT_EQ(error({"name=a", "port"}), "port: needs a value (port=...)");
  EXPECT_EQ(error({"=x"}), "\"=x\": expected key=value");
  EXPECT_EQ(error({"name=a\x01"}), "name: \"a?\" contains control characters");
}

TEST(KeyValueArgs, Positionals) {
  ArgSpec s{"resolve", {{"type", ValueKind::kRecordType, false, {}, 0, 0, "TYPE"}},
            {"json"},  1,
            "NAME",    ""};
  auto r = parseArgs(s, {"www.allowed.test", "type=https"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->positionals(), std::vector<std::string>{"www.allowed.test"});
  auto two = parseArgs(s, {"a.test", "b.test"});
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().message,
            "\"b.test\": unexpected argument for \"resolve\" (arguments are key=value: type)");
}

TEST(Durations, ParseAndFormat) {
  EXPECT_EQ(parseDuration("90").value(), 90u);
  EXPECT_EQ(parseDuration("90s").value(), 90u);
  EXPECT_EQ(parseDuration("15m").value(), 900u);
  EXPECT_EQ(parseDuration("1h30m").value(), 5400u);
  EXPECT_EQ(parseDuration("2w1d").value(), 15u * 86400);
  EXPECT_EQ(parseDuration("1H").value(), 3600u);
  EXPECT_FALSE(parseDuration("30m1h").ok()) << "units go from large to small, each once";
  EXPECT_FALSE(parseDuration("1h1h").ok());
  EXPECT_FALSE(parseDuration("h").ok());
  EXPECT_FALSE(parseDuration("-5").ok());
  EXPECT_FALSE(parseDuration("1x").ok());
  EXPECT_EQ(parseDuration("5000w").error().message, "\"5000w\" is longer than 10 years");
  EXPECT_EQ(formatDuration(0), "0s");
  EXPECT_EQ(formatDuration(42), "42s");
  EXPECT_EQ(formatDuration(3600), "1h");
  EXPECT_EQ(formatDuration(3723), "1h 2m");
  EXPECT_EQ(formatDuration(90061), "1d 1h");
}

}  // namespace
}  // namespace ztdns::cli
