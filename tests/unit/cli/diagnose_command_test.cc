// ztdns diagnose and ztdns suggest exceptions end to end through runCli(): facts from the
// fake daemon and from fixture host files, each check made to fail on purpose.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <fstream>

#include "cli_fixture.h"
#include "control/time_text.h"

namespace ztdns::cli {
namespace {

using nlohmann::json;

// A TCP listener on 127.0.0.1 (loopback only), for the connect step.
class Listener {
 public:
  Listener() {
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_.get(), 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  uint16_t port() const { return port_; }

 private:
  UniqueFd fd_;
  uint16_t port_ = 0;
};

class CliDiagnose : public CliFixture {
 protected:
  void SetUp() override {
    CliFixture::SetUp();
    std::filesystem::create_directories(dir_.file("proc/net"));
    std::filesystem::create_directories(dir_.file("browser"));
    writeFile("resolv.conf", "nameserver 127.0.0.1\n");
    env_["ZTDNS_RESOLV_CONF"] = dir_.file("resolv.conf");
    env_["ZTDNS_PROC_ROOT"] = dir_.file("proc");
    env_["ZTDNS_BROWSER_POLICY_ROOT"] = dir_.file("browser");
    std::lock_guard lock(handler_.mutex());
    handler_.state.enabled = true;
    handler_.state.audit = true;
    handler_.state.listenAddresses = {*Endpoint::parse("127.0.0.1:53")};
    for (const char* a : {"198.51.100.53", "198.51.100.54"}) {
      handler_.servers.push_back(
          {std::string("pdns-") + a,
           *IpAddress::parse(a),
           10,
           {{control::Protocol::kDoT, 853, "pdns.example.test", "", true, 1.0, ""}}});
      handler_.probes.servers.push_back({std::string("pdns-") + a,
                                         *IpAddress::parse(a),
                                         853,
                                         control::Protocol::kDoT,
                                         false,
                                         {{"connect", true, 0.5, "", ""},
                                          {"tls", true, 2.5, "", ""},
                                          {"query", true, 1.5, "", ""}}});
    }
    handler_.exceptions.push_back({"relay", "", {*IpPrefix::parse("203.0.113.200/31")}});
  }
  void writeFile(const std::string& rel, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(dir_.file(rel)).parent_path());
    std::ofstream(dir_.file(rel)) << text;
  }
  RunResult diagnose(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"diagnose", "name=localhost",
                                     "port=" + std::to_string(listener_.port())};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }
  // The status of the first check with this id, from the JSON report.
  static std::string status(const json& report, const std::string& id) {
    for (const auto& c : report["checks"])
      if (c["check"] == id) return c["status"];
    return "(absent)";
  }
  Listener listener_;
};

TEST_F(CliDiagnose, AllPassOnAHealthySetup) {
  auto r = diagnose();
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out.find("[FAIL]"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("[WARN]"), std::string::npos) << r.out;
  EXPECT_NE(
      r.out.find(
          "Step 1: trusted DNS servers are configured\n  [PASS] servers: 2 servers configured"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  [PASS] pdns-198.51.100.53 198.51.100.53:853 DoT: TCP connect 0.5 ms, TLS "
                       "handshake 2.5 ms, test query 1.5 ms"),
            std::string::npos);
  EXPECT_NE(
      r.out.find("[PASS] connect to localhost: TCP 127.0.0.1:" + std::to_string(listener_.port())),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("15 passed, 0 warnings, 0 failed.\n"), std::string::npos) << r.out;

  auto j = json::parse(
      run({"diagnose", "name=localhost", "port=" + std::to_string(listener_.port()), "json"}).out);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["summary"]["fail"], 0);
  EXPECT_EQ(j["checks"].size(), 15u);
}

TEST_F(CliDiagnose, Step1NoServer) {
  {
    std::lock_guard lock(handler_.mutex());
    handler_.servers.clear();
  }
  auto j = json::parse(diagnose({"json"}).out);
  EXPECT_EQ(status(j, "servers"), "FAIL");
  EXPECT_EQ(status(j, "server"), "SKIP");
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(diagnose().rc, 1);
}

