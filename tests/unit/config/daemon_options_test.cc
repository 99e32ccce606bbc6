#include "config/daemon_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "config/doh_url.h"

namespace ztdns::config {
namespace {

using ::testing::HasSubstr;

Result<DaemonOptions> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "ztdnsd");
  return parseDaemonOptions(static_cast<int>(args.size()), args.data());
}

TEST(DaemonOptions, DefaultsAreTheIssuePaths) {
  auto o = parse({});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->configPath, "/etc/ztdns/ztdns.json");
  EXPECT_EQ(o->runDir, "/run/ztdns");
  EXPECT_EQ(o->stateDir, "/var/lib/ztdns");
  EXPECT_EQ(o->logDir, "/var/log/ztdns");
  EXPECT_FALSE(o->check);
  EXPECT_FALSE(o->version);
  EXPECT_FALSE(o->help);
}

TEST(DaemonOptions, EveryOption) {
  auto o = parse({"--config", "/tmp/lab/ztdns.json", "--run-dir", "/tmp/lab/run", "--state-dir",
                  "/tmp/lab/state", "--log-dir=/tmp/lab/log", "--check"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->configPath, "/tmp/lab/ztdns.json");
  EXPECT_EQ(o->runDir, "/tmp/lab/run");
  EXPECT_EQ(o->stateDir, "/tmp/lab/state");
  EXPECT_EQ(o->logDir, "/tmp/lab/log");
  EXPECT_TRUE(o->check);
  EXPECT_TRUE(parse({"--version"})->version);
}

TEST(DaemonOptions, HelpIsNotAnError) {
  auto o = parse({"--help"});
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->help);
  EXPECT_THAT(o->helpText, HasSubstr("--config"));
  EXPECT_THAT(o->helpText, HasSubstr("/etc/ztdns/ztdns.json"));
  EXPECT_THAT(o->helpText, HasSubstr("--check"));
}

TEST(DaemonOptions, UsageErrorsAreWords) {
  auto bad = parse({"--bogus"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, 2);
  EXPECT_THAT(bad.error().message, HasSubstr("--bogus"));
  EXPECT_THAT(bad.error().message, HasSubstr("(see ztdnsd --help)"));
  auto missing = parse({"--config"});
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("--config"));
  auto empty = parse({"--run-dir", ""});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "ztdnsd: --run-dir must not be empty");
}

TEST(DaemonOptions, PathsMustBeAbsolute) {
  auto run = parse({"--run-dir", "relative-run"});
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().code, 2);
  EXPECT_EQ(run.error().message, "ztdnsd: --run-dir: \"relative-run\" is not an absolute path");
  EXPECT_EQ(parse({"--state-dir=./state"}).error().message,
            "ztdnsd: --state-dir: \"./state\" is not an absolute path");
  EXPECT_EQ(parse({"--log-dir", "log"}).error().message,
            "ztdnsd: --log-dir: \"log\" is not an absolute path");
  EXPECT_EQ(parse({"--config", "ztdns.json"}).error().message,
            "ztdnsd: --config: \"ztdns.json\" is not an absolute path");
  EXPECT_TRUE(parse({"--check", "--config", "ztdns.json"}))
      << "--check only reads the file, from here, like nginx -t";
  EXPECT_TRUE(parse({"--run-dir", "/run/ztdns/../ztdns-lab"})) << "absolute, even if not normal";
}

TEST(DaemonOptions, VersionLine) {
  EXPECT_EQ(daemonVersionLine().rfind("ztdnsd ", 0), 0u);
}

TEST(DohUrl, SplitsHostPortAndPath) {
  auto u = parseDohUrl("https://pdns1.example.test/dns-query{?dns}");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "pdns1.example.test");
  EXPECT_FALSE(u->port);
  EXPECT_EQ(u->path, "/dns-query");
  u = parseDohUrl("https://[2001:db8:53::53]:8443/q?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "2001:db8:53::53");
  EXPECT_EQ(*u->port, 8443);
  EXPECT_EQ(u->path, "/q?x=1");
  u = parseDohUrl("https://198.51.100.53");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->path, "/");
  EXPECT_EQ(parseDohUrl("https://user@pdns1.example.test/q").error().message,
            "\"https://user@pdns1.example.test/q\" carries user information; give only "
            "https://host[:port]/path");
  EXPECT_EQ(parseDohUrl("https://[2001:db8::1/q").error().message,
            "\"https://[2001:db8::1/q\" has a bad IPv6 host");
  EXPECT_EQ(parseDohUrl("https://h.test:/q").error().message,
            "\"https://h.test:/q\" has an empty port");
  EXPECT_EQ(parseDohUrl("https://h.test/q#f").error().message,
            "\"https://h.test/q#f\" has a fragment; DoH URLs have none");
  EXPECT_EQ(parseDohUrl("https://h.test/q{?dns").error().message,
            "\"https://h.test/q{?dns\" has an unbalanced '{'");
}

TEST(DohUrl, HostNames) {
  EXPECT_TRUE(isHostName("pdns1.example.test"));
  EXPECT_TRUE(isHostName("pdns1.example.test."));
  EXPECT_TRUE(isHostName("198.51.100.53"));
  EXPECT_TRUE(isHostName("2001:db8::53"));
  EXPECT_FALSE(isHostName(""));
  EXPECT_FALSE(isHostName("a..b"));
  EXPECT_FALSE(isHostName("-a.test"));
  EXPECT_FALSE(isHostName("a-.test"));
  EXPECT_FALSE(isHostName(std::string(64, 'a') + ".test"));
  EXPECT_TRUE(isHostName(std::string(63, 'a') + ".test"));
  EXPECT_FALSE(isHostName("*.example.test"));
}

}  // namespace
}  // namespace ztdns::config
