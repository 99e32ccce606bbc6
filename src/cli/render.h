// Rendering of control results for people: aligned tables and labelled lists.
// (JSON output prints the results as the protocol carries them.)
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "control/messages.h"

namespace ztdns::cli {

inline constexpr int64_t kCertWarningSeconds = 14 * 86400;

std::string stateWords(bool enabled, bool audit);  // "enabled, enforcing", ...
void renderState(std::ostream& out, const control::StateInfo& s);
void renderServers(std::ostream& out, const control::ServerList& list);
void renderExceptions(std::ostream& out, const control::ExceptionList& list);
// Returns false when the certificate is unusable (unreadable, expired, key mismatch).
bool renderClientCert(std::ostream& out, const control::ClientCertInfo& info);
bool renderTrustedCa(std::ostream& out, const control::TrustedCaInfo& info);
void renderStats(std::ostream& out, const control::Stats& s);
void renderLogEvents(std::ostream& out, control::LogChannel channel,
                     const std::vector<nlohmann::json>& events);
void renderResolve(std::ostream& out, const control::ResolveResult& r);

// "1 unreadable line skipped (not a connection event)", "3 unreadable lines skipped (...)".
std::string unreadableNote(size_t lines);

// "tcp"/"udp"/"icmp"/"icmpv6" for a protocol field given as a name or an IP protocol number.
std::string protocolText(const nlohmann::json& value);
// "3.2 ms"
std::string millis(double ms);
// "in 5 days", "expired 2 days ago"
std::string expiryWords(int64_t expiresInSeconds);

}  // namespace ztdns::cli
