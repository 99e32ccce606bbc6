// diagnose: every check made to pass and to fail on purpose, from fixture facts; and the
// host-file parsers on fixture text.
#include <gtest/gtest.h>
#include <netdb.h>

#include <fstream>

#include "../control/test_socket.h"
#include "cli/diagnose_checks.h"
#include "cli/host_facts.h"
#include "control/protocol.h"

namespace ztdns::cli {
namespace {

using control::ServerList;

const std::vector<Endpoint> kListen = {*Endpoint::parse("127.0.0.1:53"),
                                       *Endpoint::parse("[::1]:53")};

ServerList twoServers() {
  ServerList l;
  l.servers.push_back({"pdns1",
                       *IpAddress::parse("198.51.100.53"),
                       10,
                       {{control::Protocol::kDoT, 853, "pdns1.example.test", "", true, 1.0, ""}}});
  l.servers.push_back({"pdns2",
                       *IpAddress::parse("198.51.100.54"),
                       20,
                       {{control::Protocol::kDoH, 443, "pdns2.example.test",
                         "https://pdns2.example.test/dns-query", true, std::nullopt, ""}}});
  return l;
}

control::ServerProbe probe(const std::string& name, const std::string& addr, uint16_t port,
                           control::Protocol p, std::vector<control::ProbeStep> steps) {
  return control::ServerProbe{name, *IpAddress::parse(addr), port, p, false, std::move(steps)};
}

TEST(DiagnoseChecks, Step1Servers) {
  EXPECT_EQ(checkServersConfigured(twoServers()).status, CheckStatus::kPass);
  EXPECT_EQ(checkServersConfigured(twoServers()).message,
            "2 servers configured: pdns1 (198.51.100.53), pdns2 (198.51.100.54)");
  auto none = checkServersConfigured(ServerList{});
  EXPECT_EQ(none.status, CheckStatus::kFail);
  EXPECT_EQ(none.message, "no trusted DNS server is configured");
  ServerList one;
  one.servers.push_back(twoServers().servers[0]);
  EXPECT_EQ(checkServersConfigured(one).status, CheckStatus::kWarn);
  auto down = checkServersConfigured(Result<ServerList>(Error{"cannot reach ztdnsd: ..."}));
  EXPECT_EQ(down.status, CheckStatus::kFail);
  EXPECT_EQ(down.message, "cannot reach ztdnsd: ...");
}

TEST(DiagnoseChecks, Step2ProbesReportTheExactReason) {
  control::DiagnoseServerResult probes;
  probes.servers.push_back(probe(
      "pdns1", "198.51.100.53", 853, control::Protocol::kDoT,
      {{"connect", true, 0.4, "", ""}, {"tls", true, 3.2, "", ""}, {"query", true, 1.5, "", ""}}));
  probes.servers.push_back(
      probe("pdns2", "198.51.100.54", 443, control::Protocol::kDoH,
            {{"connect", true, 0.5, "", ""},
             {"tls", false, 2.0, "name-mismatch",
              "TLS: certificate name mismatch (expected pdns2.example.test)"}}));
  auto checks = checkServerProbes(twoServers(), probes);
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].status, CheckStatus::kPass);
  EXPECT_EQ(checks[0].subject, "pdns1 198.51.100.53:853 DoT");
  EXPECT_EQ(checks[0].message, "TCP connect 0.4 ms, TLS handshake 3.2 ms, test query 1.5 ms");
  EXPECT_EQ(checks[1].status, CheckStatus::kFail);
  EXPECT_EQ(checks[1].message,
            "TLS handshake failed after 2.0 ms: TLS: certificate name mismatch (expected "
            "pdns2.example.test) [name-mismatch]");
  EXPECT_EQ(checks[1].details, std::vector<std::string>{"before that: TCP connect 0.5 ms"});
  EXPECT_EQ(checks[1].remedy,
            "the certificate does not carry the configured name: fix hostname=/template= (delete "
            "and add the server) "
            "or the server's certificate");

