#include "upstream/probe.h"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "upstream/upstream_endpoint.h"
#include "upstream/wire.h"

namespace ztdns::upstream {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;

const char* stageOf(ErrorClass c, const ConnectionTiming& t) {
  switch (c) {
    case ErrorClass::kRefused:
    case ErrorClass::kNetwork:
      return t.tcpConnected == Clock::time_point{} ? "connect" : "TLS";
    case ErrorClass::kTimeout:
      if (t.tcpConnected == Clock::time_point{}) return "connect";
      return t.tlsDone == Clock::time_point{} ? "TLS" : "query";
    case ErrorClass::kCertExpired:
    case ErrorClass::kNameMismatch:
    case ErrorClass::kUnknownCa:
    case ErrorClass::kCertInvalid:
    case ErrorClass::kPinMismatch:
    case ErrorClass::kClientCertRejected:
    case ErrorClass::kTls:
      return "TLS";
    default:
      return "query";
  }
}

struct ProbeRun : std::enable_shared_from_this<ProbeRun> {
  ProbeRun(asio::io_context& io, EndpointConfig cfg, std::shared_ptr<const TlsContext> tls)
      : ep(io, std::move(cfg), std::move(tls)), timer(io) {}
  UpstreamEndpoint ep;
  asio::steady_timer timer;
  ExchangePtr ex;
  ProbeReport report;
  std::function<void(ProbeReport)> done;

  void finish(ExchangeResult r) {
    if (!done) return;
    timer.cancel();
    auto t = ep.lastTiming();
    if (t.tcpConnected != Clock::time_point{}) {
      report.tcpConnect = duration_cast<microseconds>(t.tcpConnected - t.started);
    }
    if (t.tlsDone != Clock::time_point{}) {
      report.tlsHandshake = duration_cast<microseconds>(t.tlsDone - t.tcpConnected);
      report.tlsVersion = t.tlsVersion;
      report.peerSubject = t.peerSubject;
    }
    if (r.ok()) {
      report.ok = true;
      report.rcode = wire::rcode(r.answer);
      auto from = std::max(ex->sentAt, t.tlsDone);
      report.query = duration_cast<microseconds>(Clock::now() - from);
    } else {
      report.errorClass = r.error.cls;
      report.error = r.error.words;
      report.stage = stageOf(r.error.cls, t);
      // The failed stage's time, from its start: diagnose reports it with the reason.
      // A probe timer that fires during the connect has no connection timing yet: the
      // probe started when its query was queued.
      const Clock::time_point sent = ex ? ex->sentAt : Clock::time_point{};
      Clock::time_point from = t.started != Clock::time_point{} ? t.started : sent;
      if (report.stage == "TLS") from = t.tcpConnected;
      if (report.stage == "query") from = std::max(sent, t.tlsDone);
      if (from != Clock::time_point{}) {
        report.failedAfter = duration_cast<microseconds>(Clock::now() - from);
      }
    }
    ep.closeAll({ErrorClass::kCancelled, "probe done"});
    auto d = std::move(done);
    done = nullptr;
    d(std::move(report));
  }
};

}  // namespace

Status probeServer(asio::io_context& io, const PoolOptions& options, const ProbeRequest& request,
                   std::function<void(std::vector<ProbeReport>)> done) {
  auto tls = TlsContext::create(options.rootCertificates, options.clientCertificate);
  if (!tls) return tls.error();
  auto configs = endpointConfigs(options);
  if (!configs) return configs.error();
  std::vector<EndpointConfig> chosen;
  for (auto& c : *configs) {
    if (c.address != request.server) continue;
    if (request.transport && c.transport != *request.transport) continue;
    c.connectTimeout = request.timeout;
    c.maxConnections = 1;
    chosen.push_back(std::move(c));
  }
  struct Collect {
    std::vector<ProbeReport> reports;
    size_t left = 0;
    std::function<void(std::vector<ProbeReport>)> done;
  };
  auto collect = std::make_shared<Collect>();
  collect->reports.resize(chosen.size());
  collect->left = chosen.size();
  collect->done = std::move(done);
  if (chosen.empty()) {
    asio::post(io, [collect] { collect->done({}); });
    return okStatus();
  }
  for (size_t i = 0; i < chosen.size(); ++i) {
    auto run = std::make_shared<ProbeRun>(io, chosen[i], *tls);
    auto& rep = run->report;
    rep.server = chosen[i].serverName;
    rep.address = chosen[i].address;
    rep.port = chosen[i].port;
    rep.transport = chosen[i].transport;
    rep.identity = chosen[i].identity->name;
    run->done = [collect, i](ProbeReport r) {
      collect->reports[i] = std::move(r);
      if (--collect->left == 0) collect->done(std::move(collect->reports));
    };
    run->ex = std::make_shared<Exchange>();
    run->ex->query = wire::makeQuery(request.testName.c_str(), request.testType, 0x5a5a);
    if (options.padQueries) wire::padQuery(run->ex->query);
    run->ex->retriesLeft = 0;
    run->ex->sentAt = Clock::now();
    std::weak_ptr<ProbeRun> weak = run;
    // The exchange callback keeps the run alive until it finishes.
    run->ex->onDone = [run](ExchangeResult r) { run->finish(std::move(r)); };
    run->timer.expires_after(request.timeout);
    run->timer.async_wait([weak, timeout = request.timeout](const asio::error_code& ec) {
      auto r = weak.lock();
      if (ec || !r || !r->done) return;
      auto ex = r->ex;
      ex->abandon();  // drops the exchange's reference to the run
      r->finish(
          {{},
           {ErrorClass::kTimeout, "no answer within " + std::to_string(timeout.count()) + " ms"}});
    });
    run->ep.send(run->ex);
  }
  return okStatus();
}

}  // namespace ztdns::upstream
