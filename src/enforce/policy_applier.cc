#include "enforce/policy_applier.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "enforce/policy_script.h"

namespace ztdns::enforce {

namespace {

// libnftables reports "file:line:col: Error: ...", the offending command, and a caret
// line. Keep the error lines and the commands, drop the carets, join into one line.
std::string oneLine(const std::string& errors) {
  std::istringstream in(errors);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" ^~\t") == std::string::npos) continue;
    if (!out.empty()) out += " | ";
    out += line;
  }
  return out.empty() ? "libnftables failed without a message" : out;
}

}  // namespace

Result<PolicyApplier> PolicyApplier::create() {
  Ctx ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return Error{"nft_ctx_new failed"};
  if (nft_ctx_buffer_output(ctx.get()) != 0 || nft_ctx_buffer_error(ctx.get()) != 0) {
    return Error{"libnftables: cannot buffer output"};
  }
  return PolicyApplier(std::move(ctx));
}

Status PolicyApplier::run(const std::string& script, std::string* output) {
  int rc = nft_run_cmd_from_buffer(ctx_.get(), script.c_str());
  // Reading a buffer also resets it for the next command.
  std::string out = nft_ctx_get_output_buffer(ctx_.get());
  std::string err = nft_ctx_get_error_buffer(ctx_.get());
  if (rc != 0) return Error{"nftables: " + oneLine(err)};
  if (output) *output = std::move(out);
  return okStatus();
}

Status PolicyApplier::apply(const Policy& policy) {
  auto script = buildPolicyScript(policy);
  if (!script) return Error{"policy not applied: " + script.error().message};
  return run(*script, nullptr);
}

bool PolicyApplier::exists() {
  std::string out;
  if (!run("list tables inet", &out)) return false;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line == std::string("table ") + kTableFamily + " " + kTableName) return true;
  }
  return false;
}

Status PolicyApplier::removeTable() {
  if (!exists()) return okStatus();
  return run(buildRemoveScript(), nullptr);
}

Result<std::string> PolicyApplier::listTable(bool stateless) {
  unsigned flags = nft_ctx_output_get_flags(ctx_.get());
  if (stateless) nft_ctx_output_set_flags(ctx_.get(), flags | NFT_CTX_OUTPUT_STATELESS);
  std::string out;
  auto st = run(std::string("list table ") + kTableFamily + " " + kTableName, &out);
  nft_ctx_output_set_flags(ctx_.get(), flags);
  if (!st) return st.error();
  return out;
}

Result<PolicyCounters> PolicyApplier::readCounters() {
  unsigned flags = nft_ctx_output_get_flags(ctx_.get());
  nft_ctx_output_set_flags(ctx_.get(), flags | NFT_CTX_OUTPUT_JSON);
  std::string out;
  auto st = run(std::string("list counters table ") + kTableFamily + " " + kTableName, &out);
  nft_ctx_output_set_flags(ctx_.get(), flags);
  if (!st) return st.error();
  auto doc = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.contains("nftables")) {
    return Error{"nftables: unreadable counter listing"};
  }
  PolicyCounters c;
  for (const auto& item : doc["nftables"]) {
    if (!item.contains("counter")) continue;
    const auto& counter = item["counter"];
    auto name = counter.value("name", std::string());
    auto packets = counter.value("packets", uint64_t{0});
    if (name == nft_name::kLogSuppressed) c.logSuppressedPackets = packets;
    if (name == nft_name::kBlockedCounter) c.blockedPackets = packets;
    if (name == nft_name::kWouldBlockCounter) c.wouldBlockPackets = packets;
  }
  return c;
}

}  // namespace ztdns::enforce
