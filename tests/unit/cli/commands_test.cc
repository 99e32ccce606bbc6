// Every verb through runCli() against a real control socket served with the fake handler:
// arguments, exit codes (0 ok, 1 failure, 2 usage), messages, tables and JSON.
#include <gtest/gtest.h>

#include <fstream>

#include "../control/test_certs.h"
#include "cli/arg_specs.h"
#include "cli_fixture.h"
#include "control/time_text.h"

namespace ztdns::cli {
namespace {

using nlohmann::json;

class CliCommands : public CliFixture {
 protected:
  void addServers() {
    std::lock_guard lock(handler_.mutex());
    handler_.servers.push_back(
        {"pdns1",
         *IpAddress::parse("198.51.100.53"),
         10,
         {{control::Protocol::kDoT, 853, "pdns1.example.test", "", true, 1.25, ""}}});
    handler_.servers.push_back({"pdns2",
                                *IpAddress::parse("198.51.100.54"),
                                20,
                                {{control::Protocol::kDoH, 443, "pdns2.example.test",
                                  "https://pdns2.example.test/dns-query", false, std::nullopt,
                                  "TLS: certificate name mismatch"}}});
  }
};

// ---- help, global options ---------------------------------------------------------------

TEST_F(CliCommands, HelpAndUsage) {
  auto none = run({});
  EXPECT_EQ(none.rc, 2);
  EXPECT_NE(none.err.find("Usage: ztdns"), std::string::npos);
  auto help = run({"help"});
  EXPECT_EQ(help.rc, 0);
  EXPECT_NE(help.out.find("suggest exceptions"), std::string::npos);
  EXPECT_EQ(run({"--help"}).rc, 0);
  auto showHelp = run({"show", "help"});
  EXPECT_EQ(showHelp.rc, 0);
  EXPECT_NE(showHelp.out.find("show server [address=IP]"), std::string::npos);
  auto addServerHelp = run({"add", "server", "help"});
  EXPECT_EQ(addServerHelp.rc, 0);
  EXPECT_NE(addServerHelp.out.find("template   DoH"), std::string::npos);
  EXPECT_EQ(run({"help", "add", "exception"}).out.rfind("Usage: ztdns add exception", 0), 0u);
  EXPECT_EQ(run({"diagnose", "?"}).rc, 0);
  for (const char* verb :
       {"show", "set", "add", "delete", "log", "resolve", "diagnose", "suggest", "reload"}) {
    auto r = run({verb, "help"});
    EXPECT_EQ(r.rc, 0) << verb;
    EXPECT_EQ(r.out.rfind("Usage:", 0), 0u) << verb;
  }
  auto noTopic = run({"help", "frobnicate"});
  EXPECT_EQ(noTopic.rc, 2);
  EXPECT_EQ(noTopic.err, "ztdns: no help for \"frobnicate\"\nRun 'ztdns help' for usage.\n");
  auto unknown = run({"frobnicate"});
  EXPECT_EQ(unknown.rc, 2);
  EXPECT_EQ(unknown.err,
            "ztdns: unknown verb \"frobnicate\" (show, set, add, delete, log, resolve, diagnose, "
            "suggest, reload, help)\n"
            "Run 'ztdns help' for usage.\n");
  EXPECT_EQ(run({"--version"}).out, "ztdns 0.1.0 (control protocol 1)\n");
  EXPECT_NE(help.out.find("--version"), std::string::npos);
  // Each show object has its own help.
  auto showServer = run({"show", "server", "help"});
  EXPECT_EQ(showServer.rc, 0);
  EXPECT_EQ(showServer.out.rfind("Usage: ztdns show server [address=IP] [json]\n", 0), 0u)
      << showServer.out;
  EXPECT_EQ(run({"help", "show", "exception"})
                .out.rfind("Usage: ztdns show exception [name=NAME] [json]\n", 0),
            0u);
  EXPECT_EQ(run({"log", "show", "blocked", "help"}).out.rfind("Usage: ztdns log show", 0), 0u);
  EXPECT_TRUE(handler_.calls().empty()) << "help never calls the daemon";
}

// The help's usage lines come from the same ArgSpecs the commands parse with; every key
// of every verb is in the overview and in the verb's own help.
TEST_F(CliCommands, HelpNamesEveryArgumentEveryCommandAccepts) {
  std::string general = run({"help"}).out;
  for (const auto& spec : allArgSpecs()) {
    auto topic = run({"help", spec.verb});
    ASSERT_EQ(topic.rc, 0) << spec.verb;
    EXPECT_EQ(topic.out.find("Usage:"), 0u) << spec.verb;
    EXPECT_NE(topic.out.find("ztdns " + spec.verb), std::string::npos) << spec.verb;
    // The overview's lines for this verb (a verb may have several, like add server).
    std::string lines;
    for (size_t at = general.find("\n  " + spec.verb + " "); at != std::string::npos;
         at = general.find("\n  " + spec.verb + " ", at + 1)) {
      size_t end = general.find("\n  ", at + 1);
      lines += general.substr(at, end - at);
    }
    if (spec.keys.empty()) {
      EXPECT_NE(general.find("\n  " + spec.verb), std::string::npos) << spec.verb;
    }
    for (const auto& k : spec.keys) {
      EXPECT_NE(topic.out.find(k.key + "="), std::string::npos)
          << "ztdns help " << spec.verb << " leaves out " << k.key << "=";
      if (spec.verb == "resolve" && k.key == "name") continue;  // an alias of NAME
      EXPECT_NE(lines.find(k.key + "="), std::string::npos)
          << "ztdns help leaves out " << spec.verb << " " << k.key << "=\n"
          << lines;
    }
  }
  EXPECT_NE(general.find("add exception name=NAME [description=\"TEXT\"] subnets=CIDR[,CIDR...]"),
            std::string::npos)
      << general;
  EXPECT_NE(general.find("[limit=N]"), std::string::npos);
  EXPECT_NE(general.find("diagnose [since=DURATION] [name=NAME] [port=PORT]"), std::string::npos);
  EXPECT_NE(general.find("[v4prefix=N] [v6prefix=N] [file=JSONL]"), std::string::npos);
  EXPECT_EQ(synopsis(argSpec("add exception")),
            "name=NAME [description=\"TEXT\"] subnets=CIDR[,CIDR...] [json]");
  EXPECT_EQ(synopsis(argSpec("log show"), {false, {}}),
            "blocked|permitted|operational [since=DURATION] [process=NAME] [dst=IP|PREFIX] "
            "[limit=N]");
  EXPECT_EQ(usageLine("ztdns x", "aaaa bbbb cccc", 14), "ztdns x aaaa\n        bbbb\n        cccc");
  EXPECT_THROW(argSpec("frobnicate"), std::out_of_range);
}

TEST_F(CliCommands, GlobalOptions) {
  auto bogus = run({"--bogus", "show", "state"});
  EXPECT_EQ(bogus.rc, 2);
  EXPECT_EQ(bogus.err,
            "ztdns: unknown option \"--bogus\" (before the verb: --socket PATH, --json, --timeout "
            "SECONDS, --version, --help)\nRun 'ztdns help' for usage.\n");
  auto abc = run({"--timeout", "abc", "show", "state"});
  EXPECT_EQ(abc.rc, 2);
  EXPECT_EQ(abc.err,
            "ztdns: --timeout: \"abc\" is not a number of seconds (0.1 to 3600)\nRun 'ztdns "
            "help' for usage.\n");
  for (const char* bad : {"0", "0.05", "3601", "1e3", "nan", "inf", "-1", "0x10", ""})
    EXPECT_EQ(run({"--timeout", bad, "show", "state"}).rc, 2) << bad;
  EXPECT_EQ(run({"--timeout=soon", "show", "state"}).err.rfind("ztdns: --timeout: \"soon\"", 0),
            0u);
  EXPECT_EQ(run({"--timeout", "2.5", "show", "state"}).rc, 0);
  EXPECT_EQ(run({"--timeout=30", "show", "state"}).rc, 0);
  EXPECT_EQ(run({"show", "state", "--timeout"}).rc, 2) << "options go before the verb";
  EXPECT_EQ(run({"--timeout"}).err,
            "ztdns: --timeout: needs a value (--timeout SECONDS)\nRun 'ztdns help' for usage.\n");
  auto empty = run({"--socket", "", "show", "state"});
  EXPECT_EQ(empty.rc, 2);
  EXPECT_EQ(empty.err,
            "ztdns: --socket: the path must not be empty (--socket PATH names ztdnsd's control "
            "socket)\nRun 'ztdns help' for usage.\n");
  EXPECT_EQ(run({"--socket=", "show", "state"}).rc, 2);
  EXPECT_EQ(run({"--socket", "a", "--socket", "b", "show", "state"}).err,
            "ztdns: --socket: given twice\nRun 'ztdns help' for usage.\n");
  EXPECT_EQ(run({"--socket=" + env_["ZTDNS_SOCKET"], "show", "state"}).rc, 0);
  // An empty ZTDNS_SOCKET is as if it were unset (the default path, which is not this one).
  auto saved = env_["ZTDNS_SOCKET"];
  env_["ZTDNS_SOCKET"] = "";
  EXPECT_NE(run({"show", "state"}).err.find("/run/ztdns/control.sock"), std::string::npos);
  env_["ZTDNS_SOCKET"] = saved;
  // Not a socket: said so, not "is ztdnsd running?".
  { std::ofstream(dir_.file("plain.txt")) << "x\n"; }
  auto file = run({"--socket", dir_.file("plain.txt"), "show", "state"});
  EXPECT_EQ(file.rc, 1);
  EXPECT_EQ(file.err, "ztdns: cannot reach ztdnsd: " + dir_.file("plain.txt") +
                          " is not a socket (it is a regular file); --socket or ZTDNS_SOCKET must "
                          "name ztdnsd's control socket, <run-dir>/control.sock\n");
  EXPECT_NE(run({"--socket", dir_.path(), "show", "state"})
                .err.find("is not a socket (it is a directory)"),
            std::string::npos);
  EXPECT_NE(run({"--socket", dir_.file("plain.txt") + "/sock", "show", "state"})
                .err.find("there is no control socket at"),
            std::string::npos);
  // --json before or after the verb, or the json keyword.
  for (auto args : std::vector<std::vector<std::string>>{
           {"--json", "show", "state"}, {"show", "state", "--json"}, {"show", "state", "json"}}) {
    auto r = run(args);
    EXPECT_EQ(r.rc, 0);
    EXPECT_TRUE(json::parse(r.out, nullptr, false).is_object()) << r.out;
  }
  // --socket wins over ZTDNS_SOCKET.
  auto elsewhere = run({"--socket", dir_.file("nothing.sock"), "show", "state"});
  EXPECT_EQ(elsewhere.rc, 1);
  EXPECT_EQ(elsewhere.err, "ztdns: cannot reach ztdnsd: there is no control socket at " +
                               dir_.file("nothing.sock") +
                               " (is ztdnsd running? --socket or ZTDNS_SOCKET name another one)\n");
}

TEST_F(CliCommands, DaemonNotRunning) {
  env_["ZTDNS_SOCKET"] = dir_.file("gone.sock");
  for (auto args : std::vector<std::vector<std::string>>{
           {"show", "state"}, {"set", "state", "enable=no"}, {"log", "show", "blocked"}}) {
    auto r = run(args);
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("there is no control socket at"), std::string::npos);
  }
  // A socket file nobody serves.
  server_.reset();
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = dir_.file("control.sock");
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  env_["ZTDNS_SOCKET"] = path;
  auto r = run({"show", "state"});
  EXPECT_EQ(r.err,
            "ztdns: cannot reach ztdnsd: nothing answers on " + path + " (is ztdnsd running?)\n");
  ::close(fd);
}

// ---- show -------------------------------------------------------------------------------

TEST_F(CliCommands, ShowState) {
  {
    std::lock_guard lock(handler_.mutex());
    handler_.state.uptimeSeconds = 3723;
    handler_.state.allowedAddresses = 42;
  }
  addServers();
  auto r = run({"show", "state"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out,
            "State:                     disabled\n"
            "Audit:                     yes\n"
            "Uptime:                    1h 2m\n"
            "Servers healthy:           1 of 2\n"
            "Allowed addresses:         42\n"
            "Exceptions:                0\n"
            "Loopback traffic:          allowed\n"
            "PermittedConnections log:  off\n"
            "Stub listens on:           127.0.0.1:53, [::1]:53\n");
  auto j = json::parse(run({"show", "state", "json"}).out);
  EXPECT_EQ(j["serversTotal"], 2);
  EXPECT_EQ(j["audit"], true);
  EXPECT_EQ(j["listenAddresses"][1], "[::1]:53");
  auto extra = run({"show", "state", "verbose"});
  EXPECT_EQ(extra.rc, 2);
  EXPECT_EQ(extra.err,
            "ztdns show state: \"verbose\": unexpected argument for \"show state\"\nRun 'ztdns "
            "show state help' for usage.\n");
}

TEST_F(CliCommands, ShowServer) {
  auto empty = run({"show", "server"});
  EXPECT_EQ(empty.rc, 0);
  EXPECT_EQ(empty.out, "No trusted DNS servers are configured.\n");
  addServers();
  auto r = run({"show", "server"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out,
            "NAME   PROTOCOL  ADDRESS        PORT  PRIORITY  HEALTH  LAST RTT  IDENTITY            "
            "                  LAST ERROR\n"
            "pdns1  DoT       198.51.100.53  853   10        up      1.2 ms    pdns1.example.test\n"
            "pdns2  DoH       198.51.100.54  443   20        down    -         "
            "https://pdns2.example.test/dns-query  TLS: certificate name mismatch\n");
  auto one = run({"show", "server", "address=198.51.100.54"});
  EXPECT_EQ(one.rc, 0);
  EXPECT_EQ(one.out.find("pdns1"), std::string::npos);
  auto absent = run({"show", "server", "address=198.51.100.99"});
  EXPECT_EQ(absent.rc, 1);
  EXPECT_EQ(absent.err, "ztdns: no server with address 198.51.100.99 is configured\n");
  auto absentJson = run({"show", "server", "address=198.51.100.99", "json"});
  EXPECT_EQ(absentJson.rc, 1);
  auto bad = run({"show", "server", "address=1.2.3"});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_EQ(bad.err,
            "ztdns show server: address: \"1.2.3\" is not an IP address\nRun 'ztdns show server "
            "help' for usage.\n");
  auto j = json::parse(run({"show", "server", "json"}).out);
  EXPECT_EQ(j["servers"][1]["transports"][0]["template"], "https://pdns2.example.test/dns-query");
  EXPECT_EQ(run({"show", "servers"}).rc, 2);
}

TEST_F(CliCommands, ShowServerAndStateBeforeTheFirstCheck) {
  {
    std::lock_guard lock(handler_.mutex());
    control::TransportInfo t{
        control::Protocol::kDoT, 853, "pdns1.example.test", "", false, std::nullopt, ""};
    t.health = control::Health::kUnknown;
    handler_.servers.push_back({"pdns1", *IpAddress::parse("198.51.100.53"), 10, {t}});
    t.health = control::Health::kUp;  // recovered: the failure is history, not an error
    t.healthy = true;
    t.lastRttMs = 0.8;
    t.lastFailure = "connect: connection refused";
    t.lastFailureAt = "2026-05-01T12:00:00Z";
    handler_.servers.push_back({"pdns2", *IpAddress::parse("198.51.100.54"), 20, {t}});
    handler_.state.serversUnknown = 1;  // the fake counts the healthy ones itself
  }
  auto r = run({"show", "server"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(
      r.out,
      "NAME   PROTOCOL  ADDRESS        PORT  PRIORITY  HEALTH   LAST RTT  IDENTITY          "
      "  LAST ERROR\n"
      "pdns1  DoT       198.51.100.53  853   10        unknown  -         pdns1.example.test\n"
      "pdns2  DoT       198.51.100.54  853   20        up       0.8 ms    pdns1.example.test\n");
  auto state = run({"show", "state"});
  EXPECT_NE(state.out.find("Servers healthy:           1 of 2 (1 not checked yet)\n"),
            std::string::npos)
      << state.out;
}

TEST_F(CliCommands, ShowException) {
  EXPECT_EQ(run({"show", "exception"}).out, "No IP exceptions are configured.\n");
  {
    std::lock_guard lock(handler_.mutex());
    handler_.exceptions.push_back(
        {"relay",
         "media relay",
         {*IpPrefix::parse("203.0.113.200/31"), *IpPrefix::parse("2001:db8:200::1/128")}});
  }
  auto r = run({"show", "exception"});
  EXPECT_EQ(r.out,
            "NAME   SUBNET               DESCRIPTION\n"
            "relay  203.0.113.200/31     media relay\n"
            "       2001:db8:200::1/128\n");
  EXPECT_EQ(run({"show", "exception", "name=relay"}).rc, 0);
  auto absent = run({"show", "exception", "name=nope"});
  EXPECT_EQ(absent.rc, 1);
  EXPECT_EQ(absent.err, "ztdns: no exception named \"nope\"\n");
  auto j = json::parse(run({"--json", "show", "exception", "name=relay"}).out);
  EXPECT_EQ(j["exceptions"][0]["subnets"][0], "203.0.113.200/31");
}

TEST_F(CliCommands, ShowClientCertAndTrustedCa) {
  EXPECT_EQ(run({"show", "clientcert"}).out,
            "No client certificate is configured: the servers are reached without mTLS.\n");
  EXPECT_EQ(run({"show", "trustedca"}).out,
            "No trusted CA files are configured: server certificates are checked against the "
            "system trust store.\n");

  auto caKey = testing::makeKey();
  auto ca =
      testing::makeCert({"Test CA", -10, 3650, "", "", true, 1}, caKey.get(), nullptr, nullptr);
  auto key = testing::makeKey();
  auto soon = testing::makeCert({"client", -1, 5, "clientAuth", "", false, 2}, key.get(), ca.get(),
                                caKey.get());
  testing::writePem(dir_.file("ca.pem"), {ca.get()});
  testing::writePem(dir_.file("client.pem"), {soon.get()});
  testing::writeKey(dir_.file("client.key"), key.get());
  {
    std::lock_guard lock(handler_.mutex());
    handler_.clientCert =
        control::AddClientCertParams{dir_.file("client.pem"), dir_.file("client.key")};
    handler_.trustedCaFiles = {dir_.file("ca.pem")};
  }
  auto r = run({"show", "clientcert"});
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("Subject:           CN=client\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Issuer:            CN=Test CA\n"), std::string::npos);
  EXPECT_NE(r.out.find("EKUs:              clientAuth\n"), std::string::npos);
  EXPECT_NE(r.out.find("Key matches:       yes\n"), std::string::npos);
  EXPECT_NE(r.out.find("WARNING: the client certificate expires in 4d 23h"), std::string::npos)
      << r.out;
  auto j = json::parse(run({"show", "clientcert", "json"}).out);
  EXPECT_EQ(j["certificate"]["subject"], "CN=client");
  EXPECT_EQ(j["keyMatches"], true);

  auto t = run({"show", "trustedca"});
  EXPECT_EQ(t.rc, 0);
  EXPECT_NE(t.out.find(dir_.file("ca.pem") + "  CN=Test CA"), std::string::npos) << t.out;

  // Expired: a failed check, in both forms.
  auto old = testing::makeCert({"client", -30, -1, "clientAuth", "", false, 3}, key.get(), ca.get(),
                               caKey.get());
  testing::writePem(dir_.file("client.pem"), {old.get()});
  auto expired = run({"show", "clientcert"});
  EXPECT_EQ(expired.rc, 1);
  EXPECT_NE(expired.out.find("ERROR: the client certificate expired"), std::string::npos);
  EXPECT_EQ(run({"show", "clientcert", "json"}).rc, 1);
  // A key that does not belong to it.
  auto other = testing::makeKey();
  testing::writePem(dir_.file("client.pem"), {soon.get()});
  testing::writeKey(dir_.file("client.key"), other.get());
  auto mismatch = run({"show", "clientcert"});
  EXPECT_EQ(mismatch.rc, 1);
  EXPECT_NE(mismatch.out.find("ERROR: the key in " + dir_.file("client.key") +
                              " does not belong to the certificate"),
            std::string::npos);
}

TEST_F(CliCommands, ShowStatsAndSettings) {
  {
    std::lock_guard lock(handler_.mutex());
    handler_.stats.queries = 100;
    handler_.stats.servfail.timeout = 3;
    handler_.settings = json{{"maxAllowedAddresses", 262144}};
  }
  auto s = run({"show", "stats"});
  EXPECT_EQ(s.rc, 0);
  EXPECT_NE(s.out.find("queries                            100\n"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("servfail: timeout                  3\n"), std::string::npos);
  EXPECT_EQ(json::parse(run({"show", "stats", "json"}).out)["servfail"]["timeout"], 3);
  auto settings = run({"show", "settings"});
  EXPECT_EQ(settings.rc, 0);
  auto j = json::parse(settings.out);
  EXPECT_EQ(j["maxAllowedAddresses"], 262144);
  EXPECT_EQ(j["auditModeEnabled"], true);
}

// ---- set, add, delete -------------------------------------------------------------------

TEST_F(CliCommands, SetState) {
  auto noServer = run({"set", "state", "enable=yes"});
  EXPECT_EQ(noServer.rc, 1);
  EXPECT_EQ(noServer.err,
            "ztdns: cannot enable ZTDNS without a server; add one with ztdns add server\n");
  addServers();
  auto first = run({"set", "state", "enable=yes"});
  EXPECT_EQ(first.rc, 0);
  EXPECT_EQ(first.out,
            "ZTDNS is now enabled, audit mode (would-be blocks are logged, not blocked).\n");
  EXPECT_EQ(run({"set", "state", "enable=yes", "audit=no"}).out,
            "ZTDNS is now enabled, enforcing.\n");
  EXPECT_EQ(run({"set", "state", "enable=YES"}).out, "ZTDNS is now enabled, enforcing.\n")
      << "audit is kept";
  EXPECT_EQ(run({"set", "state", "enable=no", "audit=no"}).out, "ZTDNS is now disabled.\n");
  EXPECT_EQ(json::parse(run({"set", "state", "enable=no", "json"}).out)["enabled"], false);

  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const Case cases[] = {
      {{"set", "state"},
       "ztdns set state: enable: required (enable=yes|no)\nRun 'ztdns set state help' for "
       "usage.\n"},
      {{"set", "state", "enable=maybe"},
       "ztdns set state: enable: \"maybe\" is not yes or no\nRun 'ztdns set state help' for "
       "usage.\n"},
      {{"set", "state", "enable=yes", "enable=no"},
       "ztdns set state: enable: given twice\nRun 'ztdns set state help' for usage.\n"},
      {{"set", "state", "enable=yes", "mdmbypass=allow"},
       "ztdns set state: \"mdmbypass\": unknown argument for \"set state\" (expected enable, "
       "audit)\nRun 'ztdns set state help' for usage.\n"},
      {{"set", "mode"},
       "ztdns set: unknown object \"mode\" (only state can be set)\nRun 'ztdns set help' for "
       "usage.\n"},
  };
  size_t before = handler_.changeCalls();
  for (const auto& c : cases) {
    auto r = run(c.args);
    EXPECT_EQ(r.rc, 2);
    EXPECT_EQ(r.err, c.err);
  }
  EXPECT_EQ(handler_.changeCalls(), before) << "usage errors never reach the daemon";
}

TEST_F(CliCommands, AddAndDeleteServer) {
  auto dot = run({"add", "server", "type=dot", "address=198.51.100.53",
                  "hostname=pdns1.example.test", "priority=10", "name=pdns1"});
  EXPECT_EQ(dot.rc, 0) << dot.err;
  EXPECT_EQ(dot.out, "Server pdns1 (198.51.100.53) now has DoT on port 853, priority 10.\n");
  auto doh = run({"add", "server", "type=doh", "address=198.51.100.53",
                  "template=https://pdns1.example.test/dns-query"});
  EXPECT_EQ(
      doh.out,
      "Server pdns1 (198.51.100.53) now has DoT on port 853 and DoH on port 443, priority 10.\n");
  auto again =
      run({"add", "server", "type=dot", "address=198.51.100.53", "hostname=pdns1.example.test"});
  EXPECT_EQ(again.rc, 1);
  EXPECT_EQ(again.err, "ztdns: server 198.51.100.53 already has DoT; delete it first\n");
  auto v6 = run({"add", "server", "type=dot", "address=2001:db8:53::53", "port=8853",
                 "hostname=pdns1.example.test", "json"});
  EXPECT_EQ(v6.rc, 0);
  EXPECT_EQ(json::parse(v6.out)["transports"][0]["port"], 8853);
  {
    std::lock_guard lock(handler_.mutex());
    ASSERT_EQ(handler_.servers.size(), 2u);
    EXPECT_EQ(handler_.servers[1].name, "2001:db8:53::53") << "the name defaults to the address";
  }

  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"add", "server", "type=dot", "address=198.51.100.9"},
       "hostname: required with type=dot (hostname=NAME)"},
      {{"add", "server", "type=dot", "address=198.51.100.9", "hostname=a.test",
        "template=https://a.test/q"},
       "template: not used with type=dot (a DoT server takes hostname=NAME)"},
      {{"add", "server", "type=doh", "address=198.51.100.9"},
       "template: required with type=doh (template=https://...)"},
      {{"add", "server", "type=doh", "address=198.51.100.9", "template=http://a.test/q"},
       "template: \"http://a.test/q\" is not an https:// URL with a host"},
      {{"add", "server", "type=doh", "address=198.51.100.9", "template=https://a.test/q",
        "hostname=a.test"},
       "hostname: not used with type=doh (a DoH server takes template=https://...)"},
      {{"add", "server", "type=doq", "address=198.51.100.9"}, "type: \"doq\" is not dot or doh"},
      {{"add", "server", "address=198.51.100.9", "hostname=a.test"},
       "type: required (type=dot|doh)"},
      {{"add", "server", "type=dot", "hostname=a.test"}, "address: required (address=IP)"},
      {{"add", "server", "type=dot", "address=pdns.test", "hostname=a.test"},
       "address: \"pdns.test\" is not an IP address"},
      {{"add", "server", "type=dot", "address=198.51.100.9", "hostname=a.test", "port=0"},
       "port: \"0\" is not a port (1-65535)"},
      {{"add", "server", "type=dot", "address=198.51.100.9", "hostname=a.test", "priority=1001"},
       "priority: \"1001\" is not a whole number from 1 to 1000"},
      {{"add", "server", "type=dot", "address=198.51.100.9", "hostname=bad_name!"},
       "hostname: \"bad_name!\" is not a host name or IP address"},
  };
  size_t before = handler_.changeCalls();
  for (const auto& c : cases) {
    auto r = run(c.args);
    EXPECT_EQ(r.rc, 2) << c.message;
    EXPECT_EQ(r.err,
              "ztdns add server: " + c.message + "\nRun 'ztdns add server help' for usage.\n");
  }
  EXPECT_EQ(handler_.changeCalls(), before);
  // A value the daemon refuses as invalid-params is a usage error too (exit 2), in its words.
  auto multicast = run({"add", "server", "type=dot", "address=233.252.0.1", "hostname=x.test"});
  EXPECT_EQ(multicast.rc, 2);
  EXPECT_EQ(multicast.err,
            "ztdns add server: address: 233.252.0.1 is not a unicast address a server can have\n"
            "Run 'ztdns add server help' for usage.\n");
  auto what = run({"add"});
  EXPECT_EQ(what.rc, 2);
  EXPECT_EQ(what.err,
            "ztdns add: what to add? server, exception, trustedca or clientcert\nRun 'ztdns add "
            "help' for usage.\n");

  // delete one, then the last while enabled (refused, explained), then all when disabled.
  auto del = run({"delete", "server", "address=2001:db8:53::53"});
  EXPECT_EQ(del.rc, 0);
  EXPECT_EQ(del.out, "Deleted server 2001:db8:53::53; 1 server remains.\n");
  EXPECT_EQ(run({"delete", "server", "address=2001:db8:53::53"}).err,
            "ztdns: no server with address 2001:db8:53::53 is configured\n");
  ASSERT_EQ(run({"set", "state", "enable=yes"}).rc, 0);
  auto last = run({"delete", "server"});
  EXPECT_EQ(last.rc, 1);
  EXPECT_EQ(last.err,
            "ztdns: deleting every server would leave no server while ZTDNS is enabled, and every "
            "name would fail to "
            "resolve; add another server first, or disable ZTDNS with ztdns set state enable=no\n");
  {
    std::lock_guard lock(handler_.mutex());
    EXPECT_EQ(handler_.servers.size(), 1u) << "nothing changed";
  }
  ASSERT_EQ(run({"set", "state", "enable=no"}).rc, 0);
  auto all = run({"delete", "server"});
  EXPECT_EQ(all.rc, 0);
  EXPECT_EQ(all.out, "Deleted server 198.51.100.53; 0 servers remain.\n");
  EXPECT_EQ(run({"delete", "server", "address=1.2.3"}).rc, 2);
}

TEST_F(CliCommands, AddAndDeleteException) {
  auto r = run({"add", "exception", "name=relay", "description=media relay for calls",
                "subnets=203.0.113.200/31,2001:db8:200::1"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "Added exception relay with 2 prefixes.\n");
  {
    std::lock_guard lock(handler_.mutex());
    ASSERT_EQ(handler_.exceptions.size(), 1u);
    EXPECT_EQ(handler_.exceptions[0].description, "media relay for calls");
    EXPECT_EQ(handler_.exceptions[0].subnets[1].toString(), "2001:db8:200::1/128");
  }
  auto dup = run({"add", "exception", "name=relay", "subnets=203.0.113.9"});
  EXPECT_EQ(dup.rc, 1);
  EXPECT_EQ(dup.err, "ztdns: an exception named \"relay\" exists already\n");
  auto notes = run({"add", "exception", "name=lan", "subnets=10.1.2.3/16"});
  EXPECT_EQ(notes.rc, 0);
  EXPECT_EQ(notes.err,
            "note: subnets: 10.1.2.3/16 has host bits set; it is stored as 10.1.0.0/16\n"
            "note: subnets: 10.1.2.3/16 is a private or link-local range: it means different hosts "
            "on every network\n");

  // Duplicates in one request are refused, naming the prefix; nothing reaches the daemon.
  auto twice = run({"add", "exception", "name=x", "subnets=203.0.113.40,203.0.113.40"});
  EXPECT_EQ(twice.rc, 2);
  EXPECT_EQ(twice.err,
            "ztdns add exception: subnets: 203.0.113.40 is given twice\nRun 'ztdns add exception "
            "help' for usage.\n");
  EXPECT_EQ(run({"add", "exception", "name=x", "subnets=203.0.113.41/31,203.0.113.40/31"}).err,
            "ztdns add exception: subnets: 203.0.113.41/31 and 203.0.113.40/31 are the same "
            "prefix (203.0.113.40/31)\nRun 'ztdns add exception help' for usage.\n");
  EXPECT_EQ(run({"add", "exception", "name=x", "subnets=2001:db8::1,2001:db8::1/128"}).rc, 2);
  // /0 and very broad prefixes are accepted with a warning, as diagnose judges them.
  auto zero = run({"add", "exception", "name=zero", "subnets=0.0.0.0/0,::/0"});
  EXPECT_EQ(zero.rc, 0) << zero.err;
  EXPECT_EQ(zero.err,
            "note: subnets: 0.0.0.0/0 covers exception relay's 203.0.113.200/31\n"
            "note: subnets: ::/0 covers exception relay's 2001:db8:200::1/128\n"
            "note: subnets: 0.0.0.0/0 covers exception lan's 10.1.0.0/16\n"
            "warning: subnets: 0.0.0.0/0 excepts every IPv4 destination: nothing is enforced for "
            "IPv4 (ztdns diagnose reports it as a FAIL)\n"
            "warning: subnets: ::/0 excepts every IPv6 destination: nothing is enforced for IPv6 "
            "(ztdns diagnose reports it as a FAIL)\n");
  EXPECT_EQ(run({"delete", "exception", "name=zero"}).rc, 0);
  auto wide = run({"add", "exception", "name=wide", "subnets=64.0.0.0/7,2001:db8::/15"});
  EXPECT_EQ(wide.rc, 0) << wide.err;
  EXPECT_NE(wide.err.find("warning: subnets: 64.0.0.0/7 is very broad (shorter than /8 for "
                          "IPv4): everything in it is reachable without DNS"),
            std::string::npos)
      << wide.err;
  EXPECT_NE(wide.err.find("warning: subnets: 2001:db8::/15 is very broad (shorter than /16 for "
                          "IPv6)"),
            std::string::npos)
      << wide.err;
  EXPECT_EQ(run({"delete", "exception", "name=wide"}).rc, 0);
  EXPECT_EQ(run({"add", "exception", "name=eight", "subnets=11.0.0.0/8"}).err, "")
      << "/8 is not shorter than /8";
  // Nested prefixes, in the request and against the exceptions that exist; a name that
  // differs only in case.
  auto nested = run({"add", "exception", "name=Relay", "subnets=203.0.113.0/24,203.0.113.200"});
  EXPECT_EQ(nested.rc, 0) << nested.err;
  EXPECT_EQ(nested.err,
            "note: subnets: 203.0.113.200 lies inside 203.0.113.0/24, given too\n"
            "note: subnets: 203.0.113.0/24 covers exception relay's 203.0.113.200/31\n"
            "note: subnets: 203.0.113.200 lies inside exception relay's 203.0.113.200/31\n"
            "warning: name: \"Relay\" differs from the existing exception \"relay\" only in "
            "case; ztdns keeps them apart, but Windows compares names without case and people "
            "confuse them: prefer one spelling\n");
  for (const char* name : {"eight", "Relay"})
    EXPECT_EQ(run({"delete", "exception", std::string("name=") + name}).rc, 0) << name;

  auto bad = run({"add", "exception", "name=x", "subnets=10.0.0.0/33"});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_EQ(bad.err,
            "ztdns add exception: subnets: \"10.0.0.0/33\" is not a prefix\nRun 'ztdns add "
            "exception help' for usage.\n");
  EXPECT_EQ(run({"add", "exception", "subnets=203.0.113.9"}).err,
            "ztdns add exception: name: required (name=NAME)\nRun 'ztdns add exception help' for "
            "usage.\n");
  EXPECT_EQ(run({"add", "exception", "name=x"}).err,
            "ztdns add exception: subnets: required (subnets=CIDR[,CIDR...])\nRun 'ztdns add "
            "exception help' for usage.\n");
  std::string many = "subnets=";
  for (int i = 0; i < 501; ++i)
    many += (i ? "," : "") + std::string("203.0.113.") + std::to_string(i % 256);
  EXPECT_EQ(run({"add", "exception", "name=x", many}).err,
            "ztdns add exception: subnets: 501 prefixes; at most 500 are allowed\nRun 'ztdns add "
            "exception help' for usage.\n");

  EXPECT_EQ(run({"delete", "exception", "name=relay"}).out, "Deleted exception relay.\n");
  auto gone = run({"delete", "exception", "name=relay"});
  EXPECT_EQ(gone.rc, 1);
  EXPECT_EQ(gone.err, "ztdns: no exception named \"relay\"\n");
  EXPECT_EQ(run({"delete", "exception"}).rc, 2);
}

TEST_F(CliCommands, TrustedCaAndClientCertUseAbsolutePaths) {
  auto caKey = testing::makeKey();
  auto ca = testing::makeCert({"Lab CA", -1, 3650, "", "", true, 1}, caKey.get(), nullptr, nullptr);
  testing::writePem(dir_.file("ca.pem"), {ca.get()});
  testing::writeKey(dir_.file("c.key"), caKey.get());
  auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir_.path());
  auto add = run({"add", "trustedca", "file=ca.pem"});
  auto missing = run({"add", "trustedca", "file=nope.pem"});
  auto cert = run({"add", "clientcert", "certfile=./ca.pem", "keyfile=c.key"});
  auto noKey = run({"add", "clientcert", "certfile=ca.pem", "keyfile=gone.key"});
  std::filesystem::current_path(cwd);

  EXPECT_EQ(add.rc, 0) << add.err;
  EXPECT_NE(add.out.find("Trusted CA file added: " + dir_.file("ca.pem")), std::string::npos)
      << add.out;
  EXPECT_EQ(missing.rc, 2) << "a file that does not exist is a bad value: a usage error";
  EXPECT_EQ(missing.err, "ztdns add trustedca: file: " + dir_.file("nope.pem") +
                             " does not exist\nRun 'ztdns add trustedca help' for usage.\n");
  EXPECT_EQ(cert.rc, 0) << cert.out << cert.err;
  EXPECT_NE(cert.out.find("Certificate file:  " + dir_.file("ca.pem")), std::string::npos)
      << cert.out;
  EXPECT_NE(cert.out.find("Subject:           CN=Lab CA"), std::string::npos);
  EXPECT_EQ(noKey.rc, 2);
  EXPECT_EQ(noKey.err, "ztdns add clientcert: keyfile: " + dir_.file("gone.key") +
                           " does not exist\nRun 'ztdns add clientcert help' for usage.\n");
  {
    std::lock_guard lock(handler_.mutex());
    EXPECT_EQ(handler_.trustedCaFiles, std::vector<std::string>{dir_.file("ca.pem")});
    EXPECT_EQ(handler_.clientCert->keyFile, dir_.file("c.key"));
  }
  auto dup = run({"add", "trustedca", "file=" + dir_.file("ca.pem")});
  EXPECT_EQ(dup.rc, 1);
  auto del = run({"delete", "trustedca", "file=" + dir_.file("ca.pem")});
  EXPECT_EQ(del.rc, 0);
  EXPECT_NE(del.out.find("system trust store"), std::string::npos);
  EXPECT_EQ(run({"delete", "trustedca", "file=" + dir_.file("ca.pem")}).err,
            "ztdns: " + dir_.file("ca.pem") + " is not a trusted CA file\n");
  EXPECT_EQ(run({"delete", "clientcert"}).out,
            "Client certificate removed; the servers are reached without mTLS.\n");
  EXPECT_EQ(run({"delete", "clientcert"}).rc, 1);
  EXPECT_EQ(run({"delete", "clientcert", "all"}).rc, 2);
  EXPECT_EQ(run({"add", "trustedca"}).err,
            "ztdns add trustedca: file: required (file=PEM)\nRun 'ztdns add trustedca help' for "
            "usage.\n");
}

// ---- log, resolve, reload ---------------------------------------------------------------

json blockedEvent(const std::string& time, const std::string& process, const std::string& dst,
                  uint16_t port, const std::string& proto = "tcp") {
  return json{{"time", time},
              {"eventId", 2},
              {"action", "AUDIT"},
              {"audit", true},
              {"protocol", proto},
              {"src", "192.0.2.10"},
              {"srcPort", 40000},
              {"dst", dst},
              {"dstPort", port},
              {"pid", 321},
              {"process", process},
              {"uid", 1000},
              {"unit", "user@1000.service"}};
}

TEST_F(CliCommands, LogShowAndSet) {
  auto now = std::chrono::system_clock::now();
  std::string recent = control::formatRfc3339(now - std::chrono::minutes(5), true);
  std::string old = control::formatRfc3339(now - std::chrono::hours(3), true);
  {
    std::lock_guard lock(handler_.mutex());
    handler_.blockedEvents = {blockedEvent(old, "/usr/bin/wget", "203.0.113.44", 443),
                              blockedEvent(recent, "/usr/bin/curl", "203.0.113.81", 443),
                              blockedEvent(recent, "/usr/bin/curl", "2001:db8:80::81", 80)};
    handler_.operationalEvents = {json{
        {"time", recent}, {"eventId", 6}, {"action", "UPDATE"}, {"message", "state to enabled"}}};
  }
  auto all = run({"log", "show", "blocked"});
  EXPECT_EQ(all.rc, 0);
  EXPECT_EQ(all.out.substr(0, all.out.find('\n')),
            "TIME                         ACTION  PROTO  SOURCE            DESTINATION           "
            "PROCESS              UNIT");
  EXPECT_NE(all.out.find("AUDIT   tcp    192.0.2.10:40000  [2001:db8:80::81]:80  /usr/bin/curl "
                         "(321)  user@1000.service"),
            std::string::npos)
      << all.out;
  auto filtered =
      run({"log", "show", "blocked", "since=1h", "process=curl", "dst=203.0.113.0/24", "json"});
  EXPECT_EQ(filtered.rc, 0);
  EXPECT_EQ(filtered.out, handler_.blockedEvents[1].dump() + "\n")
      << "JSON lines, as in the channel file";
  auto limited = run({"log", "show", "blocked", "limit=1"});
  EXPECT_EQ(limited.err,
            "note: only the newest matching event is shown; narrow with since=, process= or "
            "dst=, or raise limit=\n");
  EXPECT_EQ(run({"log", "show", "blocked", "limit=2"}).err,
            "note: only the newest 2 matching events are shown; narrow with since=, process= or "
            "dst=, or raise limit=\n");
  // Lines that are not connection events are skipped, in both forms, and counted.
  {
    std::lock_guard lock(handler_.mutex());
    handler_.blockedEvents.push_back(json{{"time", "bad"}});
    handler_.blockedEvents.push_back(
        json{{"time", recent}, {"action", "LOSS"}, {"dst", "1.2.3.4"}});
  }
  auto garbage = run({"log", "show", "blocked"});
  EXPECT_EQ(garbage.rc, 0);
  EXPECT_EQ(garbage.out.find("bad"), std::string::npos) << garbage.out;
  EXPECT_EQ(garbage.out.find("unknown"), std::string::npos) << garbage.out;
  EXPECT_EQ(std::count(garbage.out.begin(), garbage.out.end(), '\n'), 4) << garbage.out;
  EXPECT_EQ(garbage.err, "note: 2 unreadable lines skipped (not connection events)\n");
  auto garbageJson = run({"log", "show", "blocked", "json"});
  EXPECT_EQ(std::count(garbageJson.out.begin(), garbageJson.out.end(), '\n'), 3);
  EXPECT_EQ(garbageJson.err, "note: 2 unreadable lines skipped (not connection events)\n");
  {
    std::lock_guard lock(handler_.mutex());
    handler_.blockedEvents.pop_back();
  }
  EXPECT_EQ(run({"log", "show", "blocked"}).err,
            "note: 1 unreadable line skipped (not a connection event)\n");
  {
    std::lock_guard lock(handler_.mutex());
    handler_.blockedEvents.pop_back();
  }
  auto op = run({"log", "show", "operational"});
  EXPECT_NE(op.out.find("6      UPDATE  state to enabled"), std::string::npos) << op.out;
  EXPECT_EQ(run({"log", "show", "permitted"}).out, "No matching events.\n");

  EXPECT_EQ(run({"log", "show"}).err,
            "ztdns log show: which channel? blocked, permitted or operational\nRun 'ztdns log show "
            "help' for usage.\n");
  EXPECT_EQ(run({"log", "show", "dropped"}).err,
            "ztdns log show: unknown channel \"dropped\" (blocked, permitted or operational)\nRun "
            "'ztdns log show help' for usage.\n");
  EXPECT_EQ(run({"log", "show", "blocked", "since=yesterday"}).err,
            "ztdns log show: since: \"yesterday\" is not a duration (e.g. 90s, 30m, 1h, 7d)\nRun "
            "'ztdns log show help' for usage.\n");
  EXPECT_EQ(run({"log", "show", "blocked", "dst=203.0.113.0/40"}).rc, 2);
  EXPECT_EQ(run({"log", "tail"}).rc, 2);

  EXPECT_EQ(run({"log", "set", "permitted", "enable=yes"}).out,
            "The PermittedConnections log is now on.\n");
  {
    std::lock_guard lock(handler_.mutex());
    EXPECT_TRUE(handler_.state.permittedLogEnabled);
  }
  EXPECT_EQ(run({"log", "set", "blocked", "enable=no"}).err,
            "ztdns log set: only the permitted channel can be switched (log set permitted "
            "enable=yes|no)\nRun 'ztdns log set help' for usage.\n");
  EXPECT_EQ(run({"log", "set", "permitted"}).rc, 2);
}

TEST_F(CliCommands, Resolve) {
  {
    std::lock_guard lock(handler_.mutex());
    auto& r = handler_.resolveAnswer;
    r.name = "www.allowed.test.";
    r.type = "A";
    r.rcode = "NOERROR";
    r.answers = {{"www.allowed.test.", "A", 300, "203.0.113.80"}};
    r.serverName = "pdns1";
    r.server = *Endpoint::parse("198.51.100.53:853");
    r.protocol = control::Protocol::kDoT;
    r.rttMs = 3.25;
    r.enforcement = control::Enforcement::kEnforce;
    r.addresses = {{*IpAddress::parse("203.0.113.80"), true, 329, "answer",
                    control::AddressVerdict::kResolved, ""}};
  }
  auto r = run({"resolve", "www.allowed.test"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out,
            "NAME               TTL  TYPE  DATA\n"
            "www.allowed.test.  300  A     203.0.113.80\n"
            "\n"
            "Status NOERROR from pdns1 (198.51.100.53:853, DoT) in 3.2 ms\n"
            "\n"
            "ADDRESS       ALLOWED  REMAINING\n"
            "203.0.113.80  yes      5m 29s\n");
  EXPECT_EQ(json::parse(run({"resolve", "www.allowed.test", "type=a", "json"})
                            .out)["addresses"][0]["remainingSeconds"],
            329);
  {
    std::lock_guard lock(handler_.mutex());
    handler_.resolveAnswer.rcode = "NXDOMAIN";
    handler_.resolveAnswer.answers.clear();
    handler_.resolveAnswer.addresses.clear();
  }
  auto nx = run({"resolve", "blocked.test", "server=198.51.100.53"});
  EXPECT_EQ(nx.rc, 1);
  EXPECT_NE(nx.out.find("Status NXDOMAIN"), std::string::npos);

  // A SERVFAIL the stub made says why.
  {
    std::lock_guard lock(handler_.mutex());
    auto& a = handler_.resolveAnswer;
    a.rcode = "SERVFAIL";
    a.serverName.clear();
    a.server.reset();
    a.protocol.reset();
    a.rttMs.reset();
    a.failure =
        "every protective DNS server failed: wrongname (198.51.100.56:853, DoT): TLS: hostname "
        "mismatch";
  }
  auto servfail = run({"resolve", "www.allowed.test", "server=198.51.100.56"});
  EXPECT_EQ(servfail.rc, 1);
  EXPECT_EQ(servfail.out,
            "No records.\n\nStatus SERVFAIL: every protective DNS server failed: wrongname "
            "(198.51.100.56:853, DoT): TLS: hostname mismatch\n");
  EXPECT_EQ(json::parse(run({"resolve", "x.test", "json"}).out)["failure"],
            handler_.resolveAnswer.failure);

  // The ALLOWED column tells what the policy does with each address, hints included.
  using control::AddressVerdict;
  auto address = [](const char* a, bool allowed, std::optional<int64_t> left, const char* source,
                    AddressVerdict v, const char* exception = "") {
    return control::AddressAllowance{*IpAddress::parse(a), allowed, left, source, v, exception};
  };
  {
    std::lock_guard lock(handler_.mutex());
    auto& a = handler_.resolveAnswer;
    a.rcode = "NOERROR";
    a.failure.clear();
    a.serverName = "pdns1";
    a.server = *Endpoint::parse("198.51.100.53:853");
    a.protocol = control::Protocol::kDoT;
    a.answers = {{"svc.allowed.test.", "HTTPS", 300,
                  "1 . alpn=h2 ipv4hint=203.0.113.87 ipv6hint=2001:db8:80::87"}};
    a.enforcement = control::Enforcement::kAudit;
    a.addresses = {
        address("203.0.113.87", true, 299, "ipv4hint", AddressVerdict::kResolved),
        address("2001:db8:80::87", false, std::nullopt, "ipv6hint", AddressVerdict::kNotAllowed),
        address("127.0.0.1", true, std::nullopt, "answer", AddressVerdict::kLoopback),
        address("::1", false, std::nullopt, "answer", AddressVerdict::kLoopback),
        address("0.0.0.0", false, std::nullopt, "answer", AddressVerdict::kUnspecified),
        address("233.252.0.1", false, std::nullopt, "answer", AddressVerdict::kMulticast),
        address("203.0.113.200", true, std::nullopt, "answer", AddressVerdict::kException,
                "relay")};
  }
  auto svc = run({"resolve", "svc.allowed.test", "type=HTTPS"});
  EXPECT_EQ(svc.rc, 0);
  EXPECT_NE(
      svc.out.find(
          "Audit mode: connections to addresses that are not allowed are logged, not "
          "blocked.\n"
          "ADDRESS          FROM      ALLOWED                                       REMAINING\n"
          "203.0.113.87     ipv4hint  yes                                           4m 59s\n"
          "2001:db8:80::87  ipv6hint  no                                            -\n"
          "127.0.0.1        A         yes (loopback: loopbackTrafficBlocked=false)  -\n"),
      std::string::npos)
      << svc.out;
  EXPECT_NE(svc.out.find("::1              AAAA      no (loopback: loopbackTrafficBlocked=true)"),
            std::string::npos)
      << svc.out;
  EXPECT_NE(svc.out.find("0.0.0.0          A         no (unspecified address: never allowed)"),
            std::string::npos);
  EXPECT_NE(svc.out.find("233.252.0.1      A         no (multicast or broadcast: never allowed)"),
            std::string::npos);
  EXPECT_NE(svc.out.find("203.0.113.200    A         yes (exception relay)"), std::string::npos);
  {
    std::lock_guard lock(handler_.mutex());
    handler_.resolveAnswer.enforcement = control::Enforcement::kDisabled;
  }
  auto off = run({"resolve", "svc.allowed.test", "type=HTTPS"});
  EXPECT_NE(off.out.find("ZTDNS is disabled: nothing is enforced, nothing was allowed.\n"
                         "ADDRESS          FROM      ALLOWED       REMAINING\n"
                         "203.0.113.87     ipv4hint  not enforced  -\n"),
            std::string::npos)
      << off.out;
  EXPECT_EQ(off.out.find("yes"), std::string::npos) << off.out;
  auto offJson = json::parse(run({"resolve", "svc.allowed.test", "json"}).out);
  EXPECT_EQ(offJson["enforcement"], "disabled");
  EXPECT_EQ(offJson["addresses"][0]["source"], "ipv4hint");
  EXPECT_EQ(offJson["addresses"][6]["verdict"], "exception");
  EXPECT_EQ(
      run({"resolve"}).err,
      "ztdns resolve: name: required (ztdns resolve NAME)\nRun 'ztdns resolve help' for usage.\n");
  EXPECT_EQ(run({"resolve", "a.test", "type=XYZ"}).err,
            "ztdns resolve: type: \"XYZ\" is not a record type (A, AAAA, CNAME, HTTPS, ... or "
            "TYPEnnn)\nRun 'ztdns resolve help' for usage.\n");
  EXPECT_EQ(
      run({"resolve", "a..test"}).err,
      "ztdns resolve: name: \"a..test\" has an empty label\nRun 'ztdns resolve help' for usage.\n");
  EXPECT_EQ(run({"resolve", "a.test", "server=pdns1"}).rc, 2);
}

TEST_F(CliCommands, Reload) {
  EXPECT_EQ(run({"reload"}).out, "Configuration reloaded.\n");
  std::lock_guard lock(handler_.mutex());
  EXPECT_EQ(handler_.reloads, 1);
}

}  // namespace
}  // namespace ztdns::cli
