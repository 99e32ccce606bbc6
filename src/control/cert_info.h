// What `show clientcert` and `show trustedca` print about a PEM file: subject, issuer,
// serial, validity, EKUs and SANs of each certificate (OpenSSL). The control server fills
// these in from the paths the handler returns, because the daemon (root) can read files
// that a member of the ztdns group cannot.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/messages.h"

namespace ztdns::control {

// Every certificate in a PEM file, in file order. A file without one is an error.
Result<std::vector<CertInfo>> readCertificates(const std::string& pemFile,
                                               std::chrono::system_clock::time_point now);

// Whether the private key in keyFile belongs to the first certificate in certFile.
Result<bool> keyMatchesCertificate(const std::string& certFile, const std::string& keyFile);

// Fill `certificate`, `keyMatches` and `error` when the handler left them empty.
void fillClientCertInfo(ClientCertInfo& info, std::chrono::system_clock::time_point now);
// Fill each file's `certificates` and `error` when the handler left them empty.
void fillTrustedCaInfo(TrustedCaInfo& info, std::chrono::system_clock::time_point now);

}  // namespace ztdns::control
