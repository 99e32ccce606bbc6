// Internal to ztdns::config: checks that a certificate or key file named by the config can
// be used: it exists, is a readable regular file, and parses as PEM with OpenSSL.
#pragma once

#include <optional>
#include <string>

namespace ztdns::config::detail {

// Each returns nullopt when the file is usable, else the reason in words, e.g.
// "\"/etc/ztdns/ca.pem\" does not exist".
std::optional<std::string> checkCertificateFile(const std::string& path);
std::optional<std::string> checkPrivateKeyFile(const std::string& path);
// Both files already passed the checks above.
std::optional<std::string> checkKeyMatchesCertificate(const std::string& certificateFile,
                                                      const std::string& privateKeyFile);

}  // namespace ztdns::config::detail
