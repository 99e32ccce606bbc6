// Our schema: every key, defaults, types, ranges (just inside and just outside), and every
// error and warning message, asserted as exact text.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "test_util.h"

namespace ztdns::config {
namespace {

using testing::diagnose;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::labJson;
using testing::load;
using Json = nlohmann::json;

TEST(ConfigDefaults, MatchTheIssueTable) {
  Config c;
  EXPECT_FALSE(c.enabled);
  EXPECT_TRUE(c.auditModeEnabled);
  EXPECT_TRUE(c.secureDnsServers.empty());
  EXPECT_TRUE(c.exemptionRules.empty());
  EXPECT_TRUE(c.rootCertificatesForServerValidation.empty());
  EXPECT_FALSE(c.clientCertificate.has_value());
  EXPECT_FALSE(c.hostsFileResolutionEnabled);
  EXPECT_FALSE(c.loopbackTrafficBlocked);
  EXPECT_EQ(c.maximumConnectionTimeInSeconds, 86400u);
  EXPECT_EQ(c.minimumAllowTimeInSeconds, 300u);
  EXPECT_EQ(c.allowGraceSeconds, 30u);
  EXPECT_EQ(c.maxAllowedAddresses, 262144u);
  EXPECT_FALSE(c.permittedConnectionsLogEnabled);
  ASSERT_EQ(c.listenAddresses.size(), 2u);
  EXPECT_EQ(c.listenAddresses[0].toString(), "127.0.0.1:53");
  EXPECT_EQ(c.listenAddresses[1].toString(), "[::1]:53");
  EXPECT_EQ(c.log.maxFileBytes, 64ull << 20);
  EXPECT_EQ(c.log.keepFiles, 5u);
  EXPECT_EQ(c.log.connectionEventsPerSecond, 1000u);
}

TEST(ConfigDefaults, EmptyObjectIsTheDefaultsAndValid) {
  auto r = parseConfig("{}");
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.diagnostics.errors);
  EXPECT_EQ(*r.config, Config());
  EXPECT_THAT(r.diagnostics.warnings, IsEmpty());
  EXPECT_FALSE(r.fromIntune);
  EXPECT_THAT(validate(Config()).errors, IsEmpty());
}

TEST(ConfigParse, ReadsEveryKey) {
  Json j = labJson();
  j["auditModeEnabled"] = false;
  j["hostsFileResolutionEnabled"] = true;
  j["loopbackTrafficBlocked"] = true;
  j["maximumConnectionTimeInSeconds"] = 7200;
  j["minimumAllowTimeInSeconds"] = 60;
  j["allowGraceSeconds"] = 5;
  j["maxAllowedAddresses"] = 4096;
  j["permittedConnectionsLogEnabled"] = true;
  j["listenAddresses"] = {"127.0.0.53:53", "[2001:db8:0:1::10]:5353"};
  j["log"] = {{"maxFileBytes", 2 << 20}, {"keepFiles", 0}, {"connectionEventsPerSecond", 50}};
  j["secureDnsServers"][0]["spkiPins"] = {"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="};
  auto r = load(j);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.diagnostics.errors);
  const Config& c = *r.config;
  EXPECT_TRUE(c.enabled);
  EXPECT_FALSE(c.auditModeEnabled);
  EXPECT_TRUE(c.hostsFileResolutionEnabled);
  EXPECT_TRUE(c.loopbackTrafficBlocked);
  EXPECT_EQ(c.maximumConnectionTimeInSeconds, 7200u);
  EXPECT_EQ(c.minimumAllowTimeInSeconds, 60u);
  EXPECT_EQ(c.allowGraceSeconds, 5u);
  EXPECT_EQ(c.maxAllowedAddresses, 4096u);
  EXPECT_TRUE(c.permittedConnectionsLogEnabled);
  ASSERT_EQ(c.listenAddresses.size(), 2u);
  EXPECT_EQ(c.listenAddresses[0].toString(), "127.0.0.53:53");
  EXPECT_EQ(c.listenAddresses[1].toString(), "[2001:db8:0:1::10]:5353");
  EXPECT_EQ(c.log.maxFileBytes, 2u << 20);
  EXPECT_EQ(c.log.keepFiles, 0u);
  EXPECT_EQ(c.log.connectionEventsPerSecond, 50u);

  ASSERT_EQ(c.secureDnsServers.size(), 2u);
  const SecureDnsServer& s = c.secureDnsServers[0];
  EXPECT_EQ(s.displayName, "pdns1");
  EXPECT_EQ(s.ipAddress.toString(), "198.51.100.53");
  EXPECT_EQ(s.priority, 10);
  ASSERT_TRUE(s.dnsOverTls);
  EXPECT_EQ(s.dnsOverTls->tlsPort, 853);
  EXPECT_EQ(s.dnsOverTls->certificateSubjectName, "pdns1.example.test");
  ASSERT_TRUE(s.dnsOverHttps);
  EXPECT_EQ(s.dnsOverHttps->httpsPort, 443);
  EXPECT_EQ(s.dnsOverHttps->queryUrl, "https://pdns1.example.test/dns-query");
  EXPECT_THAT(s.spkiPins, ElementsAre("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="));
  EXPECT_FALSE(c.secureDnsServers[1].dnsOverHttps);
  EXPECT_EQ(c.secureDnsServers[1].priority, 20);

  ASSERT_EQ(c.exemptionRules.size(), 1u);
  EXPECT_EQ(c.exemptionRules[0].displayName, "media relay");
  EXPECT_EQ(c.exemptionRules[0].description, "UDP media relay reached by IP only");
  ASSERT_EQ(c.exemptionRules[0].ipAddresses.size(), 2u);
  EXPECT_EQ(c.exemptionRules[0].ipAddresses[0].toString(), "203.0.113.200/32");
  EXPECT_EQ(c.exemptionRules[0].ipAddresses[1].toString(), "2001:db8:200::1/128");
}

