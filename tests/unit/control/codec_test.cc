// The control codec: every method round-trips, and every malformed request is refused
// with the error code and the message that names the problem.
#include "control/codec.h"

#include <gtest/gtest.h>

#include "control/validation.h"

namespace ztdns::control {
namespace {

using nlohmann::json;

std::string requestLine(const json& params, const std::string& method = "add.server") {
  return json{{"version", 1}, {"id", 7}, {"method", method}, {"params", params}}.dump();
}

// Decodes params for method M through the whole request path.
template <Method M>
Result<typename MethodTraits<M>::Params> decode(const json& params) {
  auto req = decodeRequest(requestLine(params, methodName(M)));
  if (!req) return req.error();
  return decodeParams<typename MethodTraits<M>::Params>(req->params);
}

template <Method M>
std::string paramsError(const json& params) {
  auto r = decode<M>(params);
  if (r) return "(accepted)";
  EXPECT_EQ(errorCodeOf(r.error()), ErrorCode::kInvalidParams) << r.error().message;
  return r.error().message;
}

struct EnvelopeCase {
  std::string line;
  ErrorCode code;
  std::string message;
  std::optional<uint64_t> id;
};

TEST(ControlCodec, EnvelopeErrorsNameTheProblem) {
  std::string deep(100, '[');
  const EnvelopeCase cases[] = {
      {"", ErrorCode::kBadRequest, "the request is not valid JSON", std::nullopt},
      {"{", ErrorCode::kBadRequest, "the request is not valid JSON", std::nullopt},
      {"[1,2]", ErrorCode::kBadRequest, "the request is an array, not a JSON object", std::nullopt},
      {"\"show.state\"", ErrorCode::kBadRequest, "the request is a string, not a JSON object",
       std::nullopt},
      {deep, ErrorCode::kBadRequest, "the request nests deeper than 32 levels", std::nullopt},
      {R"({"version":1,"method":"ping"})", ErrorCode::kBadRequest, "request.id: is required",
       std::nullopt},
      {R"({"version":1,"id":-1,"method":"ping"})", ErrorCode::kBadRequest,
       "request.id: expected an integer from 0 to 2^53-1, got -1", std::nullopt},
      {R"({"version":1,"id":"7","method":"ping"})", ErrorCode::kBadRequest,
       "request.id: expected an integer from 0 to 2^53-1, got \"7\"", std::nullopt},
      {R"({"version":1,"id":9007199254740992,"method":"ping"})", ErrorCode::kBadRequest,
       "request.id: expected an integer from 0 to 2^53-1, got 9007199254740992", std::nullopt},
      {R"({"id":3,"method":"ping"})", ErrorCode::kBadRequest, "request.version: is required", 3},
      {R"({"version":2,"id":3,"method":"ping"})", ErrorCode::kUnsupportedVersion,
       "protocol version 2 is not supported (this daemon speaks version 1)", 3},
      {R"({"version":"1","id":3,"method":"ping"})", ErrorCode::kUnsupportedVersion,
       "protocol version \"1\" is not supported (this daemon speaks version 1)", 3},
      {R"({"version":1,"id":3})", ErrorCode::kBadRequest, "request.method: is required", 3},
      {R"({"version":1,"id":3,"method":5})", ErrorCode::kBadRequest,
       "request.method: expected a string, got 5", 3},
      {R"({"version":1,"id":3,"method":"show.everything"})", ErrorCode::kUnknownMethod,
       "unknown method \"show.everything\"", 3},
      {R"({"version":1,"id":3,"method":"ping","params":[]})", ErrorCode::kBadRequest,
       "request.params: expected an object, got []", 3},
      {R"({"version":1,"id":3,"method":"ping","colour":"red"})", ErrorCode::kBadRequest,
       "request.colour: unknown field", 3},
  };
  for (const auto& c : cases) {
    std::optional<uint64_t> id;
    auto r = decodeRequest(c.line, &id);
    ASSERT_FALSE(r.ok()) << c.line;
    EXPECT_EQ(errorCodeOf(r.error()), c.code) << c.line;
    EXPECT_EQ(r.error().message, c.message) << c.line.substr(0, 80);
    EXPECT_EQ(id, c.id) << c.line;
  }
}

TEST(ControlCodec, RequestRoundTripsForEveryMethod) {
  for (Method m : kAllMethods) {
    Request req{42, m, json::object()};
    auto back = decodeRequest(encodeRequest(req));
    ASSERT_TRUE(back.ok()) << methodName(m);
    EXPECT_EQ(back->id, 42u);
    EXPECT_EQ(back->method, m);
    EXPECT_EQ(methodFromName(methodName(m)), m);
  }
  auto absent = decodeRequest(R"({"version":1,"id":1,"method":"ping"})");
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(absent->params, json::object());
}

TEST(ControlCodec, AccessClassesFollowTheIssue) {
  for (Method m :
       {Method::kPing, Method::kShowState, Method::kShowSettings, Method::kShowServer,
        Method::kShowException, Method::kShowClientCert, Method::kShowTrustedCa, Method::kShowStats,
        Method::kLogShow, Method::kResolve, Method::kDiagnoseServer}) {
    EXPECT_EQ(methodAccess(m), Access::kRead) << methodName(m);
  }
  for (Method m :
       {Method::kSetState, Method::kAddServer, Method::kDeleteServer, Method::kAddException,
        Method::kDeleteException, Method::kAddTrustedCa, Method::kDeleteTrustedCa,
        Method::kAddClientCert, Method::kDeleteClientCert, Method::kLogSet, Method::kReload}) {
    EXPECT_EQ(methodAccess(m), Access::kChange) << methodName(m);
  }
}

template <Method M>
void expectParamsRoundTrip(const typename MethodTraits<M>::Params& p) {
  auto back = decode<M>(toJson(p));
  ASSERT_TRUE(back.ok()) << methodName(M) << ": " << back.error().message;
  EXPECT_EQ(*back, p) << methodName(M) << " " << toJson(p).dump();
}

TEST(ControlCodec, ParamsRoundTrip) {
  expectParamsRoundTrip<Method::kPing>({});
  expectParamsRoundTrip<Method::kShowServer>({});
  expectParamsRoundTrip<Method::kShowServer>({*IpAddress::parse("2001:db8:53::53")});
  expectParamsRoundTrip<Method::kShowException>({std::string("media relay")});
  expectParamsRoundTrip<Method::kSetState>({true, std::nullopt});
  expectParamsRoundTrip<Method::kSetState>({false, false});
  AddServerParams dot{
      Protocol::kDoT, *IpAddress::parse("198.51.100.53"), 853, "pdns1.example.test", "", 10,
      "pdns1"};
  expectParamsRoundTrip<Method::kAddServer>(dot);
  AddServerParams doh{Protocol::kDoH,
                      *IpAddress::parse("198.51.100.54"),
                      8443,
                      "",
                      "https://pdns2.example.test/dns-query{?dns}",
                      std::nullopt,
                      std::nullopt};
  expectParamsRoundTrip<Method::kAddServer>(doh);
  expectParamsRoundTrip<Method::kDeleteServer>({});
  expectParamsRoundTrip<Method::kDeleteServer>({*IpAddress::parse("198.51.100.53")});
  expectParamsRoundTrip<Method::kAddException>(
      {"relay",
       "media relay",
       {*IpPrefix::parse("203.0.113.200/31"), *IpPrefix::parse("2001:db8:200::1")}});
  expectParamsRoundTrip<Method::kDeleteException>({"relay"});
  expectParamsRoundTrip<Method::kAddTrustedCa>({"/etc/ztdns/ca.pem"});
  expectParamsRoundTrip<Method::kDeleteTrustedCa>({"/etc/ztdns/ca.pem"});
  expectParamsRoundTrip<Method::kAddClientCert>({"/etc/ztdns/client.pem", "/etc/ztdns/client.key"});
  expectParamsRoundTrip<Method::kLogShow>({LogChannel::kOperational, 3600, std::string("curl"),
                                           *IpPrefix::parse("203.0.113.0/24"), 50});
  expectParamsRoundTrip<Method::kLogShow>({});
  expectParamsRoundTrip<Method::kLogSet>({LogChannel::kPermitted, true});
  expectParamsRoundTrip<Method::kResolve>(
      {"www.allowed.test", "AAAA", *IpAddress::parse("198.51.100.53")});
  expectParamsRoundTrip<Method::kDiagnoseServer>({*IpAddress::parse("198.51.100.54")});
}

TEST(ControlCodec, AddServerDefaultsThePortByType) {
  auto dot = decode<Method::kAddServer>(
      {{"type", "dot"}, {"address", "198.51.100.53"}, {"hostname", "a.test"}});
  ASSERT_TRUE(dot.ok());
  EXPECT_EQ(dot->port, 853);
  auto doh = decode<Method::kAddServer>(
      {{"type", "doh"}, {"address", "198.51.100.53"}, {"template", "https://a.test/q"}});
  ASSERT_TRUE(doh.ok());
  EXPECT_EQ(doh->port, 443);
  EXPECT_FALSE(doh->priority);
  EXPECT_FALSE(doh->name);
}

TEST(ControlCodec, ParamsErrorsNameTheField) {
  const json dot = {
      {"type", "dot"}, {"address", "198.51.100.53"}, {"hostname", "pdns1.example.test"}};
  auto with = [&](json base, const std::string& key, json value) {
    if (value.is_null())
      base.erase(key);
    else
      base[key] = value;
    return base;
  };
  EXPECT_EQ(paramsError<Method::kAddServer>(with(dot, "type", nullptr)),
            "params.type: is required");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(dot, "type", "doq")),
            "params.type: expected \"dot\" or \"doh\", got \"doq\"");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(dot, "type", 1)),
            "params.type: expected a string, got 1");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(dot, "address", "1.2.3")),
            "params.address: \"1.2.3\" is not an IP address");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(dot, "address", nullptr)),
            "params.address: is required");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(dot, "port", 0)),
            "params.port: expected an integer from 1 to 65535, got 0");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(dot, "port", 65536)),
            "params.port: expected an integer from 1 to 65535, got 65536");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(dot, "port", "853")),
            "params.port: expected an integer, got \"853\"");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(dot, "hostname", nullptr)),
            "params.hostname: is required for type dot");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(dot, "hostname", "bad name")),
            "params.hostname: \"bad name\" is not a host name or IP address");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(dot, "template", "https://x.test/q")),
            "params.template: is for type doh; a DoT server takes hostname");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(dot, "priority", 0)),
            "params.priority: expected an integer from 1 to 1000, got 0");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(dot, "priority", 1001)),
            "params.priority: expected an integer from 1 to 1000, got 1001");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(dot, "name", "")),
            "params.name: must not be empty");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(dot, "colour", "red")),
            "params.colour: unknown field");
  const json doh = {{"type", "doh"},
                    {"address", "198.51.100.53"},
                    {"template", "https://pdns1.example.test/dns-query"}};
  EXPECT_EQ(paramsError<Method::kAddServer>(with(doh, "template", nullptr)),
            "params.template: is required for type doh");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(doh, "template", "http://x.test/q")),
            "params.template: \"http://x.test/q\" is not an https:// URL with a host");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(doh, "template", "https://x.test:99999/q")),
            "params.template: \"https://x.test:99999/q\" has a bad port");
  EXPECT_EQ(paramsError<Method::kAddServer>(with(doh, "hostname", "x.test")),
            "params.hostname: is for type dot; a DoH server takes template");

  const json exc = {{"name", "relay"}, {"subnets", {"203.0.113.200/31"}}};
  EXPECT_EQ(paramsError<Method::kAddException>(
                with(exc, "subnets", json::array({"203.0.113.0/24", "10.0.0.0/33"}))),
            "params.subnets[1]: \"10.0.0.0/33\" is not a prefix");
  EXPECT_EQ(paramsError<Method::kAddException>(with(exc, "subnets", json::array())),
            "params.subnets: needs at least one prefix");
  EXPECT_EQ(paramsError<Method::kAddException>(with(exc, "subnets", "203.0.113.0/24")),
            "params.subnets: expected an array, got \"203.0.113.0/24\"");
  json many = json::array();
  for (int i = 0; i < 501; ++i) many.push_back("203.0.113." + std::to_string(i % 256));
  EXPECT_EQ(paramsError<Method::kAddException>(with(exc, "subnets", many)),
            "params.subnets: has 501 prefixes; at most 500 are allowed");
  EXPECT_EQ(paramsError<Method::kAddException>(with(exc, "name", std::string(257, 'x'))),
            "params.name: is longer than 256 characters");
  EXPECT_EQ(paramsError<Method::kAddException>(with(exc, "name", "a\nb")),
            "params.name: \"a?b\" contains control characters");
  EXPECT_EQ(paramsError<Method::kAddException>(with(exc, "description", std::string(1025, 'x'))),
            "params.description: is longer than 1024 characters");
  EXPECT_EQ(paramsError<Method::kDeleteException>(json::object()), "params.name: is required");

  EXPECT_EQ(paramsError<Method::kSetState>(json::object()), "params.enable: is required");
  EXPECT_EQ(paramsError<Method::kSetState>({{"enable", "yes"}}),
            "params.enable: expected true or false, got \"yes\"");
  EXPECT_EQ(paramsError<Method::kSetState>({{"enable", true}, {"audit", 1}}),
            "params.audit: expected true or false, got 1");
  EXPECT_EQ(paramsError<Method::kPing>({{"x", 1}}), "params.x: unknown field");
  EXPECT_EQ(paramsError<Method::kShowServer>({{"address", "nope"}}),
            "params.address: \"nope\" is not an IP address");

  EXPECT_EQ(paramsError<Method::kAddTrustedCa>({{"file", "ca.pem"}}),
            "params.file: \"ca.pem\" is not an absolute path");
  EXPECT_EQ(paramsError<Method::kAddClientCert>({{"certFile", "/a.pem"}}),
            "params.keyFile: is required");
  EXPECT_EQ(paramsError<Method::kAddClientCert>({{"certFile", "/a.pem"}, {"keyFile", "b.key"}}),
            "params.keyFile: \"b.key\" is not an absolute path");

  EXPECT_EQ(
      paramsError<Method::kLogShow>({{"channel", "everything"}}),
      "params.channel: expected \"blocked\", \"permitted\" or \"operational\", got \"everything\"");
  EXPECT_EQ(paramsError<Method::kLogShow>({{"channel", "blocked"}, {"limit", 0}}),
            "params.limit: expected an integer from 1 to 1000000, got 0");
  EXPECT_EQ(paramsError<Method::kLogShow>({{"channel", "blocked"}, {"sinceSeconds", -5}}),
            "params.sinceSeconds: expected a non-negative integer, got -5");
  EXPECT_EQ(paramsError<Method::kLogShow>({{"channel", "blocked"}, {"dst", "203.0.113.0/99"}}),
            "params.dst: \"203.0.113.0/99\" is not a prefix");
  EXPECT_EQ(paramsError<Method::kLogSet>({{"channel", "blocked"}, {"enable", true}}),
            "params.channel: only \"permitted\" can be switched, got \"blocked\"");

  EXPECT_EQ(paramsError<Method::kResolve>({{"name", ""}}), "params.name: must not be empty");
  EXPECT_EQ(paramsError<Method::kResolve>({{"name", "a..b"}}),
            "params.name: \"a..b\" has an empty label");
  EXPECT_EQ(paramsError<Method::kResolve>({{"name", "x.test"}, {"type", "aaaa"}}),
            "params.type: \"aaaa\" is not a record type (A, AAAA, CNAME, HTTPS, ... or TYPEnnn)");
  EXPECT_TRUE(decode<Method::kResolve>({{"name", "x.test"}, {"type", "TYPE65"}}).ok());
  EXPECT_EQ(
      paramsError<Method::kResolve>({{"name", "x.test"}, {"type", "TYPE65536"}}),
      "params.type: \"TYPE65536\" is not a record type (A, AAAA, CNAME, HTTPS, ... or TYPEnnn)");
}

