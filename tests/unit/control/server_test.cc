// The control server over a real Unix socket, with the fake handler: requests and answers,
// the socket's owner and mode, robustness against bad clients, and authorization by the
// peer's real credentials (the authorization tests need root to become other users).
#include "control/server.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <fstream>
#include <thread>

#include "control/client.h"
#include "fake_control_handler.h"
#include "test_socket.h"

namespace ztdns::control {
namespace {

using nlohmann::json;
using testing::FakeControlHandler;
using testing::RawConnection;
using testing::TempDir;
using namespace std::chrono_literals;

std::string request(uint64_t id, const std::string& method, const json& params = json::object()) {
  return json{{"version", 1}, {"id", id}, {"method", method}, {"params", params}}.dump() + "\n";
}

json answer(RawConnection& c) {
  auto line = c.readLine();
  if (!line) return json();
  return json::parse(*line, nullptr, false);
}

class ControlServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions o = {}) {
    o.socketPath = dir_.file("control.sock");
    if (!o.readGroup) o.readGroupName = "ztdns-no-such-group-for-tests";
    auto s = Server::start(o, handler_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(*s);
  }
  std::string path() const { return dir_.file("control.sock"); }

  TempDir dir_;
  FakeControlHandler handler_;
  std::unique_ptr<Server> server_;
};

TEST_F(ControlServerTest, AnswersTypedCallsAndRecordsThePeer) {
  start();
  auto client = Client::connect(path(), 5s);
  ASSERT_TRUE(client.ok()) << client.error().message;
  auto ping = client->call<Method::kPing>({}, 5s);
  ASSERT_TRUE(ping.ok()) << ping.error().message;
  EXPECT_EQ(ping->protocolVersion, 1);

  AddServerParams add{Protocol::kDoT,
                      *IpAddress::parse("198.51.100.53"),
                      853,
                      "pdns1.example.test",
                      "",
                      std::nullopt,
                      "pdns1"};
  auto added = client->call<Method::kAddServer>(add, 5s);
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_EQ(added->name, "pdns1");
  auto state = client->call<Method::kSetState>({true, std::nullopt}, 5s);
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_TRUE(state->enabled);
  EXPECT_TRUE(state->audit);  // kept: the first enable is audit mode

  auto calls = handler_.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[1].method, "add.server");
  EXPECT_EQ(calls[1].peer.pid, ::getpid());
  EXPECT_EQ(calls[1].peer.uid, ::geteuid());
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  ASSERT_GT(n, 0);
  EXPECT_EQ(calls[1].peer.executable, std::string(exe, static_cast<size_t>(n)));
  EXPECT_EQ(calls[1].peer.command.empty(), false);
}

TEST_F(ControlServerTest, FiltersAndNotFound) {
  start();
  {
    std::lock_guard lock(handler_.mutex());
    handler_.servers.push_back({"a", *IpAddress::parse("198.51.100.53"), 100, {}});
    handler_.servers.push_back({"b", *IpAddress::parse("198.51.100.54"), 100, {}});
    handler_.exceptions.push_back({"relay", "", {*IpPrefix::parse("203.0.113.200/31")}});
  }
  auto client = Client::connect(path(), 5s);
  ASSERT_TRUE(client.ok());
  auto one = client->call<Method::kShowServer>({*IpAddress::parse("198.51.100.54")}, 5s);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->servers.size(), 1u);
  EXPECT_EQ(one->servers[0].name, "b");
  auto none = client->call<Method::kShowServer>({*IpAddress::parse("198.51.100.99")}, 5s);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(errorCodeOf(none.error()), ErrorCode::kNotFound);
  EXPECT_EQ(none.error().message, "no server with address 198.51.100.99 is configured");
  auto exc = client->call<Method::kShowException>({std::string("nope")}, 5s);
  ASSERT_FALSE(exc.ok());
  EXPECT_EQ(exc.error().message, "no exception named \"nope\"");
  auto all = client->call<Method::kShowException>({}, 5s);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->exceptions.size(), 1u);
}

