// The whole stub over loopback UDP: a client keeps 64 queries in flight against a Stub
// whose pool answers in-process at once and whose allow set acknowledges on the next
// loop turn (as the kernel batch does). Process CPU time per query covers the stub, the
// client's own send/recv and the in-process pool, but no TLS and no kernel netlink:
// the stub's share of what a DoT/DoH forwarder spends per query.
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <asio.hpp>
#include <cstring>
#include <string>
#include <thread>

#include "common/unique_fd.h"
#include "dns/knot.h"
#include "dns_packet_builder.h"
#include "fake_allow_set.h"
#include "fake_server_pool.h"
#include "fakes.h"
#include "resolver/stub.h"

namespace {

using namespace ztdns;

// An answer to the upstream query: its header and question, one A record (TTL 300).
std::optional<Result<upstream::Answer>> answerOf(std::span<const uint8_t> query) {
  size_t end = 12 + knot_dname_size(query.data() + 12) + 4;
  std::vector<uint8_t> wire(query.begin(), query.begin() + static_cast<long>(end));
  wire[2] |= 0x80;
  wire[3] = 0x80;
  knot_wire_set_ancount(wire.data(), 1);
  knot_wire_set_arcount(wire.data(), 0);
  const uint8_t rr[] = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 1, 0x2C, 0, 4, 203, 0, 113, 80};
  wire.insert(wire.end(), rr, rr + sizeof rr);
  return testing::FakeServerPool::makeAnswer(std::move(wire));
}

class Loop {
 public:
  Loop() : pool_(io_), allow_(io_), work_(asio::make_work_guard(io_)) {
    pool_.setResponder(answerOf);
    pool_.setKeepHistory(false);
    allow_.setAutoAck(true);
    allow_.setKeepHistory(false);
    config::Config config;
    Endpoint any{IpAddress::parse("127.0.0.1").value(), 0};
    config.listenAddresses = {any};
    stub_ = std::make_unique<resolver::Stub>(io_, config, pool_, allow_, events_);
    if (!stub_->start().ok()) std::abort();
    thread_ = std::thread([this] { io_.run(); });
    Endpoint at = stub_->listening().at(0);
    sockaddr_storage ss;
    socklen_t len;
    at.address.toSockaddr(at.port, ss, len);
    fd_.reset(socket(AF_INET, SOCK_DGRAM, 0));
    int rcv = 4 << 20;
    setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    timeval tv{2, 0};
    setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd_.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) std::abort();
  }
  ~Loop() {
    asio::post(io_, [this] { stub_.reset(); });
    work_.reset();
    thread_.join();
  }
  // Sends `queries` (one write each) and reads as many answers; false on a loss.
  bool exchange(const std::vector<std::vector<uint8_t>>& queries) {
    for (const auto& q : queries) {
      if (send(fd_.get(), q.data(), q.size(), 0) < 0) return false;
    }
    uint8_t buf[1500];
    for (size_t i = 0; i < queries.size(); ++i) {
      if (recv(fd_.get(), buf, sizeof buf, 0) <= 0) return false;
    }
    return true;
  }
  resolver::StubStats stats() const { return stub_->stats(); }

 private:
  asio::io_context io_;
  testing::FakeServerPool pool_;
  testing::FakeAllowSet allow_;
  testing::RecordingEventSink events_;
  std::unique_ptr<resolver::Stub> stub_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  UniqueFd fd_;
};

constexpr int kWindow = 64;

// The floor: an asio UDP echo on the same kind of loop (wait, read until empty, send
// each back). What any UDP stub costs on this machine before it does DNS work.
class Echo {
 public:
  Echo()
      : socket_(io_, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        work_(asio::make_work_guard(io_)),
        buffer_(65536) {
    socket_.non_blocking(true);
    wait();
    thread_ = std::thread([this] { io_.run(); });
    fd_.reset(socket(AF_INET, SOCK_DGRAM, 0));
    timeval tv{2, 0};
    setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(socket_.local_endpoint().port());
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) std::abort();
  }
  ~Echo() {
    asio::post(io_, [this] { socket_.close(); });
    work_.reset();
    thread_.join();
  }
  bool exchange(const std::vector<std::vector<uint8_t>>& queries) {
    for (const auto& q : queries) {
      if (send(fd_.get(), q.data(), q.size(), 0) < 0) return false;
    }
    uint8_t buf[1500];
    for (size_t i = 0; i < queries.size(); ++i) {
      if (recv(fd_.get(), buf, sizeof buf, 0) <= 0) return false;
    }
    return true;
  }

 private:
  void wait() {
    socket_.async_wait(asio::ip::udp::socket::wait_read, [this](const std::error_code& ec) {
      if (ec) return;
      for (int i = 0; i < 64; ++i) {
        std::error_code rec;
        size_t n = socket_.receive_from(asio::buffer(buffer_), peer_, 0, rec);
        if (rec) break;
        socket_.send_to(asio::buffer(buffer_.data(), n), peer_, 0, rec);
      }
      wait();
    });
  }
  asio::io_context io_;
  asio::ip::udp::socket socket_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<uint8_t> buffer_;
  asio::ip::udp::endpoint peer_;
  std::thread thread_;
  UniqueFd fd_;
};

std::vector<uint8_t> query(const std::string& name, uint16_t id) {
  return testing::PacketBuilder::query(name, KNOT_RRTYPE_A, id).edns(1232).build();
}

void BM_UdpEchoFloor(benchmark::State& state) {
  Echo echo;
  std::vector<std::vector<uint8_t>> batch;
  for (int i = 0; i < kWindow; ++i) {
    batch.push_back(query("www.example.com", static_cast<uint16_t>(i)));
  }
  for (auto _ : state) {
    if (!echo.exchange(batch)) state.SkipWithError("lost a datagram");
  }
  state.SetItemsProcessed(state.iterations() * kWindow);
}
BENCHMARK(BM_UdpEchoFloor)->MeasureProcessCPUTime()->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_StubUdpCached(benchmark::State& state) {
  Loop loop;
  std::vector<std::vector<uint8_t>> batch;
  for (int i = 0; i < kWindow; ++i)
    batch.push_back(query("www.example.com", static_cast<uint16_t>(i)));
  loop.exchange({batch[0]});
  for (auto _ : state) {
    if (!loop.exchange(batch)) state.SkipWithError("lost an answer");
  }
  state.SetItemsProcessed(state.iterations() * kWindow);
  auto s = loop.stats();
  state.counters["hit_ratio"] = static_cast<double>(s.cacheHits) / static_cast<double>(s.queries);
}
BENCHMARK(BM_StubUdpCached)->MeasureProcessCPUTime()->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_StubUdpUncached(benchmark::State& state) {
  Loop loop;
  uint64_t n = 0;
  std::vector<std::vector<uint8_t>> batch;
  for (int i = 0; i < kWindow; ++i)
    batch.push_back(query("n00000000.bench.test", static_cast<uint16_t>(i)));
  for (auto _ : state) {
    for (auto& q : batch) {  // a new name each time: digits written in place (13..20)
      uint64_t v = n++;
      for (int d = 8; d >= 1; --d, v /= 10) q[13 + d] = static_cast<uint8_t>('0' + v % 10);
    }
    if (!loop.exchange(batch)) state.SkipWithError("lost an answer");
  }
  state.SetItemsProcessed(state.iterations() * kWindow);
  auto s = loop.stats();
  state.counters["upstream_per_query"] =
      static_cast<double>(s.upstreamQueries) / static_cast<double>(s.queries);
}
BENCHMARK(BM_StubUdpUncached)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
