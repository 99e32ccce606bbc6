// journald output against a real systemd-journald, started by the test in its own mount
// and network namespaces: tmpfs over /run/systemd and /run/log, a journald.conf of our own
// bind-mounted over the system one (volatile storage, no kmsg, no syslog forwarding). The
// host's journal, /run and /etc are never touched. Skips without root or journald.
#include "observe/journal.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "netns.h"
#include "observe/connection_event.h"
#include "observe/log_sink.h"
#include "observe/operational_events.h"

extern char** environ;

namespace ztdns::observe {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char* kJournald = "/lib/systemd/systemd-journald";

class RealJournal : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      skip_ = "not root";
      return;
    }
    if (!fs::exists(kJournald) || !fs::exists("/usr/bin/journalctl")) {
      skip_ = "systemd-journald is not installed";
      return;
    }
    if (!fs::is_directory("/run/systemd") || !fs::is_directory("/run/log") ||
        !fs::exists("/etc/systemd/journald.conf")) {
      skip_ = "no /run/systemd, /run/log or /etc/systemd/journald.conf to mount over";
      return;
    }
    // Before any thread exists: a private mount namespace and network namespace.
    if (::unshare(CLONE_NEWNS | CLONE_NEWNET) != 0) {
      skip_ = std::string("unshare: ") + std::strerror(errno);
      return;
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", "/run/systemd", "tmpfs", 0, "mode=0755") != 0 ||
        ::mount("tmpfs", "/run/log", "tmpfs", 0, "mode=0755") != 0) {
      skip_ = std::string("mount: ") + std::strerror(errno);
      return;
    }
    fs::create_directories("/run/systemd/journal");
    conf_ = "/run/log/ztdns-test-journald.conf";
    std::ofstream(conf_) << "[Journal]\nStorage=volatile\nForwardToSyslog=no\nForwardToKMsg=no\n"
                            "ForwardToConsole=no\nForwardToWall=no\nReadKMsg=no\nAudit=no\n";
    if (::mount(conf_.c_str(), "/etc/systemd/journald.conf", nullptr, MS_BIND, nullptr) != 0) {
      skip_ = std::string("bind mount journald.conf: ") + std::strerror(errno);
      return;
    }
    // fork + PR_SET_PDEATHSIG: journald goes away with the test even if the test crashes.
    journald_ = ::fork();
    if (journald_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      char* argv[] = {const_cast<char*>(kJournald), nullptr};
      ::execve(kJournald, argv, environ);
      ::_exit(127);
    }
    if (journald_ < 0) {
      skip_ = "cannot start systemd-journald";
      return;
    }
    for (int i = 0; i < 100 && !fs::exists(kJournalSocket); ++i) std::this_thread::sleep_for(50ms);
    if (!fs::exists(kJournalSocket)) skip_ = "systemd-journald did not create its socket";
  }

  static void TearDownTestSuite() {
    if (journald_ > 0) {
      ::kill(journald_, SIGTERM);
      ::waitpid(journald_, nullptr, 0);
    }
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }

  // journalctl -o json, one object per entry written by ztdns.
  static std::vector<nlohmann::json> entries() {
    std::string out;
    testing::runShell(
        "journalctl -D /run/log/journal --no-pager -o json SYSLOG_IDENTIFIER=ztdns 2>/dev/null",
        &out);
    std::vector<nlohmann::json> v;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded()) v.push_back(j);
    }
    return v;
  }

  static std::string skip_;
  static std::string conf_;
  static pid_t journald_;
};

std::string RealJournal::skip_;
std::string RealJournal::conf_;
pid_t RealJournal::journald_ = -1;

TEST_F(RealJournal, EventsCarryTheirFieldsAndFilterByChannel) {
  std::string dir = "/run/log/ztdns-test-logs";
  {
    LogSinkOptions o;
    o.directory = dir;
    o.permittedEnabled = true;
    LogSink sink(o);
    ConnectionEvent e;
    e.time = std::chrono::system_clock::now();
    e.action = ConnectionAction::Permit;
    e.protocol = 6;
    e.src = *IpAddress::parse("192.0.2.10");
    e.dst = *IpAddress::parse("203.0.113.80");
    e.srcPort = 40000;
    e.dstPort = 443;
    e.process.pid = 1234;
    e.process.executable = "/usr/bin/curl";
    e.reason = PermitReason{PermitType::Resolved, "www.allowed.test", "pdns1"};
    sink.emit(toEvent(e));
    e.action = ConnectionAction::Audit;
    e.reason.reset();
    e.dstPort = 8443;
    sink.emit(toEvent(e));
    sink.emit(ops::upstreamHealth("pdns1", false, "TLS: certificate has expired"));
    ASSERT_TRUE(sink.flush());
    EXPECT_TRUE(sink.journalActive());
    EXPECT_EQ(sink.stats().journalSent, 3u);
  }
  std::vector<nlohmann::json> got;
  for (int i = 0; i < 100 && got.size() < 3; ++i) {
    got = entries();
    if (got.size() < 3) std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(got.size(), 3u);
  std::map<std::string, nlohmann::json> byChannel;
  for (const auto& j : got) byChannel[j.value("ZTDNS_CHANNEL", "")] = j;
  auto permit = byChannel["PermittedConnections"];
  EXPECT_EQ(permit["ZTDNS_EVENT_ID"], "1");
  EXPECT_EQ(permit["ZTDNS_ACTION"], "PERMIT");
  EXPECT_EQ(permit["ZTDNS_DST"], "203.0.113.80");
  EXPECT_EQ(permit["ZTDNS_DST_PORT"], "443");
  EXPECT_EQ(permit["ZTDNS_PID"], "1234");
  EXPECT_EQ(permit["ZTDNS_PROCESS"], "/usr/bin/curl");
  EXPECT_EQ(permit["ZTDNS_REASON_TYPE"], "resolved");
  EXPECT_EQ(permit["ZTDNS_REASON_NAME"], "www.allowed.test");
  EXPECT_EQ(permit["ZTDNS_REASON_SERVER"], "pdns1");
  EXPECT_NE(permit.value("MESSAGE", "").find("PERMIT - Connection"), std::string::npos);
  auto audit = byChannel["BlockedConnections"];
  EXPECT_EQ(audit["ZTDNS_EVENT_ID"], "2");
  EXPECT_EQ(audit["ZTDNS_AUDIT"], "true");
  auto op = byChannel["Operational"];
  EXPECT_EQ(op["ZTDNS_EVENT_ID"], "101");
  EXPECT_EQ(op["ZTDNS_STATE"], "down");
  EXPECT_EQ(op["PRIORITY"], "4");
  // journalctl filters by channel, as operators will.
  std::string out;
  testing::runShell("journalctl -D /run/log/journal --no-pager -o cat ZTDNS_CHANNEL=Operational",
                    &out);
  EXPECT_NE(out.find("HEALTH - Server pdns1 is down: TLS: certificate has expired"),
            std::string::npos);
  EXPECT_EQ(out.find("PERMIT"), std::string::npos);
}

}  // namespace
}  // namespace ztdns::observe