  // Every reason gets its own remedy; an unknown one a generic remedy.
  control::ServerProbe p = probes.servers[0];
  std::set<std::string> remedies;
  for (const char* reason :
       {"refused", "timeout", "network", "certificate-expired", "name-mismatch", "unknown-ca",
        "certificate-invalid", "pin-mismatch", "client-certificate-rejected", "tls", "closed",
        "http", "bad-answer"}) {
    remedies.insert(probeRemedy(reason, p));
  }
  EXPECT_EQ(remedies.size(), 13u);
  EXPECT_EQ(probeRemedy("novel", p), "check the server and ztdns log show operational");

  control::DiagnoseServerResult partial;
  partial.servers.push_back(probes.servers[0]);
  auto missing = checkServerProbes(twoServers(), partial);
  EXPECT_EQ(missing[1].status, CheckStatus::kWarn);
  EXPECT_EQ(missing[1].message, "not probed");
}

TEST(DiagnoseChecks, Step3ResolvConf) {
  auto check = [](const std::string& text) {
    return checkResolvConf(parseResolvConf(text), kListen, "/etc/resolv.conf");
  };
  EXPECT_EQ(check("nameserver 127.0.0.1\nnameserver ::1\n").status, CheckStatus::kPass);
  auto elsewhere = check("# from DHCP\nnameserver 192.0.2.1\n");
  EXPECT_EQ(elsewhere.status, CheckStatus::kFail);
  EXPECT_EQ(elsewhere.message, "the first nameserver is 192.0.2.1, not the stub (127.0.0.1, ::1)");
  EXPECT_EQ(elsewhere.remedy,
            "write 'nameserver 127.0.0.1' to /etc/resolv.conf and stop whatever rewrites it "
            "(NetworkManager dns=none, "
            "resolvconf, systemd-resolved)");
  auto resolved = check("nameserver 127.0.0.53\noptions edns0 trust-ad\n");
  EXPECT_EQ(resolved.status, CheckStatus::kFail);
  EXPECT_EQ(resolved.message,
            "the first nameserver is 127.0.0.53, not the stub (127.0.0.1, ::1); 127.0.0.53 is "
            "systemd-resolved");
  auto mixed = check("nameserver 127.0.0.1\nnameserver 192.0.2.1\n");
  EXPECT_EQ(mixed.status, CheckStatus::kWarn);
  EXPECT_EQ(mixed.message,
            "the stub comes first, but resolv.conf also lists 192.0.2.1, which applications fall "
            "back to");
  auto empty = check("search example.test\n");
  EXPECT_EQ(empty.status, CheckStatus::kWarn);
  auto unreadable = checkResolvConf(
      Result<ResolvConf>(Error{"cannot read /nope: No such file or directory"}), kListen, "/nope");
  EXPECT_EQ(unreadable.status, CheckStatus::kFail);
  auto noPort53 = checkResolvConf(parseResolvConf("nameserver 127.0.0.1\n"),
                                  {*Endpoint::parse("127.0.0.1:5353")}, "/r");
  EXPECT_EQ(noPort53.status, CheckStatus::kFail);
}

