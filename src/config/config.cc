#include "config/config.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"
#include "config/parse_context.h"

namespace ztdns::config {

Config::Config() {
  const uint8_t v4[4] = {127, 0, 0, 1};
  uint8_t v6[16] = {};
  v6[15] = 1;
  listenAddresses = {Endpoint{IpAddress::v4(v4), 53}, Endpoint{IpAddress::v6(v6), 53}};
}

uint32_t Config::allowSecondsForTtl(uint32_t ttl) const {
  // 64-bit sum: a TTL near 2^32 plus the grace must not wrap to a short allowance.
  uint64_t seconds = uint64_t{ttl} + allowGraceSeconds;
  seconds = std::max<uint64_t>(seconds, minimumAllowTimeInSeconds);
  seconds = std::min<uint64_t>(seconds, maximumConnectionTimeInSeconds);
  // At least a second: an allow of 0 s is no allow (the allow set refuses it, and the
  // client would get SERVFAIL for every TTL-0 answer when minimum and grace are both 0).
  return static_cast<uint32_t>(std::max<uint64_t>(seconds, 1));
}

namespace {

using detail::Json;

// A Graph GET answers {"@odata.context": ..., "value": {...}} or a list with "value": [...].
const Json* unwrapGraphResponse(detail::ParseContext& ctx, const Json& root) {
  if (!root.is_object() || !root.contains("value")) return &root;
  for (const auto& [key, value] : root.items()) {
    if (key != "value" && key.rfind("@odata.", 0) != 0) return &root;
  }
  const Json& v = root["value"];
  if (v.is_object()) return &v;
  if (v.is_array() && v.size() == 1 && v[0].is_object()) return &v[0];
  ctx.error("value",
            "a Graph response must hold exactly one windowsZtdnsConfiguration object, "
            "not " +
                (v.is_array() ? std::to_string(v.size()) + " entries" : detail::describe(v)));
  return nullptr;
}

}  // namespace

LoadResult parseConfig(std::string_view jsonText) {
  LoadResult result;
  detail::ParseContext ctx(result.diagnostics);
  Json root;
  if (!detail::parseJsonText(ctx, jsonText, root)) return result;
  const Json* doc = unwrapGraphResponse(ctx, root);
  if (!doc) return result;
  if (!doc->is_object()) {
    ctx.error("", "the configuration must be a JSON object, not " + detail::describe(*doc));
    return result;
  }
  Config config;
  if (detail::looksLikeIntuneExport(*doc)) {
    result.fromIntune = true;
    detail::readIntuneExport(ctx, *doc, config);
  } else {
    detail::readOurSchema(ctx, *doc, config);
  }
  detail::validateInto(config, ctx);
  if (result.diagnostics.ok()) result.config = std::move(config);
  return result;
}

namespace {

std::string sizeWords(size_t bytes) {
  if (bytes % (size_t{1} << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

// Reads a whole regular file of at most kMaxConfigFileBytes; on failure returns the reason
// and sets *missing for ENOENT.
std::optional<std::string> readWholeFile(const std::string& path, std::string& out, bool* missing) {
  std::string q = detail::quoteText(path);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) {
    int err = errno;
    if (err == ENOENT) {
      if (missing) *missing = true;
      return q + " does not exist";
    }
    return q + " is not readable: " + std::strerror(err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return q + " is not readable: " + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return q + " is not a regular file";
  auto tooLarge = [&] {
    return q + " is larger than " + sizeWords(kMaxConfigFileBytes) +
           ", the most ztdnsd reads from a configuration file";
  };
  if (static_cast<uint64_t>(st.st_size) > kMaxConfigFileBytes) return tooLarge();
  out.clear();
  out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return q + " is not readable: " + std::strerror(errno);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxConfigFileBytes) return tooLarge();  // it grew while being read
  }
  return std::nullopt;
}

LoadResult load(const std::string& path, bool missingMeansDefaults) {
  std::string text;
  bool missing = false;
  if (auto why = readWholeFile(path, text, &missing)) {
    LoadResult r;
    if (missing && missingMeansDefaults) {
      r.config = Config();
      r.diagnostics.warnings.push_back(*why + "; using the defaults (ZTDNS disabled)");
    } else {
      r.diagnostics.errors.push_back(*why);
    }
    return r;
  }
  LoadResult r = parseConfig(text);
  r.digest = contentDigest(text);
  return r;
}

}  // namespace

LoadResult loadConfigFile(const std::string& path) {
  return load(path, false);
}

LoadResult loadConfigFileOrDefaults(const std::string& path) {
  return load(path, true);
}

std::string contentDigest(std::string_view bytes) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * sizeof md);
  for (unsigned char b : md) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

Result<std::optional<std::string>> fileDigest(const std::string& path) {
  std::string text;
  bool missing = false;
  if (auto why = readWholeFile(path, text, &missing)) {
    if (missing) return std::optional<std::string>();
    return Error{*why};
  }
  return std::optional<std::string>(contentDigest(text));
}

}  // namespace ztdns::config
