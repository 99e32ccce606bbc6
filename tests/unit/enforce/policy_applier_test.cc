// PolicyApplier against the real kernel, in a private network namespace.
#include "enforce/policy_applier.h"

#include <gtest/gtest.h>

#include "enforce/policy_script.h"
#include "netns.h"

namespace ztdns::enforce {
namespace {

using ztdns::testing::runShell;

IpPrefix prefix(const char* text) {
  return *IpPrefix::parse(text);
}

class PolicyApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ZTDNS_ENTER_PRIVATE_NETNS_OR_SKIP();
    runShell("nft delete table inet ztdns 2>/dev/null; nft delete table inet other 2>/dev/null");
    auto a = PolicyApplier::create();
    ASSERT_TRUE(a.ok()) << a.error().message;
    applier_.emplace(std::move(*a));
  }

  std::string list(const char* what) {
    std::string out;
    runShell(std::string("nft -s list ") + what + " 2>&1", &out);
    return out;
  }

  std::optional<PolicyApplier> applier_;
};

TEST_F(PolicyApplierTest, ReplacingThePolicyKeepsTheAllowSetsElements) {
  Policy audit;
  audit.exceptions = {{"relay", {prefix("203.0.113.200/32")}}};
  ASSERT_TRUE(applier_->apply(audit).ok());
  ASSERT_TRUE(applier_->exists());
  ASSERT_EQ(runShell("nft add element inet ztdns allow4 '{ 203.0.113.80 timeout 1h }' && "
                     "nft add element inet ztdns allow6 '{ 2001:db8:80::80 timeout 1h }'"),
            0);

  Policy enforce;
  enforce.audit = false;
  enforce.exceptions = {{"media", {prefix("198.51.100.0/24")}}};
  auto st = applier_->apply(enforce);
  ASSERT_TRUE(st.ok()) << st.error().message;
  auto table = applier_->listTable(true);
  ASSERT_TRUE(table.ok()) << table.error().message;
  EXPECT_NE(table->find("203.0.113.80 timeout 1h"), std::string::npos) << *table;
  EXPECT_NE(table->find("2001:db8:80::80 timeout 1h"), std::string::npos) << *table;
  EXPECT_NE(table->find("198.51.100.0/24"), std::string::npos) << *table;
  EXPECT_EQ(table->find("203.0.113.200"), std::string::npos) << "old exception left behind";
  EXPECT_NE(table->find("reject with tcp reset"), std::string::npos);
  EXPECT_EQ(table->find("goto log_audit"), std::string::npos);

  // The same policy again is a no-op for the listing.
  ASSERT_TRUE(applier_->apply(enforce).ok());
  EXPECT_EQ(*applier_->listTable(true), *table);
}

TEST_F(PolicyApplierTest, AFailedApplyLeavesTheTableByteForByteAndSaysWhy) {
  Policy before;
  before.audit = false;
  before.servers = {*Endpoint::parse("198.51.100.53:853")};
  before.exceptions = {{"relay", {prefix("203.0.113.200/32")}}};
  ASSERT_TRUE(applier_->apply(before).ok());
  ASSERT_EQ(runShell("nft add element inet ztdns allow4 '{ 203.0.113.80 timeout 1h }'"), 0);
  auto listed = applier_->listTable(true);
  ASSERT_TRUE(listed.ok());

  // A complete new policy whose last command the kernel refuses (the element exists):
  // the flushes, deletes and re-adds before it must all roll back.
  Policy after;
  after.audit = true;
  after.loopbackBlocked = true;
  after.exceptions = {{"other", {prefix("192.0.2.0/24")}}};
  auto script = buildPolicyScript(after);
  ASSERT_TRUE(script.ok());
  auto st = applier_->applyScriptForTest(
      *script + "create element inet ztdns allow4 { 203.0.113.80 timeout 5s }\n");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("File exists"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("| create element inet ztdns allow4"), std::string::npos)
      << "the message names the command the kernel refused: " << st.error().message;
  EXPECT_EQ(st.error().message.find('\n'), std::string::npos) << "one line";
  EXPECT_EQ(*applier_->listTable(true), *listed);

  // A policy refused before it reaches the kernel changes nothing either.
  Policy invalid;
  invalid.logPacketsPerSecond = 0;
  auto bad = applier_->apply(invalid);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("logPacketsPerSecond"), std::string::npos);
  EXPECT_EQ(*applier_->listTable(true), *listed);
}