TEST(DiagnoseChecks, Step3LookupAndConnect) {
  LookupOutcome ok{true, false, 0, "", {*IpAddress::parse("203.0.113.80")}, 2.0};
  EXPECT_EQ(checkLookup("www.allowed.test", ok).message, "203.0.113.80 in 2.0 ms");
  LookupOutcome nx{false, false, EAI_NONAME, "Name or service not known", {}, 1.0};
  auto nxCheck = checkLookup("blocked.test", nx);
  EXPECT_EQ(nxCheck.status, CheckStatus::kFail);
  EXPECT_NE(nxCheck.remedy.find("the PDNS may block it"), std::string::npos);
  LookupOutcome slow{false, true, 0, "no answer within 10 s", {}, 10000};
  EXPECT_NE(checkLookup("x.test", slow).remedy.find("did not answer"), std::string::npos);

  Endpoint e{*IpAddress::parse("203.0.113.81"), 443};
  auto blocked = checkConnect("x.test", {{e, false, EPERM, "Operation not permitted", 0.1}});
  EXPECT_EQ(blocked.status, CheckStatus::kFail);
  EXPECT_EQ(blocked.details, std::vector<std::string>{"203.0.113.81:443: Operation not permitted"});
  EXPECT_NE(blocked.remedy.find("the local firewall refused it"), std::string::npos);
  auto good = checkConnect("x.test", {{e, false, ECONNREFUSED, "Connection refused", 0.1},
                                      {Endpoint{e.address, 80}, true, 0, "", 0.3}});
  EXPECT_EQ(good.status, CheckStatus::kPass);
  EXPECT_EQ(good.message, "TCP 203.0.113.81:80 in 0.3 ms");
}

TEST(DiagnoseChecks, Step4ExceptionsOverlapPrivateAndBroad) {
  std::vector<control::ExceptionInfo> clean = {
      {"relay", "", {*IpPrefix::parse("203.0.113.200/31")}},
      {"v6", "", {*IpPrefix::parse("2001:db8:200::/48")}}};
  for (const auto& c : checkExceptions(clean))
    EXPECT_EQ(c.status, CheckStatus::kPass) << c.id << ": " << c.message;

  std::vector<control::ExceptionInfo> messy = {
      {"wide", "", {*IpPrefix::parse("203.0.113.0/24"), *IpPrefix::parse("10.1.0.0/16")}},
      {"narrow", "", {*IpPrefix::parse("203.0.113.200/31")}},
      {"again", "", {*IpPrefix::parse("203.0.113.0/24"), *IpPrefix::parse("fe80::1")}},
  };
  auto checks = checkExceptions(messy);
  ASSERT_EQ(checks.size(), 3u);
  EXPECT_EQ(checks[0].id, "exceptions-overlap");
  EXPECT_EQ(checks[0].status, CheckStatus::kWarn);
  EXPECT_EQ(checks[0].message, "2 prefixes are duplicated or inside another exception's prefix");
  EXPECT_EQ(checks[0].details,
            (std::vector<std::string>{
                "203.0.113.0/24 is listed twice (in wide and again)",
                "203.0.113.200/31 lies inside 203.0.113.0/24 (in again and narrow)"}));
  EXPECT_EQ(checks[1].id, "exceptions-private");
  EXPECT_EQ(checks[1].status, CheckStatus::kWarn);
  EXPECT_EQ(checks[1].details,
            (std::vector<std::string>{"wide: 10.1.0.0/16 is RFC 1918 private (10.0.0.0/8)",
                                      "again: fe80::1/128 is IPv6 link-local (fe80::/10)"}));
  EXPECT_EQ(checks[2].status, CheckStatus::kPass);

  auto everything = checkExceptions({{"all", "", {*IpPrefix::parse("0.0.0.0/0")}}});
  EXPECT_EQ(everything[2].status, CheckStatus::kFail);
  EXPECT_EQ(everything[2].details,
            std::vector<std::string>{"all: 0.0.0.0/0 allows every destination"});
  EXPECT_EQ(everything[1].status, CheckStatus::kWarn) << "0.0.0.0/0 covers the private ranges too";
  auto wide = checkExceptions({{"big", "", {*IpPrefix::parse("2001::/12")}}});
  EXPECT_EQ(wide[2].status, CheckStatus::kWarn);
  auto cgnat = checkExceptions({{"carrier", "", {*IpPrefix::parse("100.64.1.0/24")}}});
  EXPECT_EQ(cgnat[1].details,
            std::vector<std::string>{"carrier: 100.64.1.0/24 is CGNAT shared (100.64.0.0/10)"});
}