TEST_F(ControlServerTest, SocketModeFollowsTheReadGroup) {
  ServerOptions o;
  o.readGroup = 4242;  // need not exist in /etc/group
  start(o);
  struct stat st {};
  ASSERT_EQ(::stat(path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_gid, ::geteuid() == 0 ? 4242u : st.st_gid);
  server_.reset();
  EXPECT_NE(::access(path().c_str(), F_OK), 0) << "stop() removes the socket";

  start();  // no such group: owner only
  ASSERT_EQ(::stat(path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ControlServerTest, ReplacesAStaleSocketButNotALiveOne) {
  start();
  ServerOptions o;
  o.socketPath = path();
  o.readGroupName = "ztdns-no-such-group-for-tests";
  FakeControlHandler other;
  auto second = Server::start(o, other);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().message, "control socket: another ztdnsd already answers on " + path());

  // A socket file that nobody serves (a crashed daemon) is replaced.
  server_.reset();
  RawConnection probe;
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path().c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  start();
  auto client = Client::connect(path(), 5s);
  ASSERT_TRUE(client.ok());
  EXPECT_TRUE(client->call<Method::kPing>({}, 5s).ok());

  // A path that is not a socket is never removed.
  server_.reset();
  { std::ofstream(path()) << "precious"; }
  auto refused = Server::start(o, other);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "control socket: " + path() + " exists and is not a socket");
}

TEST_F(ControlServerTest, BadLinesAreAnsweredAndTheConnectionGoesOn) {
  start();
  RawConnection c;
  ASSERT_TRUE(c.connect(path()));
  ASSERT_TRUE(c.send("this is not json\n"));
  json a = answer(c);
  EXPECT_EQ(a["ok"], false);
  EXPECT_EQ(a["code"], "bad-request");
  EXPECT_EQ(a["id"], nullptr);
  EXPECT_EQ(a["error"], "the request is not valid JSON");

  ASSERT_TRUE(c.send(
      R"({"version":1,"id":9,"method":"add.exception","params":{"name":"x","subnets":["10.0.0.0/33"]}})"
      "\n"));
  a = answer(c);
  EXPECT_EQ(a["id"], 9);
  EXPECT_EQ(a["code"], "invalid-params");
  EXPECT_EQ(a["error"], "params.subnets[0]: \"10.0.0.0/33\" is not a prefix");
  EXPECT_EQ(handler_.changeCalls(), 0u) << "an invalid change never reaches the handler";

  ASSERT_TRUE(c.send("\n  \n" + request(10, "ping")));  // blank lines are ignored
  a = answer(c);
  EXPECT_EQ(a["id"], 10);
  EXPECT_EQ(a["ok"], true);
  EXPECT_GE(server_->counters().badRequests, 2u);
}

TEST_F(ControlServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  RawConnection c;
  ASSERT_TRUE(c.connect(path()));
  ASSERT_TRUE(c.send(request(1, "ping") + request(2, "show.state") + request(3, "show.server")));
  for (int id = 1; id <= 3; ++id) {
    json a = answer(c);
    EXPECT_EQ(a["id"], id);
    EXPECT_EQ(a["ok"], true) << a.dump();
  }
}

TEST_F(ControlServerTest, OversizedRequestIsRefusedAndTheDaemonCarriesOn) {
  ServerOptions o;
  o.maxRequestBytes = 4096;
  start(o);
  RawConnection c;
  ASSERT_TRUE(c.connect(path()));
  c.send(std::string(10000, 'x'));  // may fail part-way once the server hangs up
  json a = answer(c);
  EXPECT_EQ(a["code"], "too-large");
  EXPECT_EQ(a["error"], "the request is larger than 4096 bytes");
  EXPECT_TRUE(c.closedWithin(5s));
  auto client = Client::connect(path(), 5s);
  ASSERT_TRUE(client.ok());
  EXPECT_TRUE(client->call<Method::kPing>({}, 5s).ok());
}

TEST_F(ControlServerTest, HandlerExceptionsAndSilenceBecomeErrors) {
  ServerOptions o;
  o.handlerTimeout = 300ms;
  start(o);
  auto client = Client::connect(path(), 5s);
  ASSERT_TRUE(client.ok());
  handler_.throwNext = true;
  auto thrown = client->call<Method::kShowState>({}, 5s);
  ASSERT_FALSE(thrown.ok());
  EXPECT_EQ(errorCodeOf(thrown.error()), ErrorCode::kInternal);
  EXPECT_EQ(thrown.error().message, "internal error: fake failure in show.state");

  handler_.neverReply = true;
  auto silent = client->call<Method::kShowStats>({}, 5s);
  ASSERT_FALSE(silent.ok());
  EXPECT_EQ(errorCodeOf(silent.error()), ErrorCode::kTimeout);
  EXPECT_EQ(silent.error().message, "ztdnsd did not finish show.stats in time");
  handler_.neverReply = false;
  EXPECT_TRUE(client->call<Method::kPing>({}, 5s).ok()) << "the same connection still works";
}

TEST_F(ControlServerTest, IdleAndSlowConnectionsAreClosed) {
  ServerOptions o;
  o.idleTimeout = 200ms;
  start(o);
  RawConnection idle;
  ASSERT_TRUE(idle.connect(path()));
  EXPECT_TRUE(idle.closedWithin(5s));
  RawConnection slow;  // half a request, then nothing
  ASSERT_TRUE(slow.connect(path()));
  ASSERT_TRUE(slow.send(R"({"version":1,)"));
  EXPECT_TRUE(slow.closedWithin(5s));
  EXPECT_GE(server_->counters().timeouts, 2u);
  auto client = Client::connect(path(), 5s);
  ASSERT_TRUE(client.ok());
  EXPECT_TRUE(client->call<Method::kPing>({}, 5s).ok());
}

TEST_F(ControlServerTest, ConnectionsBeyondTheCapAreToldToRetry) {
  ServerOptions o;
  o.maxConnections = 2;
  start(o);
  RawConnection a, b, c;
  ASSERT_TRUE(a.connect(path()));
  ASSERT_TRUE(a.send(request(1, "ping")));
  ASSERT_EQ(answer(a)["ok"], true);
  ASSERT_TRUE(b.connect(path()));
  ASSERT_TRUE(b.send(request(1, "ping")));
  ASSERT_EQ(answer(b)["ok"], true);
  ASSERT_TRUE(c.connect(path()));
  json busy = answer(c);
  EXPECT_EQ(busy["code"], "busy");
  EXPECT_TRUE(c.closedWithin(5s));
}

TEST_F(ControlServerTest, StopWithConnectionsOpenAndARequestInFlight) {
  start();
  handler_.neverReply = true;
  RawConnection c;
  ASSERT_TRUE(c.connect(path()));
  ASSERT_TRUE(c.send(request(1, "show.state")));
  // Wait until the handler has the request, then stop under it.
  for (int i = 0; i < 200 && handler_.calls().empty(); ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(handler_.calls().size(), 1u);
  server_->stop();
  EXPECT_TRUE(c.closedWithin(5s));
  EXPECT_NE(::access(path().c_str(), F_OK), 0);
}

// ---- authorization with real credentials ----------------------------------------------

struct PeerSetup {
  std::vector<gid_t> groups;      // supplementary groups of the child
  bool netAdmin = false;          // keep CAP_NET_ADMIN across the uid change
  bool ownUserNamespace = false;  // unshare a user namespace (all capabilities inside it)
};

// Forks a child that becomes uid/gid 65534 as `setup` says, sends `line` and returns the
// answer line (or "CONNECT <errno>"). The child only makes system calls.
std::string askAsNobody(const std::string& socketPath, const std::string& line,
                        const PeerSetup& setup) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    auto die = [&](const char* what) {
      ::write(fds[1], what, std::strlen(what));
      ::_exit(1);
    };
    if (::setgroups(setup.groups.size(), setup.groups.data()) != 0) die("setgroups");
    if (::setresgid(65534, 65534, 65534) != 0) die("setresgid");
    if (setup.netAdmin && ::prctl(PR_SET_KEEPCAPS, 1) != 0) die("keepcaps");
    if (::setresuid(65534, 65534, 65534) != 0) die("setresuid");
    if (setup.netAdmin) {
      __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
      __user_cap_data_struct data[2] = {};
      data[0].effective = data[0].permitted = 1u << CAP_NET_ADMIN;
      if (::syscall(SYS_capset, &hdr, data) != 0) die("capset");
    }
    if (setup.ownUserNamespace && ::unshare(CLONE_NEWUSER) != 0) die("unshare");
    int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socketPath.c_str(), socketPath.size());
    if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      char msg[32];
      int len = std::snprintf(msg, sizeof msg, "CONNECT %d", errno);
      ::write(fds[1], msg, static_cast<size_t>(len));
      ::_exit(0);
    }
    ::write(s, line.data(), line.size());
    char buf[8192];
    size_t got = 0;
    while (got < sizeof buf) {
      ssize_t n = ::read(s, buf + got, sizeof buf - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
      if (std::memchr(buf, '\n', got)) break;
    }
    ::write(fds[1], buf, got);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class ControlAuthorizationTest : public ControlServerTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run requests as other users";
  }
  static constexpr gid_t kReadGroup = 4242;
  void startOpen() {
    ServerOptions o;
    o.readGroup = kReadGroup;
    o.socketMode = 0666;  // so that the daemon's own refusal can be seen
    start(o);
  }
};

