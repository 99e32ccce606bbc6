// Enforcement with real traffic: this test's private namespace is the client; a second
// namespace (`ip netns add zt-<pid>-peer`, removed on exit) joined by a veth pair holds the
// lab's server addresses (docs/LAB.md) with TCP and UDP echo servers. Real sockets, real
// nftables, real conntrack, NFLOG read with libnetfilter_log.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <libnetfilter_log/libnetfilter_log.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/c_ptr.h"
#include "common/unique_fd.h"
#include "enforce/kernel_allow_set.h"
#include "enforce/policy_applier.h"
#include "enforce/set_elem_netlink.h"
#include "fakes.h"
#include "netns.h"

namespace ztdns::enforce {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using ztdns::testing::runShell;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

// ---- echo servers (TCP and UDP) on sockets made in any namespace --------------------------

class EchoServer {
 public:
  ~EchoServer() { stop(); }
  void addTcp(UniqueFd fd) { fds_.push_back({std::move(fd), true}); }
  void addUdp(UniqueFd fd) { fds_.push_back({std::move(fd), false}); }
  void start() {
    ASSERT_EQ(pipe(stopPipe_), 0);
    thread_ = std::thread([this] { loop(); });
  }
  void stop() {
    if (!thread_.joinable()) return;
    (void)!write(stopPipe_[1], "x", 1);
    thread_.join();
    close(stopPipe_[0]);
    close(stopPipe_[1]);
  }

 private:
  struct Fd {
    UniqueFd fd;
    bool listening;
  };
  void loop() {
    std::vector<UniqueFd> conns;
    for (;;) {
      std::vector<pollfd> p{{stopPipe_[0], POLLIN, 0}};
      for (auto& f : fds_) p.push_back({f.fd.get(), POLLIN, 0});
      for (auto& c : conns) p.push_back({c.get(), POLLIN, 0});
      if (poll(p.data(), p.size(), 1000) < 0) continue;
      if (p[0].revents) return;
      char buf[2048];
      const size_t polledConns = conns.size();  // accepts below add unpolled ones
      for (size_t i = 0; i < fds_.size(); ++i) {
        if (!p[i + 1].revents) continue;
        if (fds_[i].listening) {
          int c = accept4(fds_[i].fd.get(), nullptr, nullptr, SOCK_NONBLOCK);
          if (c >= 0) conns.emplace_back(c);
        } else {
          sockaddr_storage from{};
          socklen_t len = sizeof from;
          ssize_t n = recvfrom(fds_[i].fd.get(), buf, sizeof buf, 0,
                               reinterpret_cast<sockaddr*>(&from), &len);
          if (n > 0) sendto(fds_[i].fd.get(), buf, n, 0, reinterpret_cast<sockaddr*>(&from), len);
        }
      }
      for (size_t i = 0; i < polledConns; ++i) {
        if (!p[fds_.size() + 1 + i].revents) continue;
        ssize_t n = read(conns[i].get(), buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
          conns[i].reset();
        } else if (n > 0) {
          (void)!write(conns[i].get(), buf, n);
        }
      }
      conns.erase(std::remove_if(conns.begin(), conns.end(), [](auto& c) { return !c.valid(); }),
                  conns.end());
    }
  }
  std::vector<Fd> fds_;
  int stopPipe_[2] = {-1, -1};
  std::thread thread_;
};

UniqueFd listenOn(const IpAddress& a, uint16_t port, int type) {
  sockaddr_storage ss;
  socklen_t len;
  a.toSockaddr(port, ss, len);
  UniqueFd fd(socket(ss.ss_family, type | SOCK_CLOEXEC, 0));
  int on = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ADD_FAILURE() << "bind " << a.toString() << ":" << port << ": " << std::strerror(errno);
  }
  if (type == SOCK_STREAM) listen(fd.get(), 64);
  return fd;
}

// ---- the peer namespace ----------------------------------------------------------------

const char* const kPeerV4[] = {"198.51.100.53", "203.0.113.80", "203.0.113.81",
                               "203.0.113.200", "203.0.113.53", "203.0.113.44"};
