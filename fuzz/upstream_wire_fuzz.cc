// Fuzzes the upstream wire helpers with untrusted bytes: client queries reach padQuery()
// before they go upstream, and server answers reach answerMatchesQuery(). Asserts the
// invariants, not just the absence of crashes.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "upstream/wire.h"

using namespace ztdns::upstream;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> msg(data, data + size);
  auto original = msg;
  (void)wire::questionEnd(msg);
  (void)wire::rcode(msg);
  if (wire::padQuery(msg)) {
    // Padded to the block, header and question untouched, idempotent.
    if (msg.size() % wire::kPaddingBlock != 0) std::abort();
    auto qe = wire::questionEnd(original);
    size_t keep = qe ? *qe : wire::kHeaderSize;
    for (size_t i = 0; i < keep && i < original.size(); ++i) {
      if (i == 10 || i == 11) continue;  // ARCOUNT may grow by one
      if (msg[i] != original[i]) std::abort();
    }
    auto again = msg;
    if (!wire::padQuery(again) || again != msg) std::abort();
  } else if (msg != original) {
    std::abort();  // a refused message is left as it was
  }
  // Half the input as a query, half as an answer.
  size_t half = size / 2;
  (void)wire::answerMatchesQuery(std::span<const uint8_t>(data, half),
                                 std::span<const uint8_t>(data + half, size - half));
  return 0;
}