TEST(DiagnoseChecks, Step4LoopbackSwitch) {
  EXPECT_EQ(checkLoopback(false, parseResolvConf("nameserver 127.0.0.53\n"), kListen).status,
            CheckStatus::kPass);
  auto ok = checkLoopback(true, parseResolvConf("nameserver 127.0.0.1\n"), kListen);
  EXPECT_EQ(ok.status, CheckStatus::kPass);
  EXPECT_EQ(
      ok.message,
      "loopback traffic is blocked; the stub's listeners (127.0.0.1:53, [::1]:53) are exempt");
  auto conflict = checkLoopback(true, parseResolvConf("nameserver 127.0.0.53\n"), kListen);
  EXPECT_EQ(conflict.status, CheckStatus::kFail);
  EXPECT_EQ(conflict.message,
            "loopback traffic is blocked, and resolv.conf names 127.0.0.53, a loopback address "
            "that is not a stub "
            "listener: those queries are blocked");
}

TEST(DiagnoseChecks, Step4ListenersOnLoopbackOnly) {
  auto ok = checkListeners({*Endpoint::parse("127.0.0.1:53"), *Endpoint::parse("127.0.0.2:5353"),
                            *Endpoint::parse("[::1]:53")});
  EXPECT_EQ(ok.status, CheckStatus::kPass);
  EXPECT_EQ(ok.id, "listener-not-loopback");
  EXPECT_EQ(ok.message,
            "the stub listens on loopback addresses only (127.0.0.1:53, 127.0.0.2:5353, [::1]:53)");
  auto open = checkListeners({*Endpoint::parse("127.0.0.1:53"), *Endpoint::parse("0.0.0.0:5353"),
                              *Endpoint::parse("[::]:53"), *Endpoint::parse("192.0.2.10:53")});
  EXPECT_EQ(open.status, CheckStatus::kWarn);
  EXPECT_EQ(open.message,
            "the stub listens beyond loopback: other hosts could query it, and every answer adds "
            "addresses to this host's allow set");
  EXPECT_EQ(open.details, (std::vector<std::string>{"0.0.0.0:5353 is not a loopback address",
                                                    "[::]:53 is not a loopback address",
                                                    "192.0.2.10:53 is not a loopback address"}));
  EXPECT_EQ(open.remedy,
            "set listenAddresses in the config file to loopback addresses only (127.0.0.1:53, "
            "[::1]:53), then ztdns reload");
}

TEST(DiagnoseChecks, Step4Port53) {
  std::vector<BoundSocket> sockets = {
      {"udp", *IpAddress::parse("127.0.0.1"), 53, 11},
      {"tcp", *IpAddress::parse("127.0.0.1"), 53, 12},
      {"udp", *IpAddress::parse("127.0.0.53"), 53, 21},
      {"tcp", *IpAddress::parse("127.0.0.53"), 53, 22},
      {"udp", *IpAddress::parse("192.0.2.10"), 5353, 31},
  };
  std::map<uint64_t, SocketOwner> owners = {{11, {500, "ztdnsd", ""}},
                                            {12, {500, "ztdnsd", ""}},
                                            {21, {300, "systemd-resolve", ""}},
                                            {22, {300, "systemd-resolve", ""}}};
  auto c = checkPort53(sockets, owners, kListen, 500);
  EXPECT_EQ(c.status, CheckStatus::kWarn);
  EXPECT_EQ(c.message, "another DNS server listens on port 53: systemd-resolve (pid 300)");
  EXPECT_EQ(c.details, std::vector<std::string>{
                           "systemd-resolve (pid 300): 127.0.0.53:53/udp, 127.0.0.53:53/tcp"});

  // Someone else holding the stub's own address is a failure.
  std::map<uint64_t, SocketOwner> squatter = {{11, {700, "dnsmasq", ""}}};
  auto taken = checkPort53({sockets[0]}, squatter, kListen, 500);
  EXPECT_EQ(taken.status, CheckStatus::kFail);
  // Only the stub: fine, even when owners cannot be read.
  EXPECT_EQ(checkPort53({sockets[0], sockets[1]}, {}, kListen, 0).status, CheckStatus::kPass);
}

