// control::Client: the CLI's side of the control socket. Blocking, one request at a time,
// every wait bounded by a timeout. Errors are in words, ready to print.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "control/codec.h"

namespace ztdns::control {

class Client {
 public:
  // Connects to the socket. Errors (code ErrorCode::kUnavailable or kPermissionDenied) say
  // what to do: "no control socket at /run/ztdns/control.sock (is ztdnsd running? ...)".
  static Result<Client> connect(const std::string& socketPath, std::chrono::milliseconds timeout);

  // Sends one request and waits for its answer. A failed answer becomes an Error whose
  // code is the ErrorCode the daemon gave; transport problems are kUnavailable.
  Result<nlohmann::json> call(Method method, const nlohmann::json& params,
                              std::chrono::milliseconds timeout);

  template <Method M>
  Result<typename MethodTraits<M>::Result> call(const typename MethodTraits<M>::Params& params,
                                                std::chrono::milliseconds timeout) {
    auto raw = call(M, toJson(params), timeout);
    if (!raw) return raw.error();
    return decodeResult<typename MethodTraits<M>::Result>(*raw);
  }

  const std::string& socketPath() const { return path_; }
  // The warnings of the last successful answer (empty when it had none).
  const std::vector<std::string>& lastWarnings() const { return lastWarnings_; }

 private:
  Client(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  Status sendAll(const std::string& data, std::chrono::steady_clock::time_point deadline);
  Result<std::string> readLine(std::chrono::steady_clock::time_point deadline);

  UniqueFd fd_;
  std::string path_;
  std::string pending_;  // bytes read past the last line
  uint64_t nextId_ = 1;
  std::vector<std::string> lastWarnings_;
};

}  // namespace ztdns::control
