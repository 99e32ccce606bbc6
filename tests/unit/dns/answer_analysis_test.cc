#include "dns/answer_analysis.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "dns_packet_builder.h"
#include "knot_view.h"

namespace ztdns::dns {
namespace {

using testing::KnotView;
using testing::PacketBuilder;

Name lower(const char* text) {
  return Name::fromText(text).value().lowered();
}

struct Analyzed {
  AnswerProblem problem;
  AnswerAnalysis a;
};

Analyzed analyze(const std::vector<uint8_t>& wire, const char* qname, uint16_t qtype) {
  Analyzed r;
  r.problem = analyzeAnswer(wire, lower(qname), qtype, KNOT_CLASS_IN, r.a);
  return r;
}

std::vector<std::string> texts(const std::vector<IpAddress>& addrs) {
  std::vector<std::string> out;
  for (const auto& a : addrs) out.push_back(a.toString());
  std::sort(out.begin(), out.end());
  return out;
}

using Strings = std::vector<std::string>;

TEST(AnswerAnalysis, PlainAAnswer) {
  auto wire = PacketBuilder::response("www.example.com", KNOT_RRTYPE_A)
                  .a("www.example.com", 300, "192.0.2.1")
                  .a("www.example.com", 200, "192.0.2.2")
                  .edns()
                  .build();
  ASSERT_EQ(KnotView(wire).rc(), KNOT_EOK);
  auto r = analyze(wire, "www.example.com", KNOT_RRTYPE_A);
  ASSERT_EQ(r.problem, AnswerProblem::kNone);
  EXPECT_EQ(r.a.rcode, KNOT_RCODE_NOERROR);
  EXPECT_FALSE(r.a.negative);
  EXPECT_EQ(texts(r.a.addresses), (Strings{"192.0.2.1", "192.0.2.2"}));
  EXPECT_EQ(r.a.chainTtl, 200u);
  EXPECT_EQ(r.a.cacheTtl, 200u);
  EXPECT_EQ(r.a.ttlOffsets.size(), 2u);
  EXPECT_NE(r.a.optOffset, 0u);
  for (uint16_t off : r.a.ttlOffsets) {
    uint32_t ttl = knot_wire_read_u32(wire.data() + off);
    EXPECT_TRUE(ttl == 300 || ttl == 200);
  }
}

TEST(AnswerAnalysis, CnameChainAcrossZonesInOddOrderWithMixedCase) {
  // www.shop.test -> cdn.provider.test -> edge.CDN-net.test, records in reverse order and
  // owner names in other cases than the question or the targets.
  auto wire = PacketBuilder::response("WWW.Shop.Test", KNOT_RRTYPE_A)
                  .a("EDGE.cdn-net.test", 600, "203.0.113.80")
                  .a("edge.cdn-NET.test", 600, "203.0.113.81")
                  .cname("CDN.Provider.TEST", 120, "edge.CDN-net.test")
                  .a("unrelated.test", 600, "198.51.100.99")
                  .cname("www.shop.test", 3600, "cdn.provider.test")
                  .authority()
                  .a("edge.cdn-net.test", 600, "198.51.100.7")
                  .additional()
                  .a("edge.cdn-net.test", 600, "198.51.100.8")
                  .build();
  ASSERT_EQ(KnotView(wire).rc(), KNOT_EOK);
  auto r = analyze(wire, "wWw.sHoP.tEsT", KNOT_RRTYPE_A);
  ASSERT_EQ(r.problem, AnswerProblem::kNone);
  EXPECT_EQ(r.a.cnamesFollowed, 2);
  EXPECT_EQ(texts(r.a.addresses), (Strings{"203.0.113.80", "203.0.113.81"}));
  EXPECT_EQ(r.a.chainTtl, 120u);  // the lowest TTL on the chain
  EXPECT_EQ(r.a.cacheTtl, 120u);
  EXPECT_FALSE(r.a.negative);
}

TEST(AnswerAnalysis, IntermediateAddressesAreNotUsed) {
  // A broken server puts an A next to a CNAME: only the chain's final name counts.
  auto wire = PacketBuilder::response("a.test", KNOT_RRTYPE_A)
                  .cname("a.test", 300, "b.test")
                  .a("a.test", 300, "192.0.2.66")
                  .a("b.test", 300, "192.0.2.77")
                  .build();
  auto r = analyze(wire, "a.test", KNOT_RRTYPE_A);
  ASSERT_EQ(r.problem, AnswerProblem::kNone);
  EXPECT_EQ(texts(r.a.addresses), (Strings{"192.0.2.77"}));
}

TEST(AnswerAnalysis, CnameLoopYieldsNoAddresses) {
  auto wire = PacketBuilder::response("a.test", KNOT_RRTYPE_A)
                  .cname("b.test", 300, "A.test")
                  .cname("a.test", 300, "b.test")
                  .a("a.test", 300, "192.0.2.1")
                  .a("b.test", 300, "192.0.2.2")
                  .build();
  auto r = analyze(wire, "a.test", KNOT_RRTYPE_A);
  ASSERT_EQ(r.problem, AnswerProblem::kNone);
  EXPECT_TRUE(r.a.chainLoop);
  EXPECT_TRUE(r.a.addresses.empty());
  EXPECT_EQ(r.a.cacheTtl, 0u);
  EXPECT_FALSE(r.a.negative);
}

TEST(AnswerAnalysis, SelfLoop) {
  auto wire =
      PacketBuilder::response("a.test", KNOT_RRTYPE_A).cname("a.test", 300, "a.test").build();
  auto r = analyze(wire, "a.test", KNOT_RRTYPE_A);
  ASSERT_EQ(r.problem, AnswerProblem::kNone);
  EXPECT_TRUE(r.a.chainLoop);
}

std::vector<uint8_t> chainOf(int cnames) {
  auto b = PacketBuilder::response("n0.test", KNOT_RRTYPE_AAAA);
  for (int i = cnames - 1; i >= 0; --i) {
    b.cname("n" + std::to_string(i) + ".test", 100u + static_cast<uint32_t>(i),
            "n" + std::to_string(i + 1) + ".test");
  }
  b.aaaa("n" + std::to_string(cnames) + ".test", 50, "2001:db8::1");
  return b.build();
}

TEST(AnswerAnalysis, ChainLimit) {
  auto ok = analyze(chainOf(kMaxCnameChain), "n0.test", KNOT_RRTYPE_AAAA);
  ASSERT_EQ(ok.problem, AnswerProblem::kNone);
  EXPECT_EQ(ok.a.cnamesFollowed, kMaxCnameChain);
  EXPECT_EQ(texts(ok.a.addresses), (Strings{"2001:db8::1"}));
  EXPECT_EQ(ok.a.chainTtl, 50u);

  auto tooLong = analyze(chainOf(kMaxCnameChain + 1), "n0.test", KNOT_RRTYPE_AAAA);
  ASSERT_EQ(tooLong.problem, AnswerProblem::kNone);
  EXPECT_TRUE(tooLong.a.chainTooLong);
  EXPECT_TRUE(tooLong.a.addresses.empty());
  EXPECT_EQ(tooLong.a.cacheTtl, 0u);
}

TEST(AnswerAnalysis, MinimumTtlAndTopBitTtls) {
  auto wire = PacketBuilder::response("a.test", KNOT_RRTYPE_A)
                  .cname("a.test", 30, "b.test")
                  .a("b.test", 300, "192.0.2.1")
                  .authority()
                  .raw("test", KNOT_RRTYPE_NS, 20, PacketBuilder::wireName("ns.test"))
                  .build();
  auto r = analyze(wire, "a.test", KNOT_RRTYPE_A);
  ASSERT_EQ(r.problem, AnswerProblem::kNone);
  EXPECT_EQ(r.a.chainTtl, 30u);
  EXPECT_EQ(r.a.cacheTtl, 20u);  // the whole message is cached, so its lowest TTL rules

  auto big = PacketBuilder::response("a.test", KNOT_RRTYPE_A)
                 .a("a.test", 0x80000001u, "192.0.2.1")
                 .build();
  auto rb = analyze(big, "a.test", KNOT_RRTYPE_A);
  ASSERT_EQ(rb.problem, AnswerProblem::kNone);
  EXPECT_EQ(rb.a.chainTtl, 0u);  // RFC 2181 8
  EXPECT_EQ(rb.a.cacheTtl, 0u);
}

TEST(AnswerAnalysis, HttpsHintsAreAddresses) {
  auto wire = PacketBuilder::response("svc.test", KNOT_RRTYPE_HTTPS)
                  .cname("svc.test", 500, "pool.svc.test")
                  .svcb(KNOT_RRTYPE_HTTPS, "pool.svc.test", 60, 1, ".",
                        {"203.0.113.1", "203.0.113.2"}, {"2001:db8::53"})
                  .svcb(KNOT_RRTYPE_HTTPS, "pool.svc.test", 90, 0, "alias.test")  // AliasMode
                  .build();
  ASSERT_EQ(KnotView(wire).rc(), KNOT_EOK);
  auto r = analyze(wire, "svc.test", KNOT_RRTYPE_HTTPS);
  ASSERT_EQ(r.problem, AnswerProblem::kNone);
  EXPECT_EQ(texts(r.a.addresses), (Strings{"2001:db8::53", "203.0.113.1", "203.0.113.2"}));
  EXPECT_EQ(r.a.chainTtl, 60u);
  EXPECT_FALSE(r.a.negative);

  auto svcb =
      PacketBuilder::response("_dns.resolver.test", KNOT_RRTYPE_SVCB)
          .svcb(KNOT_RRTYPE_SVCB, "_dns.resolver.test", 60, 1, "dot.test", {"198.51.100.53"})
          .build();
  auto rs = analyze(svcb, "_dns.resolver.test", KNOT_RRTYPE_SVCB);
  ASSERT_EQ(rs.problem, AnswerProblem::kNone);
  EXPECT_EQ(texts(rs.a.addresses), (Strings{"198.51.100.53"}));
}

TEST(AnswerAnalysis, HintsOnlyForTheAskedType) {
  // An HTTPS record in the answer to an A query is not an address source.
  auto wire = PacketBuilder::response("svc.test", KNOT_RRTYPE_A)
                  .svcb(KNOT_RRTYPE_HTTPS, "svc.test", 60, 1, ".", {"203.0.113.1"})
                  .build();
  auto r = analyze(wire, "svc.test", KNOT_RRTYPE_A);
  ASSERT_EQ(r.problem, AnswerProblem::kNone);
  EXPECT_TRUE(r.a.addresses.empty());
  EXPECT_TRUE(r.a.negative);  // no A data
}

TEST(AnswerAnalysis, MalformedHintIsMalformedAnswer) {
  auto wire = PacketBuilder::response("svc.test", KNOT_RRTYPE_HTTPS)
                  .svcb(KNOT_RRTYPE_HTTPS, "svc.test", 60, 1, ".", {"203.0.113.1"})
                  .build();
  // ipv4hint length 4 -> 3: the rdata no longer adds up.
  std::vector<uint8_t> pattern = {0, 4, 0, 4, 203, 0, 113, 1};
  auto at = std::search(wire.begin(), wire.end(), pattern.begin(), pattern.end());
  ASSERT_NE(at, wire.end());
  at[3] = 3;
  auto r = analyze(wire, "svc.test", KNOT_RRTYPE_HTTPS);
  EXPECT_EQ(r.problem, AnswerProblem::kMalformed);
}

TEST(AnswerAnalysis, MappedAndUnspecifiedAddressesAreReportedAsFound) {
  // Classification (unmapping, skipping 0.0.0.0) is the allow set's rule, not the parser's.
  auto wire = PacketBuilder::response("m.test", KNOT_RRTYPE_AAAA)
                  .aaaa("m.test", 60, "::ffff:192.0.2.9")
                  .aaaa("m.test", 60, "::")
                  .build();
  auto r = analyze(wire, "m.test", KNOT_RRTYPE_AAAA);
  ASSERT_EQ(r.problem, AnswerProblem::kNone);
  ASSERT_EQ(r.a.addresses.size(), 2u);
  EXPECT_TRUE(r.a.addresses[0].isV4Mapped());
  EXPECT_TRUE(r.a.addresses[1].isUnspecified());

  auto zero = PacketBuilder::response("blocked.test", KNOT_RRTYPE_A)
                  .a("blocked.test", 60, "0.0.0.0")
                  .build();
  auto rz = analyze(zero, "blocked.test", KNOT_RRTYPE_A);
  ASSERT_EQ(rz.problem, AnswerProblem::kNone);
  EXPECT_EQ(texts(rz.a.addresses), (Strings{"0.0.0.0"}));
}

TEST(AnswerAnalysis, NegativeAnswersUseTheSoa) {
  auto nx = PacketBuilder::response("gone.test", KNOT_RRTYPE_A)
                .rcode(KNOT_RCODE_NXDOMAIN)
                .authority()
                .soa("test", 3600, 300)
                .build();
  auto r = analyze(nx, "gone.test", KNOT_RRTYPE_A);
  ASSERT_EQ(r.problem, AnswerProblem::kNone);
  EXPECT_EQ(r.a.rcode, KNOT_RCODE_NXDOMAIN);
  EXPECT_TRUE(r.a.negative);
  EXPECT_EQ(r.a.cacheTtl, 300u);  // min(SOA TTL, SOA MINIMUM)

  auto nodata = PacketBuilder::response("v4only.test", KNOT_RRTYPE_AAAA)
                    .cname("v4only.test", 900, "host.test")
                    .authority()
                    .soa("test", 60, 600)
                    .build();
  auto rn = analyze(nodata, "v4only.test", KNOT_RRTYPE_AAAA);
  ASSERT_EQ(rn.problem, AnswerProblem::kNone);
  EXPECT_TRUE(rn.a.negative);
  EXPECT_EQ(rn.a.cacheTtl, 60u);
  EXPECT_TRUE(rn.a.addresses.empty());

  auto noSoa =
      PacketBuilder::response("gone.test", KNOT_RRTYPE_A).rcode(KNOT_RCODE_NXDOMAIN).build();
  auto r0 = analyze(noSoa, "gone.test", KNOT_RRTYPE_A);
  ASSERT_EQ(r0.problem, AnswerProblem::kNone);
  EXPECT_TRUE(r0.a.negative);
  EXPECT_EQ(r0.a.cacheTtl, 0u);  // RFC 2308 5: no SOA, no negative caching
}

TEST(AnswerAnalysis, ServfailAndExtendedRcodes) {
  auto sf = PacketBuilder::response("a.test", KNOT_RRTYPE_A)
                .rcode(KNOT_RCODE_SERVFAIL)
                .a("a.test", 60, "192.0.2.1")
                .build();
  auto r = analyze(sf, "a.test", KNOT_RRTYPE_A);
  ASSERT_EQ(r.problem, AnswerProblem::kNone);
  EXPECT_EQ(r.a.rcode, KNOT_RCODE_SERVFAIL);
  EXPECT_TRUE(r.a.addresses.empty());
  EXPECT_EQ(r.a.cacheTtl, 0u);

  auto ext =
      PacketBuilder::response("a.test", KNOT_RRTYPE_A).rcode(KNOT_RCODE_BADCOOKIE).edns().build();
  auto re = analyze(ext, "a.test", KNOT_RRTYPE_A);
  ASSERT_EQ(re.problem, AnswerProblem::kNone);
  EXPECT_EQ(re.a.rcode, KNOT_RCODE_BADCOOKIE);
}

TEST(AnswerAnalysis, KeepsEdeDropsPadding) {
  auto wire = PacketBuilder::response("blocked.test", KNOT_RRTYPE_A)
                  .rcode(KNOT_RCODE_NXDOMAIN)
                  .edns(1232, false, 64, 15)
                  .build();
  auto r = analyze(wire, "blocked.test", KNOT_RRTYPE_A);
  ASSERT_EQ(r.problem, AnswerProblem::kNone);
  ASSERT_GE(r.a.ednsOptions.size(), 6u);
  EXPECT_EQ(knot_wire_read_u16(r.a.ednsOptions.data()), KNOT_EDNS_OPTION_EDE);
  EXPECT_EQ(knot_wire_read_u16(r.a.ednsOptions.data() + 4), 15);
  EXPECT_EQ(r.a.ednsOptions.size(), 4u + 2u + 7u);  // no padding option
}

TEST(AnswerAnalysis, RejectsOtherQuestionsAndNonAnswers) {
  auto base = PacketBuilder::response("a.test", KNOT_RRTYPE_A).a("a.test", 60, "192.0.2.1");
  auto wire = base.build();
  EXPECT_EQ(analyze(wire, "b.test", KNOT_RRTYPE_A).problem, AnswerProblem::kQuestionMismatch);
  EXPECT_EQ(analyze(wire, "a.test", KNOT_RRTYPE_AAAA).problem, AnswerProblem::kQuestionMismatch);
  EXPECT_EQ(analyze(wire, "A.TEST", KNOT_RRTYPE_A).problem, AnswerProblem::kNone);
  auto q = wire;
  q[2] &= 0x7F;
  EXPECT_EQ(analyze(q, "a.test", KNOT_RRTYPE_A).problem, AnswerProblem::kNotAResponse);
  auto tc = wire;
  tc[2] |= 0x02;
  EXPECT_EQ(analyze(tc, "a.test", KNOT_RRTYPE_A).problem, AnswerProblem::kTruncated);
  auto noq = wire;
  noq[5] = 0;
  EXPECT_EQ(analyze(noq, "a.test", KNOT_RRTYPE_A).problem, AnswerProblem::kQuestionMismatch);
}

TEST(AnswerAnalysis, OptMustBeLastInAdditional) {
  auto optThenA = PacketBuilder::response("a.test", KNOT_RRTYPE_A).edns().build();
  // Append an A record after the OPT.
  auto extra =
      PacketBuilder::response("a.test", KNOT_RRTYPE_A).a("a.test", 60, "192.0.2.1").build();
  std::vector<uint8_t> rr(extra.begin() + 12 + 8 + 4, extra.end());  // question is 8+4 bytes
  optThenA.insert(optThenA.end(), rr.begin(), rr.end());
  optThenA[11] = 2;
  EXPECT_EQ(analyze(optThenA, "a.test", KNOT_RRTYPE_A).problem, AnswerProblem::kBadOpt);

  auto optInAnswer = PacketBuilder::response("a.test", KNOT_RRTYPE_A).edns().build();
  optInAnswer[7] = 1;   // ancount
  optInAnswer[11] = 0;  // arcount
  EXPECT_EQ(analyze(optInAnswer, "a.test", KNOT_RRTYPE_A).problem, AnswerProblem::kBadOpt);
}

TEST(AnswerAnalysis, EveryPrefixAndTrailingBytesAreMalformed) {
  auto wire = PacketBuilder::response("www.example.com", KNOT_RRTYPE_A)
                  .cname("www.example.com", 60, "x.example.net")
                  .a("x.example.net", 60, "192.0.2.1")
                  .authority()
                  .soa("example.net", 60, 60)
                  .edns(1232, true, {}, 18)
                  .build();
  ASSERT_EQ(analyze(wire, "www.example.com", KNOT_RRTYPE_A).problem, AnswerProblem::kNone);
  for (size_t n = 0; n < wire.size(); ++n) {
    std::vector<uint8_t> prefix(wire.begin(), wire.begin() + static_cast<long>(n));
    EXPECT_NE(analyze(prefix, "www.example.com", KNOT_RRTYPE_A).problem, AnswerProblem::kNone) << n;
  }
  auto trailing = wire;
  trailing.push_back(0);
  EXPECT_EQ(analyze(trailing, "www.example.com", KNOT_RRTYPE_A).problem, AnswerProblem::kMalformed);
}

// Appends one hand-written answer record (owner: a pointer to the question).
std::vector<uint8_t> withRecord(std::vector<uint8_t> wire, uint16_t type,
                                const std::vector<uint8_t>& rdata) {
  std::vector<uint8_t> rr = {0xC0, 0x0C, 0, 0, 0, 1, 0, 0, 0, 60, 0, 0};
  knot_wire_write_u16(rr.data() + 2, type);
  knot_wire_write_u16(rr.data() + 10, static_cast<uint16_t>(rdata.size()));
  rr.insert(rr.end(), rdata.begin(), rdata.end());
  wire.insert(wire.end(), rr.begin(), rr.end());
  knot_wire_set_ancount(wire.data(), knot_wire_get_ancount(wire.data()) + 1);
  return wire;
}

TEST(AnswerAnalysis, BadRdataLengths) {
  auto a = PacketBuilder::response("a.test", KNOT_RRTYPE_A).build();
  EXPECT_EQ(analyze(withRecord(a, KNOT_RRTYPE_A, {1, 2, 3, 4}), "a.test", KNOT_RRTYPE_A).problem,
            AnswerProblem::kNone);
  EXPECT_EQ(analyze(withRecord(a, KNOT_RRTYPE_A, {1, 2, 3, 4, 5}), "a.test", KNOT_RRTYPE_A).problem,
            AnswerProblem::kMalformed);
  auto aaaa = PacketBuilder::response("a.test", KNOT_RRTYPE_AAAA).build();
  EXPECT_EQ(
      analyze(withRecord(aaaa, KNOT_RRTYPE_AAAA, {1, 2, 3, 4}), "a.test", KNOT_RRTYPE_AAAA).problem,
      AnswerProblem::kMalformed);
  // A CNAME whose name ends before its rdata does, and one that runs past it.
  EXPECT_EQ(
      analyze(withRecord(a, KNOT_RRTYPE_CNAME, {1, 'b', 0, 0}), "a.test", KNOT_RRTYPE_A).problem,
      AnswerProblem::kMalformed);
  EXPECT_EQ(analyze(withRecord(a, KNOT_RRTYPE_CNAME, {1, 'b', 1}), "a.test", KNOT_RRTYPE_A).problem,
            AnswerProblem::kMalformed);
  // A CNAME target compressed to the question is fine.
  EXPECT_EQ(analyze(withRecord(a, KNOT_RRTYPE_CNAME, {1, 'b', 0xC0, 0x0C}), "a.test", KNOT_RRTYPE_A)
                .problem,
            AnswerProblem::kNone);
  // A forward compression pointer.
  EXPECT_EQ(
      analyze(withRecord(a, KNOT_RRTYPE_CNAME, {0xC0, 0xFF}), "a.test", KNOT_RRTYPE_A).problem,
      AnswerProblem::kMalformed);
}

TEST(AnswerAnalysis, NamesThroughBytesThatServingRewritesAreMalformed) {
  // An owner that points into the header (offset 0: the ID, which becomes the client's).
  auto a = PacketBuilder::response("a.test", KNOT_RRTYPE_A).build();
  std::vector<uint8_t> intoHeader = a;
  const uint8_t rr[] = {0xC0, 0x00, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1};
  intoHeader.insert(intoHeader.end(), rr, rr + sizeof rr);
  knot_wire_set_ancount(intoHeader.data(), 1);
  EXPECT_EQ(analyze(intoHeader, "a.test", KNOT_RRTYPE_A).problem, AnswerProblem::kMalformed);

  // A CNAME target that points into the TTL field of the record before it (TTL bytes
  // 0,0,1,0 read as a one-byte label then the root; they change as the answer ages).
  auto w =
      PacketBuilder::response("a.test", KNOT_RRTYPE_A).a("a.test", 0x00000100, "192.0.2.1").build();
  const size_t ttlAt = 12 + 8 + 4 + 2 + 4;  // header, question, owner pointer, type, class
  ASSERT_EQ(knot_wire_read_u32(w.data() + ttlAt), 0x100u);
  std::vector<uint8_t> cname = {0xC0,
                                0x0C,
                                0,
                                5,
                                0,
                                1,
                                0,
                                0,
                                0,
                                60,
                                0,
                                2,
                                static_cast<uint8_t>(0xC0 | (ttlAt + 1) >> 8),
                                static_cast<uint8_t>((ttlAt + 1) & 0xFF)};
  std::vector<uint8_t> intoTtl = w;
  intoTtl.insert(intoTtl.end(), cname.begin(), cname.end());
  knot_wire_set_ancount(intoTtl.data(), 2);
  ASSERT_GT(checkName(intoTtl, intoTtl.size() - 2), 0);  // libknot alone accepts it
  EXPECT_EQ(analyze(intoTtl, "a.test", KNOT_RRTYPE_A).problem, AnswerProblem::kMalformed);
}

TEST(AnswerAnalysis, CnameQueryIsNotChased) {
  auto wire = PacketBuilder::response("a.test", KNOT_RRTYPE_CNAME)
                  .cname("a.test", 60, "b.test")
                  .a("b.test", 60, "192.0.2.1")
                  .build();
  auto r = analyze(wire, "a.test", KNOT_RRTYPE_CNAME);
  ASSERT_EQ(r.problem, AnswerProblem::kNone);
  EXPECT_FALSE(r.a.negative);
  EXPECT_TRUE(r.a.addresses.empty());
}

TEST(AnswerAnalysis, AgreesWithKnotOnManyRecords) {
  auto b = PacketBuilder::response("many.test", KNOT_RRTYPE_A);
  for (int i = 0; i < 40; ++i) {
    std::string ip = "198.51.100." + std::to_string(i + 1);
    b.a("many.test", 300, ip.c_str());
  }
  auto wire = b.edns().build();
  KnotView v(wire);
  ASSERT_EQ(v.rc(), KNOT_EOK);
  auto r = analyze(wire, "many.test", KNOT_RRTYPE_A);
  ASSERT_EQ(r.problem, AnswerProblem::kNone);
  EXPECT_EQ(r.a.addresses.size(), 40u);
  EXPECT_EQ(r.a.ttlOffsets.size(), v.count(KNOT_ANSWER));
}

// Answers captured from a real unbound 1.17 (fuzz/corpus/dns_answer/unbound_*): every one
// is accepted, and the addresses found are the ones unbound put in for the question.
TEST(AnswerAnalysis, RealUnboundAnswersAreAccepted) {
  size_t seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ZTDNS_CORPUS_DIR "/dns_answer")) {
    if (entry.path().filename().string().rfind("unbound_", 0) != 0) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<uint8_t> wire((std::istreambuf_iterator<char>(in)), {});
    ASSERT_GT(wire.size(), 12u);
    Name qname;
    unpackName(wire.data(), 12, qname, true);
    uint16_t qtype = knot_wire_read_u16(wire.data() + 12 + qname.size());
    AnswerAnalysis a;
    ++seen;
    if (knot_wire_get_tc(wire.data())) {  // 40 A records over UDP without EDNS
      EXPECT_EQ(analyzeAnswer(wire, qname, qtype, KNOT_CLASS_IN, a), AnswerProblem::kTruncated);
      continue;
    }
    EXPECT_EQ(analyzeAnswer(wire, qname, qtype, KNOT_CLASS_IN, a), AnswerProblem::kNone)
        << entry.path();
    if (entry.path().filename().string().find("www_allowed_test_1") != std::string::npos &&
        qtype == KNOT_RRTYPE_A) {
      EXPECT_EQ(texts(a.addresses), (Strings{"203.0.113.80"})) << entry.path();
    }
    if (entry.path().filename().string().find("many_test") != std::string::npos) {
      EXPECT_EQ(a.addresses.size(), 40u) << entry.path();
    }
    if (entry.path().filename().string().find("svc_test_65") != std::string::npos) {
      EXPECT_EQ(texts(a.addresses), (Strings{"2001:db8::53", "203.0.113.1", "203.0.113.2"}));
    }
  }
  EXPECT_GE(seen, 20u);
}

}  // namespace
}  // namespace ztdns::dns
