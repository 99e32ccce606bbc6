#include "enforce/policy_applier.h"

#include <sstream>

#include "enforce/policy_script.h"
#include "enforce/table_query.h"

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
  auto e = ztdnsTableExists();
  return e.ok() && *e;
}

Status PolicyApplier::removeTable() {
  auto e = ztdnsTableExists();
  if (!e) return e.error();
  if (!*e) return okStatus();
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
  PolicyCounters c;
  const std::pair<const char*, uint64_t*> counters[] = {
      {nft_name::kLogSuppressed, &c.logSuppressedPackets},
      {nft_name::kBlockedCounter, &c.blockedPackets},
      {nft_name::kWouldBlockCounter, &c.wouldBlockPackets}};
  for (const auto& [name, out] : counters) {
    auto packets = ztdnsCounterPackets(name);
    if (!packets) return packets.error();
    *out = *packets;
  }
  return c;
}

}  // namespace ztdns::enforce
