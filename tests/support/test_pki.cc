#include "test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "common/c_ptr.h"

namespace ztdns::testing {
namespace {

using X509Ptr = CPtr<X509, X509_free>;
using KeyPtr = CPtr<EVP_PKEY, EVP_PKEY_free>;
using FilePtr = CPtr<FILE, fclose>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("TestPki: ") + what);
}

KeyPtr newKey() {
  KeyPtr k(EVP_EC_gen("P-256"));
  check(k != nullptr, "EVP_EC_gen");
  return k;
}

void addExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  CPtr<X509_EXTENSION, X509_EXTENSION_free> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  check(X509_add_ext(cert, ext.get(), -1) == 1, "X509_add_ext");
}

X509Ptr build(const std::string& cn, EVP_PKEY* key, int fromDays, int toDays) {
  X509Ptr x(X509_new());
  check(x != nullptr, "X509_new");
  X509_set_version(x.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7F;
  CPtr<BIGNUM, BN_free> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x.get()));
  X509_gmtime_adj(X509_getm_notBefore(x.get()), static_cast<long>(fromDays) * 86400);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), static_cast<long>(toDays) * 86400);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_pubkey(x.get(), key);
  return x;
}

void writePem(const std::string& path, X509* cert, X509* second = nullptr) {
  FilePtr f(std::fopen(path.c_str(), "w"));
  check(f != nullptr, "fopen cert");
  PEM_write_X509(f.get(), cert);
  if (second) PEM_write_X509(f.get(), second);
}

void writeKey(const std::string& path, EVP_PKEY* key) {
  FilePtr f(std::fopen(path.c_str(), "w"));
  check(f != nullptr, "fopen key");
  PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
}

X509Ptr readCert(const std::string& path) {
  FilePtr f(std::fopen(path.c_str(), "r"));
  check(f != nullptr, "fopen read cert");
  X509Ptr x(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  check(x != nullptr, "PEM_read_X509");
  return x;
}

KeyPtr readKey(const std::string& path) {
  FilePtr f(std::fopen(path.c_str(), "r"));
  check(f != nullptr, "fopen read key");
  KeyPtr k(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr));
  check(k != nullptr, "PEM_read_PrivateKey");
  return k;
}

std::string pinOf(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  unsigned char digest[32];
  EVP_Digest(der, static_cast<size_t>(len), digest, nullptr, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, digest, 32);
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

}  // namespace

IssuedCert TestPki::makeCa(const std::string& stem) {
  auto key = newKey();
  auto x = build(stem + " Test CA", key.get(), -1, 365);
  X509_set_issuer_name(x.get(), X509_get_subject_name(x.get()));
  addExt(x.get(), x.get(), NID_basic_constraints, "critical,CA:TRUE");
  addExt(x.get(), x.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  addExt(x.get(), x.get(), NID_subject_key_identifier, "hash");
  check(X509_sign(x.get(), key.get(), EVP_sha256()) > 0, "X509_sign CA");
  IssuedCert out{dir_ + "/" + stem + ".pem", dir_ + "/" + stem + ".key", dir_ + "/" + stem + ".pem",
                 pinOf(x.get())};
  writePem(out.certFile, x.get());
  writeKey(out.keyFile, key.get());
  return out;
}

IssuedCert TestPki::issue(const IssuedCert& ca, const std::string& stem, const CertSpec& spec) {
  auto caCert = readCert(ca.certFile);
  auto caKey = readKey(ca.keyFile);
  auto key = newKey();
  auto x = build(spec.commonName, key.get(), spec.validFromDays, spec.validToDays);
  X509_set_issuer_name(x.get(), X509_get_subject_name(caCert.get()));
  addExt(x.get(), caCert.get(), NID_basic_constraints, "critical,CA:FALSE");
  addExt(x.get(), caCert.get(), NID_key_usage, "critical,digitalSignature");
  addExt(x.get(), caCert.get(), NID_ext_key_usage, spec.clientAuth ? "clientAuth" : "serverAuth");
  addExt(x.get(), caCert.get(), NID_authority_key_identifier, "keyid:always");
  std::ostringstream san;
  for (const auto& d : spec.dnsNames) san << (san.tellp() ? "," : "") << "DNS:" << d;
  for (const auto& ip : spec.ipAddresses) san << (san.tellp() ? "," : "") << "IP:" << ip;
  if (!san.str().empty()) addExt(x.get(), caCert.get(), NID_subject_alt_name, san.str());
  check(X509_sign(x.get(), caKey.get(), EVP_sha256()) > 0, "X509_sign leaf");
  IssuedCert out{dir_ + "/" + stem + ".pem", dir_ + "/" + stem + ".key",
                 dir_ + "/" + stem + ".chain.pem", pinOf(x.get())};
  writePem(out.certFile, x.get());
  writePem(out.chainFile, x.get(), caCert.get());
  writeKey(out.keyFile, key.get());
  return out;
}

}  // namespace ztdns::testing
