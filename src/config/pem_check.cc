#include "config/pem_check.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/c_ptr.h"
#include "common/unique_fd.h"
#include "config/parse_context.h"

namespace ztdns::config::detail {
namespace {

// Certificate bundles are small; a bigger file is a wrong path, not a certificate.
constexpr off_t kMaxPemFileBytes = 4 << 20;

using Bio = CPtr<BIO, BIO_free>;
using X509Ptr = CPtr<X509, X509_free>;
using PKeyPtr = CPtr<EVP_PKEY, EVP_PKEY_free>;

// Reads the whole file into a memory BIO, or says why it cannot. The file is opened
// non-blocking and checked to be regular first, so a FIFO or device never hangs a check.
std::optional<std::string> readFile(const std::string& path, Bio& out) {
  std::string q = quoteText(path);
  if (path.empty()) return "is empty; give the path of a PEM file";
  if (path.front() != '/') return q + " is not an absolute path";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) return q + " does not exist";
    return q + " is not readable: " + std::strerror(err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return q + " is not readable: " + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return q + " is not a regular file";
  if (st.st_size > kMaxPemFileBytes) return q + " is larger than 4 MiB; not a PEM file";
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return q + " is not readable: " + std::strerror(errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || BIO_write(bio.get(), bytes.data(), static_cast<int>(bytes.size())) !=
                  static_cast<int>(bytes.size())) {
    return q + " could not be buffered (out of memory)";
  }
  out = std::move(bio);
  return std::nullopt;
}

int refusePassphrase(char*, int, int, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

}  // namespace

std::optional<std::string> checkCertificateFile(const std::string& path) {
  Bio bio;
  if (auto why = readFile(path, bio)) return why;
  int count = 0;
  while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) ++count;
  ERR_clear_error();  // the loop ends on "no start line"; not an error
  if (count == 0) return quoteText(path) + " holds no PEM certificate";
  return std::nullopt;
}

std::optional<std::string> checkPrivateKeyFile(const std::string& path) {
  Bio bio;
  if (auto why = readFile(path, bio)) return why;
  bool askedForPassphrase = false;
  PKeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, refusePassphrase, &askedForPassphrase));
  ERR_clear_error();
  if (!key) {
    if (askedForPassphrase) {
      return quoteText(path) + " is encrypted; ztdnsd needs an unencrypted private key";
    }
    return quoteText(path) + " holds no PEM private key";
  }
  return std::nullopt;
}

std::optional<std::string> checkKeyMatchesCertificate(const std::string& certificateFile,
                                                      const std::string& privateKeyFile) {
  Bio certBio, keyBio;
  if (readFile(certificateFile, certBio) || readFile(privateKeyFile, keyBio)) return std::nullopt;
  X509Ptr cert(PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr));
  bool asked = false;
  PKeyPtr key(PEM_read_bio_PrivateKey(keyBio.get(), nullptr, refusePassphrase, &asked));
  if (!cert || !key) {
    ERR_clear_error();
    return std::nullopt;  // reported by the single-file checks
  }
  bool match = X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  if (!match) {
    return quoteText(privateKeyFile) + " does not belong to the certificate in " +
           quoteText(certificateFile);
  }
  return std::nullopt;
}

}  // namespace ztdns::config::detail