TEST(ConfigParse, OptionalServerFieldsTakeTheirDefaults) {
  Json j = {{"secureDnsServers",
             {{{"displayName", "a"},
               {"ipAddress", "198.51.100.53"},
               {"dnsOverTlsConfiguration", {{"certificateSubjectName", "a.example.test"}}},
               {"dnsOverHttpsConfiguration", {{"queryUrl", "https://a.example.test/q"}}}}}}};
  auto r = load(j);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.diagnostics.errors);
  const auto& s = r.config->secureDnsServers[0];
  EXPECT_EQ(s.priority, 100);
  EXPECT_EQ(s.dnsOverTls->tlsPort, 853);
  EXPECT_EQ(s.dnsOverHttps->httpsPort, 443);
  EXPECT_TRUE(s.spkiPins.empty());
}

TEST(ConfigParse, NullMeansNotConfiguredForOptionalObjects) {
  Json j = labJson();
  j["secureDnsServers"][0]["dnsOverHttpsConfiguration"] = nullptr;
  j["clientCertificate"] = nullptr;
  auto r = load(j);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.diagnostics.errors);
  EXPECT_FALSE(r.config->secureDnsServers[0].dnsOverHttps);
  EXPECT_FALSE(r.config->clientCertificate);
}

// One row per bounded number: just inside and just outside both ends.
struct RangeCase {
  std::string path;  // dotted, with [0] for the first server
  int64_t lo;
  int64_t hi;
};

void setPath(Json& j, const std::string& path, int64_t value) {
  Json* node = &j;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot - start);
    size_t bracket = part.find('[');
    if (bracket != std::string::npos) {
      node = &(*node)[part.substr(0, bracket)][std::stoul(part.substr(bracket + 1))];
    } else {
      node = &(*node)[part];
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  *node = value;
}

class ConfigRange : public ::testing::TestWithParam<RangeCase> {};