TEST_F(ControlAuthorizationTest, NobodyIsRefusedEverythingWithAClearMessage) {
  startOpen();
  auto read = json::parse(askAsNobody(path(), request(1, "show.state"), {}), nullptr, false);
  EXPECT_EQ(read["code"], "permission-denied");
  EXPECT_EQ(read["error"],
            "permission denied: reading ZTDNS needs root, CAP_NET_ADMIN or membership of group "
            "ztdns, and uid "
            "65534 (nobody) has none of them");
  auto change = json::parse(askAsNobody(path(), request(2, "set.state", {{"enable", true}}), {}),
                            nullptr, false);
  EXPECT_EQ(change["code"], "permission-denied");
  EXPECT_EQ(change["error"],
            "permission denied: changing ZTDNS needs root or CAP_NET_ADMIN, and uid 65534 (nobody) "
            "has neither; run "
            "it with sudo");
  EXPECT_TRUE(handler_.calls().empty()) << "the handler never saw a refused request";
  EXPECT_EQ(server_->counters().refused, 2u);
}

TEST_F(ControlAuthorizationTest, TheReadGroupMayReadButNotChange) {
  startOpen();
  PeerSetup member{{kReadGroup}, false, false};
  auto read = json::parse(askAsNobody(path(), request(1, "show.state"), member), nullptr, false);
  EXPECT_EQ(read["ok"], true) << read.dump();
  auto change = json::parse(
      askAsNobody(path(), request(2, "set.state", {{"enable", true}}), member), nullptr, false);
  EXPECT_EQ(change["code"], "permission-denied") << change.dump();
  ASSERT_EQ(handler_.calls().size(), 1u);
  EXPECT_EQ(handler_.calls()[0].method, "show.state");
  EXPECT_EQ(handler_.calls()[0].peer.uid, 65534u);
  EXPECT_TRUE(handler_.calls()[0].peer.inReadGroup);
  std::lock_guard lock(handler_.mutex());
  EXPECT_FALSE(handler_.state.enabled) << "nothing changed";
}

