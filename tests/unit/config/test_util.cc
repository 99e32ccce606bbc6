#include "test_util.h"

#include <grp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/c_ptr.h"

namespace ztdns::config::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ztdns-config-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  // A test may have left a directory read-only; make it removable again.
  for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory()) ::chmod(it->path().c_str(), 0700);
  }
  ::chmod(path_.c_str(), 0700);
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content, unsigned mode) {
  std::string p = file(name);
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
  }
  ::chmod(p.c_str(), mode);
  return p;
}

std::vector<std::string> TempDir::entries() const {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(path_)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

std::string bioToString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

PemPair makeSelfSigned(const std::string& cn, const char* passphrase) {
  CPtr<EVP_PKEY, EVP_PKEY_free> key(EVP_EC_gen("P-256"));
  CPtr<X509, X509_free> cert(X509_new());
  if (!key || !cert) throw std::runtime_error("OpenSSL allocation failed");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) throw std::runtime_error("sign failed");

  PemPair out;
  CPtr<BIO, BIO_free> certBio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(certBio.get(), cert.get());
  out.certificate = bioToString(certBio.get());
  CPtr<BIO, BIO_free> keyBio(BIO_new(BIO_s_mem()));
  if (passphrase) {
    PEM_write_bio_PrivateKey(keyBio.get(), key.get(), EVP_aes_256_cbc(),
                             reinterpret_cast<const unsigned char*>(passphrase),
                             static_cast<int>(std::string(passphrase).size()), nullptr, nullptr);
  } else {
    PEM_write_bio_PrivateKey(keyBio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  }
  out.privateKey = bioToString(keyBio.get());
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string dataFile(const std::string& name) {
  return std::string(ZTDNS_CONFIG_TEST_DATA) + "/" + name;
}

nlohmann::json labJson() {
  return nlohmann::json::parse(readFile(dataFile("lab.json")));
}

Diagnostics diagnose(const nlohmann::json& j) {
  return parseConfig(j.dump()).diagnostics;
}

LoadResult load(const nlohmann::json& j) {
  return parseConfig(j.dump());
}

std::string runUnprivileged(const std::function<std::string()>& fn) {
  if (::geteuid() != 0) return fn();
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(3);
    std::string result = fn();
    ssize_t ignored = ::write(fds[1], result.data(), result.size());
    (void)ignored;
    _exit(0);
  }
  ::close(fds[1]);
  std::string result;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) result.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("unprivileged child failed");
  }
  return result;
}

}  // namespace ztdns::config::testing
