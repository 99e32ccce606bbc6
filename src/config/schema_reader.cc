// Reader of our schema, and of the parts (servers, exemption rules) that the Intune mapping
// shares. Values that fit their field are stored; a value that does not is reported once,
// its path is marked bad, and a placeholder keeps later indices aligned with the file.
#include <algorithm>

#include "config/parse_context.h"

namespace ztdns::config::detail {
namespace {

bool isOdataKey(std::string_view key) {
  return key.find("@odata.") != std::string_view::npos;
}

// A Graph export writes null for a property that is not set.
bool intuneNull(bool intune, const Json& v) {
  return intune && v.is_null();
}

template <class Settings>
void readTransport(ParseContext& ctx, const Json& v, const std::string& path, bool intune,
                   std::string_view portKey, std::string_view nameKey, uint16_t defaultPort,
                   std::optional<Settings>& out, uint16_t Settings::*port,
                   std::string Settings::*name) {
  out.reset();
  if (v.is_null()) return;  // our toJson writes null for "not configured"
  if (!expectObject(ctx, v, path)) return;
  Settings s;
  bool portGiven = false, portZero = false, namePresent = false;
  const std::string namePath = joinPath(path, nameKey);
  for (const auto& [key, value] : v.items()) {
    std::string p = joinPath(path, key);
    if (key == portKey) {
      if (intuneNull(intune, value)) continue;
      int64_t n = 0;
      // Graph documents 0..65535; 0 cannot be connected to, so an import reads it as unset.
      if (readInt(ctx, value, p, intune ? Range{0, 65535} : kPortRange, n)) {
        portGiven = true;
        portZero = n == 0;
        s.*port = n == 0 ? defaultPort : static_cast<uint16_t>(n);
      }
    } else if (key == nameKey) {
      if (intuneNull(intune, value)) continue;
      namePresent = true;
      readString(ctx, value, p, s.*name);
    } else if (intune && isOdataKey(key)) {
      continue;
    } else if (intune) {
      ctx.unmapped(p, "unknown property, ignored");
    } else {
      ctx.error(p, unknownKey(key, {portKey, nameKey}));
    }
  }
  // The Intune portal can send an empty sub-object for a transport that is not in use.
  bool nameEmpty = (s.*name).empty() && !ctx.isBad(namePath);
  if (intune && nameEmpty && (!portGiven || portZero)) return;
  if (!namePresent) ctx.error(namePath, "is required");
  if (intune && portZero) {
    ctx.warning(joinPath(path, portKey),
                "0 means the protocol default in Graph; using " + std::to_string(defaultPort));
  }
  out = std::move(s);
}

void readServer(ParseContext& ctx, const Json& v, const std::string& path, bool intune,
                size_t index, SecureDnsServer& s) {
  if (!expectObject(ctx, v, path)) return;
  if (intune) s.priority = static_cast<int>(std::min<size_t>(index + 1, kPriorityRange.hi));
  bool haveName = false, haveAddress = false;
  for (const auto& [key, value] : v.items()) {
    std::string p = joinPath(path, key);
    if (key == "displayName") {
      if (intuneNull(intune, value)) continue;
      haveName = true;
      readString(ctx, value, p, s.displayName);
    } else if (key == "ipAddress") {
      if (intuneNull(intune, value)) continue;
      haveAddress = true;
      std::string text;
      if (!readString(ctx, value, p, text)) continue;
      auto addr = IpAddress::parse(text);
      if (!addr) {
        ctx.error(p, addr.error().message);
        continue;
      }
      s.ipAddress = *addr;
    } else if (key == "dnsOverTlsConfiguration") {
      readTransport<DotSettings>(ctx, value, p, intune, "tlsPort", "certificateSubjectName", 853,
                                 s.dnsOverTls, &DotSettings::tlsPort,
                                 &DotSettings::certificateSubjectName);
    } else if (key == "dnsOverHttpsConfiguration") {
      readTransport<DohSettings>(ctx, value, p, intune, "httpsPort", "queryUrl", 443,
                                 s.dnsOverHttps, &DohSettings::httpsPort, &DohSettings::queryUrl);
    } else if (!intune && key == "priority") {
      int64_t n = 0;
      if (readInt(ctx, value, p, kPriorityRange, n)) s.priority = static_cast<int>(n);
    } else if (!intune && key == "spkiPins") {
      if (!expectArray(ctx, value, p)) continue;
      s.spkiPins.resize(value.size());
      for (size_t k = 0; k < value.size(); ++k) {
        readString(ctx, value[k], indexPath(p, k), s.spkiPins[k]);
      }
    } else if (intune && isOdataKey(key)) {
      continue;
    } else if (intune) {
      ctx.unmapped(p, "unknown property, ignored");
    } else {
      ctx.error(p,
                unknownKey(key, {"displayName", "ipAddress", "priority", "dnsOverTlsConfiguration",
                                 "dnsOverHttpsConfiguration", "spkiPins"}));
    }
  }
  if (!haveName) ctx.error(joinPath(path, "displayName"), "is required");
  if (!haveAddress) ctx.error(joinPath(path, "ipAddress"), "is required");
}

void readPrefixes(ParseContext& ctx, const Json& v, const std::string& path,
                  std::vector<IpPrefix>& out) {
  out.resize(v.size());
  for (size_t k = 0; k < v.size(); ++k) {
    const Json& item = v[k];
    if (!item.is_string()) {
      ctx.error(indexPath(path, k), "must be a string, not " + describe(item));
      continue;
    }
    const auto& text = item.get_ref<const std::string&>();
    auto prefix = IpPrefix::parse(text);
    if (!prefix) {
      ctx.error(indexPath(path, k), quoteText(text) + " is not an IP address or prefix");
      continue;
    }
    if (prefix->hasHostBits()) {
      IpPrefix fixed = prefix->normalized();
      ctx.warning(indexPath(path, k),
                  quoteText(text) + " has host bits set; using " + fixed.toString());
      out[k] = fixed;
    } else {
      out[k] = *prefix;
    }
  }
}

void readRule(ParseContext& ctx, const Json& v, const std::string& path, bool intune,
              ExemptionRule& r) {
  if (!expectObject(ctx, v, path)) return;
  bool haveName = false, haveAddresses = intune;  // Graph may omit an empty collection
  for (const auto& [key, value] : v.items()) {
    std::string p = joinPath(path, key);
    if (key == "displayName") {
      if (intuneNull(intune, value)) continue;
      haveName = true;
      readString(ctx, value, p, r.displayName);
    } else if (key == "description") {
      if (intuneNull(intune, value)) continue;
      readString(ctx, value, p, r.description);
    } else if (key == "ipAddresses") {
      haveAddresses = true;
      if (intuneNull(intune, value)) continue;
      if (expectArray(ctx, value, p)) readPrefixes(ctx, value, p, r.ipAddresses);
    } else if (intune && isOdataKey(key)) {
      continue;
    } else if (intune) {
      ctx.unmapped(p, "unknown property, ignored");
    } else {
      ctx.error(p, unknownKey(key, {"displayName", "description", "ipAddresses"}));
    }
  }
  if (!haveName) ctx.error(joinPath(path, "displayName"), "is required");
  if (!haveAddresses) ctx.error(joinPath(path, "ipAddresses"), "is required");
}

}  // namespace

void readSecureDnsServers(ParseContext& ctx, const Json& v, const std::string& path, bool intune,
                          std::vector<SecureDnsServer>& out) {
  out.clear();
  if (intuneNull(intune, v)) return;
  if (!expectArray(ctx, v, path)) return;
  out.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    readServer(ctx, v[i], indexPath(path, i), intune, i, out[i]);
}

void readExemptionRules(ParseContext& ctx, const Json& v, const std::string& path, bool intune,
                        std::vector<ExemptionRule>& out) {
  out.clear();
  if (intuneNull(intune, v)) return;
  if (!expectArray(ctx, v, path)) return;
  out.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) readRule(ctx, v[i], indexPath(path, i), intune, out[i]);
}