TEST_F(ControlAuthorizationTest, CapNetAdminMayChange) {
  startOpen();
  PeerSetup admin{{}, true, false};
  auto change = json::parse(
      askAsNobody(path(), request(1, "log.set", {{"channel", "permitted"}, {"enable", true}}),
                  admin),
      nullptr, false);
  EXPECT_EQ(change["ok"], true) << change.dump();
  ASSERT_EQ(handler_.calls().size(), 1u);
  EXPECT_TRUE(handler_.calls()[0].peer.netAdmin);
  EXPECT_FALSE(handler_.calls()[0].peer.root);
}

TEST_F(ControlAuthorizationTest, CapabilitiesInsideAnotherUserNamespaceDoNotCount) {
  startOpen();
  PeerSetup userns{{}, false, true};
  std::string raw = askAsNobody(path(), request(1, "set.state", {{"enable", false}}), userns);
  if (raw == "unshare") GTEST_SKIP() << "unprivileged user namespaces are disabled here";
  auto change = json::parse(raw, nullptr, false);
  EXPECT_EQ(change["code"], "permission-denied") << raw;
  EXPECT_TRUE(handler_.calls().empty());
}

TEST_F(ControlAuthorizationTest, TheDefaultModeKeepsOthersOffTheSocket) {
  ServerOptions o;
  o.readGroup = kReadGroup;
  start(o);  // 0660 root:4242
  EXPECT_EQ(askAsNobody(path(), request(1, "show.state"), {}), "CONNECT " + std::to_string(EACCES));
  auto member = json::parse(
      askAsNobody(path(), request(1, "show.state"), {{kReadGroup}, false, false}), nullptr, false);
  EXPECT_EQ(member["ok"], true);
}

}  // namespace
}  // namespace ztdns::control