TEST_F(CliDiagnose, Step2BrokenCertificateName) {
  {
    std::lock_guard lock(handler_.mutex());
    handler_.probes.servers[1].steps = {
        {"connect", true, 0.5, "", ""},
        {"tls", false, 2.0, "name-mismatch", "TLS: certificate name mismatch"}};
  }
  auto r = diagnose();
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("  [FAIL] pdns-198.51.100.54 198.51.100.54:853 DoT: TLS handshake failed "
                       "after 2.0 ms: TLS: "
                       "certificate name mismatch [name-mismatch]\n"
                       "         before that: TCP connect 0.5 ms\n"
                       "         remedy: the certificate does not carry the configured name"),
            std::string::npos)
      << r.out;
}

TEST_F(CliDiagnose, Step2StoppedServer) {
  {
    std::lock_guard lock(handler_.mutex());
    handler_.probes.servers[0].steps = {{"connect", false, 3000.0, "timeout", "connect: timeout"}};
  }
  auto r = diagnose();
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("TCP connect failed after 3000 ms: connect: timeout [timeout]"),
            std::string::npos)
      << r.out;
}

TEST_F(CliDiagnose, Step3ResolvConfElsewhere) {
  writeFile("resolv.conf", "nameserver 203.0.113.53\n");
  auto r = diagnose();
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("[FAIL] " + dir_.file("resolv.conf") +
                       ": the first nameserver is 203.0.113.53, not the stub (127.0.0.1)"),
            std::string::npos)
      << r.out;
}

TEST_F(CliDiagnose, Step3ConnectionFails) {
  auto r = run({"diagnose", "name=localhost", "port=1", "json"});
  auto j = json::parse(r.out);
  EXPECT_EQ(status(j, "connect"), "FAIL");
  EXPECT_EQ(r.rc, 1);
}

