// record_text: the presentation form `ztdns resolve` prints, and the SVCB/HTTPS address
// hints read from the wire so that resolve can say whether each hint is allowed.
#include "dns/record_text.h"

#include <gtest/gtest.h>

#include "dns_packet_builder.h"

namespace ztdns::dns {
namespace {

using testing::PacketBuilder;

std::vector<std::string> texts(const std::vector<IpAddress>& addrs) {
  std::vector<std::string> out;
  for (const auto& a : addrs) out.push_back(a.toString());
  return out;
}

TEST(RecordText, RecordsAndRcode) {
  auto wire = PacketBuilder::response("www.chain.test", KNOT_RRTYPE_A)
                  .cname("www.chain.test", 300, "host.cdn-b.test")
                  .a("host.cdn-b.test", 30, "203.0.113.82")
                  .build();
  auto text = answerText(wire);
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(text->rcode, "NOERROR");
  ASSERT_EQ(text->answers.size(), 2u);
  EXPECT_EQ(text->answers[0].type, "CNAME");
  EXPECT_EQ(text->answers[0].data, "host.cdn-b.test.");
  EXPECT_EQ(text->answers[1].owner, "host.cdn-b.test.");
  EXPECT_EQ(text->answers[1].ttl, 30u);
  EXPECT_TRUE(text->answers[1].ipv4Hints.empty());
  EXPECT_EQ(rcodeName(3), "NXDOMAIN");
  EXPECT_EQ(rcodeName(23), "BADCOOKIE");
  EXPECT_EQ(rcodeName(4000), "RCODE4000");
  EXPECT_FALSE(answerText(std::vector<uint8_t>{1, 2, 3}).ok());
}

TEST(RecordText, HttpsAndSvcbHintsComeFromTheWire) {
  auto wire = PacketBuilder::response("svc.allowed.test", KNOT_RRTYPE_HTTPS)
                  .svcb(KNOT_RRTYPE_HTTPS, "svc.allowed.test", 300, 1, ".",
                        {"203.0.113.87", "203.0.113.88"}, {"2001:db8:80::87"})
                  .svcb(KNOT_RRTYPE_SVCB, "svc.allowed.test", 300, 2, "alt.allowed.test", {},
                        {"2001:db8:80::89"})
                  .svcb(KNOT_RRTYPE_HTTPS, "svc.allowed.test", 300, 0, "alias.allowed.test")
                  .build();
  auto text = answerText(wire);
  ASSERT_TRUE(text.ok()) << text.error().message;
  ASSERT_EQ(text->answers.size(), 3u);
  EXPECT_EQ(text->answers[0].type, "HTTPS");
  EXPECT_NE(text->answers[0].data.find("ipv4hint=203.0.113.87,203.0.113.88"), std::string::npos)
      << text->answers[0].data;
  EXPECT_EQ(texts(text->answers[0].ipv4Hints),
            (std::vector<std::string>{"203.0.113.87", "203.0.113.88"}));
  EXPECT_EQ(texts(text->answers[0].ipv6Hints), std::vector<std::string>{"2001:db8:80::87"});
  EXPECT_EQ(text->answers[1].type, "SVCB");
  EXPECT_TRUE(text->answers[1].ipv4Hints.empty());
  EXPECT_EQ(texts(text->answers[1].ipv6Hints), std::vector<std::string>{"2001:db8:80::89"});
  EXPECT_TRUE(text->answers[2].ipv4Hints.empty()) << "AliasMode carries no hints";
  EXPECT_TRUE(text->answers[2].ipv6Hints.empty());
}

}  // namespace
}  // namespace ztdns::dns