TEST_P(ConfigRange, AcceptsBothEndsAndRejectsJustOutside) {
  const RangeCase& rc = GetParam();
  auto base = [] {
    Json j = labJson();
    // Let minimumAllowTimeInSeconds reach its own maximum without tripping min <= max.
    j["maximumConnectionTimeInSeconds"] = 604800;
    j["minimumAllowTimeInSeconds"] = 30;
    return j;
  };
  for (int64_t v : {rc.lo, rc.hi}) {
    Json j = base();
    setPath(j, rc.path, v);
    if (rc.path == "maximumConnectionTimeInSeconds") j["minimumAllowTimeInSeconds"] = 0;
    auto d = diagnose(j);
    EXPECT_THAT(d.errors, IsEmpty()) << rc.path << " = " << v;
  }
  for (int64_t v : {rc.lo - 1, rc.hi + 1}) {
    Json j = base();
    setPath(j, rc.path, v);
    if (rc.path == "maximumConnectionTimeInSeconds") j["minimumAllowTimeInSeconds"] = 0;
    auto d = diagnose(j);
    EXPECT_THAT(d.errors, ElementsAre(rc.path + ": " + std::to_string(v) + " is out of range " +
                                      std::to_string(rc.lo) + ".." + std::to_string(rc.hi)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryBoundedKey, ConfigRange,
    ::testing::Values(
        RangeCase{"maximumConnectionTimeInSeconds", 30, 604800},
        RangeCase{"minimumAllowTimeInSeconds", 0, 604800}, RangeCase{"allowGraceSeconds", 0, 3600},
        RangeCase{"maxAllowedAddresses", 1024, 16777216},
        RangeCase{"log.maxFileBytes", 1 << 20, 64ll << 30}, RangeCase{"log.keepFiles", 0, 100},
        RangeCase{"log.connectionEventsPerSecond", 1, 1000000},
        RangeCase{"secureDnsServers[0].priority", 1, 1000},
        RangeCase{"secureDnsServers[0].dnsOverTlsConfiguration.tlsPort", 1, 65535},
        RangeCase{"secureDnsServers[0].dnsOverHttpsConfiguration.httpsPort", 1, 65535}),
    [](const ::testing::TestParamInfo<RangeCase>& param) {
      std::string name;
      for (char c : param.param.path) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

TEST(ConfigParse, NumbersFarOutsideTheirTypeAreRangeErrors) {
  Json j = labJson();
  j["maximumConnectionTimeInSeconds"] = 18446744073709551615ull;
  j["allowGraceSeconds"] = -9223372036854775807ll;
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("allowGraceSeconds: -9223372036854775807 is out of range 0..3600",
                          "maximumConnectionTimeInSeconds: 18446744073709551615 is out of range "
                          "30..604800"));
}

// JSON integers past 64 bits reach the reader as doubles: whole, so out of range, not "must
// be a whole number". Fractions (and whole doubles inside the range) still need an integer.
TEST(ConfigParse, WholeNumbersBeyond64BitsAreRangeErrors) {
  EXPECT_THAT(
      parseConfig(R"({"maxAllowedAddresses": 99999999999999999999999999999})").diagnostics.errors,
      ElementsAre("maxAllowedAddresses: 1e+29 is out of range 1024..16777216"));
  EXPECT_THAT(
      parseConfig(R"({"allowGraceSeconds": -99999999999999999999, "log": {"maxFileBytes": 1e30}})")
          .diagnostics.errors,
      ElementsAre("allowGraceSeconds: -1e+20 is out of range 0..3600",
                  "log.maxFileBytes: 1e+30 is out of range 1048576..68719476736"));
  EXPECT_THAT(parseConfig(R"({"maxAllowedAddresses": 2048.0})").diagnostics.errors,
              ElementsAre("maxAllowedAddresses: must be a whole number, not 2048.0"))
      << "unchanged: a number with a fraction part or exponent is not read as an integer";
  EXPECT_THAT(parseConfig(R"({"maxAllowedAddresses": 99999999999999999999.5})").diagnostics.errors,
              ElementsAre("maxAllowedAddresses: 1e+20 is out of range 1024..16777216"))
      << "a double this large holds no fraction";
  EXPECT_THAT(parseConfig(R"({"maxAllowedAddresses": 4096.5})").diagnostics.errors,
              ElementsAre("maxAllowedAddresses: must be a whole number, not 4096.5"));
  EXPECT_THAT(parseConfig(R"({"maxAllowedAddresses": 1e100000})").diagnostics.errors,
              ElementsAre(::testing::StartsWith("not valid JSON:")))
      << "an overflowing literal is a syntax error, not infinity";
}

TEST(ConfigParse, WrongTypesNameFieldAndValue) {
  Json j = labJson();
  j["enabled"] = "yes";
  j["auditModeEnabled"] = nullptr;
  j["maximumConnectionTimeInSeconds"] = "3600";
  j["minimumAllowTimeInSeconds"] = 30.5;
  j["exemptionRules"] = Json::object();
  j["listenAddresses"] = "127.0.0.1:53";
  j["log"] = Json::array();
  j["secureDnsServers"][0]["displayName"] = 7;
  j["secureDnsServers"][1]["spkiPins"] = {1};
  j["rootCertificatesForServerValidation"] = {true};
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("auditModeEnabled: must be true or false, not null",
                          "enabled: must be true or false, not \"yes\"",
                          "exemptionRules: must be an array, not an object",
                          "listenAddresses: must be an array, not \"127.0.0.1:53\"",
                          "log: must be an object, not an array",
                          "maximumConnectionTimeInSeconds: must be a whole number, not \"3600\"",
                          "minimumAllowTimeInSeconds: must be a whole number, not 30.5",
                          "rootCertificatesForServerValidation[0]: must be a string, not true",
                          "secureDnsServers[0].displayName: must be a string, not 7",
                          "secureDnsServers[1].spkiPins[0]: must be a string, not 1"));
}

TEST(ConfigParse, UnknownKeysAreErrorsWithAHint) {
  Json j = labJson();
  j["auditModeEnabeld"] = false;
  j["frobnicate"] = 1;
  j["foo"] = 1;  // 2 edits from "log": too far to be a hint
  j["secureDnsServers"][0]["ipAdress"] = "198.51.100.53";
  j["secureDnsServers"][0]["dnsOverTlsConfiguration"]["port"] = 853;
  j["secureDnsServers"][0]["dnsOverHttpsConfiguration"]["queryURL"] = "x";
  j["exemptionRules"][0]["ipaddresses"] = Json::array();
  j["log"] = {{"keepfile", 1}};
  j["clientCertificate"] = {{"certificateFile", "/a"}, {"privateKeyFile", "/b"}, {"pin", "x"}};
  auto d = diagnose(j);
  // nlohmann::json sorts the keys of this test's document; a file keeps its own order.
  EXPECT_THAT(
      d.errors,
      ::testing::IsSupersetOf(
          {"auditModeEnabeld: unknown key (did you mean \"auditModeEnabled\"?)",
           "frobnicate: unknown key", "foo: unknown key",
           "secureDnsServers[0].ipAdress: unknown key (did you mean \"ipAddress\"?)",
           "secureDnsServers[0].dnsOverTlsConfiguration.port: unknown key (did you mean "
           "\"tlsPort\"?)",
           "secureDnsServers[0].dnsOverHttpsConfiguration.queryURL: unknown key (did you mean "
           "\"queryUrl\"?)",
           "exemptionRules[0].ipaddresses: unknown key (did you mean \"ipAddresses\"?)",
           "log.keepfile: unknown key (did you mean \"keepFiles\"?)",
           "clientCertificate.pin: unknown key"}));
}

TEST(ConfigParse, RequiredFieldsAreNamed) {
  Json j = labJson();
  j["secureDnsServers"][0].erase("displayName");
  j["secureDnsServers"][0].erase("ipAddress");
  j["secureDnsServers"][0]["dnsOverTlsConfiguration"].erase("certificateSubjectName");
  j["secureDnsServers"][0]["dnsOverHttpsConfiguration"].erase("queryUrl");
  j["exemptionRules"][0].erase("displayName");
  j["exemptionRules"][0].erase("ipAddresses");
  j["clientCertificate"] = Json::object();
  EXPECT_THAT(
      diagnose(j).errors,
      ElementsAre("clientCertificate.certificateFile: is required",
                  "clientCertificate.privateKeyFile: is required",
                  "exemptionRules[0].displayName: is required",
                  "exemptionRules[0].ipAddresses: is required",
                  "secureDnsServers[0].dnsOverHttpsConfiguration.queryUrl: is required",
                  "secureDnsServers[0].dnsOverTlsConfiguration.certificateSubjectName: is required",
                  "secureDnsServers[0].displayName: is required",
                  "secureDnsServers[0].ipAddress: is required"));
}

TEST(ConfigParse, DuplicateJsonKeysAreErrorsWithTheirPath) {
  auto r = parseConfig(R"({"enabled": false, "enabled": false,
      "exemptionRules": [{"displayName": "a", "ipAddresses": [], "displayName": "b"}]})");
  EXPECT_FALSE(r.config);
  EXPECT_THAT(r.diagnostics.errors,
              ElementsAre("enabled: duplicate key; each key may appear once in an object",
                          "exemptionRules[0].displayName: duplicate key; each key may appear "
                          "once in an object"));
}

TEST(ConfigParse, SyntaxErrorsNameLineAndColumn) {
  auto r = parseConfig("{\n  \"enabled\": tru }");
  ASSERT_EQ(r.diagnostics.errors.size(), 1u);
  EXPECT_THAT(r.diagnostics.errors[0],
              ::testing::StartsWith("not valid JSON: parse error at line 2, column "));
  EXPECT_THAT(parseConfig("").diagnostics.errors[0], ::testing::StartsWith("not valid JSON: "));
  // A NUL would end the text for the JSON library and hide what follows it.
  EXPECT_THAT(parseConfig(std::string("{}\0{\"enabled\": true}", 20)).diagnostics.errors,
              ElementsAre("not valid JSON: a NUL byte at offset 2"));
  EXPECT_THAT(parseConfig("[1]").diagnostics.errors,
              ElementsAre("the configuration must be a JSON object, not an array"));
  EXPECT_THAT(parseConfig("\"x\"").diagnostics.errors,
              ElementsAre("the configuration must be a JSON object, not \"x\""));
}

TEST(ConfigParse, FileOrderIsKeptInTheErrorList) {
  auto r = parseConfig(R"({"maxAllowedAddresses": 1, "allowGraceSeconds": -1})");
  EXPECT_THAT(r.diagnostics.errors,
              ElementsAre("maxAllowedAddresses: 1 is out of range 1024..16777216",
                          "allowGraceSeconds: -1 is out of range 0..3600"));
}

TEST(ConfigServers, BadAddressIsNamedAsInTheIssue) {
  Json j = labJson();
  j["secureDnsServers"][1]["ipAddress"] = "1.2.3";
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("secureDnsServers[1].ipAddress: \"1.2.3\" is not an IP address"));
}

TEST(ConfigServers, UnusableAddresses) {
  for (const char* a : {"0.0.0.0", "::", "224.0.0.1", "ff02::1", "255.255.255.255"}) {
    Json j = labJson();
    j["secureDnsServers"][1]["ipAddress"] = a;
    auto expected = std::string("secureDnsServers[1].ipAddress: ") + a +
                    " is not a unicast address a server can have";
    EXPECT_THAT(diagnose(j).errors, ElementsAre(expected));
  }
  Json j = labJson();
  j["secureDnsServers"][1]["ipAddress"] = "2001:db8:53::54";
  EXPECT_THAT(diagnose(j).errors, IsEmpty());
}

// ::ffff:a.b.c.d is a.b.c.d: as a server it would be a duplicate the endpoint check cannot
// see (and the kernel's servers4 set would hold it twice); refused with the IPv4 form.
TEST(ConfigServers, Ipv4MappedAddressesAreRefusedWithTheIpv4Form) {
  Json j = labJson();
  j["secureDnsServers"][1]["ipAddress"] = "::ffff:198.51.100.53";
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("secureDnsServers[1].ipAddress: ::ffff:198.51.100.53 is an IPv4-mapped "
                          "address; use 198.51.100.53"))
      << "and not also 'port 853 is already used by secureDnsServers[0]'";
  j["secureDnsServers"][1]["ipAddress"] = "::ffff:198.51.100.60";
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("secureDnsServers[1].ipAddress: ::ffff:198.51.100.60 is an IPv4-mapped "
                          "address; use 198.51.100.60"));
  j["secureDnsServers"][1]["ipAddress"] = "::fffe:c633:643c";  // not mapped
  EXPECT_THAT(diagnose(j).errors, IsEmpty());
}

