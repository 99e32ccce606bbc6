// Certificate and key files named by the config: each problem is named with its field and
// the reason (missing, unreadable, not a file, not PEM, encrypted, mismatched).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "test_util.h"

namespace ztdns::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::TempDir;
using Json = nlohmann::json;

class CertFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = testing::makeSelfSigned("ztdns test CA");
    client_ = testing::makeSelfSigned("client.example.test");
    caPath_ = dir_.write("ca.pem", ca_.certificate);
    certPath_ = dir_.write("client.pem", client_.certificate);
    keyPath_ = dir_.write("client.key", client_.privateKey, 0600);
  }

  Json withFiles(Json roots, Json client) {
    Json j = testing::labJson();
    j["rootCertificatesForServerValidation"] = std::move(roots);
    j["clientCertificate"] = std::move(client);
    return j;
  }

  TempDir dir_;
  testing::PemPair ca_, client_;
  std::string caPath_, certPath_, keyPath_;
};

TEST_F(CertFiles, UsableFilesPassAndRoundTrip) {
  std::string bundle = dir_.write("bundle.pem", ca_.certificate + client_.certificate);
  Json j =
      withFiles({caPath_, bundle}, {{"certificateFile", certPath_}, {"privateKeyFile", keyPath_}});
  LoadResult r = testing::load(j);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.diagnostics.errors);
  EXPECT_THAT(r.config->rootCertificatesForServerValidation, ElementsAre(caPath_, bundle));
  ASSERT_TRUE(r.config->clientCertificate);
  EXPECT_EQ(r.config->clientCertificate->certificateFile, certPath_);
  EXPECT_EQ(r.config->clientCertificate->privateKeyFile, keyPath_);
  LoadResult again = parseConfig(toJson(*r.config).dump());
  ASSERT_TRUE(again.config);
  EXPECT_EQ(*again.config, *r.config);
}

TEST_F(CertFiles, RootCertificateProblemsAreNamed) {
  ::mkfifo(dir_.file("fifo.pem").c_str(), 0644);  // must not hang the check
  std::string notPem = dir_.write("notes.txt", "not a certificate\n");
  std::string keyOnly = dir_.write("key-only.pem", client_.privateKey);
  Json j = withFiles({dir_.file("missing.pem"), "relative/ca.pem", dir_.path(),
                      dir_.file("fifo.pem"), notPem, keyOnly, "", caPath_ + "/x"},
                     nullptr);
  const std::string p = "rootCertificatesForServerValidation";
  EXPECT_THAT(testing::diagnose(j).errors,
              ElementsAre(p + "[0]: \"" + dir_.file("missing.pem") + "\" does not exist",
                          p + "[1]: \"relative/ca.pem\" is not an absolute path",
                          p + "[2]: \"" + dir_.path() + "\" is not a regular file",
                          p + "[3]: \"" + dir_.file("fifo.pem") + "\" is not a regular file",
                          p + "[4]: \"" + notPem + "\" holds no PEM certificate",
                          p + "[5]: \"" + keyOnly + "\" holds no PEM certificate",
                          p + "[6]: is empty; give the path of a PEM file",
                          p + "[7]: \"" + caPath_ + "/x\" does not exist"));
}

TEST_F(CertFiles, UnreadableFileSaysPermissionDenied) {
  ::chmod(dir_.path().c_str(), 0755);
  std::string locked = dir_.write("locked.pem", ca_.certificate, 0600);
  Json j = withFiles({locked}, nullptr);
  std::string joined = testing::runUnprivileged([&] {
    std::string out;
    for (const auto& e : testing::diagnose(j).errors) out += e + "\n";
    return out;
  });
  EXPECT_EQ(joined, "rootCertificatesForServerValidation[0]: \"" + locked +
                        "\" is not readable: Permission denied\n");
}

TEST_F(CertFiles, ClientCertificateProblemsAreNamed) {
  auto encrypted = testing::makeSelfSigned("enc.example.test", "s3cret");
  std::string encKey = dir_.write("enc.key", encrypted.privateKey, 0600);
  std::string otherKey = dir_.write("other.key", ca_.privateKey, 0600);

  Json j = withFiles(Json::array(), {{"certificateFile", keyPath_}, {"privateKeyFile", certPath_}});
  EXPECT_THAT(
      testing::diagnose(j).errors,
      ElementsAre(
          "clientCertificate.certificateFile: \"" + keyPath_ + "\" holds no PEM certificate",
          "clientCertificate.privateKeyFile: \"" + certPath_ + "\" holds no PEM private key"));

  j["clientCertificate"] = {{"certificateFile", certPath_}, {"privateKeyFile", encKey}};
  EXPECT_THAT(testing::diagnose(j).errors,
              ElementsAre("clientCertificate.privateKeyFile: \"" + encKey +
                          "\" is encrypted; ztdnsd needs an unencrypted private key"));

  j["clientCertificate"] = {{"certificateFile", certPath_}, {"privateKeyFile", otherKey}};
  EXPECT_THAT(testing::diagnose(j).errors,
              ElementsAre("clientCertificate.privateKeyFile: \"" + otherKey +
                          "\" does not belong to the certificate in \"" + certPath_ + "\""));

  j["clientCertificate"] = {{"certificateFile", dir_.file("nope.pem")},
                            {"privateKeyFile", dir_.file("nope.key")}};
  EXPECT_THAT(
      testing::diagnose(j).errors,
      ElementsAre(
          "clientCertificate.certificateFile: \"" + dir_.file("nope.pem") + "\" does not exist",
          "clientCertificate.privateKeyFile: \"" + dir_.file("nope.key") + "\" does not exist"));
}

TEST_F(CertFiles, ARootCertificateListedTwiceIsAWarning) {
  std::string bundle = dir_.write("bundle.pem", ca_.certificate);
  std::string spelledOtherwise = dir_.path() + "/./ca.pem";
  LoadResult r = testing::load(withFiles({caPath_, bundle, caPath_, spelledOtherwise}, nullptr));
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.diagnostics.errors);
  EXPECT_THAT(r.diagnostics.warnings,
              ElementsAre("rootCertificatesForServerValidation[2]: \"" + caPath_ +
                              "\" is already listed at rootCertificatesForServerValidation[0]",
                          "rootCertificatesForServerValidation[3]: \"" + spelledOtherwise +
                              "\" is already listed at rootCertificatesForServerValidation[0]"));
}

TEST_F(CertFiles, AtMost500RootCertificates) {
  Json roots = Json::array();
  for (size_t i = 0; i < kMaxRootCertificates; ++i) roots.push_back(caPath_);
  Json j = withFiles(roots, nullptr);
  EXPECT_THAT(testing::diagnose(j).errors, IsEmpty());
  j["rootCertificatesForServerValidation"].push_back(caPath_);
  EXPECT_THAT(testing::diagnose(j).errors,
              ElementsAre("rootCertificatesForServerValidation: 501 entries; at most 500 are "
                          "allowed"));
}

}  // namespace
}  // namespace ztdns::config
