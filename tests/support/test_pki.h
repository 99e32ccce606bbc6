// TestPki: a throwaway certificate authority for TLS tests, made with OpenSSL's API
// (P-256 keys, SHA-256 signatures). Certificates can carry DNS and IP SANs, be expired or
// not yet valid, and be issued for client authentication. Files land in `dir`.
#pragma once

#include <string>
#include <vector>

namespace ztdns::testing {

struct IssuedCert {
  std::string certFile;   // PEM, the certificate only
  std::string keyFile;    // PEM, unencrypted
  std::string chainFile;  // PEM, certificate followed by its issuer (for servers)
  std::string spkiPin;    // base64 SHA-256 of the SubjectPublicKeyInfo
};

struct CertSpec {
  std::string commonName;
  std::vector<std::string> dnsNames;
  std::vector<std::string> ipAddresses;
  int validFromDays = -1;  // relative to now
  int validToDays = 30;
  bool clientAuth = false;  // EKU clientAuth instead of serverAuth
};

class TestPki {
 public:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {}
  // A self-signed CA; `name` is also the file stem.
  IssuedCert makeCa(const std::string& name);
  // A leaf signed by `ca`; `name` is the file stem.
  IssuedCert issue(const IssuedCert& ca, const std::string& name, const CertSpec& spec);

 private:
  std::string dir_;
};

}  // namespace ztdns::testing