TEST(ConfigServers, NeedsDotOrDoh) {
  Json j = labJson();
  j["secureDnsServers"][1].erase("dnsOverTlsConfiguration");
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("secureDnsServers[1]: needs dnsOverTlsConfiguration or "
                          "dnsOverHttpsConfiguration (or both); ztdnsd never sends plaintext DNS"));
  j["secureDnsServers"][1]["dnsOverHttpsConfiguration"] = {
      {"queryUrl", "https://pdns2.example.test/dns-query"}};
  EXPECT_THAT(diagnose(j).errors, IsEmpty());
}

TEST(ConfigServers, DohQueryUrlMustBeHttpsWithAHost) {
  struct Case {
    const char* url;
    const char* why;
  } cases[] = {
      {"http://pdns1.example.test/dns-query",
       "\"http://pdns1.example.test/dns-query\" is not an https:// URL"},
      {"pdns1.example.test/dns-query", "\"pdns1.example.test/dns-query\" is not an https:// URL"},
      {"https:///dns-query", "\"https:///dns-query\" has no host"},
      {"https://", "\"https://\" has no host"},
      {"https://:443/dns-query", "\"https://:443/dns-query\" has no host"},
      {"https://pdns1.example.test:0/q",
       "\"https://pdns1.example.test:0/q\" has a port outside 1..65535"},
      {"https://bad host/q", "\"https://bad host/q\" has a host that is not a DNS name or IP"},
      {"", "is empty; give the https:// URL of the DoH service"},
  };
  for (const auto& c : cases) {
    Json j = labJson();
    j["secureDnsServers"][0]["dnsOverHttpsConfiguration"]["queryUrl"] = c.url;
    EXPECT_THAT(
        diagnose(j).errors,
        ElementsAre(std::string("secureDnsServers[0].dnsOverHttpsConfiguration.queryUrl: ") +
                    c.why))
        << c.url;
  }
  for (const char* ok :
       {"HTTPS://pdns1.example.test/dns-query{?dns}", "https://198.51.100.53/dns-query",
        "https://[2001:db8:53::53]:443/dns-query", "https://pdns1.example.test"}) {
    Json j = labJson();
    j["secureDnsServers"][0]["dnsOverHttpsConfiguration"]["queryUrl"] = ok;
    EXPECT_THAT(diagnose(j).errors, IsEmpty()) << ok;
  }
}

TEST(ConfigServers, DohUrlWarnings) {
  Json j = labJson();
  j["secureDnsServers"][0]["dnsOverHttpsConfiguration"]["queryUrl"] =
      "https://198.51.100.99:8443/dns-query";
  auto d = diagnose(j);
  EXPECT_THAT(d.errors, IsEmpty());
  EXPECT_THAT(d.warnings,
              ElementsAre("secureDnsServers[0].dnsOverHttpsConfiguration.queryUrl: names port "
                          "8443 but httpsPort is 443; ztdnsd connects to httpsPort",
                          "secureDnsServers[0].dnsOverHttpsConfiguration.queryUrl: host "
                          "198.51.100.99 differs from ipAddress 198.51.100.53; ztdnsd connects "
                          "to ipAddress and expects a certificate for 198.51.100.99"));
}

TEST(ConfigServers, DotSubjectNameMustBeANameOrAddress) {
  Json j = labJson();
  j["secureDnsServers"][0]["dnsOverTlsConfiguration"]["certificateSubjectName"] = "";
  j["secureDnsServers"][1]["dnsOverTlsConfiguration"]["certificateSubjectName"] =
      "CN=pdns2.example.test";
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("secureDnsServers[0].dnsOverTlsConfiguration.certificateSubjectName: "
                          "is empty; give the DNS name or IP address the server certificate "
                          "must carry",
                          "secureDnsServers[1].dnsOverTlsConfiguration.certificateSubjectName: "
                          "\"CN=pdns2.example.test\" is not a DNS name or IP address"));
  j["secureDnsServers"][0]["dnsOverTlsConfiguration"]["certificateSubjectName"] = "198.51.100.53";
  j["secureDnsServers"][1]["dnsOverTlsConfiguration"]["certificateSubjectName"] = "2001:db8:53::54";
  EXPECT_THAT(diagnose(j).errors, IsEmpty());
}

