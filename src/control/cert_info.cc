#include "control/cert_info.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <ctime>

#include "common/c_ptr.h"
#include "common/ip.h"
#include "control/time_text.h"

namespace ztdns::control {

namespace {

using BioPtr = CPtr<BIO, BIO_free>;
using X509Ptr = CPtr<X509, X509_free>;
using KeyPtr = CPtr<EVP_PKEY, EVP_PKEY_free>;
using BnPtr = CPtr<BIGNUM, BN_free>;
using EkuPtr = CPtr<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>;
using NamesPtr = CPtr<GENERAL_NAMES, GENERAL_NAMES_free>;

void freeOpenSslString(char* s) {
  OPENSSL_free(s);
}
using OsslString = CPtr<char, freeOpenSslString>;

std::string opensslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string nameText(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !name) return "";
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : "";
}

std::optional<std::chrono::system_clock::time_point> asn1Time(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

CertInfo describe(X509* cert, std::chrono::system_clock::time_point now) {
  CertInfo info;
  info.subject = nameText(X509_get_subject_name(cert));
  info.issuer = nameText(X509_get_issuer_name(cert));
  BnPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (serial) {
    OsslString hex(BN_bn2hex(serial.get()));
    if (hex) info.serial = hex.get();
  }
  if (auto nb = asn1Time(X509_get0_notBefore(cert))) info.notBefore = formatRfc3339(*nb);
  if (auto na = asn1Time(X509_get0_notAfter(cert))) {
    info.notAfter = formatRfc3339(*na);
    info.expiresInSeconds = std::chrono::duration_cast<std::chrono::seconds>(*na - now).count();
  }
  EkuPtr eku(static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr)));
  if (eku) {
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
      const ASN1_OBJECT* obj = sk_ASN1_OBJECT_value(eku.get(), i);
      int nid = OBJ_obj2nid(obj);
      if (nid != NID_undef) {
        info.ekus.push_back(OBJ_nid2sn(nid));
      } else {
        char buf[128];
        OBJ_obj2txt(buf, sizeof buf, obj, 1);
        info.ekus.push_back(buf);
      }
    }
  }
  NamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
      if (gn->type == GEN_DNS) {
        const ASN1_IA5STRING* s = gn->d.dNSName;
        info.subjectAltNames.push_back(
            "DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                 static_cast<size_t>(ASN1_STRING_length(s))));
      } else if (gn->type == GEN_IPADD) {
        const ASN1_OCTET_STRING* s = gn->d.iPAddress;
        const uint8_t* b = ASN1_STRING_get0_data(s);
        if (ASN1_STRING_length(s) == 4)
          info.subjectAltNames.push_back("IP:" + IpAddress::v4(b).toString());
        else if (ASN1_STRING_length(s) == 16)
          info.subjectAltNames.push_back("IP:" + IpAddress::v6(b).toString());
      }
    }
  }
  return info;
}

Result<X509Ptr> firstCertificate(const std::string& file) {
  BioPtr bio(BIO_new_file(file.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return Error::fromErrno("cannot read " + file, errno);
  }
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Error{file + " holds no PEM certificate (" + opensslError() + ")"};
  return cert;
}

int noPassword(char*, int, int, void*) {
  return -1;
}

}  // namespace

Result<std::vector<CertInfo>> readCertificates(const std::string& pemFile,
                                               std::chrono::system_clock::time_point now) {
  BioPtr bio(BIO_new_file(pemFile.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return Error::fromErrno("cannot read " + pemFile, errno);
  }
  std::vector<CertInfo> out;
  while (out.size() < 1000) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    out.push_back(describe(cert.get(), now));
  }
  ERR_clear_error();  // the end of the file reads as "no start line"
  if (out.empty()) return Error{pemFile + " holds no PEM certificate"};
  return out;
}

Result<bool> keyMatchesCertificate(const std::string& certFile, const std::string& keyFile) {
  auto cert = firstCertificate(certFile);
  if (!cert) return cert.error();
  BioPtr bio(BIO_new_file(keyFile.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return Error::fromErrno("cannot read " + keyFile, errno);
  }
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassword, nullptr));
  if (!key) {
    ERR_clear_error();
    return Error{keyFile + " holds no unencrypted PEM private key"};
  }
  bool match = X509_check_private_key(cert->get(), key.get()) == 1;
  ERR_clear_error();
  return match;
}

void fillClientCertInfo(ClientCertInfo& info, std::chrono::system_clock::time_point now) {
  if (!info.configured || info.certificate || !info.error.empty()) return;
  auto certs = readCertificates(info.certFile, now);
  if (!certs) {
    info.error = certs.error().message;
    return;
  }
  info.certificate = certs->front();
  if (!info.keyMatches && !info.keyFile.empty()) {
    auto match = keyMatchesCertificate(info.certFile, info.keyFile);
    if (match)
      info.keyMatches = *match;
    else
      info.error = match.error().message;
  }
}

void fillTrustedCaInfo(TrustedCaInfo& info, std::chrono::system_clock::time_point now) {
  for (auto& file : info.files) {
    if (!file.certificates.empty() || !file.error.empty()) continue;
    auto certs = readCertificates(file.file, now);
    if (certs)
      file.certificates = std::move(*certs);
    else
      file.error = certs.error().message;
  }
}

}  // namespace ztdns::control