template <class R>
void expectResultRoundTrip(const R& r) {
  auto back = decodeResult<R>(toJson(r));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, r) << toJson(r).dump();
}

TEST(ControlCodec, ResultsRoundTrip) {
  expectResultRoundTrip(PingResult{1, "0.1.0", 99});
  StateInfo s;
  s.enabled = true;
  s.audit = false;
  s.uptimeSeconds = 3723;
  s.serversHealthy = 1;
  s.serversTotal = 2;
  s.allowedAddresses = 12;
  s.exceptions = 3;
  s.loopbackBlocked = true;
  s.listenAddresses = {*Endpoint::parse("127.0.0.1:53"), *Endpoint::parse("[::1]:53")};
  s.configFile = "/etc/ztdns/config.json";
  s.pid = 1234;
  expectResultRoundTrip(s);
  ServerInfo server{"pdns1", *IpAddress::parse("198.51.100.53"), 10, {}};
  server.transports.push_back({Protocol::kDoT, 853, "pdns1.example.test", "", true, 1.25, ""});
  server.transports.push_back({Protocol::kDoH, 443, "pdns1.example.test",
                               "https://pdns1.example.test/dns-query", false, std::nullopt,
                               "TLS: certificate name mismatch"});
  expectResultRoundTrip(ServerList{{server}});
  expectResultRoundTrip(server);
  expectResultRoundTrip(DeleteServerResult{{*IpAddress::parse("198.51.100.53")}, 1});
  expectResultRoundTrip(
      ExceptionList{{{"relay", "media", {*IpPrefix::parse("203.0.113.200/31")}}}});
  CertInfo cert{"CN=client",
                "CN=ca",
                "0A",
                "2026-01-01T00:00:00Z",
                "2027-01-01T00:00:00Z",
                86400,
                {"clientAuth"},
                {"DNS:client.test"}};
  expectResultRoundTrip(ClientCertInfo{true, "/c.pem", "/c.key", cert, true, ""});
  expectResultRoundTrip(ClientCertInfo{});
  expectResultRoundTrip(
      TrustedCaInfo{{{"/ca.pem", {cert}, ""}, {"/gone.pem", {}, "cannot read /gone.pem"}}});
  Stats st;
  st.queries = 10;
  st.cacheHits = 4;
  st.servfail.timeout = 2;
  st.allowInserted = 7;
  st.blocked = 3;
  st.logLinesLost = 1;
  expectResultRoundTrip(st);
  expectResultRoundTrip(
      LogShowResult{{json{{"time", "2026-01-01T00:00:00Z"}, {"dst", "203.0.113.81"}}}, true});
  expectResultRoundTrip(LogSetResult{LogChannel::kPermitted, true});
  ResolveResult rr;
  rr.name = "www.allowed.test.";
  rr.type = "A";
  rr.rcode = "NOERROR";
  rr.answers = {{"www.allowed.test.", "A", 300, "203.0.113.80"}};
  rr.serverName = "pdns1";
  rr.server = *Endpoint::parse("198.51.100.53:853");
  rr.protocol = Protocol::kDoT;
  rr.rttMs = 3.5;
  rr.enforcement = Enforcement::kAudit;
  rr.addresses = {
      {*IpAddress::parse("203.0.113.80"), true, 329, "answer", AddressVerdict::kResolved, ""},
      {*IpAddress::parse("2001:db8:80::87"), false, std::nullopt, "ipv6hint",
       AddressVerdict::kNotAllowed, ""},
      {*IpAddress::parse("203.0.113.200"), true, std::nullopt, "answer", AddressVerdict::kException,
       "relay"},
      {*IpAddress::parse("127.0.0.1"), true, std::nullopt, "answer", AddressVerdict::kLoopback, ""},
      {*IpAddress::parse("0.0.0.0"), false, std::nullopt, "answer", AddressVerdict::kUnspecified,
       ""},
      {*IpAddress::parse("233.252.0.1"), false, std::nullopt, "answer", AddressVerdict::kMulticast,
       ""}};
  expectResultRoundTrip(rr);
  EXPECT_EQ(toJson(rr)["enforcement"], "audit");
  EXPECT_EQ(toJson(rr)["addresses"][2]["verdict"], "exception");
  EXPECT_EQ(toJson(rr)["addresses"][2]["exception"], "relay");
  EXPECT_EQ(toJson(rr)["addresses"][1]["source"], "ipv6hint");
  ResolveResult servfail{"x.test.",
                         "A",
                         "SERVFAIL",
                         {},
                         "",
                         std::nullopt,
                         std::nullopt,
                         std::nullopt,
                         false,
                         "every protective DNS server failed: TLS: hostname "
                         "mismatch",
                         Enforcement::kDisabled,
                         {}};
  expectResultRoundTrip(servfail);
  EXPECT_EQ(toJson(servfail)["failure"],
            "every protective DNS server failed: TLS: hostname mismatch");
  EXPECT_EQ(toJson(servfail)["serverName"], "") << "the failure has its own field";
  // An older daemon sends neither; a bad value is named.
  json old = toJson(servfail);
  old.erase("failure");
  old.erase("enforcement");
  auto decoded = decodeResult<ResolveResult>(old);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->enforcement, Enforcement::kUnknown);
  EXPECT_EQ(decoded->failure, "");
  json badMode = toJson(servfail);
  badMode["enforcement"] = "maybe";
  EXPECT_EQ(decodeResult<ResolveResult>(badMode).error().message,
            "the daemon's answer is malformed: result.enforcement: expected \"disabled\", "
            "\"audit\" or \"enforce\", got \"maybe\"");
  json badVerdict = toJson(rr);
  badVerdict["addresses"][0]["verdict"] = "perhaps";
  EXPECT_EQ(decodeResult<ResolveResult>(badVerdict).error().message,
            "the daemon's answer is malformed: result.addresses[0].verdict: expected resolved, "
            "not-allowed, exception, loopback, unspecified or multicast, got \"perhaps\"");
  ServerProbe probe{"pdns1", *IpAddress::parse("198.51.100.53"), 853, Protocol::kDoT, true, {}};
  probe.steps = {{"connect", true, 0.4, "", ""},
                 {"tls", false, 3.0, "name-mismatch", "TLS: hostname mismatch"}};
  expectResultRoundTrip(DiagnoseServerResult{{probe}});
  expectResultRoundTrip(EmptyResult{});
}

