// DotConnection: DNS over TLS (RFC 7858) on one connection. Queries are pipelined, each
// gets a wire ID unique on this connection, answers are matched by ID in any order, and
// the caller's ID is restored. Every query queued in one loop turn leaves in one write.
#pragma once

#include <unordered_map>

#include "upstream/query_connection.h"

namespace ztdns::upstream {

class DotConnection final : public QueryConnection {
 public:
  DotConnection(asio::io_context& io, ConnectionParams params, ConnectionOwner* owner,
                size_t maxInFlight);

  bool send(const ExchangePtr& ex) override;
  size_t inFlight() const override { return inflight_.size(); }

 private:
  void onEstablished() override;
  void onData(const uint8_t* data, size_t len) override;
  void onClosed(const UpstreamError& why) override;
  // One complete message; false when the stream is corrupt.
  bool onMessage(const uint8_t* msg, size_t len);

  size_t maxInFlight_;
  uint16_t nextId_;
  std::unordered_map<uint16_t, ExchangePtr> inflight_;  // wire ID -> exchange
  std::vector<uint8_t> partial_;                        // an incomplete frame
};

}  // namespace ztdns::upstream
