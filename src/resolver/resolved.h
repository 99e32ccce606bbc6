// Resolved: one answer as the stub keeps it, fresh or in the cache: the servable
// message, the addresses that must be allowed before it is released, and where it
// came from.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/ip.h"
#include "dns/stored_answer.h"
#include "upstream/server_pool.h"

namespace ztdns::resolver {

enum class AnswerSource : uint8_t { kUpstream, kHostsFile };

struct Resolved {
  dns::StoredAnswer answer;
  // The chain's addresses classified by enforce::classifyAnswerAddress (moved out of
  // answer.addresses, which is left empty): kInsert only,
  // unmapped, without duplicates.
  std::vector<IpAddress> allowed;
  AnswerSource source = AnswerSource::kUpstream;
  std::string server;  // displayName of the PDNS server, or the hosts file path
  IpAddress serverAddress;
  uint16_t serverPort = 0;
  upstream::Transport transport = upstream::Transport::kDoT;
  std::chrono::microseconds rtt{0};
  std::chrono::steady_clock::time_point received;  // ages are counted from here

  size_t footprint() const {
    return sizeof(Resolved) + answer.footprint() - sizeof(answer) +
           allowed.capacity() * sizeof(IpAddress) + server.capacity();
  }
};

}  // namespace ztdns::resolver