TEST(DiagnoseChecks, Step4Ipv6) {
  Ipv6Facts none;
  EXPECT_EQ(checkIpv6(none, twoServers(), std::nullopt).status, CheckStatus::kPass);
  Ipv6Facts v6{{*IpAddress::parse("2001:db8:0:1::10")}, true};
  auto noServer = checkIpv6(v6, twoServers(), control::DiagnoseServerResult{});
  EXPECT_EQ(noServer.status, CheckStatus::kWarn);
  EXPECT_EQ(noServer.message,
            "IPv6 is configured (2001:db8:0:1::10, default route) but no server has an IPv6 "
            "address: DNS depends on IPv4 alone");
  ServerList withV6 = twoServers();
  withV6.servers.push_back(
      {"pdns6",
       *IpAddress::parse("2001:db8:53::53"),
       30,
       {{control::Protocol::kDoT, 853, "pdns1.example.test", "", true, std::nullopt, ""}}});
  control::DiagnoseServerResult failed;
  failed.servers.push_back(probe("pdns6", "2001:db8:53::53", 853, control::Protocol::kDoT,
                                 {{"connect", false, 3000.0, "timeout", "connect: timeout"}}));
  EXPECT_EQ(checkIpv6(v6, withV6, failed).status, CheckStatus::kWarn);
  control::DiagnoseServerResult works;
  works.servers.push_back(probe(
      "pdns6", "2001:db8:53::53", 853, control::Protocol::kDoT,
      {{"connect", true, 1.0, "", ""}, {"tls", true, 1.0, "", ""}, {"query", true, 1.0, "", ""}}));
  EXPECT_EQ(checkIpv6(v6, withV6, works).status, CheckStatus::kPass);
}

TEST(DiagnoseChecks, Step5AuditFindings) {
  EventBatch empty;
  EXPECT_EQ(checkAuditFindings(empty, 3600).message, "no blocked connections in the last 1h");
  EventBatch batch;
  auto add = [&](const std::string& process, const std::string& dst, uint16_t port, int n,
                 bool audit = true) {
    for (int i = 0; i < n; ++i) {
      ConnectionEvent e;
      e.action = audit ? "AUDIT" : "BLOCK";
      e.audit = audit;
      e.protocol = "tcp";
      e.dst = *IpAddress::parse(dst);
      e.dstPort = port;
      e.process = process;
      batch.events.push_back(e);
    }
  };
  add("/usr/bin/curl", "203.0.113.81", 443, 3);
  add("/usr/bin/app", "203.0.113.44", 443, 1);
  auto c = checkAuditFindings(batch, 3600);
  EXPECT_EQ(c.status, CheckStatus::kWarn);
  EXPECT_EQ(c.message, "4 connections would have been blocked (audit mode) in the last 1h");
  EXPECT_EQ(c.details, (std::vector<std::string>{
                           "top destinations: 203.0.113.81:443/tcp (3), 203.0.113.44:443/tcp (1)",
                           "top processes: /usr/bin/curl (3), /usr/bin/app (1)"}));
  EXPECT_EQ(c.remedy,
            "review them with ztdns log show blocked since=1h, and let ztdns suggest exceptions "
            "since=1h propose exceptions");
  // The window mixes enforcement and audit mode: each is counted as what it was.
  add("/usr/bin/curl", "203.0.113.81", 443, 7, false);
  EXPECT_EQ(checkAuditFindings(batch, 3600).message,
            "7 connections were blocked and 4 would have been blocked (audit mode) in the last 1h");
  batch.events.erase(batch.events.begin() + 1, batch.events.end() - 1);
  EXPECT_EQ(checkAuditFindings(batch, 3600).message,
            "1 connection was blocked and 1 would have been blocked (audit mode) in the last 1h");
  batch.events.erase(batch.events.begin());
  EXPECT_EQ(checkAuditFindings(batch, 3600).message, "1 connection was blocked in the last 1h");
  add("/usr/bin/app", "203.0.113.44", 443, 3, false);
  EXPECT_EQ(checkAuditFindings(batch, 3600).message, "4 connections were blocked in the last 1h");
  batch.events.resize(1);
  batch.events[0].audit = true;
  EXPECT_EQ(checkAuditFindings(batch, 3600).message,
            "1 connection would have been blocked (audit mode) in the last 1h");
}

