// Test harness for Stub: a real io_context on its own thread, real UDP/TCP sockets on
// loopback (ephemeral ports), the fake pool and allow set, and small raw clients.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <asio.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "dns/client_query.h"
#include "dns/knot.h"
#include "dns_packet_builder.h"
#include "fake_allow_set.h"
#include "fake_server_pool.h"
#include "fakes.h"
#include "netns.h"
#include "resolver/stub.h"

namespace ztdns::resolver::test {

using ztdns::testing::FakeAllowSet;
using ztdns::testing::FakeServerPool;
using ztdns::testing::PacketBuilder;
using Bytes = std::vector<uint8_t>;

// "127.0.0.1:53", "[::1]:0": port 0 (the kernel picks) is allowed here, unlike in configs.
inline Endpoint ep(std::string text) {
  if (text.size() > 2 && text.substr(text.size() - 2) == ":0") {
    auto e = Endpoint::parse(text.substr(0, text.size() - 2) + ":1").value();
    e.port = 0;
    return e;
  }
  return Endpoint::parse(text).value();
}

// The question name of an upstream query, lowercase, without the trailing dot.
inline std::string qnameOf(std::span<const uint8_t> query) {
  auto p = dns::parseClientQuery(query);
  return p.hasQuestion ? p.query.qnameLower.toText() : "";
}
inline uint16_t qtypeOf(std::span<const uint8_t> query) {
  return dns::parseClientQuery(query).query.qtype;
}

// The lab zone the fake pool serves when a test turns the responder on.
inline std::optional<Result<upstream::Answer>> zoneAnswer(std::span<const uint8_t> query) {
  const std::string name = qnameOf(query);
  const uint16_t type = qtypeOf(query);
  auto b = PacketBuilder::responseTo(query);
  b.edns(1232, false, 100);  // a padded upstream answer, as DoT/DoH servers send
  if (name == "www.allowed.test" && type == KNOT_RRTYPE_A) {
    b.a("www.allowed.test", 300, "203.0.113.80");
  } else if (name == "www.allowed.test" && type == KNOT_RRTYPE_AAAA) {
    b.aaaa("www.allowed.test", 300, "2001:db8:80::80");
  } else if (name == "many.test") {
    for (int i = 1; i <= 40; ++i) {
      std::string ip = "198.51.100." + std::to_string(i);
      b.a("many.test", 300, ip.c_str());
    }
  } else if (name == "chain.test") {
    b.a("edge.cdn-net.test", 600, "203.0.113.81")
        .cname("cdn.provider.test", 60, "edge.cdn-net.test")
        .cname("chain.test", 3600, "cdn.provider.test");
  } else if (name == "short.test") {
    b.a("short.test", 3, "203.0.113.3");
  } else if (name == "ttl0.test") {
    b.a("ttl0.test", 0, "203.0.113.4");
  } else if (name == "zero.test") {
    b.a("zero.test", 300, "0.0.0.0");
  } else if (name == "mapped.test") {
    b.aaaa("mapped.test", 300, "::ffff:203.0.113.9");
  } else if (name == "nx.test" || name == "blocked.test") {
    b.rcode(KNOT_RCODE_NXDOMAIN).authority().soa("test", 3600, 300);
  } else if (name.rfind("n", 0) == 0 && name.size() > 6) {  // n<i>.test, for the LRU test
    b.a(name, 300, "198.51.100.200");
  } else {
    b.rcode(KNOT_RCODE_NXDOMAIN).authority().soa("test", 3600, 300);
  }
  return FakeServerPool::makeAnswer(b.build());
}

// A query as a client writes it.
inline Bytes clientQuery(const std::string& name, uint16_t qtype, uint16_t id, bool edns = false) {
  auto b = PacketBuilder::query(name, qtype, id);
  if (edns) b.edns(1232);
  return b.build();
}

class UdpClient {
 public:
  explicit UdpClient(const Endpoint& to) {
    sockaddr_storage ss;
    socklen_t len;
    to.address.toSockaddr(to.port, ss, len);
    fd_.reset(socket(ss.ss_family, SOCK_DGRAM, 0));
    EXPECT_EQ(connect(fd_.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);
  }
  void send(const Bytes& b) {
    EXPECT_EQ(::send(fd_.get(), b.data(), b.size(), 0), (ssize_t)b.size());
  }
  std::optional<Bytes> recv(int timeoutMs = 5000) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (poll(&p, 1, timeoutMs) != 1) return std::nullopt;
    Bytes b(65536);
    ssize_t n = ::recv(fd_.get(), b.data(), b.size(), 0);
    if (n < 0) return std::nullopt;
    b.resize(static_cast<size_t>(n));
    return b;
  }
  // Whether an answer is already waiting (no waiting here: used after an io barrier).
  bool pending() {
    pollfd p{fd_.get(), POLLIN, 0};
    return poll(&p, 1, 0) == 1;
  }