TEST(ControlCodec, TransportHealthIsUpDownOrUnknownAndAnOlderDaemonSendsOnlyHealthy) {
  TransportInfo t{Protocol::kDoT, 853, "pdns1.example.test", "", false, std::nullopt, ""};
  t.health = Health::kUnknown;
  json j = toJson(t);
  EXPECT_EQ(j["health"], "unknown");
  EXPECT_EQ(j["healthy"], false);
  EXPECT_TRUE(j["lastFailureAt"].is_null());
  expectResultRoundTrip(ServerList{{{"pdns1", *IpAddress::parse("198.51.100.53"), 10, {t}}}});
  t.health = Health::kUp;
  t.healthy = true;
  t.lastRttMs = 0.8;
  t.lastFailure = "connect: connection refused";
  t.lastFailureAt = "2026-05-01T12:00:00Z";
  j = toJson(t);
  EXPECT_EQ(j["health"], "up");
  EXPECT_EQ(j["lastError"], "");
  EXPECT_EQ(j["lastFailure"], "connect: connection refused");
  EXPECT_EQ(j["lastFailureAt"], "2026-05-01T12:00:00Z");
  expectResultRoundTrip(ServerList{{{"pdns1", *IpAddress::parse("198.51.100.53"), 10, {t}}}});
  // A daemon from before `health`: absent, and the reader falls back on `healthy`.
  json old = {{"servers",
               {{{"name", "a"},
                 {"address", "198.51.100.53"},
                 {"transports", {{{"protocol", "DoT"}, {"port", 853}, {"healthy", true}}}}}}}};
  auto decoded = decodeResult<ServerList>(old);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_FALSE(decoded->servers[0].transports[0].health.has_value());
  EXPECT_TRUE(decoded->servers[0].transports[0].healthy);
  old["servers"][0]["transports"][0]["health"] = "sideways";
  auto bad = decodeResult<ServerList>(old);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "the daemon's answer is malformed: result.servers[0].transports[0].health: expected "
            "\"up\", \"down\" or \"unknown\", got \"sideways\"");
  StateInfo s;
  s.serversTotal = 2;
  s.serversUnknown = 2;
  EXPECT_EQ(toJson(s)["serversUnknown"], 2);
  expectResultRoundTrip(s);
}