namespace {

void readUint32(ParseContext& ctx, const Json& v, const std::string& path, Range range,
                uint32_t& out) {
  int64_t n = 0;
  if (readInt(ctx, v, path, range, n)) out = static_cast<uint32_t>(n);
}

void readLog(ParseContext& ctx, const Json& v, const std::string& path, LogSettings& out) {
  if (!expectObject(ctx, v, path)) return;
  for (const auto& [key, value] : v.items()) {
    std::string p = joinPath(path, key);
    int64_t n = 0;
    if (key == "maxFileBytes") {
      if (readInt(ctx, value, p, kLogMaxFileBytesRange, n)) out.maxFileBytes = n;
    } else if (key == "keepFiles") {
      if (readInt(ctx, value, p, kLogKeepFilesRange, n)) out.keepFiles = static_cast<unsigned>(n);
    } else if (key == "connectionEventsPerSecond") {
      if (readInt(ctx, value, p, kLogEventsPerSecondRange, n)) {
        out.connectionEventsPerSecond = static_cast<unsigned>(n);
      }
    } else {
      ctx.error(p, unknownKey(key, {"maxFileBytes", "keepFiles", "connectionEventsPerSecond"}));
    }
  }
}

void readClientCertificate(ParseContext& ctx, const Json& v, const std::string& path,
                           std::optional<ClientCertificate>& out) {
  out.reset();
  if (v.is_null()) return;
  if (!expectObject(ctx, v, path)) return;
  ClientCertificate c;
  bool haveCert = false, haveKey = false;
  for (const auto& [key, value] : v.items()) {
    std::string p = joinPath(path, key);
    if (key == "certificateFile") {
      haveCert = true;
      readString(ctx, value, p, c.certificateFile);
    } else if (key == "privateKeyFile") {
      haveKey = true;
      readString(ctx, value, p, c.privateKeyFile);
    } else {
      ctx.error(p, unknownKey(key, {"certificateFile", "privateKeyFile"}));
    }
  }
  if (!haveCert) ctx.error(joinPath(path, "certificateFile"), "is required");
  if (!haveKey) ctx.error(joinPath(path, "privateKeyFile"), "is required");
  out = std::move(c);
}

}  // namespace