const char* const kPeerV6[] = {"2001:db8:53::53", "2001:db8:80::80", "2001:db8:80::81",
                               "2001:db8:200::1", "2001:db8:80::53", "2001:db8:80::44"};

class Peer {
 public:
  Peer() : name_("zt-" + std::to_string(getpid()) + "-peer" + std::to_string(next_++)) {}
  ~Peer() {
    server_.stop();
    // Deleting our end removes the pair now; a namespace's own teardown is asynchronous,
    // and the next test would find zc0 still there.
    runShell("ip link del zc0 2>/dev/null; ip netns del " + name_ + " 2>/dev/null");
  }

  bool up() {
    std::string s =
        "set -e; ip netns add " + name_ + "; ip link add zc0 type veth peer name zs0 netns " +
        name_ +
        "; ip addr add 192.0.2.10/24 dev zc0; ip addr add 2001:db8:0:1::10/64 dev zc0 "
        "nodad; ip link set zc0 up; ip route add default via 192.0.2.1; ip -6 route "
        "add default via 2001:db8:0:1::1; ip -n " +
        name_ + " link set lo up; ip -n " + name_ + " addr add 192.0.2.1/24 dev zs0; ip -n " +
        name_ + " addr add 2001:db8:0:1::1/64 dev zs0 nodad; ip -n " + name_ + " link set zs0 up";
    for (const char* a : kPeerV4) s += "; ip -n " + name_ + " addr add " + a + "/32 dev lo";
    for (const char* a : kPeerV6) {
      s += "; ip -n " + name_ + " addr add " + std::string(a) + "/128 dev lo nodad";
    }
    if (runShell(s + " 2>&1") != 0) return false;
    // Sockets belong to the namespace they were made in: make them there, then come back.
    UniqueFd self(open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    UniqueFd peer(open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC));
    if (!peer.valid() || setns(peer.get(), CLONE_NEWNET) != 0) return false;
    for (auto* list : {&kPeerV4, &kPeerV6}) {
      for (const char* a : *list) {
        for (uint16_t port : {80, 443, 853}) server_.addTcp(listenOn(ip(a), port, SOCK_STREAM));
        server_.addUdp(listenOn(ip(a), 53, SOCK_DGRAM));
      }
    }
    server_.addUdp(listenOn(ip("192.0.2.1"), 67, SOCK_DGRAM));         // DHCPv4 server port
    server_.addUdp(listenOn(ip("2001:db8:0:1::1"), 547, SOCK_DGRAM));  // DHCPv6 server port
    if (setns(self.get(), CLONE_NEWNET) != 0) return false;
    server_.start();
    return true;
  }

 private:
  static inline int next_ = 0;
  std::string name_;
  EchoServer server_;
};

// ---- client probes ---------------------------------------------------------------------

struct Outcome {
  int err = 0;  // 0: connected / answered
  milliseconds elapsed{0};
};

// TCP connect, then one echo round trip.
Outcome tcpProbe(const IpAddress& a, uint16_t port, UniqueFd* keep = nullptr) {
  sockaddr_storage ss;
  socklen_t len;
  a.toSockaddr(port, ss, len);
  UniqueFd fd(socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  auto t0 = Clock::now();
  Outcome o;
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
    o.err = errno;
  } else {
    pollfd p{fd.get(), POLLOUT, 0};
    if (poll(&p, 1, 5000) != 1) {
      o.err = ETIMEDOUT;
    } else {
      socklen_t l = sizeof o.err;
      getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &o.err, &l);
    }
  }
  o.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
  if (o.err == 0) {
    pollfd p{fd.get(), POLLIN, 0};
    char buf[8];
    if (send(fd.get(), "ping", 4, MSG_NOSIGNAL) != 4 || poll(&p, 1, 2000) != 1 ||
        recv(fd.get(), buf, sizeof buf, 0) != 4) {
      o.err = EPROTO;
    }
  }
  if (keep) *keep = std::move(fd);
  return o;
}

// One more round trip on an open connection.
bool tcpEcho(int fd) {
  char buf[8];
  pollfd p{fd, POLLIN, 0};
  return send(fd, "more", 4, MSG_NOSIGNAL) == 4 && poll(&p, 1, 2000) == 1 &&
         recv(fd, buf, sizeof buf, 0) == 4;
}

