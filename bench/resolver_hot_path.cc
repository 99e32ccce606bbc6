// The resolver's pure per-query work, and libknot's general parser for comparison
// (docs/design.md records the choice this measures).
#include <benchmark/benchmark.h>

#include <string>

#include "dns/answer_analysis.h"
#include "dns/client_query.h"
#include "dns/knot.h"
#include "dns/response_writer.h"
#include "dns/stored_answer.h"
#include "dns/upstream_query.h"
#include "dns_packet_builder.h"
#include "resolver/answer_cache.h"

namespace {

using ztdns::testing::PacketBuilder;
using namespace ztdns;

std::vector<uint8_t> digQuery() {
  // What dig sends: EDNS 1232 with a cookie (modelled as a 12-byte padding-sized option).
  return PacketBuilder::query("WwW.Example.COM", KNOT_RRTYPE_A, 0x1234)
      .edns(1232, false, 12)
      .build();
}

std::vector<uint8_t> answerA() {
  return PacketBuilder::response("www.example.com", KNOT_RRTYPE_A)
      .a("www.example.com", 300, "192.0.2.1")
      .edns(1232, false, 100)
      .build();
}

std::vector<uint8_t> answerChain() {
  return PacketBuilder::response("www.example.com", KNOT_RRTYPE_A)
      .cname("www.example.com", 3600, "www.example.com.cdn.test")
      .cname("www.example.com.cdn.test", 60, "edge7.cdn-net.test")
      .a("edge7.cdn-net.test", 20, "203.0.113.80")
      .a("edge7.cdn-net.test", 20, "203.0.113.81")
      .edns(1232, false, 40)
      .build();
}

std::vector<uint8_t> answerForty() {
  auto b = PacketBuilder::response("www.example.com", KNOT_RRTYPE_A);
  for (int i = 1; i <= 40; ++i)
    b.a("www.example.com", 300, ("198.51.100." + std::to_string(i)).c_str());
  return b.edns().build();
}

dns::ClientQuery parsedQuery() {
  return dns::parseClientQuery(digQuery()).query;
}

void BM_ParseClientQuery(benchmark::State& state) {
  auto wire = digQuery();
  for (auto _ : state) {
    dns::QueryParse p = dns::parseClientQuery(wire);
    benchmark::DoNotOptimize(p.query.qtype);
  }
}
BENCHMARK(BM_ParseClientQuery);

void BM_BuildUpstreamQuery(benchmark::State& state) {
  auto q = parsedQuery();
  std::array<uint8_t, dns::kMaxUpstreamQuerySize> out;
  for (auto _ : state) benchmark::DoNotOptimize(dns::buildUpstreamQuery(q, out));
}
BENCHMARK(BM_BuildUpstreamQuery);

template <std::vector<uint8_t> (*Make)()>
void BM_AnalyzeAnswer(benchmark::State& state) {
  auto wire = Make();
  auto q = parsedQuery();
  dns::AnswerAnalysis a;
  for (auto _ : state) {
    auto problem = dns::analyzeAnswer(wire, q.qnameLower, q.qtype, q.qclass, a);
    benchmark::DoNotOptimize(problem);
  }
}
BENCHMARK(BM_AnalyzeAnswer<answerA>)->Name("BM_AnalyzeAnswer/A");
BENCHMARK(BM_AnalyzeAnswer<answerChain>)->Name("BM_AnalyzeAnswer/CnameChain");
BENCHMARK(BM_AnalyzeAnswer<answerForty>)->Name("BM_AnalyzeAnswer/FortyA");

// libknot's parser on the same messages: what the hot path would cost on knot_pkt_t.
template <std::vector<uint8_t> (*Make)()>
void BM_KnotPktParse(benchmark::State& state) {
  auto wire = Make();
  for (auto _ : state) {
    knot_pkt_t* pkt = knot_pkt_new(wire.data(), static_cast<uint16_t>(wire.size()), nullptr);
    benchmark::DoNotOptimize(knot_pkt_parse(pkt, 0));
    knot_pkt_free(pkt);
  }
}
BENCHMARK(BM_KnotPktParse<answerA>)->Name("BM_KnotPktParse/A");
BENCHMARK(BM_KnotPktParse<answerChain>)->Name("BM_KnotPktParse/CnameChain");
BENCHMARK(BM_KnotPktParse<answerForty>)->Name("BM_KnotPktParse/FortyA");

// A fresh answer: analysis, the stored copy (one move of the wire), the first serve.
void BM_FreshAnswerToClient(benchmark::State& state) {
  auto wire = answerChain();
  auto q = parsedQuery();
  std::vector<uint8_t> out(dns::kMaxMessageSize);
  for (auto _ : state) {
    dns::AnswerAnalysis a;
    dns::analyzeAnswer(wire, q.qnameLower, q.qtype, q.qclass, a);
    dns::StoredAnswer s = dns::storeAnswer(wire, std::move(a));
    benchmark::DoNotOptimize(dns::writeAnswer(s, q, 0, q.udpLimit(), out).size);
  }
}
BENCHMARK(BM_FreshAnswerToClient);

// A cache hit as the stub serves it, minus the allow and the socket: parse the client's
// query, build the key, find the entry, write the answer with aged TTLs.
void BM_CacheHitServe(benchmark::State& state) {
  auto query = digQuery();
  auto q = parsedQuery();
  resolver::AnswerCache cache(32u << 20);
  for (int i = 0; i < 10000; ++i) {  // a populated cache
    auto other = dns::parseClientQuery(
        PacketBuilder::query("n" + std::to_string(i) + ".example.com", 1).edns().build());
    auto wire = PacketBuilder::response("n" + std::to_string(i) + ".example.com", 1)
                    .a("n" + std::to_string(i) + ".example.com", 300, "192.0.2.1")
                    .build();
    dns::AnswerAnalysis a;
    dns::analyzeAnswer(wire, other.query.qnameLower, 1, 1, a);
    auto r = std::make_shared<resolver::Resolved>();
    r->answer = dns::storeAnswer(wire, std::move(a));
    r->received = std::chrono::steady_clock::now();
    resolver::CacheKeyBuffer kb;
    cache.insert(resolver::cacheKey(other.query, kb), r, 300);
  }
  {
    auto wire = answerChain();
    dns::AnswerAnalysis a;
    dns::analyzeAnswer(wire, q.qnameLower, q.qtype, q.qclass, a);
    auto r = std::make_shared<resolver::Resolved>();
    r->answer = dns::storeAnswer(wire, std::move(a));
    r->received = std::chrono::steady_clock::now() - std::chrono::seconds(5);
    resolver::CacheKeyBuffer kb;
    cache.insert(resolver::cacheKey(q, kb), r, 300);
  }
  std::vector<uint8_t> out(dns::kMaxMessageSize);
  for (auto _ : state) {
    dns::QueryParse p = dns::parseClientQuery(query);
    resolver::CacheKeyBuffer kb;
    auto hit = cache.find(resolver::cacheKey(p.query, kb), std::chrono::steady_clock::now());
    auto w =
        dns::writeAnswer(hit->value->answer, p.query, hit->ageSeconds, p.query.udpLimit(), out);
    benchmark::DoNotOptimize(w.size);
  }
}
BENCHMARK(BM_CacheHitServe);

}  // namespace

BENCHMARK_MAIN();
