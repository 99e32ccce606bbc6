// show clientcert / show trustedca: what the control server reads from PEM files.
#include "control/cert_info.h"

#include <gtest/gtest.h>

#include <fstream>

#include "control/time_text.h"
#include "test_certs.h"
#include "test_socket.h"

namespace ztdns::control {
namespace {

using namespace ztdns::testing;

class CertInfoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    caKey_ = makeKey();
    ca_ = makeCert({"Test CA", -10, 3650, "", "", true, 1}, caKey_.get(), nullptr, nullptr);
    clientKey_ = makeKey();
    client_ =
        makeCert({"client", -1, 5, "clientAuth", "DNS:client.test,IP:192.0.2.10", false, 0x2a},
                 clientKey_.get(), ca_.get(), caKey_.get());
    writePem(dir_.file("ca.pem"), {ca_.get()});
    writePem(dir_.file("client.pem"), {client_.get()});
    writeKey(dir_.file("client.key"), clientKey_.get());
    writePem(dir_.file("bundle.pem"), {ca_.get(), client_.get()});
  }
  TempDir dir_;
  KeyPtr caKey_, clientKey_;
  CertPtr ca_, client_;
};

TEST_F(CertInfoTest, DescribesEveryCertificateInAFile) {
  auto now = std::chrono::system_clock::now();
  auto certs = readCertificates(dir_.file("bundle.pem"), now);
  ASSERT_TRUE(certs.ok()) << certs.error().message;
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ((*certs)[0].subject, "CN=Test CA");
  EXPECT_EQ((*certs)[0].issuer, "CN=Test CA");
  const CertInfo& c = (*certs)[1];
  EXPECT_EQ(c.subject, "CN=client");
  EXPECT_EQ(c.issuer, "CN=Test CA");
  EXPECT_EQ(c.serial, "2A");
  EXPECT_EQ(c.ekus, std::vector<std::string>{"clientAuth"});
  EXPECT_EQ(c.subjectAltNames, (std::vector<std::string>{"DNS:client.test", "IP:192.0.2.10"}));
  EXPECT_NEAR(static_cast<double>(c.expiresInSeconds), 5 * 86400.0, 120.0);
  auto notAfter = parseRfc3339(c.notAfter);
  ASSERT_TRUE(notAfter);
  EXPECT_NEAR(std::chrono::duration<double>(*notAfter - now).count(), 5 * 86400.0, 120.0);
}

TEST_F(CertInfoTest, ExpiredCertificatesHaveNegativeTime) {
  auto oldKey = makeKey();
  auto old =
      makeCert({"old", -30, -2, "clientAuth", "", false, 3}, oldKey.get(), ca_.get(), caKey_.get());
  writePem(dir_.file("old.pem"), {old.get()});
  auto certs = readCertificates(dir_.file("old.pem"), std::chrono::system_clock::now());
  ASSERT_TRUE(certs.ok());
  EXPECT_NEAR(static_cast<double>((*certs)[0].expiresInSeconds), -2 * 86400.0, 120.0);
}

TEST_F(CertInfoTest, KeyMatching) {
  EXPECT_EQ(keyMatchesCertificate(dir_.file("client.pem"), dir_.file("client.key")).value(), true);
  auto otherKey = makeKey();
  writeKey(dir_.file("other.key"), otherKey.get());
  EXPECT_EQ(keyMatchesCertificate(dir_.file("client.pem"), dir_.file("other.key")).value(), false);
  auto notKey = keyMatchesCertificate(dir_.file("client.pem"), dir_.file("ca.pem"));
  ASSERT_FALSE(notKey.ok());
  EXPECT_EQ(notKey.error().message, dir_.file("ca.pem") + " holds no unencrypted PEM private key");
}

TEST_F(CertInfoTest, UnreadableFilesAreErrorsInWords) {
  auto missing = readCertificates(dir_.file("missing.pem"), std::chrono::system_clock::now());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message,
            "cannot read " + dir_.file("missing.pem") + ": No such file or directory");
  { std::ofstream(dir_.file("junk.pem")) << "not a certificate\n"; }
  auto junk = readCertificates(dir_.file("junk.pem"), std::chrono::system_clock::now());
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.error().message, dir_.file("junk.pem") + " holds no PEM certificate");
}

TEST_F(CertInfoTest, FillsWhatTheHandlerLeftEmpty) {
  auto now = std::chrono::system_clock::now();
  ClientCertInfo info{
      true, dir_.file("client.pem"), dir_.file("client.key"), std::nullopt, std::nullopt, ""};
  fillClientCertInfo(info, now);
  ASSERT_TRUE(info.certificate);
  EXPECT_EQ(info.certificate->subject, "CN=client");
  EXPECT_EQ(info.keyMatches, true);
  EXPECT_EQ(info.error, "");

  ClientCertInfo none;
  fillClientCertInfo(none, now);
  EXPECT_FALSE(none.certificate);

  TrustedCaInfo cas{{{dir_.file("ca.pem"), {}, ""}, {dir_.file("gone.pem"), {}, ""}}};
  fillTrustedCaInfo(cas, now);
  ASSERT_EQ(cas.files[0].certificates.size(), 1u);
  EXPECT_EQ(cas.files[0].certificates[0].subject, "CN=Test CA");
  EXPECT_EQ(cas.files[1].error,
            "cannot read " + dir_.file("gone.pem") + ": No such file or directory");
}

TEST(TimeText, Rfc3339RoundTrip) {
  auto t = parseRfc3339("2026-05-01T12:34:56.250000Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(formatRfc3339(*t, true), "2026-05-01T12:34:56.250000Z");
  EXPECT_EQ(formatRfc3339(*t), "2026-05-01T12:34:56Z");
  EXPECT_EQ(parseRfc3339("2026-05-01T14:34:56.25+02:00"), t);
  EXPECT_FALSE(parseRfc3339("2026-05-01 12:34"));
  EXPECT_FALSE(parseRfc3339("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(parseRfc3339("2026-05-01T00:00:00"));
}

}  // namespace
}  // namespace ztdns::control