TEST(ControlCodec, ResultsIgnoreUnknownFieldsButNotWrongTypes) {
  json state = toJson(StateInfo{});
  state["someFutureField"] = {1, 2, 3};
  EXPECT_TRUE(decodeResult<StateInfo>(state).ok());
  state["enabled"] = "yes";
  auto bad = decodeResult<StateInfo>(state);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(
      bad.error().message,
      "the daemon's answer is malformed: result.enabled: expected true or false, got \"yes\"");
  auto nested =
      decodeResult<ServerList>(json{{"servers",
                                     {{{"name", "a"},
                                       {"address", "1.2.3.4"},
                                       {"transports", {{{"protocol", "DoQ"}, {"port", 1}}}}}}}});
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.error().message,
            "the daemon's answer is malformed: result.servers[0].transports[0].protocol: expected "
            "\"DoT\" or \"DoH\", got \"DoQ\"");
  EXPECT_FALSE(decodeResult<json>(json::array()).ok());
  EXPECT_TRUE(decodeResult<json>(json{{"enabled", true}}).ok());
}

TEST(ControlCodec, ResponsesCarryCodesAndOneLineErrors) {
  auto ok = decodeResponse(encodeSuccess(5, json{{"a", 1}}));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->ok);
  EXPECT_EQ(ok->id, 5u);
  EXPECT_EQ(ok->result, (json{{"a", 1}}));

  for (ErrorCode code :
       {ErrorCode::kFailed, ErrorCode::kBadRequest, ErrorCode::kUnsupportedVersion,
        ErrorCode::kUnknownMethod, ErrorCode::kInvalidParams, ErrorCode::kTooLarge,
        ErrorCode::kPermissionDenied, ErrorCode::kBusy, ErrorCode::kTimeout, ErrorCode::kInternal,
        ErrorCode::kNotFound, ErrorCode::kConflict, ErrorCode::kUnavailable}) {
    auto r = decodeResponse(encodeFailure(std::nullopt, makeError(code, "why\nit\tfailed")));
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->ok);
    EXPECT_FALSE(r->id);
    EXPECT_EQ(r->code, code) << errorCodeName(code);
    EXPECT_EQ(r->error, "why?it?failed");
    EXPECT_EQ(errorCodeFromName(errorCodeName(code)), code);
  }
  // An errno-valued code from a handler is "failed", never a protocol code.
  EXPECT_EQ(errorCodeOf(Error::fromErrno("open", 2)), ErrorCode::kFailed);
  EXPECT_EQ(errorCodeOf(Error{"x", 0}), ErrorCode::kFailed);
  auto unknownCode =
      decodeResponse(R"({"version":1,"id":1,"ok":false,"error":"e","code":"novel"})");
  ASSERT_TRUE(unknownCode.ok());
  EXPECT_EQ(unknownCode->code, ErrorCode::kFailed);

  EXPECT_EQ(decodeResponse(R"({"version":2,"id":1,"ok":true,"result":{}})").error().message,
            "the daemon answered in protocol version 2; this ztdns speaks version 1");
  EXPECT_EQ(decodeResponse(R"({"version":1,"id":1,"result":{}})").error().message,
            "the daemon's answer has no \"ok\" flag");
  EXPECT_EQ(decodeResponse(R"({"version":1,"id":1,"ok":true})").error().message,
            "the daemon's answer has no result");
  EXPECT_EQ(decodeResponse(R"({"version":1,"id":1,"ok":false})").error().message,
            "the daemon's answer has no error text");
  EXPECT_EQ(decodeResponse("nope").error().message, "the daemon's answer is not valid JSON");
}

