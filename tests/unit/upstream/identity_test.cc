// Server identity: chain, name, IP SAN, wildcards, pins. Each failure must refuse the
// server before a single query byte is written, and never fall back to anything else.
#include <filesystem>

#include "upstream/probe.h"
#include "upstream_fixture.h"

namespace ztdns::upstream::test {
namespace {

struct IdentityCase {
  const char* label;
  testing::IssuedCert Pki::*cert;
  std::string name;  // certificateSubjectName
  std::vector<std::string> (*pins)(const Pki&);
  bool ok;
  ErrorClass cls;
  const char* words;
  bool serveChain = true;  // the server sends its issuer too
};

std::vector<std::string> noPins(const Pki&) {
  return {};
}
std::vector<std::string> leafPin(const Pki& p) {
  return {p.pdns1.spkiPin};
}
std::vector<std::string> caPin(const Pki& p) {
  return {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", p.ca.spkiPin};
}
std::vector<std::string> wrongPin(const Pki& p) {
  return {p.otherCa.spkiPin, p.pdns2.spkiPin};
}

const IdentityCase kCases[] = {
    {"good", &Pki::pdns1, kName1, noPins, true, ErrorClass::kNone, ""},
    {"wrong_name", &Pki::wrongName, kName1, noPins, false, ErrorClass::kNameMismatch,
     "TLS: hostname mismatch"},
    {"untrusted_ca", &Pki::untrusted, kName1, noPins, false, ErrorClass::kUnknownCa,
     "TLS: certificate verify failed: unable to get local issuer certificate", false},
    {"untrusted_ca_with_its_root", &Pki::untrusted, kName1, noPins, false, ErrorClass::kUnknownCa,
     "TLS: certificate verify failed: self-signed certificate in certificate chain"},
    {"expired", &Pki::expired, kName1, noPins, false, ErrorClass::kCertExpired,
     "TLS: certificate has expired"},
    {"ip_identity_ip_san", &Pki::ipOnly, kPdns1, noPins, true, ErrorClass::kNone, ""},
    {"dns_identity_ip_only_cert", &Pki::ipOnly, kName1, noPins, false, ErrorClass::kNameMismatch,
     "TLS: hostname mismatch"},
    {"ipv6_identity_ip_san", &Pki::pdns1, kPdns1v6, noPins, true, ErrorClass::kNone, ""},
    {"ip_identity_other_ip", &Pki::pdns1, kPdns2, noPins, false, ErrorClass::kNameMismatch,
     "TLS: IP address mismatch"},
    {"ip_identity_dns_only_cert", &Pki::wrongName, kPdns1, noPins, false, ErrorClass::kNameMismatch,
     "TLS: IP address mismatch"},
    {"full_wildcard", &Pki::wildcard, kName1, noPins, true, ErrorClass::kNone, ""},
    {"partial_wildcard_refused", &Pki::partialWildcard, kName1, noPins, false,
     ErrorClass::kNameMismatch, "TLS: hostname mismatch"},
    {"leaf_pin", &Pki::pdns1, kName1, leafPin, true, ErrorClass::kNone, ""},
    {"ca_pin_any_in_chain", &Pki::pdns1, kName1, caPin, true, ErrorClass::kNone, ""},
    {"pin_mismatch", &Pki::pdns1, kName1, wrongPin, false, ErrorClass::kPinMismatch,
     "TLS: SPKI pin mismatch"},
};

class IdentityTest : public UpstreamNetTest, public ::testing::WithParamInterface<IdentityCase> {};

TEST_P(IdentityTest, DoT) {
  const auto& c = GetParam();
  uint16_t port = freshPort();
  const auto& cert = pki().*c.cert;
  testing::ScriptedDotServer server(
      {kPdns1, port, c.serveChain ? cert.chainFile : cert.certFile, cert.keyFile}, {});
  ASSERT_TRUE(server.start());
  auto s = dotServer("pdns1", kPdns1, port, c.name);
  s.spkiPins = c.pins(pki());
  auto pool = makeServerPool(io_, options({s}), events_);
  ASSERT_TRUE(pool) << pool.error().message;
  auto r = resolve(**pool);
  if (c.ok) {
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(firstA(r->wire), "192.0.2.1");
    EXPECT_EQ(server.queries(), 2u) << "the pool's first check of the server, then the query";
    // SNI is the configured name when it is a DNS name, and absent for an IP literal.
    auto sni = server.serverNames();
    ASSERT_EQ(sni.size(), 1u);
    bool ip = IpAddress::parse(c.name).ok();
    EXPECT_EQ(sni[0], ip ? "" : c.name);
  } else {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, static_cast<int>(FailureCause::kAllServersFailed));
    EXPECT_NE(r.error().message.find(c.words), std::string::npos) << r.error().message;
    EXPECT_EQ(server.queries(), 0u) << "a query was written to a server that failed identity";
    auto st = (*pool)->status();
    ASSERT_EQ(st.size(), 1u);
    EXPECT_EQ(st[0].health, Health::kDown);
    EXPECT_EQ(st[0].lastError, c.words);
    auto ev = events_.events();
    ASSERT_FALSE(ev.empty());
    EXPECT_EQ(ev[0].eventId, observe::event_id::kUpstreamHealth);
    EXPECT_EQ(ev[0].fields.value("error", ""), c.words);
    EXPECT_FALSE(ev[0].fields.value("healthy", true));

    // diagnose names the same class and words, at the TLS stage.
    std::optional<std::vector<ProbeReport>> reports;
    ProbeRequest req{*IpAddress::parse(kPdns1), std::nullopt, "", 2, 3000ms};
    ASSERT_TRUE(probeServer(io_, options({s}), req, [&](auto v) { reports = std::move(v); }));
    ASSERT_TRUE(runUntil([&] { return reports.has_value(); }));
    ASSERT_EQ(reports->size(), 1u);
    EXPECT_FALSE((*reports)[0].ok);
    EXPECT_EQ((*reports)[0].errorClass, c.cls);
    EXPECT_EQ((*reports)[0].error, c.words);
    EXPECT_EQ((*reports)[0].stage, "TLS");
    EXPECT_TRUE((*reports)[0].tcpConnect.has_value());
    EXPECT_EQ(server.queries(), 0u);
  }
  EXPECT_EQ(port53Packets(), 0u);
}

TEST_P(IdentityTest, DoH) {
  const auto& c = GetParam();
  uint16_t port = freshPort();
  const auto& cert = pki().*c.cert;
  testing::ScriptedDohServer server(
      {kPdns1, port, c.serveChain ? cert.chainFile : cert.certFile, cert.keyFile}, {});
  ASSERT_TRUE(server.start());
  auto host = c.name.find(':') != std::string::npos ? "[" + c.name + "]" : c.name;
  auto s = dohServer("pdns1", kPdns1, port, host);
  s.spkiPins = c.pins(pki());
  auto pool = makeServerPool(io_, options({s}), events_);
  ASSERT_TRUE(pool) << pool.error().message;
  auto r = resolve(**pool);
  if (c.ok) {
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(firstA(r->wire), "192.0.2.1");
  } else {
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(c.words), std::string::npos) << r.error().message;
    EXPECT_TRUE(server.requests().empty());
    EXPECT_EQ((*pool)->status()[0].lastError, c.words);
  }
  EXPECT_EQ(port53Packets(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Cases, IdentityTest, ::testing::ValuesIn(kCases),
                         [](const auto& p) { return std::string(p.param.label); });

// Without rootCertificatesForServerValidation the system store is used: our test CA is
// not in it, so the server is refused as an unknown CA.
TEST_F(UpstreamNetTest, EmptyRootListUsesTheSystemStore) {
  uint16_t port = freshPort();
  testing::ScriptedDotServer server({kPdns1, port, pki().pdns1.chainFile, pki().pdns1.keyFile}, {});
  ASSERT_TRUE(server.start());
  auto o = options({dotServer("pdns1", kPdns1, port, kName1)});
  o.rootCertificates.clear();
  auto pool = makeServerPool(io_, o, events_);
  ASSERT_TRUE(pool);
  auto r = resolve(**pool);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("TLS: certificate verify failed: "), std::string::npos)
      << r.error().message;
  EXPECT_EQ(server.queries(), 0u);
}

// mTLS through nginx's stream module (ssl_verify_client on) in front of unbound.
class MtlsTest : public UpstreamNetTest {};

TEST_F(MtlsTest, WorksWithTheClientCertificateAndIsRejectedWithout) {
  uint16_t backend = freshPort(), port = freshPort();
  testing::UnboundSpec us;
  us.addresses = {"127.0.0.1"};
  us.plainPort = backend;
  us.tlsPort = 0;
  testing::UnboundPeer unbound(dir(), "mtls-backend", us);
  ASSERT_TRUE(unbound.start()) << unbound.log();
  testing::NginxMtlsPeer nginx(dir(), "mtls",
                               {kPdns1, port, pki().pdns1.chainFile, pki().pdns1.keyFile,
                                pki().clientCa.certFile, "127.0.0.1:" + std::to_string(backend)});
  ASSERT_TRUE(nginx.start()) << nginx.log();

  auto o = options({dotServer("mtls", kPdns1, port, kName1)});
  o.clientCertificate = config::ClientCertificate{pki().client.certFile, pki().client.keyFile};
  {
    auto pool = makeServerPool(io_, o, events_);
    ASSERT_TRUE(pool) << pool.error().message;
    auto r = resolve(**pool);
    ASSERT_TRUE(r) << r.error().message << "\n" << nginx.log();
    EXPECT_EQ(firstA(r->wire), "203.0.113.80");
  }
  o.clientCertificate.reset();
  {
    auto pool = makeServerPool(io_, o, events_);
    ASSERT_TRUE(pool);
    auto r = resolve(**pool);
    ASSERT_FALSE(r);
    // nginx completes the handshake, then closes without an alert (it checks the
    // certificate after the handshake); we saw its CertificateRequest, so we can say why.
    EXPECT_NE(r.error().message.find("TLS: client certificate required"), std::string::npos)
        << r.error().message;
    EXPECT_EQ((*pool)->status()[0].lastError, "TLS: client certificate required");

    std::optional<std::vector<ProbeReport>> reports;
    ProbeRequest req{*IpAddress::parse(kPdns1), Transport::kDoT, "www.example.test", 1, 3000ms};
    ASSERT_TRUE(probeServer(io_, o, req, [&](auto v) { reports = std::move(v); }));
    ASSERT_TRUE(runUntil([&] { return reports.has_value(); }));
    ASSERT_EQ(reports->size(), 1u);
    EXPECT_EQ((*reports)[0].errorClass, ErrorClass::kClientCertRejected);
    EXPECT_EQ((*reports)[0].stage, "TLS");
  }
  // A wrong client certificate (not from the CA nginx trusts) is rejected too.
  o.clientCertificate = config::ClientCertificate{pki().pdns2.certFile, pki().pdns2.keyFile};
  {
    auto pool = makeServerPool(io_, o, events_);
    ASSERT_TRUE(pool);
    auto r = resolve(**pool);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("TLS: client certificate rejected"), std::string::npos)
        << r.error().message;
  }
  EXPECT_EQ(port53Packets(), 0u);
}

// A server that refuses during the handshake (OpenSSL with FAIL_IF_NO_PEER_CERT) sends the
// TLS 1.3 certificate_required alert; that is what we report.
TEST_F(MtlsTest, AStrictServerAlertsCertificateRequired) {
  uint16_t port = freshPort();
  testing::ScriptedDotServer server(
      {kPdns1, port, pki().pdns1.chainFile, pki().pdns1.keyFile, false, pki().clientCa.certFile},
      {});
  ASSERT_TRUE(server.start());
  auto o = options({dotServer("strict", kPdns1, port, kName1)});
  {
    auto pool = makeServerPool(io_, o, events_);
    ASSERT_TRUE(pool);
    auto r = resolve(**pool);
    ASSERT_FALSE(r);
    EXPECT_EQ((*pool)->status()[0].lastError, "TLS: alert certificate required")
        << r.error().message;
  }
  o.clientCertificate = config::ClientCertificate{pki().client.certFile, pki().client.keyFile};
  auto pool = makeServerPool(io_, o, events_);
  ASSERT_TRUE(pool);
  auto r = resolve(**pool);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(server.queries(), 2u) << "the pool's first check of the server, then the query";
}

// A CA file and the client certificate deleted while the pool runs (a tester's find: every
// later change failed with "cannot load root certificates"): a reconfiguration keeps what
// was read from them, so trust and mTLS carry on; a new pool reads the files, and fails.
TEST_F(MtlsTest, AReconfigurationKeepsWhatDeletedFilesHeld) {
  uint16_t port = freshPort();
  testing::ScriptedDotServer server(
      {kPdns1, port, pki().pdns1.chainFile, pki().pdns1.keyFile, false, pki().clientCa.certFile},
      {});
  ASSERT_TRUE(server.start());
  testing::TempDir dir;
  auto copy = [&](const std::string& from, const char* name) {
    std::string to = dir.file(name);
    std::filesystem::copy_file(from, to);
    return to;
  };
  auto o = options({dotServer("strict", kPdns1, port, kName1)});
  o.rootCertificates = {copy(pki().ca.certFile, "ca.pem")};
  o.clientCertificate = config::ClientCertificate{copy(pki().client.certFile, "client.pem"),
                                                  copy(pki().client.keyFile, "client.key")};
  auto pool = makeServerPool(io_, o, events_);
  ASSERT_TRUE(pool) << pool.error().message;
  ASSERT_TRUE(resolve(**pool)) << "mTLS with the files as they are";

  std::filesystem::remove(o.rootCertificates[0]);
  std::filesystem::remove(o.clientCertificate->privateKeyFile);
  o.servers.push_back(dotServer("other", kPdns2, freshPort(), kName2, 2));
  ASSERT_TRUE((*pool)->reconfigure(o)) << "a change elsewhere must not fail on the files";
  auto r = resolve(**pool);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->serverName, "strict")
      << "verified with the CA and the client certificate read before";

  auto fresh = makeServerPool(io_, o, events_);
  ASSERT_FALSE(fresh) << "a new pool reads the files";
  EXPECT_NE(
      fresh.error().message.find("cannot load root certificates from " + o.rootCertificates[0]),
      std::string::npos)
      << fresh.error().message;
}

TEST_F(MtlsTest, ABadClientKeyIsAConfigurationError) {
  auto o = options({dotServer("x", kPdns1, 853, kName1)});
  o.clientCertificate = config::ClientCertificate{pki().client.certFile, pki().pdns1.keyFile};
  auto pool = makeServerPool(io_, o, events_);
  ASSERT_FALSE(pool);
  EXPECT_NE(pool.error().message.find("cannot load client key"), std::string::npos)
      << pool.error().message;
}

}  // namespace
}  // namespace ztdns::upstream::test
