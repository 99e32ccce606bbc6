#include "dns/response_writer.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "dns/upstream_query.h"
#include "dns_packet_builder.h"
#include "knot_view.h"

namespace ztdns::dns {
namespace {

using testing::KnotView;
using testing::PacketBuilder;

ClientQuery clientQuery(const std::vector<uint8_t>& wire) {
  QueryParse p = parseClientQuery(wire);
  EXPECT_EQ(p.verdict, QueryVerdict::kOk) << p.reason;
  return p.query;
}

StoredAnswer stored(const std::vector<uint8_t>& wire, const ClientQuery& q) {
  AnswerAnalysis a;
  EXPECT_EQ(analyzeAnswer(wire, q.qnameLower, q.qtype, q.qclass, a), AnswerProblem::kNone);
  return storeAnswer(wire, std::move(a));
}

struct Served {
  std::vector<uint8_t> wire;
  bool truncated;
};

Served serve(const StoredAnswer& s, const ClientQuery& q, uint32_t age, size_t limit) {
  std::vector<uint8_t> out(kMaxMessageSize);
  Written w = writeAnswer(s, q, age, limit, out);
  out.resize(w.size);
  return {out, w.truncated};
}

TEST(ResponseWriter, RestoresIdCaseAndStripsUpstreamOpt) {
  auto cq = clientQuery(PacketBuilder::query("WwW.ExAmPlE.CoM", KNOT_RRTYPE_A, 0x7777).build());
  auto up = PacketBuilder::response("www.example.com", KNOT_RRTYPE_A, 0)
                .setFlags2(0xA0)  // RA + AD
                .a("www.example.com", 300, "192.0.2.1")
                .edns(1232, false, 100)
                .build();
  StoredAnswer s = stored(up, cq);
  EXPECT_LT(s.wire.size(), up.size());
  Served out = serve(s, cq, 0, cq.udpLimit());
  EXPECT_FALSE(out.truncated);
  KnotView v(out.wire);
  ASSERT_EQ(v.rc(), KNOT_EOK);
  EXPECT_EQ(v.id(), 0x7777);
  EXPECT_EQ(v.qname(), "WwW.ExAmPlE.CoM.");
  // The answer's owner is a pointer to the question, so it reads as the client's spelling
  // too (libknot's parser lowercases names that point at the question, so check the bytes).
  size_t owner = 12 + cq.qname.size() + 4;
  EXPECT_EQ(out.wire[owner], 0xC0);
  EXPECT_EQ(out.wire[owner + 1], 0x0C);
  EXPECT_FALSE(v.hasOpt());  // the client sent no EDNS
  EXPECT_EQ(knot_wire_get_arcount(out.wire.data()), 0);
  EXPECT_TRUE(knot_wire_get_qr(out.wire.data()));
  EXPECT_TRUE(knot_wire_get_rd(out.wire.data()));
  EXPECT_TRUE(knot_wire_get_ra(out.wire.data()));
  EXPECT_FALSE(knot_wire_get_ad(out.wire.data()));  // neither DO nor AD in the query
}

TEST(ResponseWriter, EdnsClientGetsOurOptWithEdeAndDoButNoPadding) {
  auto cq = clientQuery(PacketBuilder::query("b.test", KNOT_RRTYPE_A).edns(4096, true).build());
  auto up = PacketBuilder::response("b.test", KNOT_RRTYPE_A)
                .setFlags2(0xA0)
                .rcode(KNOT_RCODE_NXDOMAIN)
                .authority()
                .soa("test", 60, 60)
                .edns(1232, true, 200, 15)
                .build();
  Served out = serve(stored(up, cq), cq, 0, cq.udpLimit());
  KnotView v(out.wire);
  ASSERT_EQ(v.rc(), KNOT_EOK);
  ASSERT_TRUE(v.hasOpt());
  EXPECT_EQ(knot_edns_get_payload(v.pkt()->opt_rr), kMaxUdpPayload);
  EXPECT_TRUE(knot_edns_do(v.pkt()->opt_rr));
  EXPECT_EQ(knot_pkt_edns_option(v.pkt(), KNOT_EDNS_OPTION_PADDING), nullptr);
  EXPECT_NE(knot_pkt_edns_option(v.pkt(), KNOT_EDNS_OPTION_EDE), nullptr);
  EXPECT_EQ(knot_wire_get_rcode(out.wire.data()), KNOT_RCODE_NXDOMAIN);
  EXPECT_TRUE(knot_wire_get_ad(out.wire.data()));  // DO set: AD passes
  EXPECT_EQ(v.count(KNOT_AUTHORITY), 1u);
}

TEST(ResponseWriter, TtlsDecreaseWithAgeAndStopAtZero) {
  auto cq = clientQuery(PacketBuilder::query("c.test", KNOT_RRTYPE_A).edns().build());
  auto up = PacketBuilder::response("c.test", KNOT_RRTYPE_A)
                .cname("c.test", 500, "d.test")
                .a("d.test", 100, "192.0.2.1")
                .additional()
                .a("x.test", 40, "192.0.2.2")
                .edns()
                .build();
  StoredAnswer s = stored(up, cq);
  Served out = serve(s, cq, 60, kMaxMessageSize);
  KnotView v(out.wire);
  ASSERT_EQ(v.rc(), KNOT_EOK);
  EXPECT_EQ(v.rr(KNOT_ANSWER, 0)->ttl, 440u);
  EXPECT_EQ(v.rr(KNOT_ANSWER, 1)->ttl, 40u);
  EXPECT_EQ(v.rr(KNOT_ADDITIONAL, 0)->ttl, 0u);
  // The stored copy is untouched: serving is a copy.
  Served again = serve(s, cq, 1, kMaxMessageSize);
  EXPECT_EQ(KnotView(again.wire).rr(KNOT_ANSWER, 0)->ttl, 499u);
}

std::vector<uint8_t> fortyA() {
  auto b = PacketBuilder::response("many.test", KNOT_RRTYPE_A);
  for (int i = 0; i < 40; ++i) {
    std::string ip = "198.51.100." + std::to_string(i + 1);
    b.a("many.test", 300, ip.c_str());
  }
  return b.edns().build();
}

TEST(ResponseWriter, FortyARecordsTruncateFor512ButNotFor1232OrTcp) {
  auto plain = clientQuery(PacketBuilder::query("many.test", KNOT_RRTYPE_A).build());
  StoredAnswer s = stored(fortyA(), plain);
  ASSERT_GT(s.wire.size(), 512u);

  Served udp = serve(s, plain, 0, plain.udpLimit());
  EXPECT_TRUE(udp.truncated);
  EXPECT_LE(udp.wire.size(), 512u);
  KnotView v(udp.wire);
  ASSERT_EQ(v.rc(), KNOT_EOK);
  EXPECT_TRUE(knot_wire_get_tc(udp.wire.data()));
  EXPECT_EQ(v.count(KNOT_ANSWER), 0u);
  EXPECT_EQ(v.count(KNOT_AUTHORITY), 0u);
  EXPECT_EQ(v.count(KNOT_ADDITIONAL), 0u);
  EXPECT_EQ(v.qname(), "many.test.");

  auto edns = clientQuery(PacketBuilder::query("many.test", KNOT_RRTYPE_A).edns(1232).build());
  Served big = serve(s, edns, 0, edns.udpLimit());
  EXPECT_FALSE(big.truncated);
  EXPECT_EQ(KnotView(big.wire).count(KNOT_ANSWER), 40u);

  Served tcp = serve(s, plain, 0, kMaxMessageSize);
  EXPECT_FALSE(tcp.truncated);
  KnotView vt(tcp.wire);
  ASSERT_EQ(vt.rc(), KNOT_EOK);
  EXPECT_EQ(vt.count(KNOT_ANSWER), 40u);
  EXPECT_FALSE(knot_wire_get_tc(tcp.wire.data()));
}

TEST(ResponseWriter, LargeEdnsBufferIsCappedAndTruncatedAnswerKeepsOpt) {
  auto b = PacketBuilder::response("v6.test", KNOT_RRTYPE_AAAA);
  for (int i = 0; i < 100; ++i) {
    std::string ip = "2001:db8::" + std::to_string(i + 1);
    b.aaaa("v6.test", 300, ip.c_str());
  }
  auto cq = clientQuery(PacketBuilder::query("v6.test", KNOT_RRTYPE_AAAA).edns(65000).build());
  StoredAnswer s = stored(b.edns(1232, false, {}, 15).build(), cq);
  Served out = serve(s, cq, 0, cq.udpLimit());
  EXPECT_TRUE(out.truncated);
  EXPECT_LE(out.wire.size(), kMaxUdpPayload);
  KnotView v(out.wire);
  ASSERT_EQ(v.rc(), KNOT_EOK);
  EXPECT_TRUE(v.hasOpt());
  EXPECT_EQ(v.count(KNOT_ANSWER), 0u);
}

TEST(ResponseWriter, ExtendedRcodeWithoutEdnsBecomesServfail) {
  auto cq = clientQuery(PacketBuilder::query("e.test", KNOT_RRTYPE_A).build());
  auto up =
      PacketBuilder::response("e.test", KNOT_RRTYPE_A).rcode(KNOT_RCODE_BADCOOKIE).edns().build();
  Served out = serve(stored(up, cq), cq, 0, 512);
  EXPECT_EQ(knot_wire_get_rcode(out.wire.data()), KNOT_RCODE_SERVFAIL);
}

TEST(ResponseWriter, AnswerForAnotherQuestionIsServfailNotGarbage) {
  auto cqA = clientQuery(PacketBuilder::query("short.test", KNOT_RRTYPE_A).build());
  auto cqB = clientQuery(PacketBuilder::query("a-longer-name.test", KNOT_RRTYPE_A, 9).build());
  StoredAnswer s =
      stored(PacketBuilder::response("short.test", 1).a("short.test", 5, "192.0.2.1").build(), cqA);
  Served out = serve(s, cqB, 0, 512);
  KnotView v(out.wire);
  ASSERT_EQ(v.rc(), KNOT_EOK);
  EXPECT_EQ(knot_wire_get_rcode(out.wire.data()), KNOT_RCODE_SERVFAIL);
  EXPECT_EQ(v.id(), 9);
}

TEST(ResponseWriter, ErrorAnswers) {
  std::array<uint8_t, kMaxErrorSize> buf;
  auto edns = clientQuery(
      PacketBuilder::query("X.test", KNOT_RRTYPE_A, 3).setFlags2(0x10).edns(1232, true).build());
  size_t n = writeError(edns, true, KNOT_RCODE_SERVFAIL, buf);
  std::vector<uint8_t> sf(buf.begin(), buf.begin() + static_cast<long>(n));
  KnotView v(sf);
  ASSERT_EQ(v.rc(), KNOT_EOK);
  EXPECT_EQ(v.id(), 3);
  EXPECT_EQ(v.qname(), "X.test.");
  EXPECT_EQ(knot_wire_get_rcode(sf.data()), KNOT_RCODE_SERVFAIL);
  EXPECT_TRUE(knot_wire_get_cd(sf.data()));
  EXPECT_TRUE(v.hasOpt());

  // BADVERS: 16 = extended bits 1, header 0.
  QueryParse bad =
      parseClientQuery(PacketBuilder::query("v.test", 1).edns(1232, false, {}, {}, 1).build());
  ASSERT_EQ(bad.verdict, QueryVerdict::kBadVers);
  n = writeError(bad.query, bad.hasQuestion, KNOT_RCODE_BADVERS, buf);
  std::vector<uint8_t> bv(buf.begin(), buf.begin() + static_cast<long>(n));
  KnotView vb(bv);
  ASSERT_EQ(vb.rc(), KNOT_EOK);
  EXPECT_EQ(knot_pkt_ext_rcode(vb.pkt()), KNOT_RCODE_BADVERS);

  // NOTIFY: NOTIMP echoes the opcode; no question parsed.
  auto notify = PacketBuilder::query("z.test", KNOT_RRTYPE_SOA).build();
  notify[2] = 0x20;
  QueryParse np = parseClientQuery(notify);
  ASSERT_EQ(np.verdict, QueryVerdict::kNotImp);
  n = writeError(np.query, np.hasQuestion, KNOT_RCODE_NOTIMPL, buf);
  EXPECT_EQ(n, 12u);
  EXPECT_EQ(knot_wire_get_opcode(buf.data()), KNOT_OPCODE_NOTIFY);
  EXPECT_EQ(knot_wire_get_rcode(buf.data()), KNOT_RCODE_NOTIMPL);
  EXPECT_TRUE(knot_wire_get_qr(buf.data()));
}

TEST(ResponseWriter, LocalAnswers) {
  auto cq = clientQuery(PacketBuilder::query("Printer.LAN", KNOT_RRTYPE_A, 5).edns().build());
  std::vector<IpAddress> addrs = {IpAddress::parse("192.0.2.10").value(),
                                  IpAddress::parse("2001:db8::10").value(),
                                  IpAddress::parse("192.0.2.11").value()};
  StoredAnswer s = makeLocalAnswer(cq, addrs, 0);
  EXPECT_EQ(s.addresses.size(), 2u);
  EXPECT_FALSE(s.negative);
  Served out = serve(s, cq, 0, cq.udpLimit());
  KnotView v(out.wire);
  ASSERT_EQ(v.rc(), KNOT_EOK);
  EXPECT_EQ(v.count(KNOT_ANSWER), 2u);
  EXPECT_EQ(v.qname(), "Printer.LAN.");
  EXPECT_TRUE(knot_wire_get_aa(out.wire.data()));

  auto mx = clientQuery(PacketBuilder::query("printer.lan", KNOT_RRTYPE_AAAA).build());
  std::vector<IpAddress> v4only = {addrs[0]};
  StoredAnswer none = makeLocalAnswer(mx, v4only, 0);
  EXPECT_TRUE(none.negative);
  Served nd = serve(none, mx, 0, 512);
  KnotView vn(nd.wire);
  ASSERT_EQ(vn.rc(), KNOT_EOK);
  EXPECT_EQ(vn.count(KNOT_ANSWER), 0u);
  EXPECT_EQ(knot_wire_get_rcode(nd.wire.data()), KNOT_RCODE_NOERROR);
}

}  // namespace
}  // namespace ztdns::dns
