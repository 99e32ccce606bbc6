// Exchange: one attempt to get one query answered by one upstream endpoint. The pool makes
// one per attempt; transports fill in the answer or the error and call finish() once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "upstream/upstream_error.h"

namespace ztdns::upstream {

struct ExchangeResult {
  std::vector<uint8_t> answer;  // ID already restored to the query's ID
  UpstreamError error;          // cls == kNone on success
  bool ok() const { return error.cls == ErrorClass::kNone; }
};

struct Exchange {
  std::vector<uint8_t> query;  // the wire query, padded, with the caller's ID
  int retriesLeft = 1;         // re-sends allowed after a server's idle close
  bool finished = false;       // answered, failed or abandoned: transports drop it
  std::chrono::steady_clock::time_point sentAt{};
  std::function<void(ExchangeResult)> onDone;

  void finish(ExchangeResult r) {
    if (finished) return;
    finished = true;
    auto done = std::move(onDone);
    onDone = nullptr;
    if (done) done(std::move(r));
  }
  // The pool gave up on this attempt (deadline, failover); a late answer is dropped.
  void abandon() {
    finished = true;
    onDone = nullptr;
  }
};

using ExchangePtr = std::shared_ptr<Exchange>;

}  // namespace ztdns::upstream
