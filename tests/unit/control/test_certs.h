// Test certificates made with OpenSSL: a CA, certificates it signs (with EKUs, SANs and any
// validity window, expired ones included), written as PEM files.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/c_ptr.h"

namespace ztdns::testing {

using KeyPtr = CPtr<EVP_PKEY, EVP_PKEY_free>;
using CertPtr = CPtr<X509, X509_free>;

inline KeyPtr makeKey() {
  return KeyPtr(EVP_EC_gen("P-256"));
}

struct CertSpec {
  std::string commonName;
  long fromDays = -1;            // notBefore relative to now
  long toDays = 365;             // notAfter relative to now
  std::string extendedKeyUsage;  // "clientAuth", "serverAuth,clientAuth", ...
  std::string subjectAltName;    // "DNS:a.test,IP:192.0.2.1"
  bool ca = false;
  long serial = 1;
};

inline void addExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Signed by (issuer, issuerKey), or self-signed when issuer is null.
inline CertPtr makeCert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuerKey) {
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), spec.serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.fromDays * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.toDays * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.commonName.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : cert.get();
  if (spec.ca) addExt(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
  if (!spec.extendedKeyUsage.empty())
    addExt(cert.get(), signer, NID_ext_key_usage, spec.extendedKeyUsage);
  if (!spec.subjectAltName.empty())
    addExt(cert.get(), signer, NID_subject_alt_name, spec.subjectAltName);
  X509_sign(cert.get(), issuer ? issuerKey : key, EVP_sha256());
  return cert;
}

inline void writePem(const std::string& path, const std::vector<X509*>& certs) {
  FILE* f = std::fopen(path.c_str(), "w");
  for (X509* c : certs) PEM_write_X509(f, c);
  std::fclose(f);
}

inline void writeKey(const std::string& path, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

}  // namespace ztdns::testing