Outcome udpProbe(const IpAddress& a, uint16_t port, uint16_t sourcePort = 0) {
  sockaddr_storage ss;
  socklen_t len;
  a.toSockaddr(port, ss, len);
  UniqueFd fd(socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  Outcome o;
  if (sourcePort) {
    sockaddr_storage local;
    socklen_t localLen;
    (a.isV4() ? ip("0.0.0.0") : ip("::")).toSockaddr(sourcePort, local, localLen);
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&local), localLen) != 0) return {errno, {}};
  }
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return {errno, {}};
  if (send(fd.get(), "ping", 4, 0) != 4) return {errno, {}};
  pollfd p{fd.get(), POLLIN, 0};
  if (poll(&p, 1, 1500) != 1) return {ETIMEDOUT, {}};
  char buf[8];
  if (recv(fd.get(), buf, sizeof buf, 0) != 4) return {errno, {}};
  return o;
}

bool pingOk(const IpAddress& a) {
  return runShell(std::string("ping -n -c1 -W1 ") + (a.isV6() ? "-6 " : "") + a.toString() +
                  " >/dev/null 2>&1") == 0;
}

// ---- NFLOG -----------------------------------------------------------------------------

class NflogReader {
 public:
  explicit NflogReader(uint16_t group) {
    handle_.reset(nflog_open());
    if (!handle_) return;
    gh_.reset(nflog_bind_group(handle_.get(), group));
    if (!gh_) return;
    nflog_set_mode(gh_.get(), NFULNL_COPY_META, 0);
    nflog_set_qthresh(gh_.get(), 1);  // deliver each packet at once, not batched for 1 s
    nflog_callback_register(gh_.get(), &NflogReader::onPacket, this);
    int fd = nflog_fd(handle_.get());
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  bool ok() const { return gh_ != nullptr; }

  // Reads until `prefix` was seen or `limit` passed.
  bool waitFor(const std::string& prefix, milliseconds limit = milliseconds(3000)) {
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      drain(milliseconds(100));
      for (const auto& p : prefixes_)
        if (p == prefix) return true;
    }
    return false;
  }
  void drain(milliseconds wait) {
    pollfd p{nflog_fd(handle_.get()), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(wait.count())) != 1) return;
    char buf[65536];
    ssize_t n;
    while ((n = recv(p.fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
      nflog_handle_packet(handle_.get(), buf, static_cast<int>(n));
    }
  }
  const std::vector<std::string>& prefixes() const { return prefixes_; }
  void clear() { prefixes_.clear(); }

 private:
  static int onPacket(nflog_g_handle*, nfgenmsg*, nflog_data* nfa, void* data) {
    const char* prefix = nflog_get_prefix(nfa);
    static_cast<NflogReader*>(data)->prefixes_.push_back(prefix ? prefix : "");
    return 0;
  }
  CPtr<nflog_handle, nflog_close> handle_;
  CPtr<nflog_g_handle, nflog_unbind_group> gh_;
  std::vector<std::string> prefixes_;
};

// ---- the fixture -----------------------------------------------------------------------

enum class Mode { kEnforce, kAudit, kRemoved };

class EnforcementTrafficTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ZTDNS_ENTER_PRIVATE_NETNS_OR_SKIP();
    runShell("nft delete table inet ztdns 2>/dev/null");
    peer_ = std::make_unique<Peer>();
    ASSERT_TRUE(peer_->up()) << "could not build the peer namespace";
    auto a = PolicyApplier::create();
    ASSERT_TRUE(a.ok());
    applier_.emplace(std::move(*a));
    policy_.servers = {*Endpoint::parse("198.51.100.53:853"),
                       *Endpoint::parse("[2001:db8:53::53]:853")};
    policy_.exceptions = {
        {"relay", {*IpPrefix::parse("203.0.113.200/32"), *IpPrefix::parse("2001:db8:200::/48")}}};
    policy_.stubListeners = {*Endpoint::parse("127.0.0.1:5353")};
  }
  void TearDown() override {
    allow_.reset();
    peer_.reset();
    // Only ever inside our own namespace: a skipped test must not touch the host's tables.
    if (ztdns::testing::enterPrivateNetns().empty())
      runShell("nft delete table inet ztdns 2>/dev/null");
  }

  void apply(Mode mode) {
    if (mode == Mode::kRemoved) {
      ASSERT_TRUE(applier_->removeTable().ok());
      return;
    }
    policy_.audit = mode == Mode::kAudit;
    auto st = applier_->apply(policy_);
    ASSERT_TRUE(st.ok()) << st.error().message;
  }

  void allow(std::vector<AllowRequest> requests) {
    if (!allow_) {
      auto s = KernelAllowSet::create(io_, 1000, events_);
      ASSERT_TRUE(s.ok());
      allow_ = std::move(*s);
    }
    std::optional<Status> result;
    allow_->insert(std::move(requests), {"www.allowed.test", "pdns1"},
                   [&](Status st) { result = st; });
    io_.restart();
    while (!result) io_.run_one_for(milliseconds(100));
    ASSERT_TRUE(result->ok()) << result->error().message;
  }

  std::unique_ptr<Peer> peer_;
  std::optional<PolicyApplier> applier_;
  Policy policy_;
  asio::io_context io_;
  ztdns::testing::RecordingEventSink events_;
  std::unique_ptr<KernelAllowSet> allow_;
};