TEST(DiagnoseChecks, Step1RemedyFitsTheError) {
  auto permission = checkServersConfigured(Result<control::ServerList>(control::makeError(
      control::ErrorCode::kPermissionDenied, "permission denied on /run/ztdns/control.sock")));
  EXPECT_EQ(permission.status, CheckStatus::kFail);
  EXPECT_EQ(permission.remedy,
            "run it as root (sudo ztdns diagnose) or as a member of group ztdns (usermod -aG ztdns "
            "USER, then log in again); without that group, create it (groupadd ztdns) and restart "
            "ztdnsd (systemctl restart ztdnsd.service)");
  auto down = checkServersConfigured(Result<control::ServerList>(control::makeError(
      control::ErrorCode::kUnavailable, "cannot reach ztdnsd: there is no control socket")));
  EXPECT_EQ(down.remedy,
            "start ztdnsd (systemctl start ztdnsd.service), or name its socket with --socket or "
            "ZTDNS_SOCKET");
  auto slow = checkServersConfigured(
      Result<control::ServerList>(control::makeError(control::ErrorCode::kTimeout, "timeout")));
  EXPECT_NE(slow.remedy.find("systemctl status ztdnsd.service"), std::string::npos);
}

TEST(HostFacts, ResolvConfParsing) {
  auto rc = parseResolvConf(
      "# comment\nnameserver 127.0.0.1 # stub\n  nameserver\tfe80::1%eth0\nnameserver bogus\n"
      "search example.test\nnameserver ::ffff:192.0.2.1\n");
  EXPECT_EQ(rc.nameservers,
            (std::vector<IpAddress>{*IpAddress::parse("127.0.0.1"), *IpAddress::parse("fe80::1"),
                                    *IpAddress::parse("192.0.2.1")}));
  EXPECT_EQ(rc.unparsable, std::vector<std::string>{"bogus"});
}

TEST(HostFacts, ProcNetSockets) {
  // 127.0.0.53:53 LISTEN, 0.0.0.0:22 LISTEN, an established connection (skipped).
  std::string tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
      "inode\n"
      "   0: 3500007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000   991        0 "
      "24680 1 0 100 0 0 10 0\n"
      "   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
      "13579 1 0 100 0 0 10 0\n"
      "   2: 0A00020A:D431 5000710C:01BB 01 00000000:00000000 02:000A7F1B 00000000  1000        0 "
      "99999 2 0 20 4 30 10 -1\n";
  auto s = parseProcNetSockets(tcp, true, false);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].address.toString(), "127.0.0.53");
  EXPECT_EQ(s[0].port, 53);
  EXPECT_EQ(s[0].inode, 24680u);
  EXPECT_EQ(s[1].port, 22);
  // ::1 port 53 in udp6 (state 07).
  std::string udp6 =
      "  sl  local_address                         remote_address                        st "
      "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
      "  0: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07 "
      "00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 0\n";
  auto u = parseProcNetSockets(udp6, false, true);
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].address.toString(), "::1");
  EXPECT_EQ(u[0].protocol, "udp");
}