TEST(ConfigServers, SpkiPinsMustBeBase64Of32Bytes) {
  const std::string good = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";  // SHA-256("")
  Json j = labJson();
  j["secureDnsServers"][0]["spkiPins"] = {
      good,
      "abc",
      "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",   // no padding
      "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=",  // non-zero trailing bits
      "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuA==",  // 31 bytes
      "47DEQpj8HBSa-_TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",  // base64url alphabet
  };
  EXPECT_THAT(
      diagnose(j).errors,
      ElementsAre(
          "secureDnsServers[0].spkiPins[1]: \"abc\" is not base64 of a 32-byte SHA-256 digest",
          "secureDnsServers[0].spkiPins[2]: \"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\" is "
          "not base64 of a 32-byte SHA-256 digest",
          "secureDnsServers[0].spkiPins[3]: \"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\" is "
          "not base64 of a 32-byte SHA-256 digest",
          "secureDnsServers[0].spkiPins[4]: \"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuA==\" is "
          "not base64 of a 32-byte SHA-256 digest",
          "secureDnsServers[0].spkiPins[5]: \"47DEQpj8HBSa-_TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\" is "
          "not base64 of a 32-byte SHA-256 digest"));
  j["secureDnsServers"][0]["spkiPins"] = Json::array();
  for (size_t i = 0; i < kMaxSpkiPins; ++i) j["secureDnsServers"][0]["spkiPins"].push_back(good);
  EXPECT_THAT(diagnose(j).errors, IsEmpty());
  j["secureDnsServers"][0]["spkiPins"].push_back(good);
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("secureDnsServers[0].spkiPins: 33 entries; at most 32 are allowed"));
}

TEST(ConfigServers, DuplicateNamesAndEndpoints) {
  Json j = labJson();
  j["secureDnsServers"][1]["displayName"] = "pdns1";
  j["secureDnsServers"][1]["ipAddress"] = "198.51.100.53";
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("secureDnsServers[1].displayName: \"pdns1\" is already used by "
                          "secureDnsServers[0]",
                          "secureDnsServers[1]: 198.51.100.53 port 853 is already used by "
                          "secureDnsServers[0]"));
  // Same address on another port is another server.
  j["secureDnsServers"][1]["displayName"] = "pdns1-alt";
  j["secureDnsServers"][1]["dnsOverTlsConfiguration"]["tlsPort"] = 8853;
  EXPECT_THAT(diagnose(j).errors, IsEmpty());
  // A DoH port equal to another server's DoT port on the same address collides too.
  j["secureDnsServers"][1]["dnsOverTlsConfiguration"]["tlsPort"] = 443;
  EXPECT_THAT(diagnose(j).errors, ElementsAre("secureDnsServers[1]: 198.51.100.53 port 443 is "
                                              "already used by secureDnsServers[0]"));
}

TEST(ConfigServers, NamesMustBeNonEmptyAndPrintable) {
  Json j = labJson();
  j["secureDnsServers"][0]["displayName"] = "";
  j["exemptionRules"][0]["displayName"] = "relay\nx";
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("secureDnsServers[0].displayName: must not be empty",
                          "exemptionRules[0].displayName: \"relay\\u000ax\" contains a control "
                          "character"));
}

// A tester's find: name=" z1" was taken silently, and `name=z1` then finds nothing.
TEST(ConfigServers, ANameThatBeginsOrEndsWithASpaceIsAWarning) {
  Json j = labJson();
  j["exemptionRules"][0]["displayName"] = " relay";
  j["secureDnsServers"][0]["displayName"] = "pdns1 ";
  auto r = load(j);
  ASSERT_TRUE(r.config);
  EXPECT_THAT(r.diagnostics.warnings,
              ElementsAre("secureDnsServers[0].displayName: \"pdns1 \" begins or ends with a "
                          "space, which is easy to miss when the name is typed again (name=...)",
                          "exemptionRules[0].displayName: \" relay\" begins or ends with a "
                          "space, which is easy to miss when the name is typed again (name=...)"));
}

TEST(ConfigServers, EnabledNeedsAServerDisabledDoesNot) {
  Json j = labJson();
  j["secureDnsServers"] = Json::array();
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("secureDnsServers: enabled is true but no server is configured; add "
                          "at least one"));
  j["enabled"] = false;
  EXPECT_THAT(diagnose(j).errors, IsEmpty());
}

TEST(ConfigServers, AtMost500) {
  Json j = labJson();
  Json servers = Json::array();
  for (int i = 0; i < 500; ++i) {
    servers.push_back(
        {{"displayName", "s" + std::to_string(i)},
         {"ipAddress", "198.51.100." + std::to_string(i % 250 + 1)},
         {"dnsOverTlsConfiguration",
          {{"tlsPort", 853 + i / 250}, {"certificateSubjectName", "s.example.test"}}}});
  }
  j["secureDnsServers"] = servers;
  EXPECT_THAT(diagnose(j).errors, IsEmpty());
  servers.push_back(
      {{"displayName", "one too many"},
       {"ipAddress", "198.51.100.250"},
       {"dnsOverTlsConfiguration", {{"tlsPort", 900}, {"certificateSubjectName", "x.test"}}}});
  j["secureDnsServers"] = servers;
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("secureDnsServers: 501 entries; at most 500 are allowed"));
}

TEST(ConfigServers, OneBadServerDoesNotHideTheOthersProblems) {
  Json j = labJson();
  j["secureDnsServers"][0] = "pdns1";
  j["secureDnsServers"][1]["priority"] = 1001;
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("secureDnsServers[0]: must be an object, not \"pdns1\"",
                          "secureDnsServers[1].priority: 1001 is out of range 1..1000"));
}

TEST(ConfigExemptions, HostBitsAreNormalisedWithAWarning) {
  Json j = labJson();
  j["exemptionRules"][0]["ipAddresses"] = {"203.0.113.77/24", "2001:db8:200::1/48",
                                           "203.0.113.0/24"};
  auto r = load(j);
  ASSERT_TRUE(r.config);
  const auto& p = r.config->exemptionRules[0].ipAddresses;
  EXPECT_EQ(p[0].toString(), "203.0.113.0/24");
  EXPECT_EQ(p[1].toString(), "2001:db8:200::/48");
  EXPECT_EQ(p[2].toString(), "203.0.113.0/24");
  EXPECT_THAT(r.diagnostics.warnings,
              ElementsAre("exemptionRules[0].ipAddresses[0]: \"203.0.113.77/24\" has host bits "
                          "set; using 203.0.113.0/24",
                          "exemptionRules[0].ipAddresses[1]: \"2001:db8:200::1/48\" has host "
                          "bits set; using 2001:db8:200::/48",
                          "exemptionRules[0].ipAddresses[2]: rule \"media relay\" lists "
                          "203.0.113.0/24 twice (also at exemptionRules[0].ipAddresses[0])"));
}

