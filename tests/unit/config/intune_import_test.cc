// Intune Graph windowsZtdnsConfiguration exports (fixtures in data/, shaped like real Graph
// beta responses): what maps, what is reported as unmapped, and the errors that remain.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace ztdns::config {
namespace {

using testing::dataFile;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Json = nlohmann::json;

TEST(IntuneImport, GetResponseMapsEverythingThatMaps) {
  LoadResult r = loadConfigFile(dataFile("intune_get_response.json"));
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.diagnostics.errors);
  EXPECT_TRUE(r.fromIntune);
  const Config& c = *r.config;
  EXPECT_TRUE(c.enabled);  // a deployed policy turns ZTDNS on
  EXPECT_FALSE(c.auditModeEnabled);
  EXPECT_TRUE(c.hostsFileResolutionEnabled);
  EXPECT_FALSE(c.loopbackTrafficBlocked);
  EXPECT_EQ(c.maximumConnectionTimeInSeconds, 3600u);
  EXPECT_EQ(c.minimumAllowTimeInSeconds, 300u);
  EXPECT_TRUE(c.rootCertificatesForServerValidation.empty());
  EXPECT_FALSE(c.clientCertificate);
  EXPECT_EQ(c.listenAddresses, Config().listenAddresses);

  ASSERT_EQ(c.secureDnsServers.size(), 2u);
  const auto& s0 = c.secureDnsServers[0];
  EXPECT_EQ(s0.displayName, "pdns1");
  EXPECT_EQ(s0.ipAddress.toString(), "198.51.100.53");
  EXPECT_EQ(s0.priority, 1);
  ASSERT_TRUE(s0.dnsOverTls);
  EXPECT_EQ(s0.dnsOverTls->tlsPort, 853);
  EXPECT_EQ(s0.dnsOverTls->certificateSubjectName, "pdns1.example.test");
  ASSERT_TRUE(s0.dnsOverHttps);
  EXPECT_EQ(s0.dnsOverHttps->httpsPort, 443);
  EXPECT_EQ(s0.dnsOverHttps->queryUrl, "https://pdns1.example.test/dns-query");
  const auto& s1 = c.secureDnsServers[1];
  EXPECT_EQ(s1.ipAddress.toString(), "2001:db8:53::54");
  EXPECT_EQ(s1.priority, 2);
  EXPECT_TRUE(s1.dnsOverTls);
  EXPECT_FALSE(s1.dnsOverHttps);  // the portal's empty DoH sub-object means "not used"

  ASSERT_EQ(c.exemptionRules.size(), 2u);
  EXPECT_EQ(c.exemptionRules[0].displayName, "Media relays");
  EXPECT_EQ(c.exemptionRules[0].description, "Conferencing media relays, contacted by IP");
  ASSERT_EQ(c.exemptionRules[0].ipAddresses.size(), 2u);
  EXPECT_EQ(c.exemptionRules[0].ipAddresses[1].toString(), "2001:db8:200::/48");
  EXPECT_EQ(c.exemptionRules[1].ipAddresses[0].toString(), "203.0.113.81/32");

  EXPECT_THAT(r.diagnostics.warnings,
              ElementsAre("secureDnsServers: Graph has no priority; assigned priorities 1..2 in "
                          "list order (first is tried first)"));
  EXPECT_THAT(
      r.diagnostics.unmapped,
      ElementsAre(
          "extendedKeyUsagesForClientAuthentication: client-certificate EKU filter "
          "[1.3.6.1.5.5.7.3.2 (Client Authentication)] not mapped; ztdnsd presents the one "
          "certificate in clientCertificate and does not pick one from a store",
          "loopbackDnsForwarderEnabled: not needed; ztdnsd's stub resolver on listenAddresses "
          "is always a loopback forwarder",
          "rootCertificatesForServerValidation: 1 certificate reference(s) by id "
          "(\"0b7d1f52-6c1e-4f0a-a3c2-5e8d9b4f7a10 (lab-root-ca.cer)\") cannot be mapped: Graph "
          "holds certificates as Intune objects, ztdnsd reads PEM files; ztdnsd trusts the "
          "system store until you list the PEM files' paths in "
          "rootCertificatesForServerValidation",
          "rootCertificatesForClientValidation: 1 certificate reference(s) by id "
          "(\"https://graph.microsoft.com/beta/deviceManagement/deviceConfigurations('6f1c2a4e"
          "...\") cannot be mapped: Graph holds certificates "
          "as Intune objects, ztdnsd reads PEM files; set clientCertificate to the certificate "
          "and key files ztdnsd should present"));
}