TEST_F(PolicyApplierTest, ARuleOfSomeoneElseUsingAReplacedSetMakesTheKernelRefuse) {
  // An administrator's chain inside our table uses @exc4, which every apply replaces
  // (delete + add): the kernel refuses the delete (EBUSY) and rolls the whole apply back.
  Policy before;
  before.audit = false;
  before.exceptions = {{"relay", {prefix("203.0.113.200/32")}}};
  ASSERT_TRUE(applier_->apply(before).ok());
  ASSERT_EQ(
      runShell("nft add chain inet ztdns admin_in '{ type filter hook input priority 0; }' && "
               "nft add rule inet ztdns admin_in ip saddr @exc4 accept"),
      0);
  auto listed = applier_->listTable(true);
  ASSERT_TRUE(listed.ok());
  Policy after = before;
  after.exceptions.push_back({"more", {prefix("203.0.113.81/32")}});
  auto st = applier_->apply(after);
  ASSERT_FALSE(st.ok());
  const std::string& m = st.error().message;
  EXPECT_NE(m.find("Device or resource busy"), std::string::npos) << m;
  EXPECT_NE(m.find("| delete set inet ztdns exc4"), std::string::npos)
      << "names the refused command, not the script's first line: " << m;
  EXPECT_NE(m.find("ztdns-policy:"), std::string::npos) << "and its line in the script: " << m;
  EXPECT_EQ(*applier_->listTable(true), *listed);
}

TEST_F(PolicyApplierTest, OtherTablesAreNeverTouched) {
  ASSERT_EQ(runShell("nft -f - <<'EOF'\n"
                     "table inet other {\n"
                     "  set keep { type ipv4_addr; elements = { 192.0.2.5 } }\n"
                     "  chain output { type filter hook output priority 10; policy accept;\n"
                     "    ip daddr @keep counter accept\n"
                     "    tcp dport 8080 counter drop\n"
                     "  }\n"
                     "}\nEOF"),
            0);
  std::string other = list("table inet other");
  ASSERT_NE(other.find("tcp dport 8080"), std::string::npos) << other;

  Policy p;
  ASSERT_TRUE(applier_->apply(p).ok());
  p.audit = false;
  ASSERT_TRUE(applier_->apply(p).ok());
  EXPECT_EQ(list("table inet other"), other);
  ASSERT_TRUE(applier_->removeTable().ok());
  EXPECT_EQ(list("table inet other"), other);
}

TEST_F(PolicyApplierTest, RemoveTableRemovesEverythingAndIsIdempotent) {
  ASSERT_TRUE(applier_->apply(Policy{}).ok());
  ASSERT_TRUE(applier_->exists());
  ASSERT_TRUE(applier_->removeTable().ok());
  EXPECT_FALSE(applier_->exists());
  EXPECT_EQ(list("ruleset").find("ztdns"), std::string::npos);
  EXPECT_TRUE(applier_->removeTable().ok());
  EXPECT_FALSE(applier_->listTable().ok());
}

TEST_F(PolicyApplierTest, ACapacityChangeResizesTheAllowSetsWithoutLosingElements) {
  Policy p;
  p.maxAllowedAddresses = 1000;
  ASSERT_TRUE(applier_->apply(p).ok());
  ASSERT_EQ(runShell("nft add element inet ztdns allow4 '{ 203.0.113.80 timeout 1h }'"), 0);
  p.maxAllowedAddresses = 100000;
  auto st = applier_->apply(p);
  ASSERT_TRUE(st.ok()) << st.error().message;
  auto table = applier_->listTable(true);
  EXPECT_NE(table->find("size " + std::to_string(kernelAllowSetSize(100000))), std::string::npos)
      << *table;
  EXPECT_NE(table->find("203.0.113.80 timeout 1h"), std::string::npos) << *table;
}

TEST_F(PolicyApplierTest, TenThousandOverlappingExceptionsApplyInOneTransaction) {
  Policy p;
  NamedPrefixes many{"many", {}};
  for (int i = 0; i < 10000; ++i) {
    // Host prefixes in 2001:db8:ffff::/48, and /112s that cover some of them.
    uint32_t n = static_cast<uint32_t>(i) * 97u;
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff};
    b[13] = static_cast<uint8_t>(n >> 16);
    b[14] = static_cast<uint8_t>(n >> 8);
    b[15] = static_cast<uint8_t>(n);
    many.prefixes.emplace_back(IpAddress::v6(b), i % 50 == 0 ? 112 : 128);
  }
  p.exceptions = {many, many};
  auto st = applier_->apply(p);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(applier_->apply(p).ok());
}

TEST_F(PolicyApplierTest, CountersCountAndSurviveReapply) {
  ASSERT_TRUE(applier_->apply(Policy{}).ok());
  auto c = applier_->readCounters();
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->logSuppressedPackets, 0u);
  EXPECT_EQ(c->wouldBlockPackets, 0u);
  // A link with no peer: the packet passes the output hook, then waits for ARP in vain.
  ASSERT_EQ(runShell("ip link add zt0 type veth peer name zt1 && ip link set zt0 up && "
                     "ip link set zt1 up && ip addr add 192.0.2.10/24 dev zt0"),
            0);
  runShell("ping -c1 -W1 192.0.2.99 >/dev/null 2>&1");
  auto audited = applier_->readCounters();
  ASSERT_TRUE(audited.ok());
  EXPECT_GE(audited->wouldBlockPackets, 1u);
  ASSERT_TRUE(applier_->apply(Policy{}).ok());
  EXPECT_EQ(applier_->readCounters()->wouldBlockPackets, audited->wouldBlockPackets);
  runShell("ip link del zt0");
}

}  // namespace
}  // namespace ztdns::enforce
