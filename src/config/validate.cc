// validate(): the rules a Config must meet, whether it came from a file or from code.
// Values that the readers already rejected are marked bad and skipped here, so each problem
// is reported once.
#include <filesystem>
#include <map>
#include <unordered_map>

#include "config/doh_url.h"
#include "config/parse_context.h"
#include "config/pem_check.h"

namespace ztdns::config {
namespace detail {
namespace {

constexpr std::string_view kServers = "secureDnsServers";
constexpr std::string_view kRules = "exemptionRules";

// Strict base64 (RFC 4648, with padding) of exactly 32 bytes: a SHA-256 digest.
bool isBase64Sha256(std::string_view s) {
  if (s.size() != 44 || s[43] != '=' || s[42] == '=') return false;
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < 43; ++i) {
    if (kAlphabet.find(s[i]) == std::string_view::npos) return false;
  }
  // The last symbol carries 4 bits of data and 2 bits that must be zero.
  return (kAlphabet.find(s[42]) & 0x3) == 0;
}

bool hasControlCharacter(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// ::ffff:a.b.c.d is an IPv4 address written as IPv6: its packets are IPv4, so an exception
// for it in the IPv6 sets would never match, and a server at it would be a.b.c.d a second
// time, unseen by the duplicate checks. Refused, with the IPv4 form to write instead.
std::string mappedAddressWords(const IpAddress& a) {
  return a.toString() + " is an IPv4-mapped address; use " + a.unmapped().toString();
}

bool isMappedPrefix(const IpPrefix& p) {
  return p.family() == IpFamily::V6 && p.length() >= 96 && p.address().isV4Mapped();
}

void checkRange(ParseContext& ctx, const std::string& path, int64_t value, Range range) {
  if (ctx.isBad(path)) return;
  if (value < range.lo || value > range.hi) ctx.error(path, outOfRange(value, range));
}

void checkName(ParseContext& ctx, const std::string& path, const std::string& name) {
  if (ctx.isBad(path)) return;
  if (name.empty()) {
    ctx.error(path, "must not be empty");
  } else if (hasControlCharacter(name)) {
    ctx.error(path, quoteText(name) + " contains a control character");
  } else if (name.front() == ' ' || name.back() == ' ') {
    // Allowed (Windows takes such names too), but `name=relay` will not find " relay".
    ctx.warning(path, quoteText(name) + " begins or ends with a space, which is easy to miss " +
                          "when the name is typed again (name=...)");
  }
}

void checkDot(ParseContext& ctx, const std::string& path, const DotSettings& dot) {
  checkRange(ctx, joinPath(path, "tlsPort"), dot.tlsPort, kPortRange);
  std::string p = joinPath(path, "certificateSubjectName");
  if (ctx.isBad(p)) return;
  if (dot.certificateSubjectName.empty()) {
    ctx.error(p, "is empty; give the DNS name or IP address the server certificate must carry");
  } else if (!isHostName(dot.certificateSubjectName)) {
    ctx.error(p, quoteText(dot.certificateSubjectName) + " is not a DNS name or IP address");
  }
}

void checkDoh(ParseContext& ctx, const std::string& path, const DohSettings& doh,
              const IpAddress& serverAddress, bool addressBad) {
  checkRange(ctx, joinPath(path, "httpsPort"), doh.httpsPort, kPortRange);
  std::string p = joinPath(path, "queryUrl");
  if (ctx.isBad(p)) return;
  if (doh.queryUrl.empty()) {
    ctx.error(p, "is empty; give the https:// URL of the DoH service");
    return;
  }
  auto url = parseDohUrl(doh.queryUrl);
  if (!url) {
    ctx.error(p, url.error().message);
    return;
  }
  if (url->port && *url->port != doh.httpsPort) {
    ctx.warning(p, "names port " + std::to_string(*url->port) + " but httpsPort is " +
                       std::to_string(doh.httpsPort) + "; ztdnsd connects to httpsPort");
  }
  auto literal = IpAddress::parse(url->host);
  if (literal && !addressBad && *literal != serverAddress) {
    ctx.warning(p, "host " + url->host + " differs from ipAddress " + serverAddress.toString() +
                       "; ztdnsd connects to ipAddress and expects a certificate for " + url->host);
  }
}

void checkServers(const Config& c, ParseContext& ctx) {
  const std::string root(kServers);
  if (ctx.isBad(root)) return;
  if (c.secureDnsServers.size() > kMaxSecureDnsServers) {
    ctx.error(root, std::to_string(c.secureDnsServers.size()) + " entries; at most " +
                        std::to_string(kMaxSecureDnsServers) + " are allowed");
  }
  if (c.enabled && c.secureDnsServers.empty() && !ctx.isBad("enabled")) {
    ctx.error(root, "enabled is true but no server is configured; add at least one");
  }
  std::unordered_map<std::string, size_t> names;
  std::map<std::pair<IpAddress, uint16_t>, size_t> endpoints;
  for (size_t i = 0; i < c.secureDnsServers.size(); ++i) {
    const SecureDnsServer& s = c.secureDnsServers[i];
    std::string sp = indexPath(root, i);
    if (ctx.isBad(sp)) continue;

    std::string np = joinPath(sp, "displayName");
    checkName(ctx, np, s.displayName);
    if (!ctx.isBad(np) && !s.displayName.empty()) {
      auto [it, fresh] = names.emplace(s.displayName, i);
      if (!fresh) {
        ctx.error(np,
                  quoteText(s.displayName) + " is already used by " + indexPath(root, it->second));
      }
    }

    std::string ap = joinPath(sp, "ipAddress");
    bool addressBad = ctx.isBad(ap);
    if (!addressBad &&
        (s.ipAddress.isUnspecified() || s.ipAddress.isMulticast() || s.ipAddress.isBroadcast())) {
      ctx.error(ap, s.ipAddress.toString() + " is not a unicast address a server can have");
      addressBad = true;
    } else if (!addressBad && s.ipAddress.isV4Mapped()) {
      ctx.error(ap, mappedAddressWords(s.ipAddress));
      addressBad = true;
    }
    checkRange(ctx, joinPath(sp, "priority"), s.priority, kPriorityRange);

    std::string tp = joinPath(sp, "dnsOverTlsConfiguration");
    std::string hp = joinPath(sp, "dnsOverHttpsConfiguration");
    if (!s.dnsOverTls && !s.dnsOverHttps && !ctx.isBad(tp) && !ctx.isBad(hp)) {
      ctx.error(sp,
                "needs dnsOverTlsConfiguration or dnsOverHttpsConfiguration (or both); "
                "ztdnsd never sends plaintext DNS");
    }
    if (s.dnsOverTls && !ctx.isBad(tp)) checkDot(ctx, tp, *s.dnsOverTls);
    if (s.dnsOverHttps && !ctx.isBad(hp))
      checkDoh(ctx, hp, *s.dnsOverHttps, s.ipAddress, addressBad);

    // Two entries for one address and port would be one server counted twice in failover.
    auto claim = [&](uint16_t port, const std::string& portPath) {
      if (addressBad || ctx.isBad(portPath) || port == 0) return;
      auto [it, fresh] = endpoints.emplace(std::make_pair(s.ipAddress, port), i);
      if (!fresh && it->second != i) {
        ctx.error(sp, s.ipAddress.toString() + " port " + std::to_string(port) +
                          " is already used by " + indexPath(root, it->second));
      }
    };
    if (s.dnsOverTls && !ctx.isBad(tp)) claim(s.dnsOverTls->tlsPort, joinPath(tp, "tlsPort"));
    if (s.dnsOverHttps && !ctx.isBad(hp)) {
      claim(s.dnsOverHttps->httpsPort, joinPath(hp, "httpsPort"));
    }

    std::string pp = joinPath(sp, "spkiPins");
    if (ctx.isBad(pp)) continue;
    if (s.spkiPins.size() > kMaxSpkiPins) {
      ctx.error(pp, std::to_string(s.spkiPins.size()) + " entries; at most " +
                        std::to_string(kMaxSpkiPins) + " are allowed");
    }
    for (size_t k = 0; k < s.spkiPins.size(); ++k) {
      std::string kp = indexPath(pp, k);
      if (ctx.isBad(kp) || isBase64Sha256(s.spkiPins[k])) continue;
      ctx.error(kp, quoteText(s.spkiPins[k]) + " is not base64 of a 32-byte SHA-256 digest");
    }
  }
}

void checkRules(const Config& c, ParseContext& ctx) {
  const std::string root(kRules);
  if (ctx.isBad(root)) return;
  if (c.exemptionRules.size() > kMaxExemptionRules) {
    ctx.error(root, std::to_string(c.exemptionRules.size()) + " entries; at most " +
                        std::to_string(kMaxExemptionRules) + " are allowed");
  }
  std::unordered_map<std::string_view, size_t> names;
  names.reserve(c.exemptionRules.size());
  for (size_t i = 0; i < c.exemptionRules.size(); ++i) {
    const ExemptionRule& r = c.exemptionRules[i];
    std::string rp = indexPath(root, i);
    if (ctx.isBad(rp)) continue;
    std::string np = joinPath(rp, "displayName");
    checkName(ctx, np, r.displayName);
    if (!ctx.isBad(np) && !r.displayName.empty()) {
      auto [it, fresh] = names.emplace(r.displayName, i);
      if (!fresh) {
        ctx.error(np,
                  quoteText(r.displayName) + " is already used by " + indexPath(root, it->second));
      }
    }
    std::string ap = joinPath(rp, "ipAddresses");
    if (ctx.isBad(ap)) continue;
    if (r.ipAddresses.size() > kMaxPrefixesPerRule) {
      ctx.error(ap, std::to_string(r.ipAddresses.size()) + " entries; at most " +
                        std::to_string(kMaxPrefixesPerRule) + " are allowed");
    }
    if (r.ipAddresses.empty()) ctx.warning(ap, "is empty; the rule exempts nothing");
    // Compared after normalisation, so 203.0.113.1 and 203.0.113.1/32 are one prefix. A
    // repeat is harmless to enforcement but usually a pasting slip, worth seeing.
    std::map<IpPrefix, size_t> seen;
    for (size_t k = 0; k < r.ipAddresses.size(); ++k) {
      const IpPrefix& prefix = r.ipAddresses[k];
      std::string kp = indexPath(ap, k);
      if (ctx.isBad(kp)) continue;  // a placeholder, not what the file says
      if (prefix.length() > prefix.maxLength()) {
        ctx.error(indexPath(ap, k), "prefix length " + std::to_string(prefix.length()) +
                                        " is longer than the address");
      } else if (prefix.hasHostBits()) {
        ctx.error(indexPath(ap, k),
                  prefix.toString() + " has host bits set; use " + prefix.normalized().toString());
      } else if (isMappedPrefix(prefix)) {
        IpPrefix v4(prefix.address().unmapped(), static_cast<uint8_t>(prefix.length() - 96));
        ctx.error(indexPath(ap, k),
                  prefix.toString() + " is an IPv4-mapped prefix; use " + v4.toString());
      } else if (r.ipAddresses.size() > 1) {
        auto [it, fresh] = seen.emplace(prefix, k);
        if (!fresh) {
          ctx.warning(kp, "rule " + quoteText(r.displayName) + " lists " + prefix.toString() +
                              " twice (also at " + indexPath(ap, it->second) + ")");
        }
      }
    }
  }
}

void checkCertificates(const Config& c, ParseContext& ctx) {
  const std::string root = "rootCertificatesForServerValidation";
  if (!ctx.isBad(root)) {
    if (c.rootCertificatesForServerValidation.size() > kMaxRootCertificates) {
      ctx.error(root, std::to_string(c.rootCertificatesForServerValidation.size()) +
                          " entries; at most " + std::to_string(kMaxRootCertificates) +
                          " are allowed");
    }
    std::map<std::string, size_t> seen;
    for (size_t k = 0; k < c.rootCertificatesForServerValidation.size(); ++k) {
      std::string kp = indexPath(root, k);
      if (ctx.isBad(kp)) continue;
      const std::string& file = c.rootCertificatesForServerValidation[k];
      // Lexically, so "/etc/ztdns//ca.pem" is "/etc/ztdns/ca.pem"; symlinks are not followed.
      auto [it, fresh] = seen.emplace(std::filesystem::path(file).lexically_normal().string(), k);
      if (!fresh) {
        ctx.warning(kp, quoteText(file) + " is already listed at " + indexPath(root, it->second));
      }
      if (auto why = checkCertificateFile(file)) ctx.error(kp, *why);
    }
  }
  const std::string cp = "clientCertificate";
  if (!c.clientCertificate || ctx.isBad(cp)) return;
  std::string certPath = joinPath(cp, "certificateFile");
  std::string keyPath = joinPath(cp, "privateKeyFile");
  bool certOk = false, keyOk = false;
  if (!ctx.isBad(certPath)) {
    auto why = checkCertificateFile(c.clientCertificate->certificateFile);
    if (why) ctx.error(certPath, *why);
    certOk = !why;
  }
  if (!ctx.isBad(keyPath)) {
    auto why = checkPrivateKeyFile(c.clientCertificate->privateKeyFile);
    if (why) ctx.error(keyPath, *why);
    keyOk = !why;
  }
  if (certOk && keyOk) {
    if (auto why = checkKeyMatchesCertificate(c.clientCertificate->certificateFile,
                                              c.clientCertificate->privateKeyFile)) {
      ctx.error(keyPath, *why);
    }
  }
}

void checkListenAddresses(const Config& c, ParseContext& ctx) {
  const std::string root = "listenAddresses";
  if (ctx.isBad(root)) return;
  if (c.listenAddresses.empty()) {
    ctx.error(root, "is empty; the stub resolver needs at least one ip:port to listen on");
  }
  if (c.listenAddresses.size() > kMaxListenAddresses) {
    ctx.error(root, std::to_string(c.listenAddresses.size()) + " entries; at most " +
                        std::to_string(kMaxListenAddresses) + " are allowed");
  }
  std::map<Endpoint, size_t> seen;
  for (size_t k = 0; k < c.listenAddresses.size(); ++k) {
    std::string kp = indexPath(root, k);
    if (ctx.isBad(kp)) continue;
    const Endpoint& e = c.listenAddresses[k];
    if (e.port == 0) {
      ctx.error(kp, e.toString() + ": port 0 is out of range 1..65535");
      continue;
    }
    if (e.address.isV4Mapped()) {
      ctx.error(kp, e.toString() + " is an IPv4-mapped address; use " +
                        Endpoint{e.address.unmapped(), e.port}.toString());
      continue;
    }
    auto [it, fresh] = seen.emplace(e, k);
    if (!fresh) {
      ctx.error(kp, e.toString() + " is already listed at " + indexPath(root, it->second));
    } else if (!e.address.isLoopback()) {
      // Accepted (a lab or a container may want it), but the stub allows what it answers:
      // a host elsewhere that can query it opens this host's egress for its own names.
      ctx.warning(kp, e.toString() +
                          " is not a loopback address: other hosts could query the stub, and "
                          "every answer adds addresses to this host's allow set; the stub is "
                          "meant for this host only (127.0.0.1:53, [::1]:53)");
    }
  }
}

}  // namespace

void validateInto(const Config& c, ParseContext& ctx) {
  checkRange(ctx, "maximumConnectionTimeInSeconds", c.maximumConnectionTimeInSeconds,
             kMaximumConnectionTimeRange);
  checkRange(ctx, "minimumAllowTimeInSeconds", c.minimumAllowTimeInSeconds, kMinimumAllowTimeRange);
  if (!ctx.isBad("minimumAllowTimeInSeconds") && !ctx.isBad("maximumConnectionTimeInSeconds") &&
      c.minimumAllowTimeInSeconds > c.maximumConnectionTimeInSeconds) {
    ctx.error("minimumAllowTimeInSeconds", std::to_string(c.minimumAllowTimeInSeconds) +
                                               " is above maximumConnectionTimeInSeconds (" +
                                               std::to_string(c.maximumConnectionTimeInSeconds) +
                                               ")");
  }
  checkRange(ctx, "allowGraceSeconds", c.allowGraceSeconds, kAllowGraceRange);
  checkRange(ctx, "maxAllowedAddresses", c.maxAllowedAddresses, kMaxAllowedAddressesRange);
  checkRange(ctx, "log.maxFileBytes",
             static_cast<int64_t>(std::min<uint64_t>(c.log.maxFileBytes, uint64_t{1} << 62)),
             kLogMaxFileBytesRange);
  checkRange(ctx, "log.keepFiles", c.log.keepFiles, kLogKeepFilesRange);
  checkRange(ctx, "log.connectionEventsPerSecond", c.log.connectionEventsPerSecond,
             kLogEventsPerSecondRange);
  checkServers(c, ctx);
  checkRules(c, ctx);
  checkCertificates(c, ctx);
  checkListenAddresses(c, ctx);
}

}  // namespace detail

Diagnostics validate(const Config& config) {
  Diagnostics d;
  detail::ParseContext ctx(d);
  detail::validateInto(config, ctx);
  return d;
}

std::vector<std::string> normalizePrefixes(Config& config) {
  std::vector<std::string> warnings;
  for (size_t i = 0; i < config.exemptionRules.size(); ++i) {
    auto& prefixes = config.exemptionRules[i].ipAddresses;
    for (size_t k = 0; k < prefixes.size(); ++k) {
      if (prefixes[k].length() > prefixes[k].maxLength() || !prefixes[k].hasHostBits()) continue;
      IpPrefix fixed = prefixes[k].normalized();
      warnings.push_back(
          detail::indexPath(detail::joinPath(detail::indexPath("exemptionRules", i), "ipAddresses"),
                            k) +
          ": " + prefixes[k].toString() + " has host bits set; using " + fixed.toString());
      prefixes[k] = fixed;
    }
  }
  return warnings;
}

}  // namespace ztdns::config