TEST(ConfigExemptions, BadPrefixesAndDuplicateNames) {
  Json j = labJson();
  j["exemptionRules"].push_back(
      {{"displayName", "media relay"},
       {"ipAddresses", {"10.0.0.0/33", "2001:db8::/129", "host.test", ""}}});
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("exemptionRules[1].ipAddresses[0]: \"10.0.0.0/33\" is not an IP "
                          "address or prefix",
                          "exemptionRules[1].ipAddresses[1]: \"2001:db8::/129\" is not an IP "
                          "address or prefix",
                          "exemptionRules[1].ipAddresses[2]: \"host.test\" is not an IP address "
                          "or prefix",
                          "exemptionRules[1].ipAddresses[3]: \"\" is not an IP address or prefix",
                          "exemptionRules[1].displayName: \"media relay\" is already used by "
                          "exemptionRules[0]"));
}

// An exception for ::ffff:203.0.113.9 would sit in the IPv6 set and never match the IPv4
// packets it was meant for.
TEST(ConfigExemptions, Ipv4MappedPrefixesAreRefusedWithTheIpv4Form) {
  Json j = labJson();
  j["exemptionRules"][0]["ipAddresses"] = {"::ffff:203.0.113.9", "::ffff:203.0.113.0/120",
                                           "::ffff:0:0/96",      "::/0",
                                           "::ffff:0:0/95",      "2001:db8::ffff:203.0.113.9"};
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("exemptionRules[0].ipAddresses[0]: ::ffff:203.0.113.9/128 is an "
                          "IPv4-mapped prefix; use 203.0.113.9/32",
                          "exemptionRules[0].ipAddresses[1]: ::ffff:203.0.113.0/120 is an "
                          "IPv4-mapped prefix; use 203.0.113.0/24",
                          "exemptionRules[0].ipAddresses[2]: ::ffff:0.0.0.0/96 is an "
                          "IPv4-mapped prefix; use 0.0.0.0/0"))
      << "prefixes wider than the mapped range, and addresses merely ending in one, are IPv6";
}

TEST(ConfigListen, Ipv4MappedAddressesAreRefusedWithTheIpv4Form) {
  Json j = labJson();
  j["listenAddresses"] = {"127.0.0.1:53", "[::ffff:127.0.0.1]:53"};
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("listenAddresses[1]: [::ffff:127.0.0.1]:53 is an IPv4-mapped address; "
                          "use 127.0.0.1:53"));
}

TEST(ConfigExemptions, EmptyRuleIsAWarning) {
  Json j = labJson();
  j["exemptionRules"][0]["ipAddresses"] = Json::array();
  auto r = load(j);
  ASSERT_TRUE(r.config);
  EXPECT_THAT(r.diagnostics.warnings,
              ElementsAre("exemptionRules[0].ipAddresses: is empty; the rule exempts nothing"));
}

// Compared after normalisation: a bare address is its host prefix, host bits are cleared.
TEST(ConfigExemptions, APrefixListedTwiceInARuleIsAWarning) {
  Json j = labJson();
  j["exemptionRules"][0]["ipAddresses"] = {"203.0.113.1",     "203.0.113.1/32",
                                           "2001:db8:200::1", "203.0.113.77/24",
                                           "203.0.113.0/24",  "2001:db8:200::1/128"};
  j["exemptionRules"].push_back({{"displayName", "other"}, {"ipAddresses", {"203.0.113.1"}}});
  auto r = load(j);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.diagnostics.errors);
  EXPECT_EQ(r.config->exemptionRules[0].ipAddresses.size(), 6u) << "kept as written";
  EXPECT_THAT(r.diagnostics.warnings,
              ElementsAre("exemptionRules[0].ipAddresses[3]: \"203.0.113.77/24\" has host bits "
                          "set; using 203.0.113.0/24",
                          "exemptionRules[0].ipAddresses[1]: rule \"media relay\" lists "
                          "203.0.113.1/32 twice (also at exemptionRules[0].ipAddresses[0])",
                          "exemptionRules[0].ipAddresses[4]: rule \"media relay\" lists "
                          "203.0.113.0/24 twice (also at exemptionRules[0].ipAddresses[3])",
                          "exemptionRules[0].ipAddresses[5]: rule \"media relay\" lists "
                          "2001:db8:200::1/128 twice (also at exemptionRules[0].ipAddresses[2])"))
      << "the same prefix in another rule is diagnose's exceptions-overlap, not this";
  // Unusable entries are not compared: two bad ones are not "the same prefix".
  j["exemptionRules"][0]["ipAddresses"] = {"bad", "bad"};
  EXPECT_THAT(diagnose(j).warnings, IsEmpty());
}

std::string manyRules(size_t rules, size_t prefixesPerRule) {
  std::string s = R"({"exemptionRules": [)";
  for (size_t i = 0; i < rules; ++i) {
    if (i) s += ',';
    s += R"({"displayName": "r)" + std::to_string(i) + R"(", "ipAddresses": [)";
    for (size_t k = 0; k < prefixesPerRule; ++k) {
      size_t n = i * prefixesPerRule + k;
      if (k) s += ',';
      s += "\"10." + std::to_string((n >> 16) & 255) + "." + std::to_string((n >> 8) & 255) + "." +
           std::to_string(n & 255) + "\"";
    }
    s += "]}";
  }
  return s + "]}";
}