TEST(IntuneImport, ExportWithoutOdataTypeIsRecognisedByGraphOnlyKeys) {
  LoadResult r = loadConfigFile(dataFile("intune_powershell_export.json"));
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.diagnostics.errors);
  EXPECT_TRUE(r.fromIntune);
  const Config& c = *r.config;
  EXPECT_TRUE(c.enabled);
  EXPECT_TRUE(c.auditModeEnabled);
  EXPECT_TRUE(c.loopbackTrafficBlocked);
  EXPECT_EQ(c.maximumConnectionTimeInSeconds, 60u);
  EXPECT_EQ(c.minimumAllowTimeInSeconds, 60u);
  ASSERT_EQ(c.secureDnsServers.size(), 1u);
  EXPECT_FALSE(c.secureDnsServers[0].dnsOverTls);
  EXPECT_EQ(c.secureDnsServers[0].dnsOverHttps->queryUrl,
            "https://pdns1.example.test/dns-query{?dns}");
  EXPECT_TRUE(c.exemptionRules.empty());
  EXPECT_THAT(r.diagnostics.warnings,
              ElementsAre("secureDnsServers: Graph has no priority; assigned priorities 1..1 in "
                          "list order (first is tried first)",
                          "minimumAllowTimeInSeconds: lowered from 300 to 60 to fit "
                          "maximumConnectionTimeInSeconds"));
  EXPECT_THAT(
      r.diagnostics.unmapped,
      ElementsAre("loopbackDnsForwarderEnabled: false cannot be honoured; ztdnsd's stub "
                  "resolver on listenAddresses is always a loopback forwarder",
                  "rootCertificatesForClientValidation: 2 certificate reference(s) by id "
                  "(\"c9e1a7d3-5b20-4e6f-9d84-13a6f2b0e7c8\", "
                  "\"4f8b2c6e-a913-47d0-b5e2-98c1d3a6f407\") cannot be mapped: Graph holds "
                  "certificates as Intune objects, ztdnsd reads PEM files; set "
                  "clientCertificate to the certificate and key files ztdnsd should present",
                  "deviceEnrollmentTargetRing: unknown property, ignored"));
}

TEST(IntuneImport, TemplateValuesAreErrorsWithTheirPaths) {
  LoadResult r = loadConfigFile(dataFile("intune_invalid_values.json"));
  EXPECT_FALSE(r.config);
  EXPECT_TRUE(r.fromIntune);
  EXPECT_THAT(
      r.diagnostics.errors,
      ElementsAre("auditModeEnabled: must be true or false, not \"true\"",
                  "maximumConnectionTimeInSeconds: 14 is out of range 30..604800",
                  "secureDnsServers[0].ipAddress: \"Ip Address value\" is not an IP address",
                  "exemptionRules[0].ipAddresses[0]: \"Ip Addresses value\" is not an IP "
                  "address or prefix",
                  "secureDnsServers[0].dnsOverTlsConfiguration.certificateSubjectName: "
                  "\"Certificate Subject Name value\" is not a DNS name or IP address"));
  EXPECT_THAT(r.diagnostics.unmapped, IsEmpty());
}

TEST(IntuneImport, OtherGraphTypesAreRejected) {
  auto r = parseConfig(
      R"({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "id": "x"})");
  EXPECT_THAT(r.diagnostics.errors,
              ElementsAre("@odata.type: \"#microsoft.graph.windows10GeneralConfiguration\" is "
                          "not #microsoft.graph.windowsZtdnsConfiguration; export a Zero Trust "
                          "DNS profile",
                          "secureDnsServers: enabled is true but no server is configured; add "
                          "at least one"));
}

