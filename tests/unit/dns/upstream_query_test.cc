#include "dns/upstream_query.h"

#include <gtest/gtest.h>

#include <string>

#include "dns_packet_builder.h"
#include "knot_view.h"

namespace ztdns::dns {
namespace {

using testing::KnotView;
using testing::PacketBuilder;

std::vector<uint8_t> upstreamFor(const std::vector<uint8_t>& clientWire) {
  QueryParse p = parseClientQuery(clientWire);
  EXPECT_EQ(p.verdict, QueryVerdict::kOk);
  std::array<uint8_t, kMaxUpstreamQuerySize> buf;
  size_t n = buildUpstreamQuery(p.query, buf);
  return {buf.begin(), buf.begin() + static_cast<long>(n)};
}

TEST(UpstreamQuery, LowercasedPaddedWithClientBits) {
  auto wire = upstreamFor(PacketBuilder::query("WWW.Example.COM", KNOT_RRTYPE_AAAA, 0x4242)
                              .setFlags2(0x10)
                              .edns(4096, true)
                              .build());
  EXPECT_EQ(wire.size() % kQueryPaddingBlock, 0u);
  KnotView v(wire);
  ASSERT_EQ(v.rc(), KNOT_EOK);
  EXPECT_EQ(v.id(), 0);
  EXPECT_EQ(v.qname(), "www.example.com.");
  EXPECT_EQ(knot_pkt_qtype(v.pkt()), KNOT_RRTYPE_AAAA);
  EXPECT_TRUE(knot_wire_get_rd(wire.data()));
  EXPECT_TRUE(knot_wire_get_cd(wire.data()));
  EXPECT_FALSE(knot_wire_get_qr(wire.data()));
  ASSERT_TRUE(v.hasOpt());
  EXPECT_TRUE(knot_edns_do(v.pkt()->opt_rr));
  EXPECT_EQ(knot_edns_get_payload(v.pkt()->opt_rr), kMaxUdpPayload);
  EXPECT_NE(knot_pkt_edns_option(v.pkt(), KNOT_EDNS_OPTION_PADDING), nullptr);
  EXPECT_EQ(knot_pkt_edns_option(v.pkt(), KNOT_EDNS_OPTION_COOKIE), nullptr);
}

TEST(UpstreamQuery, EveryNameLengthPadsToTheBlock) {
  std::string name;
  for (int labels = 1; labels <= 4; ++labels) {
    for (int len = 1; len <= 63; ++len) {
      name = std::string(static_cast<size_t>(len), 'a');
      for (int l = 1; l < labels; ++l) name += "." + std::string(static_cast<size_t>(len), 'b');
      if (name.size() > 253) continue;
      auto wire = upstreamFor(PacketBuilder::query(name, KNOT_RRTYPE_A).build());
      ASSERT_EQ(wire.size() % kQueryPaddingBlock, 0u) << name;
      KnotView v(wire);
      ASSERT_EQ(v.rc(), KNOT_EOK) << name;
      EXPECT_FALSE(knot_edns_do(v.pkt()->opt_rr));
    }
  }
}

TEST(UpstreamQuery, LongestNameFits) {
  std::string name;
  while (name.size() + 64 < 254) name += std::string(63, 'x') + ".";
  name += std::string(253 - name.size(), 'y');
  auto wire = upstreamFor(PacketBuilder::query(name, KNOT_RRTYPE_A).build());
  EXPECT_EQ(wire.size(), kMaxUpstreamQuerySize);
  EXPECT_EQ(KnotView(wire).rc(), KNOT_EOK);
}

}  // namespace
}  // namespace ztdns::dns
