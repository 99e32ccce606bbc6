// QueryConnection: a TlsConnection that carries DNS exchanges (DoT or DoH), and the
// interface through which it reports back to its UpstreamEndpoint.
#pragma once

#include <vector>

#include "upstream/exchange.h"
#include "upstream/tls_connection.h"

namespace ztdns::upstream {

class QueryConnection;

class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  virtual void onConnectionEstablished(QueryConnection& conn) = 0;
  // The connection is gone. `unanswered` are the exchanges still waiting on it (not yet
  // finished); the owner retries them once if the connection had been up, else fails them.
  virtual void onConnectionClosed(QueryConnection& conn, const UpstreamError& why,
                                  bool wasEstablished, std::vector<ExchangePtr> unanswered) = 0;
  // DoH: the server refused these streams (GOAWAY above last-stream-id, REFUSED_STREAM);
  // they were not processed and may be sent again elsewhere.
  virtual void onExchangesRefused(QueryConnection& conn, std::vector<ExchangePtr> refused) = 0;
};

class QueryConnection : public TlsConnection {
 public:
  QueryConnection(asio::io_context& io, ConnectionParams params, ConnectionOwner* owner)
      : TlsConnection(io, std::move(params)), owner_(owner) {}

  // Queue one exchange. Returns false when the connection cannot take it (closed,
  // draining, out of IDs); the caller then uses another connection.
  virtual bool send(const ExchangePtr& ex) = 0;
  virtual size_t inFlight() const = 0;
  // No new exchanges (DoH GOAWAY received).
  virtual bool draining() const { return false; }
  // The owner is going away: never call it again.
  void detach() { owner_ = nullptr; }

 protected:
  ConnectionOwner* owner_;
};

}  // namespace ztdns::upstream
