#include "upstream/upstream_endpoint.h"

#include <algorithm>
#include <asio/post.hpp>

#include "upstream/dot_connection.h"

namespace ztdns::upstream {
namespace {
using Clock = std::chrono::steady_clock;

// Errors after which a query may be re-sent on a fresh connection: the server closed a
// connection it had accepted (idle close, restart, RST). Everything else is final.
bool retryable(const UpstreamError& why) {
  return why.cls == ErrorClass::kClosed;
}
}  // namespace

UpstreamEndpoint::UpstreamEndpoint(asio::io_context& io, EndpointConfig config,
                                   std::shared_ptr<const TlsContext> tls)
    : io_(io),
      config_(std::move(config)),
      tls_(std::move(tls)),
      sessions_(std::make_shared<SessionCache>()),
      sweepTimer_(io),
      alive_(std::make_shared<bool>(true)) {}

UpstreamEndpoint::~UpstreamEndpoint() {
  *alive_ = false;
  auto conns = std::move(conns_);
  for (auto& c : conns) {
    c->detach();
    c->close({ErrorClass::kCancelled, "upstream removed"});
  }
}

std::string UpstreamEndpoint::label() const {
  std::string addr =
      config_.address.isV6() ? "[" + config_.address.toString() + "]" : config_.address.toString();
  return config_.serverName + " (" + addr + ":" + std::to_string(config_.port) + " " +
         transportName(config_.transport) + ")";
}

QueryConnection* UpstreamEndpoint::pick() {
  // The first live connection under the soft limit: load concentrates on few connections,
  // so queries of one loop turn share one write.
  QueryConnection* least = nullptr;
  size_t live = 0;
  for (auto& c : conns_) {
    if (c->isClosed() || c->draining()) continue;
    ++live;
    size_t soft = config_.softInFlight;
    if (config_.transport == Transport::kDoH && c->established()) {
      soft = std::min<size_t>(soft, static_cast<DohConnection&>(*c).maxStreams());
    }
    if (c->inFlight() < soft) return c.get();
    if (!least || c->inFlight() < least->inFlight()) least = c.get();
  }
  if (live < config_.maxConnections) return open().get();
  return least;
}

std::shared_ptr<QueryConnection> UpstreamEndpoint::open() {
  ConnectionParams p;
  p.address = config_.address;
  p.port = config_.port;
  p.tls = tls_;
  p.identity = config_.identity;
  p.sessions = sessions_;
  p.connectTimeout = config_.connectTimeout;
  p.quickAck = config_.quickAck;
  std::shared_ptr<QueryConnection> c;
  if (config_.transport == Transport::kDoT) {
    c = std::make_shared<DotConnection>(io_, std::move(p), this, 60000);
  } else {
    c = std::make_shared<DohConnection>(io_, std::move(p), this, config_.doh);
  }
  conns_.push_back(c);
  ++opened_;
  c->start();
  armSweep();
  return c;
}

void UpstreamEndpoint::send(const ExchangePtr& ex) {
  if (ex->finished) return;
  QueryConnection* c = pick();
  if (c && c->send(ex)) return;
  // The chosen connection could not take it (out of IDs): try a fresh one once.
  auto fresh = open();
  if (!fresh->send(ex)) {
    // Asynchronously: the caller may be inside ServerPool::resolve().
    asio::post(io_, [ex] {
      ex->finish({{}, {ErrorClass::kNetwork, "no connection could take the query"}});
    });
  }
}

void UpstreamEndpoint::closeAll(const UpstreamError& why) {
  auto conns = conns_;
  for (auto& c : conns) c->close(why);
}

void UpstreamEndpoint::remove(QueryConnection& conn) {
  auto it = std::find_if(conns_.begin(), conns_.end(), [&](auto& c) { return c.get() == &conn; });
  if (it != conns_.end()) conns_.erase(it);
}

void UpstreamEndpoint::onConnectionEstablished(QueryConnection& conn) {
  lastTiming_ = conn.timing();
}

void UpstreamEndpoint::onConnectionClosed(QueryConnection& conn, const UpstreamError& why,
                                          bool wasEstablished,
                                          std::vector<ExchangePtr> unanswered) {
  auto keep = conn.shared_from_this();
  if (!wasEstablished) lastTiming_ = conn.timing();
  remove(conn);
  for (auto& ex : unanswered) {
    if (ex->finished) continue;
    if (wasEstablished && retryable(why) && ex->retriesLeft > 0) {
      --ex->retriesLeft;
      send(ex);
    } else {
      ex->finish({{}, why});
    }
  }
}

void UpstreamEndpoint::onExchangesRefused(QueryConnection&, std::vector<ExchangePtr> refused) {
  // Not processed by the server (GOAWAY / REFUSED_STREAM): safe to send again. Bounded by
  // retriesLeft so a server that refuses everything cannot loop us.
  for (auto& ex : refused) {
    if (ex->finished) continue;
    if (ex->retriesLeft > 0) {
      --ex->retriesLeft;
      send(ex);
    } else {
      ex->finish({{}, {ErrorClass::kHttp, "DoH: stream refused by the server"}});
    }
  }
}

void UpstreamEndpoint::armSweep() {
  if (sweepArmed_) return;
  sweepArmed_ = true;
  auto period = std::min(config_.idleTimeout, config_.staleTimeout) / 2;
  sweepTimer_.expires_after(
      std::max<std::chrono::milliseconds>(period, std::chrono::milliseconds(50)));
  std::weak_ptr<bool> alive = alive_;
  sweepTimer_.async_wait([this, alive](const asio::error_code& ec) {
    auto a = alive.lock();
    if (ec || !a || !*a) return;
    sweepArmed_ = false;
    sweep();
  });
}

void UpstreamEndpoint::sweep() {
  auto now = Clock::now();
  auto conns = conns_;
  for (auto& c : conns) {
    if (c->isClosed() || !c->established()) continue;
    auto quiet = now - c->lastActivity();
    if (c->inFlight() == 0 && quiet >= config_.idleTimeout) {
      c->close({ErrorClass::kNone, "idle"});
    } else if (c->inFlight() > 0 && c->unansweredSince() != Clock::time_point{} &&
               now - c->unansweredSince() >= config_.staleTimeout) {
      c->close({ErrorClass::kTimeout, "no data from the server for " +
                                          std::to_string(config_.staleTimeout.count()) + " ms"});
    }
  }
  if (!conns_.empty()) armSweep();
}

}  // namespace ztdns::upstream