double secondsToParse(const std::string& text, LoadResult& out) {
  auto start = std::chrono::steady_clock::now();
  out = parseConfig(text);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The issue's bound: 10,000 rules x 1 prefix and 1 rule x 10,000 prefixes load well under a
// second. The limit here is generous (sanitizer builds, a shared 2-core box) yet still
// catches a quadratic check, which would take minutes at this size.
TEST(ConfigExemptions, TenThousandRulesAndTenThousandPrefixesLoadFast) {
  LoadResult r;
  double t1 = secondsToParse(manyRules(10000, 1), r);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.diagnostics.errors);
  EXPECT_EQ(r.config->exemptionRules.size(), 10000u);
  double t2 = secondsToParse(manyRules(1, 10000), r);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.diagnostics.errors);
  EXPECT_EQ(r.config->exemptionRules[0].ipAddresses.size(), 10000u);
  EXPECT_LT(t1, 5.0);
  EXPECT_LT(t2, 5.0);
  RecordProperty("seconds_10000x1", std::to_string(t1));
  RecordProperty("seconds_1x10000", std::to_string(t2));
}

TEST(ConfigExemptions, CapsAreOneHundredThousandRulesAndPrefixesPerRule) {
  LoadResult r = parseConfig(manyRules(kMaxExemptionRules, 1));
  EXPECT_TRUE(r.config);
  r = parseConfig(manyRules(kMaxExemptionRules + 1, 1));
  EXPECT_THAT(r.diagnostics.errors,
              ElementsAre("exemptionRules: 100001 entries; at most 100000 are allowed"));
  r = parseConfig(manyRules(1, kMaxPrefixesPerRule));
  EXPECT_TRUE(r.config);
  r = parseConfig(manyRules(1, kMaxPrefixesPerRule + 1));
  EXPECT_THAT(r.diagnostics.errors,
              ElementsAre("exemptionRules[0].ipAddresses: 100001 entries; at most 100000 are "
                          "allowed"));
}

TEST(ConfigListen, AddressesMustBeEndpointsAndUnique) {
  Json j = labJson();
  j["listenAddresses"] = {"127.0.0.1", "::1:53", "[::1]:0", "127.0.0.1:53", "127.0.0.1:53"};
  EXPECT_THAT(
      diagnose(j).errors,
      ElementsAre("listenAddresses[0]: \"127.0.0.1\" is not an ip:port or [ipv6]:port endpoint",
                  "listenAddresses[1]: \"::1:53\" is not an ip:port or [ipv6]:port endpoint",
                  "listenAddresses[2]: \"[::1]:0\" is not an ip:port or [ipv6]:port endpoint",
                  "listenAddresses[4]: 127.0.0.1:53 is already listed at listenAddresses[3]"));
  j["listenAddresses"] = Json::array();
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("listenAddresses: is empty; the stub resolver needs at least one "
                          "ip:port to listen on"));
  j["listenAddresses"] = Json::array();
  for (int i = 1; i <= 65; ++i)
    j["listenAddresses"].push_back("127.0.0." + std::to_string(i) + ":53");
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("listenAddresses: 65 entries; at most 64 are allowed"));
  j["listenAddresses"].erase(64);
  EXPECT_THAT(diagnose(j).errors, IsEmpty());
}

// The stub allows what it answers: a listener other hosts can reach lets them open this
// host's egress. Accepted, with a warning per listener.
TEST(ConfigListen, NonLoopbackAddressesAreAWarning) {
  Json j = labJson();
  j["listenAddresses"] = {"127.0.0.1:53", "127.0.0.53:53", "[::1]:53",
                          "0.0.0.0:5353", "[::]:53",       "192.0.2.10:53"};
  auto r = load(j);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.diagnostics.errors);
  const std::string tail =
      " is not a loopback address: other hosts could query the stub, and every answer adds "
      "addresses to this host's allow set; the stub is meant for this host only (127.0.0.1:53, "
      "[::1]:53)";
  EXPECT_THAT(r.diagnostics.warnings, ElementsAre("listenAddresses[3]: 0.0.0.0:5353" + tail,
                                                  "listenAddresses[4]: [::]:53" + tail,
                                                  "listenAddresses[5]: 192.0.2.10:53" + tail));
  EXPECT_THAT(load(labJson()).diagnostics.warnings, IsEmpty()) << "the defaults are loopback";
}

TEST(ConfigTimes, MinimumAboveMaximumIsAnError) {
  Json j = labJson();
  j["maximumConnectionTimeInSeconds"] = 3600;
  j["minimumAllowTimeInSeconds"] = 3601;
  EXPECT_THAT(diagnose(j).errors, ElementsAre("minimumAllowTimeInSeconds: 3601 is above "
                                              "maximumConnectionTimeInSeconds (3600)"));
  j["minimumAllowTimeInSeconds"] = 3600;
  EXPECT_THAT(diagnose(j).errors, IsEmpty());
  // The default minimum (300) counts as well.
  j.erase("minimumAllowTimeInSeconds");
  j["maximumConnectionTimeInSeconds"] = 60;
  EXPECT_THAT(diagnose(j).errors, ElementsAre("minimumAllowTimeInSeconds: 300 is above "
                                              "maximumConnectionTimeInSeconds (60)"));
  // An out-of-range maximum is reported once, without a follow-on comparison.
  j["maximumConnectionTimeInSeconds"] = 10;
  EXPECT_THAT(diagnose(j).errors,
              ElementsAre("maximumConnectionTimeInSeconds: 10 is out of range 30..604800"));
}

TEST(ConfigParse, ReportsEveryProblemAtOnce) {
  Json j = labJson();
  j["allowGraceSeconds"] = 3601;
  j["secureDnsServers"][0]["ipAddress"] = "300.1.1.1";
  j["secureDnsServers"][1]["dnsOverTlsConfiguration"]["tlsPort"] = 0;
  j["exemptionRules"][0]["ipAddresses"][0] = "203.0.113.300";
  j["listenAddresses"][0] = "localhost:53";
  auto r = load(j);
  EXPECT_FALSE(r.config);
  EXPECT_EQ(r.diagnostics.errors.size(), 5u) << ::testing::PrintToString(r.diagnostics.errors);
}

TEST(ConfigRoundTrip, ParseOfToJsonGivesTheSameConfig) {
  Json j = labJson();
  j["secureDnsServers"][0]["spkiPins"] = {"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="};
  j["exemptionRules"][0]["ipAddresses"].push_back("198.51.100.0/24");
  j["allowGraceSeconds"] = 0;
  j["log"]["keepFiles"] = 9;
  auto first = load(j);
  ASSERT_TRUE(first.config);
  Json out = toJson(*first.config);
  auto second = parseConfig(out.dump());
  ASSERT_TRUE(second.config) << ::testing::PrintToString(second.diagnostics.errors);
  EXPECT_EQ(*second.config, *first.config);
  auto third = parseConfig(formatConfig(*first.config));
  ASSERT_TRUE(third.config);
  EXPECT_EQ(*third.config, *first.config);
  EXPECT_EQ(toJson(*second.config), out);
}