const char* modeName(Mode m) {
  return m == Mode::kEnforce ? "enforce" : m == Mode::kAudit ? "audit" : "removed";
}

TEST_F(EnforcementTrafficTest, MatrixOfDestinationsProtocolsAndModes) {
  struct Dest {
    const char* what;
    const char* v4;
    const char* v6;
    uint16_t port;
    bool allowedWhenEnforcing;
  };
  const Dest dests[] = {
      {"PDNS server port", "198.51.100.53", "2001:db8:53::53", 853, true},
      {"another port on the PDNS host", "198.51.100.53", "2001:db8:53::53", 80, false},
      {"exception", "203.0.113.200", "2001:db8:200::1", 80, true},
      {"resolved address", "203.0.113.80", "2001:db8:80::80", 80, true},
      {"hard-coded unresolved address", "203.0.113.81", "2001:db8:80::81", 80, false},
      {"unknown DoH resolver", "203.0.113.44", "2001:db8:80::44", 443, false},
  };
  struct UdpDest {
    const char* what;
    const char* v4;
    const char* v6;
    bool allowedWhenEnforcing;
  };
  const UdpDest udpDests[] = {
      {"rogue plaintext resolver", "203.0.113.53", "2001:db8:80::53", false},
      {"exception", "203.0.113.200", "2001:db8:200::1", true},
      {"resolved address", "203.0.113.80", "2001:db8:80::80", true},
      {"PDNS host (UDP is not the server's transport)", "198.51.100.53", "2001:db8:53::53", false},
  };
  const char* pingTargets[][3] = {{"resolved", "203.0.113.80", "2001:db8:80::80"},
                                  {"exception", "203.0.113.200", "2001:db8:200::1"},
                                  {"unresolved", "203.0.113.81", "2001:db8:80::81"}};

  for (Mode mode : {Mode::kEnforce, Mode::kAudit, Mode::kRemoved}) {
    apply(mode);
    if (mode != Mode::kRemoved) {
      allow({{ip("203.0.113.80"), 600}, {ip("2001:db8:80::80"), 600}});
    }
    const bool enforcing = mode == Mode::kEnforce;
    for (const auto& d : dests) {
      for (const char* addr : {d.v4, d.v6}) {
        auto o = tcpProbe(ip(addr), d.port);
        std::string cell = std::string(modeName(mode)) + " TCP " + d.what + " " + addr;
        if (!enforcing || d.allowedWhenEnforcing) {
          EXPECT_EQ(o.err, 0) << cell << ": " << std::strerror(o.err);
        } else {
          EXPECT_EQ(o.err, ECONNREFUSED) << cell << ": " << std::strerror(o.err);
          EXPECT_LT(o.elapsed, milliseconds(1000)) << cell << " must fail fast";
        }
      }
    }
    for (const auto& d : udpDests) {
      for (const char* addr : {d.v4, d.v6}) {
        auto o = udpProbe(ip(addr), 53);
        std::string cell = std::string(modeName(mode)) + " UDP " + d.what + " " + addr;
        if (!enforcing || d.allowedWhenEnforcing) {
          EXPECT_EQ(o.err, 0) << cell << ": " << std::strerror(o.err);
        } else {
          // The rejected datagram makes send() fail at once with EPERM.
          EXPECT_EQ(o.err, EPERM) << cell << ": " << std::strerror(o.err);
        }
      }
    }
    for (const auto& t : pingTargets) {
      for (const char* addr : {t[1], t[2]}) {
        bool expected = !enforcing || std::string(t[0]) != "unresolved";
        EXPECT_EQ(pingOk(ip(addr)), expected)
            << modeName(mode) << " ICMP echo to " << t[0] << " " << addr;
      }
    }
  }
}

