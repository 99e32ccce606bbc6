// Fuzz target `config`: parseConfig over arbitrary bytes. Beyond "no crash" it asserts the
// model's promises: a config that loads is valid, and toJson gives it back unchanged.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ztdns::config;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  LoadResult r = parseConfig(text);
  if (r.config.has_value() != r.diagnostics.ok()) std::abort();
  if (!r.config) return 0;
  // Nothing that loads may be rejected by validate() or change in a round trip.
  if (!validate(*r.config).ok()) std::abort();
  LoadResult again = parseConfig(toJson(*r.config).dump());
  if (!again.config || !(*again.config == *r.config)) std::abort();
  if (formatConfig(*r.config).empty()) std::abort();
  (void)r.config->allowSecondsForTtl(static_cast<uint32_t>(size) * 2654435761u);
  return 0;
}
