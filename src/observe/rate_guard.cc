#include "observe/rate_guard.h"

#include <nlohmann/json.hpp>

extern "C" {
#include <nftables/libnftables.h>
}

#include "common/c_ptr.h"

namespace ztdns::observe {

NftCounterRateGuard::NftCounterRateGuard(std::string family, std::string table, std::string counter,
                                         std::optional<uint32_t> limit)
    : family_(std::move(family)),
      table_(std::move(table)),
      counter_(std::move(counter)),
      limit_(limit) {}

Result<uint64_t> NftCounterRateGuard::packetsNotLogged() {
  using NftCtx = CPtr<nft_ctx, nft_ctx_free>;
  NftCtx ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return Error{"nft_ctx_new failed"};
  nft_ctx_output_set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON);
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  std::string cmd = "list counter " + family_ + " " + table_ + " " + counter_;
  if (nft_run_cmd_from_buffer(ctx.get(), cmd.c_str()) != 0) {
    const char* err = nft_ctx_get_error_buffer(ctx.get());
    return Error{"nft " + cmd + ": " + (err ? std::string(err) : std::string("failed"))};
  }
  const char* out = nft_ctx_get_output_buffer(ctx.get());
  auto doc = nlohmann::json::parse(out ? out : "", nullptr, false);
  if (doc.is_discarded() || !doc.contains("nftables"))
    return Error{"nft " + cmd + ": unreadable output"};
  for (const auto& item : doc["nftables"]) {
    if (item.contains("counter") && item["counter"].contains("packets")) {
      return item["counter"]["packets"].get<uint64_t>();
    }
  }
  return Error{"nft " + cmd + ": no counter in the output"};
}

}  // namespace ztdns::observe
