// Stub: TCP, truncation, pipelining, connection limits, hosts file, listeners and
// reconfiguration, with real clients (dig, kdig) where they fit.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "stub_harness.h"

namespace ztdns::resolver::test {
namespace {

using Strings = std::vector<std::string>;
using std::chrono::milliseconds;

class StubTransportTest : public StubHarness {};

TEST_F(StubTransportTest, TruncatedUdpThenTcpRetryEachAfterTheAllow) {
  pool_.setResponder(zoneAnswer);
  ASSERT_TRUE(startStub().ok());
  UdpClient udp(v4());
  udp.send(clientQuery("many.test", KNOT_RRTYPE_A, 0x0101));  // no EDNS: 512 bytes
  ASSERT_TRUE(allow_.waitForInserts(1));
  EXPECT_EQ(allow_.insertAt(0).requests.size(), 40u);
  barrier();
  EXPECT_FALSE(udp.pending());  // not even the TC answer before the ACK
  allow_.ack(0);
  auto tc = udp.recv();
  ASSERT_TRUE(tc);
  Reply t(*tc);
  ASSERT_EQ(t.parseRc(), KNOT_EOK);
  EXPECT_TRUE(t.tc());
  EXPECT_EQ(t.answers(), 0u);
  EXPECT_LE(tc->size(), 512u);
  EXPECT_EQ(t.id(), 0x0101);

  TcpClient tcp(v4());
  tcp.sendAll({clientQuery("many.test", KNOT_RRTYPE_A, 0x0102)});
  ASSERT_TRUE(allow_.waitForInserts(2));  // the cache hit inserts again
  barrier();
  EXPECT_FALSE(tcp.pending());
  allow_.ack(1);
  auto full = tcp.recv();
  ASSERT_TRUE(full);
  Reply f(*full);
  EXPECT_FALSE(f.tc());
  EXPECT_EQ(f.answers(), 40u);
  EXPECT_EQ(pool_.callCount(), 1u);
  EXPECT_EQ(stats().truncated, 1u);
}

TEST_F(StubTransportTest, DigRetriesOverTcpAndGetsAllFortyRecords) {
  pool_.setResponder(zoneAnswer);
  allow_.setAutoAck(true);
  ASSERT_TRUE(startStub().ok());
  std::string out = dig("+noedns +short many.test A", v4());
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 40) << out;
  EXPECT_EQ(stats().truncated, 1u);
  EXPECT_EQ(stats().queriesTcp, 1u);
  // With EDNS (1232) the 40 records fit in one datagram.
  out = dig("+short many.test A", v6());
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 40) << out;
  EXPECT_EQ(stats().truncated, 1u);
}

TEST_F(StubTransportTest, PipelinedTcpQueriesAreAnsweredOutOfOrder) {
  allow_.setAutoAck(true);
  ASSERT_TRUE(startStub().ok());
  TcpClient tcp(v4());
  tcp.sendAll({clientQuery("www.allowed.test", KNOT_RRTYPE_A, 1),
               clientQuery("www.allowed.test", KNOT_RRTYPE_AAAA, 2),
               clientQuery("chain.test", KNOT_RRTYPE_A, 3)});
  ASSERT_TRUE(pool_.waitForCalls(3));
  std::map<std::string, size_t> callFor;
  for (size_t i = 0; i < 3; ++i) {
    callFor[qnameOf(pool_.query(i)) + "/" + std::to_string(qtypeOf(pool_.query(i)))] = i;
  }
  // Answer the last first.
  const std::pair<std::string, uint16_t> order[] = {
      {"chain.test/1", 3}, {"www.allowed.test/28", 2}, {"www.allowed.test/1", 1}};
  for (const auto& [key, id] : order) {
    size_t call = callFor.at(key);
    pool_.answer(call, zoneAnswer(pool_.query(call))->value());
    auto answer = tcp.recv();
    ASSERT_TRUE(answer);
    EXPECT_EQ(Reply(*answer).id(), id);
  }
}