TEST(ControlCodec, EncodedLinesNeverContainANewline) {
  json weird = {{"text", "line1\nline2\r\n"}, {"bytes", std::string("\xff\xfe", 2)}};
  std::string line = encodeSuccess(1, weird);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto r = decodeResponse(line);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->result["text"], "line1\nline2\r\n");
}

TEST(ControlValidation, Values) {
  EXPECT_EQ(checkCertificateName("pdns1.example.test"), "");
  EXPECT_EQ(checkCertificateName("198.51.100.53"), "");
  EXPECT_EQ(checkCertificateName("-bad.test"), "\"-bad.test\" is not a host name or IP address");
  EXPECT_EQ(dohTemplateHost("https://[2001:db8::53]:8443/dns-query{?dns}"), "2001:db8::53");
  EXPECT_EQ(dohTemplateHost("HTTPS://Pdns.Test/q"), "Pdns.Test");
  EXPECT_EQ(dohTemplateHost("https://user@x.test/q"), "");
  EXPECT_EQ(checkDohTemplate("https://[2001:db8::53]:8443/dns-query"), "");
  EXPECT_EQ(checkQueryName("."), "");
  EXPECT_EQ(checkQueryName(std::string(64, 'a') + ".test"),
            "\"" + std::string(64, 'a') + ".test\" has a label longer than 63 characters");
  EXPECT_EQ(checkAbsolutePath("/etc/ztdns/ca.pem"), "");
  EXPECT_EQ(checkRecordType("HTTPS"), "");
}

}  // namespace
}  // namespace ztdns::control
