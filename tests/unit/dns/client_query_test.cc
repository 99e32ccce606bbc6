#include "dns/client_query.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <future>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "dns_packet_builder.h"

namespace ztdns::dns {
namespace {

using testing::PacketBuilder;

QueryParse parse(const std::vector<uint8_t>& wire) {
  return parseClientQuery(wire);
}

TEST(ClientQuery, KeepsIdCaseFlagsAndEdns) {
  auto wire = PacketBuilder::query("WwW.ExAmple.COM", KNOT_RRTYPE_A, 0xBEEF)
                  .setFlags1(0x01)
                  .setFlags2(0x30)  // AD + CD
                  .edns(4096, true)
                  .build();
  QueryParse p = parse(wire);
  ASSERT_EQ(p.verdict, QueryVerdict::kOk) << p.reason;
  const ClientQuery& q = p.query;
  EXPECT_EQ(q.id, 0xBEEF);
  EXPECT_TRUE(q.recursionDesired());
  EXPECT_TRUE(q.checkingDisabled());
  EXPECT_TRUE(q.authenticData());
  EXPECT_EQ(q.qname.toText(), "WwW.ExAmple.COM");
  EXPECT_EQ(q.qnameLower.toText(), "www.example.com");
  EXPECT_EQ(q.qtype, KNOT_RRTYPE_A);
  EXPECT_EQ(q.qclass, KNOT_CLASS_IN);
  EXPECT_TRUE(q.edns.present);
  EXPECT_TRUE(q.edns.dnssecOk);
  EXPECT_EQ(q.edns.udpSize, 4096);
  EXPECT_EQ(q.udpLimit(), kMaxUdpPayload);  // capped
}

TEST(ClientQuery, UdpLimitWithoutAndWithSmallEdns) {
  QueryParse plain = parse(PacketBuilder::query("a.test", KNOT_RRTYPE_A).build());
  ASSERT_EQ(plain.verdict, QueryVerdict::kOk);
  EXPECT_FALSE(plain.query.edns.present);
  EXPECT_EQ(plain.query.udpLimit(), 512u);
  QueryParse tiny = parse(PacketBuilder::query("a.test", KNOT_RRTYPE_A).edns(100).build());
  ASSERT_EQ(tiny.verdict, QueryVerdict::kOk);
  EXPECT_EQ(tiny.query.udpLimit(), 512u);
  QueryParse mid = parse(PacketBuilder::query("a.test", KNOT_RRTYPE_A).edns(1000).build());
  EXPECT_EQ(mid.query.udpLimit(), 1000u);
}

TEST(ClientQuery, ToleratesPaddingAndCookieOptions) {
  auto wire = PacketBuilder::query("a.test", KNOT_RRTYPE_AAAA).edns(1232, false, 40).build();
  EXPECT_EQ(parse(wire).verdict, QueryVerdict::kOk);
}

struct BadCase {
  const char* what;
  std::vector<uint8_t> wire;
  QueryVerdict verdict;
};

std::vector<uint8_t> mutate(std::vector<uint8_t> w, size_t at, uint8_t value) {
  w.at(at) = value;
  return w;
}

TEST(ClientQuery, MalformedQueriesGetVerdicts) {
  auto good = PacketBuilder::query("www.example.com", KNOT_RRTYPE_A).edns().build();
  auto plain = PacketBuilder::query("www.example.com", KNOT_RRTYPE_A).build();
  std::vector<uint8_t> trailing = plain;
  trailing.push_back(0);
  std::vector<uint8_t> compressed = {0x12, 0x34, 0x01, 0x00, 0,    1, 0, 0, 0,
                                     0,    0,    0,    0xC0, 0x0C, 0, 1, 0, 1};
  std::vector<BadCase> cases = {
      {"empty", {}, QueryVerdict::kDrop},
      {"short header", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, QueryVerdict::kDrop},
      {"response", mutate(plain, 2, 0x81), QueryVerdict::kDrop},
      {"no question", mutate(plain, 5, 0), QueryVerdict::kFormErr},
      {"two questions", mutate(plain, 5, 2), QueryVerdict::kFormErr},
      {"answer count", mutate(plain, 7, 1), QueryVerdict::kFormErr},
      {"authority count", mutate(plain, 9, 1), QueryVerdict::kFormErr},
      {"additional count without record", mutate(plain, 11, 1), QueryVerdict::kFormErr},
      {"label past the end", mutate(plain, 12, 63), QueryVerdict::kFormErr},
      {"question cut", std::vector<uint8_t>(plain.begin(), plain.end() - 2),
       QueryVerdict::kFormErr},
      {"trailing byte", trailing, QueryVerdict::kFormErr},
      {"compressed question", compressed, QueryVerdict::kFormErr},
      {"NOTIFY", mutate(plain, 2, 0x20), QueryVerdict::kNotImp},
      {"UPDATE", mutate(plain, 2, 0x28), QueryVerdict::kNotImp},
      {"AXFR", PacketBuilder::query("example.com", KNOT_RRTYPE_AXFR).build(),
       QueryVerdict::kNotImp},
      {"IXFR", PacketBuilder::query("example.com", KNOT_RRTYPE_IXFR).build(),
       QueryVerdict::kNotImp},
      {"qtype OPT", PacketBuilder::query("example.com", KNOT_RRTYPE_OPT).build(),
       QueryVerdict::kFormErr},
      {"qtype 0", PacketBuilder::query("example.com", 0).build(), QueryVerdict::kFormErr},
      {"EDNS version 1", PacketBuilder::query("a.test", 1).edns(1232, false, {}, {}, 1).build(),
       QueryVerdict::kBadVers},
  };
  // Class CHAOS.
  auto chaos = plain;
  chaos[chaos.size() - 1] = 3;
  cases.push_back({"class CH", chaos, QueryVerdict::kRefused});
  // Two OPT records.
  {
    auto w = good;
    std::vector<uint8_t> opt(w.end() - 11, w.end());
    w.insert(w.end(), opt.begin(), opt.end());
    w[11] = 2;
    cases.push_back({"two OPT", w, QueryVerdict::kFormErr});
  }
  // OPT with an option longer than its rdata.
  {
    auto w = PacketBuilder::query("a.test", 1).edns(1232, false, 4).build();
    w[w.size() - 6] = 0x40;  // option length high byte
    cases.push_back({"option overrun", w, QueryVerdict::kFormErr});
  }
  // OPT owner not root.
  {
    auto w = plain;
    const uint8_t rr[] = {1, 'x', 0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0};
    w.insert(w.end(), rr, rr + sizeof rr);
    w[11] = 1;
    cases.push_back({"OPT owner", w, QueryVerdict::kFormErr});
  }
  for (const BadCase& c : cases) {
    QueryParse p = parseClientQuery(c.wire);
    EXPECT_EQ(static_cast<int>(p.verdict), static_cast<int>(c.verdict)) << c.what;
    EXPECT_NE(std::string(p.reason), "") << c.what;
  }
}

TEST(ClientQuery, EveryPrefixOfAQueryIsRejectedWithoutCrashing) {
  auto wire =
      PacketBuilder::query("deep.sub.example.com", KNOT_RRTYPE_AAAA).edns(1232, true, 8).build();
  for (size_t n = 0; n < wire.size(); ++n) {
    std::vector<uint8_t> prefix(wire.begin(), wire.begin() + static_cast<long>(n));
    EXPECT_NE(parseClientQuery(prefix).verdict, QueryVerdict::kOk) << n;
  }
}

TEST(ClientQuery, MakeClientQueryForResolve) {
  auto name = Name::fromText("Example.COM");
  ASSERT_TRUE(name.ok());
  ClientQuery q = makeClientQuery(*name, KNOT_RRTYPE_AAAA, true, 7);
  EXPECT_EQ(q.qnameLower.toText(), "example.com");
  EXPECT_EQ(q.qname.toText(), "Example.COM");
  EXPECT_TRUE(q.recursionDesired());
  EXPECT_TRUE(q.edns.present);
  EXPECT_TRUE(q.edns.dnssecOk);
  EXPECT_FALSE(Name::fromText("a..b").ok());
  EXPECT_FALSE(Name::fromText("").ok());
}

// Real clients: capture the query dig and kdig send and parse it.
std::vector<uint8_t> captureQuery(const std::string& client) {
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return {};
  socklen_t len = sizeof sa;
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  std::string tries = client == "kdig" ? " +retry=0 +edns" : " +tries=1";
  std::string cmd = client + " @127.0.0.1 -p " + std::to_string(ntohs(sa.sin_port)) + tries +
                    " +timeout=1 MiXeD.Example.TEST AAAA >/dev/null 2>&1";
  auto run = std::async(std::launch::async, [cmd] { return std::system(cmd.c_str()); });
  pollfd pfd{fd.get(), POLLIN, 0};
  std::vector<uint8_t> buf(4096);
  if (poll(&pfd, 1, 5000) == 1) {
    ssize_t n = recv(fd.get(), buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
  } else {
    buf.clear();
  }
  run.wait();
  return buf;
}

TEST(ClientQuery, ParsesWhatDigAndKdigSend) {
  for (const char* client : {"kdig", "dig"}) {
    if (std::system((std::string("command -v ") + client + " >/dev/null").c_str()) != 0) {
      GTEST_SKIP() << client << " is not installed";
    }
    auto wire = captureQuery(client);
    ASSERT_FALSE(wire.empty()) << client;
    QueryParse p = parseClientQuery(wire);
    ASSERT_EQ(p.verdict, QueryVerdict::kOk) << client << ": " << p.reason;
    EXPECT_EQ(p.query.qnameLower.toText(), "mixed.example.test") << client;
    EXPECT_EQ(p.query.qtype, KNOT_RRTYPE_AAAA);
    // dig keeps the case and sends EDNS with a cookie by default; kdig lowercases and is
    // asked for EDNS with +edns.
    if (std::string(client) == "dig") {
      EXPECT_EQ(p.query.qname.toText(), "MiXeD.Example.TEST");
    }
    EXPECT_TRUE(p.query.edns.present) << client;
  }
}

}  // namespace
}  // namespace ztdns::dns