TEST_F(StubTransportTest, KdigSeveralQueriesOnOneTcpConnection) {
  pool_.setResponder(zoneAnswer);
  allow_.setAutoAck(true);
  ASSERT_TRUE(startStub().ok());
  std::string out =
      kdig("+tcp +keepopen +short www.allowed.test A www.allowed.test AAAA chain.test A", v4());
  EXPECT_NE(out.find("203.0.113.80"), std::string::npos) << out;
  EXPECT_NE(out.find("2001:db8:80::80"), std::string::npos) << out;
  EXPECT_NE(out.find("203.0.113.81"), std::string::npos) << out;
  EXPECT_EQ(stats().queriesTcp, 3u);
}

TEST_F(StubTransportTest, PerConnectionQueryLimitPausesReading) {
  allow_.setAutoAck(true);
  StubOptions options;
  options.maxTcpQueriesPerConnection = 2;
  ASSERT_TRUE(startStub(options).ok());
  TcpClient tcp(v4());
  tcp.sendAll({clientQuery("a1.test", KNOT_RRTYPE_A, 1), clientQuery("a2.test", KNOT_RRTYPE_A, 2),
               clientQuery("a3.test", KNOT_RRTYPE_A, 3)});
  ASSERT_TRUE(pool_.waitForCalls(2));
  barrier();
  EXPECT_EQ(pool_.callCount(), 2u);  // the third waits in the buffer
  pool_.answer(0, zoneAnswer(pool_.query(0))->value());
  ASSERT_TRUE(tcp.recv());
  ASSERT_TRUE(pool_.waitForCalls(3));
  pool_.answer(1, zoneAnswer(pool_.query(1))->value());
  pool_.answer(2, zoneAnswer(pool_.query(2))->value());
  ASSERT_TRUE(tcp.recv());
  ASSERT_TRUE(tcp.recv());
}

TEST_F(StubTransportTest, IdleConnectionsCloseAndTheConnectionCapHolds) {
  StubOptions options;
  options.tcpIdleTimeout = milliseconds(300);
  options.maxTcpConnections = 1;
  ASSERT_TRUE(startStub(options).ok());
  TcpClient first(v4());
  ASSERT_TRUE(eventually([&] { return stats().tcpConnections == 1; }));
  TcpClient second(v4());
  EXPECT_TRUE(second.closedByPeer(5000));
  EXPECT_EQ(stats().tcpRefused, 1u);
  EXPECT_TRUE(first.closedByPeer(5000));
  EXPECT_TRUE(eventually([&] { return stats().tcpConnections == 0; }));
}

TEST_F(StubTransportTest, HostsFileNamesAreAnsweredLocallyAndAllowed) {
  char path[] = "/tmp/ztdns-hosts-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "203.0.113.200 printer.lan\n127.0.0.1 localhost\n::1 localhost\n";
  config_.hostsFileResolutionEnabled = true;
  pool_.setResponder(zoneAnswer);
  allow_.setAutoAck(true);
  StubOptions options;
  options.hostsPath = path;
  ASSERT_TRUE(startStub(options).ok());

  // glibc answers hosts names without asking the stub, so the file's addresses are allowed
  // from the start (loopback excluded), with the origin "hosts file via <path>".
  ASSERT_TRUE(allow_.waitForInserts(1));
  auto kept = allow_.insertAt(0);
  ASSERT_EQ(kept.requests.size(), 1u);
  EXPECT_EQ(kept.requests.at(0).address.toString(), "203.0.113.200");
  EXPECT_EQ(kept.requests.at(0).timeoutSeconds,
            std::max<uint32_t>(config_.minimumAllowTimeInSeconds, 60));
  EXPECT_EQ(kept.origin.name, "hosts file");
  EXPECT_EQ(kept.origin.server, path);

  EXPECT_EQ(dig("+short Printer.LAN A", v4()), "203.0.113.200\n");
  ASSERT_EQ(allow_.insertCount(), 2u);
  auto insert = allow_.insertAt(1);
  EXPECT_EQ(insert.requests.at(0).address.toString(), "203.0.113.200");
  EXPECT_EQ(insert.requests.at(0).timeoutSeconds, config_.allowSecondsForTtl(0));
  EXPECT_EQ(insert.origin.server, path);
  EXPECT_EQ(dig("+short localhost A", v4()), "127.0.0.1\n");
  EXPECT_EQ(allow_.insertCount(), 2u);  // loopback is never inserted
  std::string nodata = dig("printer.lan AAAA", v4());
  EXPECT_NE(nodata.find("NOERROR"), std::string::npos);
  EXPECT_NE(nodata.find("ANSWER: 0"), std::string::npos);
  EXPECT_EQ(pool_.callCount(), 0u);
  EXPECT_EQ(stats().hostsAnswers, 3u);
  // Other types go upstream.
  dig("printer.lan MX", v4());
  EXPECT_EQ(pool_.callCount(), 1u);

  // Switched off by reconfiguration: the name goes upstream.
  config_.hostsFileResolutionEnabled = false;
  ASSERT_TRUE(onIo([&] { return stub_->reconfigure(config_); }).ok());
  dig("+short printer.lan A", v4());
  EXPECT_EQ(pool_.callCount(), 2u);
  std::remove(path);
}

