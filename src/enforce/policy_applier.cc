#include "enforce/policy_applier.h"

#include <sys/mman.h>
#include <unistd.h>

#include <sstream>

#include "common/unique_fd.h"
#include "enforce/policy_script.h"
#include "enforce/table_query.h"

namespace ztdns::enforce {

namespace {

constexpr const char* kScriptName = "ztdns-policy";

// libnftables reports "file:line:col: Error: ...", the offending command, and a caret
// line. Keep the error lines and the commands, drop the carets, join into one line.
// `path` (the memfd the script was read from) is shown as kScriptName.
std::string oneLine(const std::string& errors, const std::string& path) {
  std::istringstream in(errors);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" ^~\t") == std::string::npos) continue;
    if (!path.empty() && line.compare(0, path.size() + 1, path + ":") == 0) {
      line = kScriptName + line.substr(path.size());
    }
    if (!out.empty()) out += " | ";
    out += line;
  }
  return out.empty() ? "libnftables failed without a message" : out;
}

// The script in a memfd, readable as /proc/self/fd/N; invalid if that is not possible.
UniqueFd scriptFile(const std::string& script) {
  UniqueFd fd(::memfd_create(kScriptName, MFD_CLOEXEC));
  if (!fd.valid()) return {};
  for (size_t done = 0; done < script.size();) {
    ssize_t n = ::write(fd.get(), script.data() + done, script.size() - done);
    if (n <= 0) return {};
    done += static_cast<size_t>(n);
  }
  return fd;
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
  // From a buffer, libnftables names the wrong command when the kernel refuses one (it
  // prints the buffer's first line under the error); from a file it names the command it
  // sent, with its line. So the script is read from a memfd when /proc allows.
  UniqueFd file = scriptFile(script);
  std::string path;
  if (file.valid()) path = "/proc/self/fd/" + std::to_string(file.get());
  int rc = !path.empty() && ::access(path.c_str(), R_OK) == 0
               ? nft_run_cmd_from_filename(ctx_.get(), path.c_str())
               : nft_run_cmd_from_buffer(ctx_.get(), script.c_str());
  // Reading a buffer also resets it for the next command.
  std::string out = nft_ctx_get_output_buffer(ctx_.get());
  std::string err = nft_ctx_get_error_buffer(ctx_.get());
  if (rc != 0) return Error{"nftables: " + oneLine(err, path)};
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