TEST_F(EnforcementTrafficTest, AddingAndRemovingAnExceptionTakesEffectForNewConnections) {
  apply(Mode::kEnforce);
  EXPECT_EQ(tcpProbe(ip("203.0.113.81"), 80).err, ECONNREFUSED);
  policy_.exceptions.push_back({"new", {*IpPrefix::parse("203.0.113.81/32")}});
  apply(Mode::kEnforce);
  EXPECT_EQ(tcpProbe(ip("203.0.113.81"), 80).err, 0);
  policy_.exceptions.pop_back();
  apply(Mode::kEnforce);
  EXPECT_EQ(tcpProbe(ip("203.0.113.81"), 80).err, ECONNREFUSED);
}

TEST_F(EnforcementTrafficTest, LoopbackBlockedExceptTheStubListeners) {
  EchoServer local;
  local.addTcp(listenOn(ip("127.0.0.1"), 8080, SOCK_STREAM));
  local.addTcp(listenOn(ip("127.0.0.1"), 5353, SOCK_STREAM));
  local.addUdp(listenOn(ip("127.0.0.1"), 5353, SOCK_DGRAM));
  local.addTcp(listenOn(ip("0.0.0.0"), 5354, SOCK_STREAM));  // a stub on the any-address
  local.start();
  policy_.stubListeners.push_back(*Endpoint::parse("0.0.0.0:5354"));

  policy_.loopbackBlocked = false;
  apply(Mode::kEnforce);
  EXPECT_EQ(tcpProbe(ip("127.0.0.1"), 8080).err, 0);

  policy_.loopbackBlocked = true;
  apply(Mode::kEnforce);
  auto blocked = tcpProbe(ip("127.0.0.1"), 8080);
  EXPECT_EQ(blocked.err, ECONNREFUSED);
  EXPECT_LT(blocked.elapsed, milliseconds(1000));
  EXPECT_EQ(tcpProbe(ip("127.0.0.1"), 5353).err, 0) << "the stub's TCP listener";
  EXPECT_EQ(udpProbe(ip("127.0.0.1"), 5353).err, 0) << "the stub's UDP listener, and its reply";
  EXPECT_EQ(tcpProbe(ip("127.0.0.1"), 5354).err, 0) << "a stub listening on 0.0.0.0";
  // Remote destinations keep their own rules.
  EXPECT_EQ(tcpProbe(ip("198.51.100.53"), 853).err, 0);
  local.stop();
}

TEST_F(EnforcementTrafficTest, DhcpClientPortsPassWhileEnforcingAndOthersDoNot) {
  apply(Mode::kEnforce);
  EXPECT_EQ(udpProbe(ip("192.0.2.1"), 67, 68).err, 0) << "DHCPv4 client 68 -> server 67";
  EXPECT_EQ(udpProbe(ip("2001:db8:0:1::1"), 547, 546).err, 0) << "DHCPv6 client 546 -> 547";
  EXPECT_EQ(udpProbe(ip("192.0.2.1"), 67).err, EPERM) << "only from the client port";
  EXPECT_EQ(udpProbe(ip("2001:db8:0:1::1"), 547, 5460).err, EPERM);
  // IPv6 reached the peer at all, so neighbour discovery passed rule 3.
}