TEST_F(StubTransportTest, BindErrorsAreReportedInWords) {
  ASSERT_TRUE(startStub().ok());
  // A second stub on the same addresses.
  config::Config same = config_;
  same.listenAddresses = {v4()};
  Stub other(io_, same, pool_, allow_, events_);
  Status s = onIo([&] { return other.start(); });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("listen 127.0.0.1:" + std::to_string(v4().port)),
            std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("in use"), std::string::npos) << s.error().message;
  EXPECT_TRUE(other.listening().empty());
  onIo([&] { other.stop(); });

  config::Config bad = config_;
  bad.listenAddresses = {ep("192.0.2.99:5353")};  // not an address of this host
  Stub third(io_, bad, pool_, allow_, events_);
  Status t = onIo([&] { return third.start(); });
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("192.0.2.99:5353 (udp)"), std::string::npos)
      << t.error().message;
}

TEST_F(StubTransportTest, ReconfigureMovesListenersFlushesTheCacheAndKeepsStateOnError) {
  pool_.setResponder(zoneAnswer);
  allow_.setAutoAck(true);
  ASSERT_TRUE(startStub().ok());
  const Endpoint oldV6 = v6();
  EXPECT_EQ(dig("+short www.allowed.test A", v4()), "203.0.113.80\n");
  EXPECT_EQ(pool_.callCount(), 1u);

  // Keep 127.0.0.1, drop ::1, add 127.0.0.2.
  config::Config next = config_;
  next.listenAddresses = {ep("127.0.0.1:0"), ep("127.0.0.2:0")};
  ASSERT_TRUE(onIo([&] { return stub_->reconfigure(next); }).ok());
  auto now = stub_->listening();
  ASSERT_EQ(now.size(), 2u);
  EXPECT_EQ(now[0], v4());
  EXPECT_EQ(now[1].address.toString(), "127.0.0.2");
  EXPECT_EQ(dig("+short www.allowed.test A", now[1]), "203.0.113.80\n");
  EXPECT_EQ(pool_.callCount(), 2u);  // the cache was flushed
  TcpClient gone(oldV6);
  EXPECT_FALSE(gone.connected());
  auto events = events_.events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().eventId, observe::event_id::kConfigUpdated);

  // A bind error changes nothing.
  asio::ip::udp::socket blocker(io_,
                                asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Endpoint taken{IpAddress::parse("127.0.0.1").value(), blocker.local_endpoint().port()};
  config::Config clash = next;
  clash.listenAddresses = {ep("127.0.0.1:0"), taken};
  Status s = onIo([&] { return stub_->reconfigure(clash); });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("in use"), std::string::npos) << s.error().message;
  EXPECT_EQ(stub_->listening(), now);
  EXPECT_EQ(dig("+short www.allowed.test A", now[1]), "203.0.113.80\n");

  // The wildcard address on a port the stub listens on already cannot be bound beside it
  // (new listeners bind before old ones close): the error says so, and what to do.
  config::Config wildcard = next;
  wildcard.listenAddresses = {Endpoint{IpAddress::parse("0.0.0.0").value(), now[0].port}};
  s = onIo([&] { return stub_->reconfigure(wildcard); });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(
      s.error().message.find("ztdnsd's own listener on " + now[0].toString() + " holds the port"),
      std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("restart ztdnsd"), std::string::npos) << s.error().message;
  EXPECT_EQ(stub_->listening(), now);
}

}  // namespace
}  // namespace ztdns::resolver::test
