// The stub on the real port 53 of 127.0.0.1 and ::1 (the default listenAddresses), in a
// private network namespace, asked by dig without a port.
#include <gtest/gtest.h>

#include "stub_harness.h"

namespace ztdns::resolver::test {
namespace {

class StubPort53Test : public StubHarness {};

TEST_F(StubPort53Test, DefaultListenAddressesAnswerDig) {
  ZTDNS_ENTER_PRIVATE_NETNS_OR_SKIP();
  config_.listenAddresses = config::Config().listenAddresses;
  pool_.setResponder(zoneAnswer);
  allow_.setAutoAck(true);
  Status s = startStub();
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(run("dig @127.0.0.1 +tries=1 +timeout=3 +short www.allowed.test A"), "203.0.113.80\n");
  EXPECT_EQ(run("dig @::1 +tries=1 +timeout=3 +short +tcp www.allowed.test AAAA"),
            "2001:db8:80::80\n");
  EXPECT_EQ(allow_.insertCount(), 2u);
}

}  // namespace
}  // namespace ztdns::resolver::test
