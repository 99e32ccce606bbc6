// upstream_bench: queries/s and CPU per query of the ServerPool as a DoT and a DoH client
// of a local unbound, next to dnsperf's own DoT/DoH client against the same unbound (the
// "direct" baseline, as in /work/shared/bench/peers.sh). Runs in a private network
// namespace (needs root; without it, it says so and exits 0), on 127.9.0.1 only, for a
// bounded time, and stops everything it started.
//
//   upstream_bench [--duration=S (5, max 60)] [--qdepth=N (100)] [--names=N (20000)]
//                  [--transports=dot,doh] [--no-direct] [--no-quickack-route] [--quickack=0|1]
//
// Columns: qps (answered/s), avg ms, us/q (this process's CPU per answer: pool plus the
// closed-loop load generator, which is cheap), up% (unbound's CPU, 100 = one core).
#include <sys/resource.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include "child_process.h"
#include "dns_peers.h"
#include "netns.h"
#include "observe/event_sink.h"
#include "test_pki.h"
#include "upstream/server_pool.h"
#include "upstream/wire.h"

using namespace ztdns;
namespace zt = ztdns::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kAddr = "127.9.0.1";
constexpr const char* kName = "upstream.bench";

struct Args {
  int duration = 5;
  size_t qdepth = 100;
  size_t names = 20000;
  bool dot = true, doh = true, direct = true, quickackRoute = true, quickack = true;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto val = [&](const char* k) -> std::optional<std::string> {
      std::string p = std::string(k) + "=";
      if (s.rfind(p, 0) == 0) return s.substr(p.size());
      return std::nullopt;
    };
    if (auto v = val("--duration"))
      a.duration = std::clamp(std::stoi(*v), 1, 60);
    else if (auto v2 = val("--qdepth"))
      a.qdepth = std::clamp<size_t>(std::stoul(*v2), 1, 5000);
    else if (auto v3 = val("--names"))
      a.names = std::clamp<size_t>(std::stoul(*v3), 10, 200000);
    else if (auto v4 = val("--transports")) {
      a.dot = v4->find("dot") != std::string::npos;
      a.doh = v4->find("doh") != std::string::npos;
    } else if (auto v5 = val("--quickack"))
      a.quickack = *v5 != "0";
    else if (s == "--no-direct")
      a.direct = false;
    else if (s == "--no-quickack-route")
      a.quickackRoute = false;
    else {
      std::cerr << "unknown argument " << s << "\n";
      std::exit(2);
    }
  }
  return a;
}

double cpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double procCpuSeconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(f, line);
  auto rp = line.rfind(')');
  if (rp == std::string::npos) return 0;
  std::istringstream in(line.substr(rp + 2));
  std::string field;
  unsigned long long ut = 0, st = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) ut = std::stoull(field);
    if (i == 15) st = std::stoull(field);
  }
  return static_cast<double>(ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Row {
  std::string label;
  double qps = 0, avgMs = 0, usPerQ = -1, upPct = 0;
  uint64_t answered = 0, failed = 0;
};

void print(const Row& r) {
  std::printf("%-12s %9.0f %8.2f %8s %6.0f %9llu %7llu\n", r.label.c_str(), r.qps, r.avgMs,
              r.usPerQ < 0 ? "-" : std::to_string(static_cast<int>(r.usPerQ + 0.5)).c_str(),
              r.upPct, static_cast<unsigned long long>(r.answered),
              static_cast<unsigned long long>(r.failed));
}

Row runPool(const Args& a, upstream::Transport t, uint16_t port, const std::string& ca, pid_t up) {
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  observe::StderrEventSink events;
  upstream::PoolOptions o;
  config::SecureDnsServer s;
  s.displayName = "bench";
  s.ipAddress = *IpAddress::parse(kAddr);
  if (t == upstream::Transport::kDoT) {
    s.dnsOverTls = config::DotSettings{port, kName};
  } else {
    s.dnsOverHttps = config::DohSettings{port, std::string("https://") + kName + "/dns-query"};
  }
  o.servers = {s};
  o.rootCertificates = {ca};
  o.quickAck = a.quickack;
  auto pool = upstream::makeServerPool(io, o, events);
  if (!pool) {
    std::cerr << pool.error().message << "\n";
    std::exit(1);
  }
  std::vector<std::vector<uint8_t>> queries;
  for (size_t i = 0; i < a.names; ++i) {
    auto name = "n" + std::to_string(i) + ".bench.test";
    queries.push_back(upstream::wire::makeQuery(name.c_str(), 1, static_cast<uint16_t>(i)));
  }
  Row row;
  row.label = std::string("pool-") + (t == upstream::Transport::kDoT ? "dot" : "doh");
  size_t next = 0;
  bool measuring = false, stopping = false;
  double latencySum = 0;
  std::function<void()> issue = [&] {
    const auto& q = queries[next++ % queries.size()];
    auto sent = Clock::now();
    (*pool)->resolve(q, sent + 2s, [&, sent](Result<upstream::Answer> r) {
      if (measuring) {
        if (r) {
          ++row.answered;
          latencySum += std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
        } else {
          ++row.failed;
        }
      }
      if (!stopping) issue();
    });
  };
  for (size_t i = 0; i < a.qdepth; ++i) issue();
  // One second of warm-up (connections, sessions), then the measured window.
  auto warm = Clock::now() + 1s;
  while (Clock::now() < warm) io.run_one_for(10ms);
  measuring = true;
  double cpu0 = cpuSeconds(), up0 = procCpuSeconds(up);
  auto t0 = Clock::now();
  io.run_for(std::chrono::seconds(a.duration));  // as the daemon runs: one io.run() loop
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu = cpuSeconds() - cpu0, upCpu = procCpuSeconds(up) - up0;
  measuring = false;
  stopping = true;
  auto drain = Clock::now() + 3s;
  while (Clock::now() < drain) io.run_one_for(10ms);
  row.qps = static_cast<double>(row.answered) / secs;
  row.avgMs = row.answered ? latencySum / static_cast<double>(row.answered) : 0;
  row.usPerQ = row.answered ? cpu * 1e6 / static_cast<double>(row.answered) : -1;
  row.upPct = upCpu * 100 / secs;
  return row;
}

Row runDirect(const Args& a, const char* mode, uint16_t port, const std::string& queryFile,
              const std::string& workdir, pid_t up) {
  Row row;
  row.label = std::string("direct-") + mode;
  std::string out = workdir + "/dnsperf-" + mode + ".txt";
  std::string cmd = std::string("dnsperf -m ") + mode + " -s " + kAddr + " -p " +
                    std::to_string(port) + " -d " + queryFile + " -l " +
                    std::to_string(a.duration) + " -q " + std::to_string(a.qdepth) + " -c 4" +
                    (std::string(mode) == "doh"
                         ? " -O doh-uri=https://upstream.bench/dns-query -O doh-method=POST"
                         : "") +
                    " > " + out + " 2>&1";
  double up0 = procCpuSeconds(up);
  auto t0 = Clock::now();
  if (zt::runShell(cmd) != 0) {
    std::cerr << "dnsperf failed:\n" << zt::readFile(out);
    return row;
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  row.upPct = (procCpuSeconds(up) - up0) * 100 / secs;
  std::string text = zt::readFile(out);
  auto grab = [&](const char* key) {
    auto at = text.find(key);
    return at == std::string::npos ? 0.0 : std::atof(text.c_str() + at + std::strlen(key));
  };
  row.qps = grab("Queries per second:");
  row.avgMs = grab("Average Latency (s):") * 1000;
  row.answered = static_cast<uint64_t>(grab("Queries completed:"));
  row.failed = static_cast<uint64_t>(grab("Queries lost:"));
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  std::string why = zt::enterPrivateNetns();
  if (!why.empty()) {
    std::printf("upstream_bench: skipped (needs a private network namespace: %s)\n", why.c_str());
    return 0;
  }
  if (a.quickackRoute) {
    // As peers.sh does: unbound 1.17 sends DoH answers without TCP_NODELAY.
    zt::runShell(std::string("ip route add local ") + kAddr +
                 " dev lo table local quickack 1 2>/dev/null");
  }
  zt::TempDir dir;
  zt::TestPki pki(dir.path());
  auto ca = pki.makeCa("bench-ca");
  auto cert = pki.issue(ca, "upstream", {kName, {kName}, {kAddr}});
  zt::UnboundSpec spec;
  spec.addresses = {kAddr};
  spec.tlsPort = 853;
  spec.httpsPort = 443;
  spec.certFile = cert.chainFile;
  spec.keyFile = cert.keyFile;
  spec.localData.clear();
  std::string queryFile = dir.file("queries.txt");
  {
    std::ofstream qf(queryFile);
    for (size_t i = 0; i < a.names; ++i) {
      spec.localData.push_back("n" + std::to_string(i) + ".bench.test. 300 IN A 198.51.100." +
                               std::to_string(i % 250 + 1));
      qf << "n" << i << ".bench.test A\n";
    }
  }
  spec.staticZones = {"bench.test."};
  spec.extraServerConfig =
      "  http-max-streams: 1000\n  incoming-num-tcp: 1000\n  edns-tcp-keepalive: yes\n"
      "  edns-tcp-keepalive-timeout: 300000\n";
  zt::UnboundPeer unbound(dir, "bench", spec);
  if (!unbound.start()) {
    std::cerr << "unbound did not start:\n" << unbound.log();
    return 1;
  }
  pid_t up = unbound.pid();

  std::printf("upstream_bench: duration %d s, qdepth %zu, %zu names, quickack %s, route %s\n",
              a.duration, a.qdepth, a.names, a.quickack ? "on" : "off",
              a.quickackRoute ? "on" : "off");
  std::printf("%-12s %9s %8s %8s %6s %9s %7s\n", "row", "qps", "avg ms", "us/q", "up%", "answered",
              "failed");
  Row dd, pd, dh, ph;
  if (a.dot) {
    if (a.direct) print(dd = runDirect(a, "dot", 853, queryFile, dir.path(), up));
    print(pd = runPool(a, upstream::Transport::kDoT, 853, ca.certFile, up));
  }
  if (a.doh) {
    if (a.direct) print(dh = runDirect(a, "doh", 443, queryFile, dir.path(), up));
    print(ph = runPool(a, upstream::Transport::kDoH, 443, ca.certFile, up));
  }
  if (a.direct) {
    if (a.dot && dd.qps > 0)
      std::printf("pool-dot / direct-dot qps ratio: %.2f\n", pd.qps / dd.qps);
    if (a.doh && dh.qps > 0)
      std::printf("pool-doh / direct-doh qps ratio: %.2f\n", ph.qps / dh.qps);
  }
  unbound.stop();
  return 0;
}
