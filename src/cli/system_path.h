// The system path of step 3: getaddrinfo() as applications call it, and a TCP connect to
// the answer, each bounded in time.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/ip.h"

namespace ztdns::cli {

struct LookupOutcome {
  bool ok = false;
  bool timedOut = false;
  int gaiError = 0;  // EAI_* when !ok
  std::string error;
  std::vector<IpAddress> addresses;  // in the order getaddrinfo gave them, without repeats
  double ms = 0;
};
LookupOutcome lookupName(const std::string& name, std::chrono::milliseconds timeout);

struct ConnectOutcome {
  Endpoint endpoint;
  bool ok = false;
  int error = 0;  // errno; ETIMEDOUT when the timeout passed
  std::string words;
  double ms = 0;
};
ConnectOutcome connectTcp(const Endpoint& endpoint, std::chrono::milliseconds timeout);

}  // namespace ztdns::cli