 private:
  UniqueFd fd_;
};

class TcpClient {
 public:
  explicit TcpClient(const Endpoint& to) {
    sockaddr_storage ss;
    socklen_t len;
    to.address.toSockaddr(to.port, ss, len);
    fd_.reset(socket(ss.ss_family, SOCK_STREAM, 0));
    connected_ = connect(fd_.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0;
  }
  bool connected() const { return connected_; }
  // Several messages in one write: pipelining.
  void sendAll(const std::vector<Bytes>& messages) {
    Bytes out;
    for (const Bytes& m : messages) {
      out.push_back(static_cast<uint8_t>(m.size() >> 8));
      out.push_back(static_cast<uint8_t>(m.size()));
      out.insert(out.end(), m.begin(), m.end());
    }
    EXPECT_EQ(::send(fd_.get(), out.data(), out.size(), MSG_NOSIGNAL), (ssize_t)out.size());
  }
  std::optional<Bytes> recv(int timeoutMs = 5000) {
    uint8_t len[2];
    if (!readExactly(len, 2, timeoutMs)) return std::nullopt;
    Bytes b((static_cast<size_t>(len[0]) << 8) | len[1]);
    if (!readExactly(b.data(), b.size(), timeoutMs)) return std::nullopt;
    return b;
  }
  bool pending() {
    pollfd p{fd_.get(), POLLIN, 0};
    return poll(&p, 1, 0) == 1;
  }
  // True once the server has closed the connection.
  bool closedByPeer(int timeoutMs) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (poll(&p, 1, timeoutMs) != 1) return false;
    uint8_t byte;
    return ::recv(fd_.get(), &byte, 1, MSG_PEEK) <= 0;
  }

 private:
  bool readExactly(uint8_t* p, size_t n, int timeoutMs) {
    size_t got = 0;
    while (got < n) {
      pollfd pf{fd_.get(), POLLIN, 0};
      if (poll(&pf, 1, timeoutMs) != 1) return false;
      ssize_t r = ::recv(fd_.get(), p + got, n - got, 0);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  }
  UniqueFd fd_;
  bool connected_ = false;
};

class StubHarness : public ::testing::Test {
 protected:
  StubHarness() : pool_(io_), allow_(io_), work_(asio::make_work_guard(io_)) {
    config_.listenAddresses = {ep("127.0.0.1:0"), ep("[::1]:0")};
    config_.minimumAllowTimeInSeconds = 60;
    config_.allowGraceSeconds = 30;
    config_.maximumConnectionTimeInSeconds = 86400;
  }
  ~StubHarness() override {
    if (stub_) onIo([&] { stub_.reset(); });
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // Starts the stub and the io thread; returns start()'s status.
  Status startStub(StubOptions options = {}) {
    stub_ = std::make_unique<Stub>(io_, config_, pool_, allow_, events_, std::move(options));
    Status s = stub_->start();
    thread_ = std::thread([this] { io_.run(); });
    return s;
  }

  // Runs `f` on the io thread and waits for it: also a barrier, since every handler queued
  // before it has run by then.
  template <class F>
  auto onIo(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    if (!thread_.joinable()) {
      task();
      return result.get();
    }
    asio::post(io_, [&task] { task(); });
    return result.get();
  }
  void barrier() {
    onIo([] {});
  }

  Endpoint v4() const { return stub_->listening().at(0); }
  Endpoint v6() const { return stub_->listening().at(1); }

  // Runs a real client; returns its stdout.
  static std::string run(const std::string& command) {
    std::string out;
    ztdns::testing::runShell(command + " 2>&1", &out);
    return out;
  }
  std::string dig(const std::string& args, const Endpoint& at) {
    return run("dig @" + at.address.toString() + " -p " + std::to_string(at.port) +
               " +tries=1 +timeout=3 " + args);
  }
  std::string kdig(const std::string& args, const Endpoint& at) {
    return run("kdig @" + at.address.toString() + " -p " + std::to_string(at.port) +
               " +retry=0 +timeout=3 " + args);
  }

  // Polls `cond` until it holds (or 5 s pass).
  template <class C>
  static bool eventually(C cond, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return cond();
  }

  StubStats stats() const { return stub_->stats(); }
  uint64_t servfail(ServfailCause c) const { return stats().servfail[static_cast<size_t>(c)]; }

  asio::io_context io_;
  FakeServerPool pool_;
  FakeAllowSet allow_;
  ztdns::testing::RecordingEventSink events_;
  config::Config config_;
  std::unique_ptr<Stub> stub_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

// What a client got back, read with libknot.
struct Reply {
  explicit Reply(const Bytes& wire) : wire_(wire) {
    pkt_ = knot_pkt_new(wire_.data(), static_cast<uint16_t>(wire_.size()), nullptr);
    rc_ = knot_pkt_parse(pkt_, 0);
  }
  ~Reply() { knot_pkt_free(pkt_); }
  Reply(const Reply&) = delete;
  int parseRc() const { return rc_; }
  uint16_t id() const { return knot_wire_get_id(wire_.data()); }
  uint8_t rcode() const { return knot_wire_get_rcode(wire_.data()); }
  bool tc() const { return knot_wire_get_tc(wire_.data()); }
  size_t answers() const { return knot_pkt_section(pkt_, KNOT_ANSWER)->count; }
  std::string qname() const {  // as on the wire: case kept
    knot_dname_txt_storage_t txt;
    return knot_dname_to_str(txt, wire_.data() + 12, sizeof txt);
  }
  std::vector<std::string> addresses() const {
    std::vector<std::string> out;
    const knot_pktsection_t* s = knot_pkt_section(pkt_, KNOT_ANSWER);
    for (uint16_t i = 0; i < s->count; ++i) {
      const knot_rrset_t* rr = knot_pkt_rr(s, i);
      if (rr->type == KNOT_RRTYPE_A) {
        out.push_back(IpAddress::v4(rr->rrs.rdata->data).toString());
      } else if (rr->type == KNOT_RRTYPE_AAAA) {
        out.push_back(IpAddress::v6(rr->rrs.rdata->data).toString());
      }
    }
    return out;
  }
  uint32_t firstTtl() const { return knot_pkt_rr(knot_pkt_section(pkt_, KNOT_ANSWER), 0)->ttl; }

 private:
  Bytes wire_;
  knot_pkt_t* pkt_;
  int rc_;
};

}  // namespace ztdns::resolver::test
