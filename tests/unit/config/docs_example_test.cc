// The example in docs/configuration.md must stay a valid config: it is what admins copy.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace ztdns::config {
namespace {

TEST(DocsExample, IsValidAndUsesTheLabAddresses) {
  std::string doc = testing::readFile(ZTDNS_DOCS_DIR "/configuration.md");
  auto start = doc.find("```json\n");
  ASSERT_NE(start, std::string::npos);
  start += 8;
  auto end = doc.find("```", start);
  ASSERT_NE(end, std::string::npos);
  std::string example = doc.substr(start, end - start);

  testing::TempDir dir;
  std::string ca = dir.write("lab-ca.pem", testing::makeSelfSigned("lab CA").certificate);
  const std::string placeholder = "/etc/ztdns/lab-ca.pem";
  auto at = example.find(placeholder);
  ASSERT_NE(at, std::string::npos);
  example.replace(at, placeholder.size(), ca);

  LoadResult r = parseConfig(example);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.diagnostics.errors);
  EXPECT_THAT(r.diagnostics.warnings, ::testing::IsEmpty());
  const Config& c = *r.config;
  EXPECT_TRUE(c.enabled);
  ASSERT_EQ(c.secureDnsServers.size(), 2u);
  EXPECT_EQ(c.secureDnsServers[0].ipAddress.toString(), "198.51.100.53");
  EXPECT_EQ(c.secureDnsServers[0].dnsOverTls->tlsPort, 853);
  EXPECT_EQ(c.secureDnsServers[0].dnsOverTls->certificateSubjectName, "pdns1.example.test");
  EXPECT_EQ(c.secureDnsServers[0].dnsOverHttps->queryUrl, "https://pdns1.example.test/dns-query");
  // The example writes every key, as formatConfig does, in the same order.
  Config fromDoc = c;
  fromDoc.rootCertificatesForServerValidation = {placeholder};
  EXPECT_EQ(formatConfig(fromDoc), doc.substr(start, end - start));
}

}  // namespace
}  // namespace ztdns::config