TEST_F(CliDiagnose, Step4PrivateAndOverlappingExceptions) {
  {
    std::lock_guard lock(handler_.mutex());
    handler_.exceptions.push_back({"lan", "", {*IpPrefix::parse("192.168.0.0/16")}});
    handler_.exceptions.push_back({"relay-host", "", {*IpPrefix::parse("203.0.113.201")}});
  }
  auto r = diagnose();
  EXPECT_EQ(r.rc, 0) << "warnings do not fail";
  EXPECT_NE(
      r.out.find(
          "  [WARN] exceptions: private ranges: exceptions cover private or link-local ranges"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("         lan: 192.168.0.0/16 is RFC 1918 private (192.168.0.0/16)\n"),
            std::string::npos);
  EXPECT_NE(
      r.out.find(
          "  [WARN] exceptions: overlaps: 1 prefix is duplicated or inside another exception's "
          "prefix\n"
          "         203.0.113.201/32 lies inside 203.0.113.200/31 (in relay and relay-host)\n"),
      std::string::npos)
      << r.out;
}

TEST_F(CliDiagnose, Step4LoopbackBlockedWithResolvedInResolvConf) {
  {
    std::lock_guard lock(handler_.mutex());
    handler_.state.loopbackBlocked = true;
  }
  writeFile("resolv.conf", "nameserver 127.0.0.53\n");
  auto j = json::parse(diagnose({"json"}).out);
  EXPECT_EQ(status(j, "loopback"), "FAIL");
  EXPECT_EQ(status(j, "resolv-conf"), "FAIL");
}

TEST_F(CliDiagnose, Step4AnotherDnsDaemonOnPort53) {
  writeFile("proc/net/udp",
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
            "timeout inode ref pointer drops\n"
            "  1: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   991      "
            "  0 777 2 0000000000000000 0\n");
  auto r = diagnose();
  EXPECT_NE(
      r.out.find("  [WARN] port 53: another DNS server listens on port 53: an unknown process\n"
                 "         an unknown process: 127.0.0.53:53/udp\n"),
      std::string::npos)
      << r.out;
}

TEST_F(CliDiagnose, Step4AListenerBeyondLoopback) {
  {
    std::lock_guard lock(handler_.mutex());
    handler_.state.listenAddresses.push_back(*Endpoint::parse("0.0.0.0:5353"));
  }
  auto r = diagnose();
  EXPECT_EQ(r.rc, 0) << "a warning, not a failure";
  EXPECT_NE(r.out.find("  [WARN] stub listeners: the stub listens beyond loopback: other hosts "
                       "could query it, and every answer adds addresses to this host's allow set\n"
                       "         0.0.0.0:5353 is not a loopback address\n"
                       "         remedy: set listenAddresses in the config file to loopback "
                       "addresses only (127.0.0.1:53, [::1]:53), then ztdns reload\n"),
            std::string::npos)
      << r.out;
}

TEST_F(CliDiagnose, Step4Ipv6WithoutAnIpv6Server) {
  writeFile("proc/net/if_inet6", "20010db8000000010000000000000010 02 40 00 80  eth0\n");
  writeFile("proc/net/ipv6_route",
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
            "20010db8000000010000000000000001 "
            "00000400 00000001 00000000 00000003     eth0\n");
  auto j = json::parse(diagnose({"json"}).out);
  EXPECT_EQ(status(j, "ipv6"), "WARN");
}

TEST_F(CliDiagnose, Step4BrowserPolicy) {
  writeFile("browser/etc/opt/chrome/policies/managed/doh.json",
            R"({"DnsOverHttpsMode": "secure"})");
  auto r = diagnose();
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(
      r.out.find("  [FAIL] browser DoH policies: a browser policy leaves a built-in DoH client on"),
      std::string::npos)
      << r.out;
}

TEST_F(CliDiagnose, Step5AuditFindings) {
  auto now =
      control::formatRfc3339(std::chrono::system_clock::now() - std::chrono::minutes(10), true);
  auto oldTime =
      control::formatRfc3339(std::chrono::system_clock::now() - std::chrono::hours(5), true);
  {
    std::lock_guard lock(handler_.mutex());
    for (int i = 0; i < 3; ++i) {
      handler_.blockedEvents.push_back(json{{"time", now},
                                            {"action", "AUDIT"},
                                            {"audit", true},
                                            {"protocol", "tcp"},
                                            {"dst", "203.0.113.81"},
                                            {"dstPort", 443},
                                            {"process", "/usr/bin/curl"}});
    }
    handler_.blockedEvents.push_back(json{{"time", oldTime},
                                          {"action", "AUDIT"},
                                          {"protocol", "udp"},
                                          {"dst", "203.0.113.53"},
                                          {"dstPort", 53},
                                          {"process", "/usr/bin/dig"}});
  }
  auto r = diagnose();
  EXPECT_NE(r.out.find("  [WARN] blocked connections: 3 connections would have been blocked (audit "
                       "mode) in the last 1h\n"
                       "         top destinations: 203.0.113.81:443/tcp (3)\n"
                       "         top processes: /usr/bin/curl (3)\n"),
            std::string::npos)
      << r.out;
  auto wide = diagnose({"since=1d"});
  EXPECT_NE(wide.out.find("4 connections would have been blocked (audit mode) in the last 1d"),
            std::string::npos)
      << wide.out;
  EXPECT_EQ(run({"diagnose", "since=0"}).rc, 2);
  EXPECT_EQ(run({"diagnose", "name=a..b"}).rc, 2);
}

TEST_F(CliDiagnose, DaemonDownStillChecksTheHost) {
  server_.reset();
  writeFile("browser/etc/opt/chrome/policies/managed/doh.json",
            R"({"DnsOverHttpsMode": "automatic"})");
  auto r = diagnose({"json"});
  EXPECT_EQ(r.rc, 1);
  auto j = json::parse(r.out);
  EXPECT_EQ(status(j, "servers"), "FAIL");
  EXPECT_EQ(status(j, "resolv-conf"), "PASS");
  EXPECT_EQ(status(j, "browser-policy"), "WARN");
  EXPECT_EQ(status(j, "audit"), "SKIP");
  EXPECT_EQ(status(j, "listener-not-loopback"), "SKIP") << "not judged from assumed listeners";
}

// ---- suggest exceptions -----------------------------------------------------------------

TEST_F(CliDiagnose, SuggestFromAFile) {
  std::string file = std::string(ZTDNS_CLI_TEST_DATA) + "/blocked_sample.jsonl";
  auto r = run({"suggest", "exceptions", "file=" + file});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "note: 2 unreadable lines skipped (not connection events)\n");
  EXPECT_EQ(
      r.out,
      "2 proposals from 11 blocked connections (left out: 8 to destinations already excepted).\n"
      "\n"
      "1. curl  (/usr/bin/curl)\n"
      "   seen:      2 connections (0 audit, 2 blocked) to 1 address, public\n"
      "   when:      2026-05-01T10:00:08Z to 2026-05-01T10:00:09Z\n"
      "   ports:     tcp/443 (2)\n"
      "   prefixes:  203.0.113.81/32 (2)\n"
      "   ztdns add exception name=curl description=\"suggested by ztdns for /usr/bin/curl: 2 "
      "blocked connections "
      "(tcp/443) 2026-05-01T10:00:08Z to 2026-05-01T10:00:09Z\" subnets=203.0.113.81/32\n"
      "\n"
      "2. ping-private  (/usr/bin/ping)\n"
      "   seen:      1 connection (1 audit, 0 blocked) to 1 address, private\n"
      "   when:      2026-05-01T10:00:11Z to 2026-05-01T10:00:11Z\n"
      "   ports:     icmp (1)\n"
      "   prefixes:  192.168.7.1/32 (1)\n"
      "   flags:     private: private range: it means different hosts on every network; prefer a "
      "DNS name the PDNS allows\n"
      "              icmp: ICMP (ping, traceroute) to addresses that were not resolved through the "
      "stub\n"
      "   ztdns add exception name=ping-private description=\"suggested by ztdns for "
      "/usr/bin/ping: 1 blocked "
      "connection (icmp) 2026-05-01T10:00:11Z to 2026-05-01T10:00:11Z\" subnets=192.168.7.1/32\n");
}