void readOurSchema(ParseContext& ctx, const Json& root, Config& c) {
  for (const auto& [key, value] : root.items()) {
    const std::string& p = key;
    if (key == "enabled") {
      readBool(ctx, value, p, c.enabled);
    } else if (key == "auditModeEnabled") {
      readBool(ctx, value, p, c.auditModeEnabled);
    } else if (key == "secureDnsServers") {
      readSecureDnsServers(ctx, value, p, false, c.secureDnsServers);
    } else if (key == "exemptionRules") {
      readExemptionRules(ctx, value, p, false, c.exemptionRules);
    } else if (key == "rootCertificatesForServerValidation") {
      c.rootCertificatesForServerValidation.clear();
      if (!expectArray(ctx, value, p)) continue;
      c.rootCertificatesForServerValidation.resize(value.size());
      for (size_t k = 0; k < value.size(); ++k) {
        readString(ctx, value[k], indexPath(p, k), c.rootCertificatesForServerValidation[k]);
      }
    } else if (key == "clientCertificate") {
      readClientCertificate(ctx, value, p, c.clientCertificate);
    } else if (key == "hostsFileResolutionEnabled") {
      readBool(ctx, value, p, c.hostsFileResolutionEnabled);
    } else if (key == "loopbackTrafficBlocked") {
      readBool(ctx, value, p, c.loopbackTrafficBlocked);
    } else if (key == "maximumConnectionTimeInSeconds") {
      readUint32(ctx, value, p, kMaximumConnectionTimeRange, c.maximumConnectionTimeInSeconds);
    } else if (key == "minimumAllowTimeInSeconds") {
      readUint32(ctx, value, p, kMinimumAllowTimeRange, c.minimumAllowTimeInSeconds);
    } else if (key == "allowGraceSeconds") {
      readUint32(ctx, value, p, kAllowGraceRange, c.allowGraceSeconds);
    } else if (key == "maxAllowedAddresses") {
      readUint32(ctx, value, p, kMaxAllowedAddressesRange, c.maxAllowedAddresses);
    } else if (key == "permittedConnectionsLogEnabled") {
      readBool(ctx, value, p, c.permittedConnectionsLogEnabled);
    } else if (key == "listenAddresses") {
      c.listenAddresses.clear();
      if (!expectArray(ctx, value, p)) continue;
      c.listenAddresses.resize(value.size());
      for (size_t k = 0; k < value.size(); ++k) {
        std::string text;
        std::string ip = indexPath(p, k);
        if (!readString(ctx, value[k], ip, text)) continue;
        auto ep = Endpoint::parse(text);
        if (ep) {
          c.listenAddresses[k] = *ep;
        } else {
          ctx.error(ip, ep.error().message);
        }
      }
    } else if (key == "log") {
      readLog(ctx, value, p, c.log);
    } else {
      ctx.error(
          p, unknownKey(key, {"enabled", "auditModeEnabled", "secureDnsServers", "exemptionRules",
                              "rootCertificatesForServerValidation", "clientCertificate",
                              "hostsFileResolutionEnabled", "loopbackTrafficBlocked",
                              "maximumConnectionTimeInSeconds", "minimumAllowTimeInSeconds",
                              "allowGraceSeconds", "maxAllowedAddresses",
                              "permittedConnectionsLogEnabled", "listenAddresses", "log"}));
    }
  }
}

}  // namespace ztdns::config::detail