TEST_F(EnforcementTrafficTest, AnEstablishedFlowOutlivesItsAllowButANewConnectionIsBlocked) {
  apply(Mode::kEnforce);
  const auto a = ip("203.0.113.80");
  allow({{a, 2}});
  UniqueFd conn;
  ASSERT_EQ(tcpProbe(a, 80, &conn).err, 0);
  auto gone = Clock::now() + milliseconds(6000);
  bool expired = false;
  while (Clock::now() < gone && !expired) {
    auto list = dumpAllowSet(IpFamily::V4);
    expired = list && list->empty();
    if (!expired) std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_TRUE(expired) << "the allow did not expire";
  EXPECT_TRUE(tcpEcho(conn.get())) << "the established flow still carries data";
  EXPECT_EQ(tcpProbe(a, 80).err, ECONNREFUSED) << "a new connection is blocked";
}

TEST_F(EnforcementTrafficTest, NflogCarriesTheVerdictPrefixes) {
  NflogReader log(policy_.nflogGroup);
  ASSERT_TRUE(log.ok()) << "cannot bind NFLOG group";
  apply(Mode::kAudit);
  EXPECT_EQ(tcpProbe(ip("203.0.113.81"), 80).err, 0);
  EXPECT_TRUE(log.waitFor(log_prefix::kAudit)) << "audit: would-block logged";

  apply(Mode::kEnforce);
  log.clear();
  EXPECT_EQ(tcpProbe(ip("203.0.113.81"), 80).err, ECONNREFUSED);
  EXPECT_TRUE(log.waitFor(log_prefix::kBlock));

  policy_.logPermitted = true;
  apply(Mode::kEnforce);
  allow({{ip("203.0.113.80"), 600}});
  log.clear();
  EXPECT_EQ(tcpProbe(ip("203.0.113.200"), 80).err, 0);
  EXPECT_EQ(tcpProbe(ip("203.0.113.80"), 80).err, 0);
  EXPECT_EQ(tcpProbe(ip("198.51.100.53"), 853).err, 0);
  EXPECT_TRUE(log.waitFor(log_prefix::kPermitException));
  EXPECT_TRUE(log.waitFor(log_prefix::kPermitResolved));
  EXPECT_TRUE(log.waitFor(log_prefix::kPermitServer));
  // Only the first packet of each connection is logged: three connections, a handful of
  // packets each (handshake, data, close), and no more than one log line per connection.
  size_t permits = 0;
  for (const auto& p : log.prefixes()) permits += p.rfind("ztdns permit", 0) == 0;
  EXPECT_LE(permits, 6u) << "permitted connections logged per packet, not per connection";
}

TEST_F(EnforcementTrafficTest, TheLogGuardCountsWhatItSuppresses) {
  NflogReader log(policy_.nflogGroup);
  ASSERT_TRUE(log.ok());
  policy_.logPacketsPerSecond = 1;  // burst 5
  apply(Mode::kEnforce);
  auto before = applier_->readCounters();
  ASSERT_TRUE(before.ok());
  constexpr int kBurst = 100;
  auto t0 = Clock::now();
  for (int i = 0; i < kBurst; ++i) udpProbe(ip("203.0.113.53"), 53);
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - t0).count() + 1;
  auto after = applier_->readCounters();
  ASSERT_TRUE(after.ok());
  uint64_t blocked = after->blockedPackets - before->blockedPackets;
  uint64_t suppressed = after->logSuppressedPackets - before->logSuppressedPackets;
  EXPECT_EQ(blocked, static_cast<uint64_t>(kBurst));
  EXPECT_GE(suppressed, static_cast<uint64_t>(kBurst - 5 - seconds));
  // NFLOG delivers in batches: read until every logged packet has arrived.
  size_t logged = 0;
  for (auto end = Clock::now() + milliseconds(3000); Clock::now() < end;) {
    log.drain(milliseconds(100));
    logged = 0;
    for (const auto& p : log.prefixes()) logged += p == log_prefix::kBlock;
    if (logged + suppressed >= blocked) break;
  }
  EXPECT_EQ(logged + suppressed, blocked) << "every blocked packet is logged or counted";
}

}  // namespace
}  // namespace ztdns::enforce