TEST(ConfigRoundTrip, ToJsonHasEveryKey) {
  Json j = toJson(Config());
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_THAT(keys, ElementsAre("allowGraceSeconds", "auditModeEnabled", "clientCertificate",
                                "enabled", "exemptionRules", "hostsFileResolutionEnabled",
                                "listenAddresses", "log", "loopbackTrafficBlocked",
                                "maxAllowedAddresses", "maximumConnectionTimeInSeconds",
                                "minimumAllowTimeInSeconds", "permittedConnectionsLogEnabled",
                                "rootCertificatesForServerValidation", "secureDnsServers"));
  EXPECT_TRUE(j["clientCertificate"].is_null());
  Json s = toJson(*load(labJson()).config)["secureDnsServers"][1];
  EXPECT_EQ(s.size(), 6u);
  EXPECT_TRUE(s["dnsOverHttpsConfiguration"].is_null());
  EXPECT_TRUE(s["spkiPins"].is_array());
}

TEST(ConfigRoundTrip, FormatConfigUsesTheDocumentedOrder) {
  std::string text = formatConfig(Config());
  EXPECT_EQ(text.back(), '\n');
  auto pos = [&](const char* key) { return text.find(std::string("\"") + key + "\""); };
  const char* order[] = {"enabled",
                         "auditModeEnabled",
                         "secureDnsServers",
                         "exemptionRules",
                         "rootCertificatesForServerValidation",
                         "clientCertificate",
                         "hostsFileResolutionEnabled",
                         "loopbackTrafficBlocked",
                         "maximumConnectionTimeInSeconds",
                         "minimumAllowTimeInSeconds",
                         "allowGraceSeconds",
                         "maxAllowedAddresses",
                         "permittedConnectionsLogEnabled",
                         "listenAddresses",
                         "log"};
  for (size_t i = 1; i < std::size(order); ++i) {
    EXPECT_LT(pos(order[i - 1]), pos(order[i])) << order[i];
  }
}

TEST(ConfigValidate, InCodeConfigsFollowTheSameRules) {
  Config c = *load(labJson()).config;
  c.secureDnsServers[0].priority = 0;
  c.secureDnsServers[0].dnsOverTls->tlsPort = 0;
  c.exemptionRules[0].ipAddresses.push_back(IpPrefix(*IpAddress::parse("203.0.113.77"), 24));
  c.maximumConnectionTimeInSeconds = 29;
  c.minimumAllowTimeInSeconds = 0;
  c.listenAddresses.push_back(Endpoint{*IpAddress::parse("127.0.0.1"), 0});
  c.log.maxFileBytes = 1;
  EXPECT_THAT(validate(c).errors,
              ElementsAre("maximumConnectionTimeInSeconds: 29 is out of range 30..604800",
                          "log.maxFileBytes: 1 is out of range 1048576..68719476736",
                          "secureDnsServers[0].priority: 0 is out of range 1..1000",
                          "secureDnsServers[0].dnsOverTlsConfiguration.tlsPort: 0 is out of range "
                          "1..65535",
                          "exemptionRules[0].ipAddresses[2]: 203.0.113.77/24 has host bits set; "
                          "use 203.0.113.0/24",
                          "listenAddresses[2]: 127.0.0.1:0: port 0 is out of range 1..65535"));
}

TEST(ConfigValidate, NormalizePrefixesFixesAndWarns) {
  Config c = *load(labJson()).config;
  c.exemptionRules[0].ipAddresses.push_back(IpPrefix(*IpAddress::parse("2001:db8::1"), 32));
  EXPECT_THAT(normalizePrefixes(c),
              ElementsAre("exemptionRules[0].ipAddresses[2]: 2001:db8::1/32 has host bits set; "
                          "using 2001:db8::/32"));
  EXPECT_EQ(c.exemptionRules[0].ipAddresses[2].toString(), "2001:db8::/32");
  EXPECT_THAT(validate(c).errors, IsEmpty());
  EXPECT_THAT(normalizePrefixes(c), IsEmpty());
}

TEST(ConfigGraphWrapper, ValueObjectIsUnwrapped) {
  auto r = parseConfig(R"({"@odata.context": "x", "value": {"enabled": false}})");
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.diagnostics.errors);
  EXPECT_FALSE(r.config->enabled);
}

TEST(AllowSecondsForTtl, ClampsTtlPlusGrace) {
  Config c;  // min 300, max 86400, grace 30
  EXPECT_EQ(c.allowSecondsForTtl(0), 300u);
  EXPECT_EQ(c.allowSecondsForTtl(269), 300u);
  EXPECT_EQ(c.allowSecondsForTtl(270), 300u);
  EXPECT_EQ(c.allowSecondsForTtl(271), 301u);
  EXPECT_EQ(c.allowSecondsForTtl(3600), 3630u);
  EXPECT_EQ(c.allowSecondsForTtl(86370), 86400u);
  EXPECT_EQ(c.allowSecondsForTtl(86371), 86400u);
  EXPECT_EQ(c.allowSecondsForTtl(UINT32_MAX), 86400u);  // no wrap-around to a short allowance
  c.allowGraceSeconds = 3600;
  EXPECT_EQ(c.allowSecondsForTtl(UINT32_MAX - 10), 86400u);
  c.minimumAllowTimeInSeconds = 0;
  c.allowGraceSeconds = 0;
  EXPECT_EQ(c.allowSecondsForTtl(0), 1u);  // never 0: the allow set refuses a 0 s allow
  EXPECT_EQ(c.allowSecondsForTtl(7), 7u);
  c.minimumAllowTimeInSeconds = 86400;
  EXPECT_EQ(c.allowSecondsForTtl(0), 86400u);
  // Even an unvalidated min > max never allows longer than the maximum.
  c.minimumAllowTimeInSeconds = 100000;
  EXPECT_EQ(c.allowSecondsForTtl(5), 86400u);
}

}  // namespace
}  // namespace ztdns::config
