// Helpers for the config unit tests: temporary directories, PEM material made with OpenSSL,
// and running a check as an unprivileged user (root reads every file, so "not readable"
// and "directory not writable" need a real non-root process).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "config/config.h"

namespace ztdns::config::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes content to name (mode applied after writing) and returns the full path.
  std::string write(const std::string& name, const std::string& content, unsigned mode = 0644);
  std::vector<std::string> entries() const;  // names in the directory, sorted

 private:
  std::string path_;
};

struct PemPair {
  std::string certificate;
  std::string privateKey;
};

// A fresh P-256 key and a self-signed certificate for cn. With a passphrase, the key PEM is
// encrypted (AES-256-CBC).
PemPair makeSelfSigned(const std::string& cn, const char* passphrase = nullptr);

std::string readFile(const std::string& path);
std::string dataFile(const std::string& name);  // tests/unit/config/data/<name>

// The lab config (data/lab.json) as JSON, to be edited per test.
nlohmann::json labJson();

Diagnostics diagnose(const nlohmann::json& j);
LoadResult load(const nlohmann::json& j);

// Runs fn as uid/gid 65534 in a child when the test runs as root (directly otherwise) and
// returns its result.
std::string runUnprivileged(const std::function<std::string()>& fn);

}  // namespace ztdns::config::testing
