// Mapping of an Intune Graph export (#microsoft.graph.windowsZtdnsConfiguration, beta) onto
// our schema. What maps is read with the same readers as our schema; what cannot be mapped
// is listed in Diagnostics::unmapped in words, never dropped silently.
#include <algorithm>
#include <array>

#include "config/parse_context.h"

namespace ztdns::config::detail {
namespace {

constexpr std::string_view kZtdnsType = "microsoft.graph.windowsZtdnsConfiguration";

// deviceConfiguration's own properties and relationships: about the Intune object and its
// assignment, not about ZTDNS behaviour.
constexpr std::array<std::string_view, 18> kBaseProperties = {
    "id",
    "displayName",
    "description",
    "version",
    "createdDateTime",
    "lastModifiedDateTime",
    "roleScopeTagIds",
    "supportsScopeTags",
    "deviceManagementApplicabilityRuleOsEdition",
    "deviceManagementApplicabilityRuleOsVersion",
    "deviceManagementApplicabilityRuleDeviceMode",
    "groupAssignments",
    "assignments",
    "deviceStatuses",
    "userStatuses",
    "deviceStatusOverview",
    "userStatusOverview",
    "deviceSettingStateSummaries",
};

// Keys that only a Graph export has; their presence alone marks the text as one.
constexpr std::array<std::string_view, 11> kGraphOnlyKeys = {
    "loopbackDnsForwarderEnabled",
    "extendedKeyUsagesForClientAuthentication",
    "rootCertificatesForClientValidation",
    "rootCertificatesForClientAuthentication",
    "deviceManagementApplicabilityRuleOsEdition",
    "deviceManagementApplicabilityRuleOsVersion",
    "deviceManagementApplicabilityRuleDeviceMode",
    "roleScopeTagIds",
    "supportsScopeTags",
    "createdDateTime",
    "lastModifiedDateTime",
};

constexpr std::array<std::string_view, 3> kCertificateRelations = {
    "rootCertificatesForServerValidation",
    "rootCertificatesForClientValidation",
    "rootCertificatesForClientAuthentication",
};

template <size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view key) {
  return std::find(list.begin(), list.end(), key) != list.end();
}

bool isZtdnsType(const Json& v) {
  if (!v.is_string()) return false;
  std::string_view t = v.get_ref<const std::string&>();
  if (!t.empty() && t.front() == '#') t.remove_prefix(1);
  return t.size() == kZtdnsType.size() &&
         std::equal(t.begin(), t.end(), kZtdnsType.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

std::string certificateAdvice(std::string_view relation) {
  if (relation == "rootCertificatesForServerValidation") {
    return "ztdnsd trusts the system store until you list the PEM files' paths in "
           "rootCertificatesForServerValidation";
  }
  return "set clientCertificate to the certificate and key files ztdnsd should present";
}

// "3 certificate references by id (a1, b2, c3)": ids, or certFileName when Graph expanded it.
void reportCertificates(ParseContext& ctx, std::string_view relation, const Json& value) {
  if (value.is_null() || (value.is_array() && value.empty())) return;
  std::vector<std::string> ids;
  if (value.is_array()) {
    for (const auto& item : value) {
      if (item.is_string()) {
        ids.push_back(item.get<std::string>());
      } else if (item.is_object() && item.contains("id") && item["id"].is_string()) {
        std::string id = item["id"].get<std::string>();
        if (item.contains("certFileName") && item["certFileName"].is_string()) {
          id += " (" + item["certFileName"].get<std::string>() + ")";
        }
        ids.push_back(std::move(id));
      } else {
        ids.push_back("?");
      }
    }
  } else if (value.is_string()) {
    ids.push_back(value.get<std::string>());
  }
  std::string list;
  constexpr size_t kShown = 5;
  for (size_t i = 0; i < ids.size() && i < kShown; ++i) {
    if (i) list += ", ";
    list += quoteText(ids[i]);
  }
  if (ids.size() > kShown) list += ", ...";
  ctx.unmapped(std::string(relation),
               std::to_string(ids.size()) + " certificate reference(s) by id (" + list +
                   ") cannot be mapped: Graph holds certificates as Intune objects, ztdnsd reads "
                   "PEM files; " +
                   certificateAdvice(relation));
}

void reportExtendedKeyUsages(ParseContext& ctx, const std::string& path, const Json& value) {
  if (value.is_null() || (value.is_array() && value.empty())) return;
  std::string list;
  if (value.is_array()) {
    for (const auto& eku : value) {
      if (!list.empty()) list += ", ";
      if (eku.is_object() && eku.contains("objectIdentifier") &&
          eku["objectIdentifier"].is_string()) {
        list += eku["objectIdentifier"].get<std::string>();
        if (eku.contains("name") && eku["name"].is_string()) {
          list += " (" + eku["name"].get<std::string>() + ")";
        }
      } else {
        list += "?";
      }
    }
  }
  ctx.unmapped(path, "client-certificate EKU filter [" + list +
                         "] not mapped; ztdnsd presents the one certificate in "
                         "clientCertificate and does not pick one from a store");
}

}  // namespace

bool looksLikeIntuneExport(const Json& root) {
  if (!root.is_object()) return false;
  for (const auto& [key, value] : root.items()) {
    if (key.rfind("@odata.", 0) == 0 || contains(kGraphOnlyKeys, key)) return true;
  }
  return false;
}

void readIntuneExport(ParseContext& ctx, const Json& root, Config& c) {
  // A deployed ZTDNS policy means ZTDNS is on; auditModeEnabled chooses audit or enforce.
  c.enabled = true;
  bool haveMaximum = false;
  for (const auto& [key, value] : root.items()) {
    const std::string& p = key;
    if (key == "@odata.type") {
      if (!isZtdnsType(value)) {
        ctx.error(p, describe(value) + " is not #" + std::string(kZtdnsType) +
                         "; export a Zero Trust DNS profile");
      }
    } else if (auto at = key.find("@odata."); at != std::string::npos) {
      // Annotations. A link to certificates without their content is still a reference.
      std::string_view base = std::string_view(key).substr(0, at);
      if (contains(kCertificateRelations, base)) reportCertificates(ctx, base, value);
    } else if (contains(kBaseProperties, key)) {
      continue;
    } else if (key == "auditModeEnabled") {
      if (!value.is_null()) readBool(ctx, value, p, c.auditModeEnabled);
    } else if (key == "hostsFileResolutionEnabled") {
      if (!value.is_null()) readBool(ctx, value, p, c.hostsFileResolutionEnabled);
    } else if (key == "loopbackTrafficBlocked") {
      if (!value.is_null()) readBool(ctx, value, p, c.loopbackTrafficBlocked);
    } else if (key == "maximumConnectionTimeInSeconds") {
      if (value.is_null()) continue;
      int64_t n = 0;
      if (readInt(ctx, value, p, kMaximumConnectionTimeRange, n)) {
        c.maximumConnectionTimeInSeconds = static_cast<uint32_t>(n);
        haveMaximum = true;
      }
    } else if (key == "secureDnsServers") {
      readSecureDnsServers(ctx, value, p, true, c.secureDnsServers);
    } else if (key == "exemptionRules") {
      readExemptionRules(ctx, value, p, true, c.exemptionRules);
    } else if (contains(kCertificateRelations, key)) {
      reportCertificates(ctx, key, value);
    } else if (key == "extendedKeyUsagesForClientAuthentication") {
      reportExtendedKeyUsages(ctx, p, value);
    } else if (key == "loopbackDnsForwarderEnabled") {
      if (value.is_boolean() && !value.get<bool>()) {
        ctx.unmapped(p,
                     "false cannot be honoured; ztdnsd's stub resolver on listenAddresses "
                     "is always a loopback forwarder");
      } else if (!value.is_null()) {
        ctx.unmapped(p,
                     "not needed; ztdnsd's stub resolver on listenAddresses is always a "
                     "loopback forwarder");
      }
    } else {
      ctx.unmapped(p, "unknown property, ignored");
    }
  }
  if (!c.secureDnsServers.empty() && !ctx.isBad("secureDnsServers")) {
    ctx.warning("secureDnsServers",
                "Graph has no priority; assigned priorities 1.." +
                    std::to_string(std::min<size_t>(c.secureDnsServers.size(), kPriorityRange.hi)) +
                    " in list order (first is tried first)");
  }
  // Our minimum (default 300 s) must not exceed a shorter maximum taken from Intune.
  if (haveMaximum && c.minimumAllowTimeInSeconds > c.maximumConnectionTimeInSeconds) {
    ctx.warning("minimumAllowTimeInSeconds",
                "lowered from " + std::to_string(c.minimumAllowTimeInSeconds) + " to " +
                    std::to_string(c.maximumConnectionTimeInSeconds) +
                    " to fit maximumConnectionTimeInSeconds");
    c.minimumAllowTimeInSeconds = c.maximumConnectionTimeInSeconds;
  }
}

}  // namespace ztdns::config::detail