TEST_F(CliDiagnose, SuggestFromTheDaemonSkipsWhatIsExcepted) {
  auto recent =
      control::formatRfc3339(std::chrono::system_clock::now() - std::chrono::minutes(1), true);
  {
    std::lock_guard lock(handler_.mutex());
    for (const char* dst : {"203.0.113.200", "203.0.113.201", "203.0.113.202", "203.0.113.203"}) {
      handler_.blockedEvents.push_back(
          json{{"time", recent},
               {"action", "AUDIT"},
               {"protocol", "udp"},
               {"dst", dst},
               {"dstPort", 3478},
               {"process", "/usr/bin/meet"},
               // the unit field: a systemd unit, else the cgroup
               {"unit", std::string(dst) == "203.0.113.203" ? "/docker/abc" : "/"}});
    }
  }
  auto text = run({"suggest", "exceptions", "since=1h"});
  EXPECT_NE(text.out.find("\n1. meet  (/usr/bin/meet, cgroup /docker/abc)\n"), std::string::npos)
      << "a cgroup path is no unit, and the root cgroup says nothing\n"
      << text.out;
  auto j = json::parse(run({"suggest", "exceptions", "since=1h", "json"}).out);
  ASSERT_EQ(j["proposals"].size(), 1u);
  EXPECT_EQ(j["alreadyExcepted"], 2) << "203.0.113.200/31 is the relay exception";
  EXPECT_EQ(j["proposals"][0]["name"], "meet");
  EXPECT_EQ(j["proposals"][0]["prefixes"][0]["prefix"], "203.0.113.202/31");
  EXPECT_EQ(j["proposals"][0]["flags"][0], "stun-turn");
  EXPECT_EQ(run({"suggest", "exceptions", "min=0"}).rc, 2);
  EXPECT_EQ(run({"suggest", "everything"}).rc, 2);
  EXPECT_EQ(run({"suggest", "exceptions", "file=/nonexistent.jsonl"}).err,
            "ztdns: file: cannot read /nonexistent.jsonl: No such file or directory\n");
  EXPECT_EQ(run({"suggest", "exceptions", "file=/"}).err,
            "ztdns: file: cannot read /: it is a directory\n");
  // A garbage line among the daemon's events is skipped and counted, never a proposal.
  {
    std::lock_guard lock(handler_.mutex());
    handler_.blockedEvents.push_back(json{{"time", "bad"}});
  }
  auto garbage = run({"suggest", "exceptions"});
  EXPECT_EQ(garbage.rc, 0);
  EXPECT_EQ(garbage.err, "note: 1 unreadable line skipped (not a connection event)\n");
  EXPECT_EQ(garbage.out.rfind("1 proposal from 4 blocked connections", 0), 0u) << garbage.out;
}

}  // namespace
}  // namespace ztdns::cli