TEST(HostFacts, Ipv6FactsFromProc) {
  std::string ifInet6 =
      "20010db8000000010000000000000010 02 40 00 80  eth0\n"
      "fe800000000000000000000000000010 02 40 20 80  eth0\n"
      "00000000000000000000000000000001 01 80 10 80    lo\n"
      "20010db8000000010000000000000099 02 40 00 c0  eth0\n";  // tentative
  std::string route =
      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
      "20010db8000000010000000000000001 00000400 00000001 00000000 00000003     eth0\n"
      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
      "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";
  auto f = parseIpv6Facts(ifInet6, route);
  EXPECT_EQ(f.globalAddresses, std::vector<IpAddress>{*IpAddress::parse("2001:db8:0:1::10")});
  EXPECT_TRUE(f.defaultRoute);
  EXPECT_TRUE(f.configured());
  auto noRoute = parseIpv6Facts(ifInet6, route.substr(route.find('\n') + 1));
  EXPECT_FALSE(noRoute.defaultRoute) << "the lo reject route is not a default route";
}

TEST(HostFacts, BrowserPoliciesUnderATemporaryRoot) {
  testing::TempDir root;
  auto write = [&](const std::string& rel, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root.path() + rel).parent_path());
    std::ofstream(root.path() + rel) << text;
  };
  std::vector<std::string> files;
  EXPECT_TRUE(scanBrowserPolicies(root.path(), &files).empty());
  EXPECT_EQ(checkBrowserPolicies({}, files).status, CheckStatus::kPass);

  write("/etc/opt/chrome/policies/managed/dns.json",
        R"({"DnsOverHttpsMode": "off", "BuiltInDnsClientEnabled": false})");
  files.clear();
  auto findings = scanBrowserPolicies(root.path(), &files);
  EXPECT_EQ(files.size(), 1u);
  EXPECT_EQ(checkBrowserPolicies(findings, files).status, CheckStatus::kPass);

  write(
      "/etc/chromium/policies/managed/doh.json",
      R"({"DnsOverHttpsMode": "secure", "DnsOverHttpsTemplates": "https://dns.example/dns-query"})");
  write("/usr/lib/firefox-esr/distribution/policies.json",
        R"({"policies": {"DNSOverHTTPS": {"Enabled": true, "Locked": true}}})");
  write("/etc/opt/edge/policies/managed/broken.json", "{not json");
  files.clear();
  findings = scanBrowserPolicies(root.path(), &files);
  EXPECT_EQ(files.size(), 4u);
  auto c = checkBrowserPolicies(findings, files);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_EQ(c.details.size(), 3u);
  EXPECT_NE(c.details[0].find("DnsOverHttpsMode=secure"), std::string::npos) << c.details[0];
  EXPECT_EQ(c.remedy,
            "set DnsOverHttpsMode to \"off\" and BuiltInDnsClientEnabled to false in the managed "
            "policy; set "
            "DNSOverHTTPS {\"Enabled\": false, \"Locked\": true} in policies.json");

  auto automatic = inspectChromePolicy(
      "f", nlohmann::json{{"DnsOverHttpsMode", "automatic"}, {"BuiltInDnsClientEnabled", true}});
  ASSERT_EQ(automatic.size(), 2u);
  EXPECT_EQ(automatic[0].severity, 1);
  EXPECT_EQ(automatic[1].severity, 1);
  auto trr = inspectFirefoxPolicy(
      "f",
      nlohmann::json::parse(R"({"policies":{"Preferences":{"network.trr.mode":{"Value":3}}}})"));
  ASSERT_EQ(trr.size(), 1u);
  EXPECT_EQ(trr[0].severity, 2);
  auto trrOff = inspectFirefoxPolicy(
      "f", nlohmann::json::parse(R"({"policies":{"Preferences":{"network.trr.mode":5}}})"));
  EXPECT_EQ(trrOff[0].severity, 0);
}

}  // namespace
}  // namespace ztdns::cli