namespace ztdns::upstream {

Result<ParsedQueryUrl> parseQueryUrl(const std::string& url) {
  static const std::string kScheme = "https://";
  if (url.size() <= kScheme.size() || url.compare(0, kScheme.size(), kScheme) != 0) {
    return Error{"queryUrl \"" + url + "\" does not start with https://"};
  }
  std::string rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  ParsedQueryUrl out;
  out.authority = rest.substr(0, slash);
  out.path = slash == std::string::npos ? "/" : rest.substr(slash);
  // An RFC 8484 URI template's "{?dns}" is for GET; POST uses the bare path.
  if (auto t = out.path.find("{?dns}"); t != std::string::npos) out.path.erase(t, 6);
  if (out.authority.empty() || out.authority.find('@') != std::string::npos) {
    return Error{"queryUrl \"" + url + "\" has no usable host"};
  }
  if (out.authority.front() == '[') {
    size_t close = out.authority.find(']');
    if (close == std::string::npos) return Error{"queryUrl \"" + url + "\": unclosed ["};
    out.host = out.authority.substr(1, close - 1);
  } else {
    out.host = out.authority.substr(0, out.authority.find(':'));
  }
  if (out.host.empty()) return Error{"queryUrl \"" + url + "\" has no host"};
  return out;
}

Result<std::vector<EndpointConfig>> endpointConfigs(const PoolOptions& options) {
  std::vector<const config::SecureDnsServer*> servers;
  for (const auto& s : options.servers) servers.push_back(&s);
  std::stable_sort(servers.begin(), servers.end(),
                   [](auto* a, auto* b) { return a->priority < b->priority; });
  std::vector<EndpointConfig> out;
  for (const auto* s : servers) {
    auto base = [&] {
      EndpointConfig c;
      c.serverName = s->displayName;
      c.address = s->ipAddress;
      c.priority = s->priority;
      c.connectTimeout = options.connectTimeout;
      c.idleTimeout = options.idleTimeout;
      c.staleTimeout = options.staleTimeout;
      c.maxConnections = std::max<size_t>(1, options.maxConnectionsPerEndpoint);
      c.softInFlight = std::max<size_t>(1, options.softInFlightPerConnection);
      c.quickAck = options.quickAck;
      return c;
    };
    if (s->dnsOverTls) {
      auto c = base();
      c.transport = Transport::kDoT;
      c.port = s->dnsOverTls->tlsPort;
      auto id = makeIdentity(s->dnsOverTls->certificateSubjectName, s->spkiPins, "");
      if (!id) return Error{s->displayName + ": " + id.error().message};
      c.identity = std::make_shared<const TlsIdentity>(std::move(*id));
      out.push_back(std::move(c));
    }
    if (s->dnsOverHttps) {
      auto c = base();
      c.transport = Transport::kDoH;
      c.port = s->dnsOverHttps->httpsPort;
      auto url = parseQueryUrl(s->dnsOverHttps->queryUrl);
      if (!url) return Error{s->displayName + ": " + url.error().message};
      auto id = makeIdentity(url->host, s->spkiPins, "h2");
      if (!id) return Error{s->displayName + ": " + id.error().message};
      c.identity = std::make_shared<const TlsIdentity>(std::move(*id));
      c.doh = std::make_shared<const DohTarget>(DohTarget{url->authority, url->path});
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace ztdns::upstream