TEST(IntuneImport, ListResponseMustHoldExactlyOneProfile) {
  LoadResult r = loadConfigFile(dataFile("intune_list_two.json"));
  EXPECT_THAT(r.diagnostics.errors, ElementsAre("value: a Graph response must hold exactly one "
                                                "windowsZtdnsConfiguration object, not 2 entries"));
}

TEST(IntuneImport, UnknownNestedPropertiesAreUnmappedNotErrors) {
  Json j = Json::parse(testing::readFile(dataFile("intune_get_response.json")));
  j["secureDnsServers"][0]["priority"] = 5;  // not a Graph property
  j["secureDnsServers"][0]["dnsOverTlsConfiguration"]["alpn"] = "dot";
  j["exemptionRules"][0]["protocol"] = "udp";
  j["allowGraceSeconds"] = 10;  // our key, not Graph's
  auto r = parseConfig(j.dump());
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.diagnostics.errors);
  EXPECT_EQ(r.config->secureDnsServers[0].priority, 1);
  EXPECT_EQ(r.config->allowGraceSeconds, 30u);
  EXPECT_THAT(r.diagnostics.unmapped,
              ::testing::IsSupersetOf(
                  {"secureDnsServers[0].priority: unknown property, ignored",
                   "secureDnsServers[0].dnsOverTlsConfiguration.alpn: unknown property, ignored",
                   "exemptionRules[0].protocol: unknown property, ignored",
                   "allowGraceSeconds: unknown property, ignored"}));
}

TEST(IntuneImport, PortZeroMeansTheDefaultWithAWarning) {
  Json j = {{"@odata.type", "#microsoft.graph.windowsZtdnsConfiguration"},
            {"secureDnsServers",
             {{{"displayName", "pdns1"},
               {"ipAddress", "198.51.100.53"},
               {"dnsOverTlsConfiguration",
                {{"tlsPort", 0}, {"certificateSubjectName", "pdns1.example.test"}}},
               {"dnsOverHttpsConfiguration", nullptr}}}}};
  auto r = parseConfig(j.dump());
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.diagnostics.errors);
  EXPECT_EQ(r.config->secureDnsServers[0].dnsOverTls->tlsPort, 853);
  EXPECT_THAT(r.diagnostics.warnings,
              ::testing::Contains("secureDnsServers[0].dnsOverTlsConfiguration.tlsPort: 0 means "
                                  "the protocol default in Graph; using 853"));
  j["secureDnsServers"][0]["dnsOverTlsConfiguration"]["tlsPort"] = 65536;
  EXPECT_THAT(parseConfig(j.dump()).diagnostics.errors,
              ElementsAre("secureDnsServers[0].dnsOverTlsConfiguration.tlsPort: 65536 is out of "
                          "range 0..65535"));
}

TEST(IntuneImport, ServerWithNeitherTransportIsStillAnError) {
  Json j = {{"@odata.type", "#microsoft.graph.windowsZtdnsConfiguration"},
            {"secureDnsServers",
             {{{"displayName", "pdns1"},
               {"ipAddress", "198.51.100.53"},
               {"dnsOverTlsConfiguration", {{"tlsPort", 0}, {"certificateSubjectName", ""}}},
               {"dnsOverHttpsConfiguration", {{"httpsPort", 0}, {"queryUrl", nullptr}}}}}}};
  EXPECT_THAT(parseConfig(j.dump()).diagnostics.errors,
              ElementsAre("secureDnsServers[0]: needs dnsOverTlsConfiguration or "
                          "dnsOverHttpsConfiguration (or both); ztdnsd never sends plaintext DNS"));
}

TEST(IntuneImport, ImportRoundTripsThroughOurSchema) {
  LoadResult r = loadConfigFile(dataFile("intune_get_response.json"));
  ASSERT_TRUE(r.config);
  LoadResult again = parseConfig(toJson(*r.config).dump());
  ASSERT_TRUE(again.config) << ::testing::PrintToString(again.diagnostics.errors);
  EXPECT_FALSE(again.fromIntune);
  EXPECT_EQ(*again.config, *r.config);
  EXPECT_THAT(again.diagnostics.unmapped, IsEmpty());
}

}  // namespace
}  // namespace ztdns::config
