// The authorization test of issue 6: the real ztdns binary, run as an unprivileged user
// with setpriv, against a control socket with real peer credentials. A change is refused
// and nothing changes; a read is allowed or refused by membership of the read group.
// Needs root (to become other users); skipped otherwise.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>

#include "cli_fixture.h"

namespace ztdns::cli {
namespace {

constexpr gid_t kReadGroup = 4242;

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class CliAuthorization : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run ztdns as another user";
    control::ServerOptions o;
    o.socketPath = dir_.file("control.sock");
    o.readGroup = kReadGroup;  // the socket is root:4242 0660, as ztdnsd makes it for group ztdns
    auto s = control::Server::start(o, handler_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(*s);
    std::lock_guard lock(handler_.mutex());
    handler_.servers.push_back(
        {"pdns1",
         *IpAddress::parse("198.51.100.53"),
         10,
         {{control::Protocol::kDoT, 853, "pdns1.example.test", "", true, 1.0, ""}}});
  }

  // Runs ztdns under setpriv with `as` (setpriv options); stdout and stderr apart.
  RunResult ztdnsAs(const std::string& as, const std::vector<std::string>& args) {
    std::string cmd = "setpriv " + as + " " + quote(ZTDNS_CLI_BINARY) + " --socket " +
                      quote(dir_.file("control.sock"));
    for (const auto& a : args) cmd += " " + quote(a);
    cmd += " 2>" + quote(dir_.file("stderr"));
    RunResult r;
    FILE* p = ::popen(cmd.c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    int status = ::pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream err(dir_.file("stderr"));
    r.err.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
    return r;
  }

  void expectNothingChanged() {
    EXPECT_EQ(handler_.changeCalls(), 0u) << "no change reached the daemon";
    std::lock_guard lock(handler_.mutex());
    EXPECT_FALSE(handler_.state.enabled);
    EXPECT_EQ(handler_.servers.size(), 1u);
    EXPECT_TRUE(handler_.exceptions.empty());
  }

  const std::string nobody = "--reuid=65534 --regid=65534 --clear-groups";
  const std::string member = "--reuid=65534 --regid=65534 --groups=4242";
  testing::TempDir dir_;
  testing::FakeControlHandler handler_;
  std::unique_ptr<control::Server> server_;
};

TEST_F(CliAuthorization, AnOutsiderCannotReadOrChange) {
  std::string denied = "ztdns: permission denied on " + dir_.file("control.sock") +
                       ": ztdns needs root, CAP_NET_ADMIN or membership of group ztdns\n";
  auto read = ztdnsAs(nobody, {"show", "state"});
  EXPECT_EQ(read.rc, 1);
  EXPECT_EQ(read.err, denied);
  auto change = ztdnsAs(nobody, {"set", "state", "enable=yes", "audit=no"});
  EXPECT_EQ(change.rc, 1);
  EXPECT_EQ(change.err, denied);
  EXPECT_TRUE(handler_.calls().empty());
  expectNothingChanged();
}

TEST_F(CliAuthorization, TheReadGroupReadsButCannotChange) {
  auto read = ztdnsAs(member, {"show", "server"});
  EXPECT_EQ(read.rc, 0) << read.err;
  EXPECT_NE(read.out.find("pdns1  DoT"), std::string::npos) << read.out;
  std::string refusal =
      "ztdns: permission denied: changing ZTDNS needs root or CAP_NET_ADMIN, and uid 65534 "
      "(nobody) has neither; run "
      "it with sudo\n";
  for (auto args : std::vector<std::vector<std::string>>{
           {"set", "state", "enable=yes", "audit=no"},
           {"add", "exception", "name=sneaky", "subnets=0.0.0.0/0"},
           {"delete", "server"},
           {"log", "set", "permitted", "enable=yes"},
           {"reload"}}) {
    auto r = ztdnsAs(member, args);
    EXPECT_EQ(r.rc, 1) << args[0];
    EXPECT_EQ(r.err, refusal) << args[0];
  }
  expectNothingChanged();
  auto calls = handler_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].peer.uid, 65534u);
  char exe[4096];
  ssize_t n = ::readlink(
      ("/proc/self/fd/" + std::to_string(::open(ZTDNS_CLI_BINARY, O_RDONLY | O_CLOEXEC))).c_str(),
      exe, sizeof exe - 1);
  ASSERT_GT(n, 0);
  EXPECT_EQ(calls[0].peer.executable, std::string(exe, static_cast<size_t>(n)))
      << "the peer's executable is recorded";
}

TEST_F(CliAuthorization, RootAndCapNetAdminMayChange) {
  auto root = ztdnsAs("--reuid=0", {"set", "state", "enable=yes"});
  EXPECT_EQ(root.rc, 0) << root.err;
  {
    std::lock_guard lock(handler_.mutex());
    EXPECT_TRUE(handler_.state.enabled);
  }
  auto admin = ztdnsAs(member + " --inh-caps=+net_admin --ambient-caps=+net_admin",
                       {"set", "state", "enable=no"});
  if (admin.err.find("setpriv") != std::string::npos)
    GTEST_SKIP() << "setpriv cannot grant ambient capabilities here: " << admin.err;
  EXPECT_EQ(admin.rc, 0) << admin.err;
  {
    std::lock_guard lock(handler_.mutex());
    EXPECT_FALSE(handler_.state.enabled);
  }
  auto calls = handler_.calls();
  EXPECT_TRUE(calls.back().peer.netAdmin);
  EXPECT_FALSE(calls.back().peer.root);
}

}  // namespace
}  // namespace ztdns::cli
