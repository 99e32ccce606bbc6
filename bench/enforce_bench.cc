// enforce_bench: allow-set insert throughput and latency, TCP connect latency with an
// empty versus a loaded policy, and kernel memory per allowed address.
//
// Runs in a private network namespace it makes itself (needs root; exits 77 without), with
// a peer namespace `zt-<pid>-bench` joined by a veth pair, removed on exit. Only
// documentation addresses are used. Results go to stdout as Markdown rows for
// docs/performance.md. `--quick` shrinks the sizes for a smoke run.
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "enforce/kernel_allow_set.h"
#include "enforce/policy_applier.h"
#include "enforce/set_elem_netlink.h"
#include "observe/event_sink.h"

namespace {

// Removing a named namespace is a detach-unmount and an unlink: both safe in a signal
// handler, so an interrupted run leaves nothing behind.
char gPeerPath[128];
void onSignal(int) {
  umount2(gPeerPath, MNT_DETACH);
  unlink(gPeerPath);
  _exit(130);
}

using namespace ztdns;
using namespace ztdns::enforce;
using Clock = std::chrono::steady_clock;

int sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str());
}

// 2001:db8:XXXX:YYYY::/64-style addresses from a counter: the documentation range only.
IpAddress v6FromIndex(uint32_t base, uint32_t i) {
  uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
  b[4] = static_cast<uint8_t>(base >> 8);
  b[5] = static_cast<uint8_t>(base);
  b[12] = static_cast<uint8_t>(i >> 24);
  b[13] = static_cast<uint8_t>(i >> 16);
  b[14] = static_cast<uint8_t>(i >> 8);
  b[15] = static_cast<uint8_t>(i);
  return IpAddress::v6(b);
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// Slab + vmalloc from /proc/meminfo, in kB: where nft set elements and their hash live.
long kernelKb() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  long value = 0, total = 0;
  std::string unit;
  while (in >> key >> value) {
    std::getline(in, unit);
    if (key == "Slab:" || key == "VmallocUsed:") total += value;
  }
  return total;
}

class Bench {
 public:
  explicit Bench(bool quick) : quick_(quick), peer_("zt-" + std::to_string(getpid()) + "-bench") {}
  ~Bench() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    allow_.reset();
    sh("ip netns del " + peer_);
  }

  bool setUp() {
    if (unshare(CLONE_NEWNET) != 0) return false;
    std::string s = "set -e; ip link set lo up; ip netns add " + peer_ +
                    "; ip link add zc0 type veth peer name zs0 netns " + peer_ +
                    "; ip addr add 2001:db8:0:1::10/64 dev zc0 nodad; ip link set zc0 up"
                    "; ip -6 route add default via 2001:db8:0:1::1; ip -n " +
                    peer_ + " link set lo up; ip -n " + peer_ +
                    " addr add 2001:db8:0:1::1/64 dev zs0 nodad; ip -n " + peer_ +
                    " link set zs0 up; ip -n " + peer_ +
                    " addr add 2001:db8:80::80/128 dev lo nodad";
    if (sh(s) != 0) return false;
    UniqueFd self(open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    UniqueFd peer(open(("/run/netns/" + peer_).c_str(), O_RDONLY | O_CLOEXEC));
    if (setns(peer.get(), CLONE_NEWNET) != 0) return false;
    listener_.reset(socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_storage ss;
    socklen_t len;
    target_.toSockaddr(80, ss, len);
    int on = 1;
    setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    bool ok = bind(listener_.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0 &&
              listen(listener_.get(), 512) == 0;
    if (setns(self.get(), CLONE_NEWNET) != 0 || !ok) return false;
    acceptor_ = std::thread([this] {
      while (!stop_) {
        int c = accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          close(c);
        } else {
          std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
      }
    });
    auto a = PolicyApplier::create();
    if (!a) return false;
    applier_.emplace(std::move(*a));
    return true;
  }

  bool applyPolicy(uint32_t capacity, size_t exceptions) {
    Policy p;
    p.audit = false;
    p.maxAllowedAddresses = capacity;
    NamedPrefixes many{"bench", {}};
    for (size_t i = 0; i < exceptions; ++i) {
      many.prefixes.emplace_back(v6FromIndex(0xe000, static_cast<uint32_t>(i) << 8), 120);
    }
    if (!many.prefixes.empty()) p.exceptions.push_back(std::move(many));
    auto st = applier_->apply(p);
    if (!st) std::fprintf(stderr, "apply: %s\n", st.error().message.c_str());
    return st.ok();
  }

  void freshAllowSet(uint32_t capacity) {
    allow_.reset();
    KernelAllowSetOptions o;
    o.ackTimeout = std::chrono::milliseconds(5000);
    auto s = KernelAllowSet::create(io_, capacity, events_, o);
    allow_ = std::move(*s);
  }

  bool allowTarget() {
    std::optional<Status> st;
    allow_->insert({{target_, 3600}}, {"www.allowed.test", "p"}, [&](Status r) { st = r; });
    io_.restart();
    while (!st) io_.run_one();
    if (!st->ok()) std::fprintf(stderr, "allow target: %s\n", st->error().message.c_str());
    return st->ok();
  }

  static double ms(Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  }

  // `total` single-address inserts, `batch` of them queued per loop turn.
  double insertThroughput(size_t batch, size_t total, uint32_t base) {
    size_t done = 0, failed = 0, queued = 0;
    auto t0 = Clock::now();
    while (queued < total) {
      size_t n = std::min(batch, total - queued);
      inserted_ += n;
      for (size_t i = 0; i < n; ++i, ++queued) {
        allow_->insert({{v6FromIndex(base, static_cast<uint32_t>(queued)), 3600}},
                       {"host" + std::to_string(queued) + ".bench.test", "pdns1"},
                       [&](Status st) { st.ok() ? ++done : ++failed; });
      }
      io_.restart();
      while (done + failed < queued) io_.run_one();
    }
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    if (failed) std::fprintf(stderr, "insert failures: %zu (%s)\n", failed, "see stats");
    return static_cast<double>(done) / secs;
  }

  std::vector<double> insertLatencyUs(size_t n, uint32_t base) {
    std::vector<double> out;
    for (size_t i = 0; i < n; ++i) {
      bool finished = false;
      auto t0 = Clock::now();
      allow_->insert({{v6FromIndex(base, static_cast<uint32_t>(i)), 3600}}, {"lat.bench.test", "p"},
                     [&](Status) { finished = true; });
      io_.restart();
      while (!finished) io_.run_one();
      out.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    inserted_ += n;
    return out;
  }

  std::vector<double> connectLatencyUs(size_t n) {
    std::vector<double> out;
    sockaddr_storage ss;
    socklen_t len;
    target_.toSockaddr(80, ss, len);
    for (size_t i = 0; i < n; ++i) {
      UniqueFd fd(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
      auto t0 = Clock::now();
      if (connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        std::fprintf(stderr, "connect: %s\n", std::strerror(errno));
        break;
      }
      out.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      linger l{1, 0};  // RST on close: no TIME_WAIT pile-up across thousands of connects
      setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    return out;
  }

  void run() {
    const size_t bulk = quick_ ? 50000 : 1000000;
    const size_t exceptions = quick_ ? 1000 : 10000;
    const size_t connects = quick_ ? 500 : 3000;
    const uint32_t capacity = static_cast<uint32_t>(bulk + 200000);

    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::printf("| measure | value |\n| --- | --- |\n");
    if (!applyPolicy(capacity, 0)) return;
    freshAllowSet(capacity);
    uint32_t base = 0x1000;
    for (size_t batch : {1, 16, 256, 4096}) {
      base += 0x100;  // fresh addresses for every run: nothing is skipped as already allowed
      double rate = insertThroughput(batch, quick_ ? 20000 : 100000, base);
      std::printf("| insert throughput, %zu inserts per loop turn | %.0f elements/s |\n", batch,
                  rate);
    }
    auto lat = insertLatencyUs(quick_ ? 500 : 2000, 0x2000);
    std::printf("| one acknowledged insert, p50 / p99 | %.1f us / %.1f us |\n",
                percentile(lat, 0.5), percentile(lat, 0.99));

    // Connect latency, the target allowed in every phase: empty policy, loaded policy, and
    // empty again (so that drift on this shared machine shows instead of hiding in a ratio).
    if (!applyPolicy(capacity, 0)) return;
    freshAllowSet(capacity);
    if (!allowTarget()) return;
    connectLatencyUs(200);  // warm-up: neighbours, caches
    auto empty1 = connectLatencyUs(connects);

    long kb0 = kernelKb();
    auto t0 = Clock::now();
    double rate = insertThroughput(4096, bulk, 0x3000);
    double fillSecs = std::chrono::duration<double>(Clock::now() - t0).count();
    long kb1 = kernelKb();
    std::printf("| fill %zu allowed addresses | %.1f s (%.0f elements/s) |\n", bulk, fillSecs,
                rate);
    std::printf("| kernel memory per allowed address (Slab+VmallocUsed delta) | %.0f bytes |\n",
                static_cast<double>(kb1 - kb0) * 1024.0 / static_cast<double>(bulk));
    auto a0 = Clock::now();
    if (!applyPolicy(capacity, exceptions)) return;
    std::printf("| apply a policy with %zu exceptions, %zu addresses allowed | %.0f ms |\n",
                exceptions, bulk, ms(Clock::now() - a0));
    a0 = Clock::now();
    bool exists = applier_->exists();
    auto counters = applier_->readCounters();
    std::printf("| exists() + readCounters() with %zu addresses allowed | %.1f ms (%s) |\n", bulk,
                ms(Clock::now() - a0), exists && counters.ok() ? "ok" : "FAILED");
    connectLatencyUs(200);
    auto loaded = connectLatencyUs(connects);

    // Back to empty: flushing the set frees the bulk (RCU, then the slab).
    const size_t flushed = inserted_;  // every address so far is in allow6, none expired
    long kb2 = kernelKb();
    (void)applier_->applyScriptForTest("flush set inet ztdns allow6\n");
    std::this_thread::sleep_for(std::chrono::seconds(2));
    long kb3 = kernelKb();
    freshAllowSet(capacity);
    if (!applyPolicy(capacity, 0) || !allowTarget()) return;
    connectLatencyUs(200);
    auto empty2 = connectLatencyUs(connects);

    double e50 = (percentile(empty1, 0.5) + percentile(empty2, 0.5)) / 2;
    double e90 = (percentile(empty1, 0.9) + percentile(empty2, 0.9)) / 2;
    std::printf(
        "| TCP connect p50 / p90, empty (before, after) | %.1f, %.1f us / %.1f, %.1f us |\n",
        percentile(empty1, 0.5), percentile(empty2, 0.5), percentile(empty1, 0.9),
        percentile(empty2, 0.9));
    std::printf("| TCP connect p50 / p90, %zu allowed + %zu exceptions | %.1f us / %.1f us |\n",
                bulk, exceptions, percentile(loaded, 0.5), percentile(loaded, 0.9));
    std::printf("| connect latency ratio loaded/empty, p50 / p90 | %.2f / %.2f |\n",
                percentile(loaded, 0.5) / e50, percentile(loaded, 0.9) / e90);
    std::printf(
        "| kernel memory released by flushing the set (%zu addresses) | %.0f bytes per "
        "address |\n",
        flushed, static_cast<double>(kb2 - kb3) * 1024.0 / static_cast<double>(flushed));
    allow_.reset();
    a0 = Clock::now();
    (void)applier_->removeTable();
    std::printf("| removeTable() | %.0f ms |\n", ms(Clock::now() - a0));
    std::fflush(stdout);

    // Adoption after a restart: one dump of the sets. The kernel resumes a set dump by
    // skipping the elements already sent, so its cost grows faster than the size.
    for (size_t n :
         quick_ ? std::vector<size_t>{10000, 50000} : std::vector<size_t>{65536, 262144}) {
      if (!applyPolicy(capacity, 0)) return;
      freshAllowSet(capacity);
      insertThroughput(4096, n, 0x4000 + static_cast<uint32_t>(n >> 12));
      freshAllowSet(capacity);
      auto t = Clock::now();
      auto st = allow_->adoptKernelState();
      double adoptSecs = std::chrono::duration<double>(Clock::now() - t).count();
      std::printf("| adopt %zu allowed addresses on restart | %.2f s (%s) |\n", n, adoptSecs,
                  st.ok() && allow_->stats().size == n ? "all adopted" : "INCOMPLETE");
      std::fflush(stdout);
      allow_.reset();
      (void)applier_->removeTable();
    }
  }

 private:
  bool quick_;
  size_t inserted_ = 0;
  std::string peer_;
  IpAddress target_ = *IpAddress::parse("2001:db8:80::80");
  UniqueFd listener_;
  std::thread acceptor_;
  std::atomic<bool> stop_{false};
  std::optional<PolicyApplier> applier_;
  asio::io_context io_;
  observe::StderrEventSink events_;
  std::unique_ptr<KernelAllowSet> allow_;
};

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  if (geteuid() != 0) {
    std::fprintf(stderr, "enforce_bench: skipped (needs root for a private network namespace)\n");
    return 77;
  }
  std::snprintf(gPeerPath, sizeof gPeerPath, "/run/netns/zt-%d-bench", getpid());
  signal(SIGINT, onSignal);
  signal(SIGTERM, onSignal);
  Bench bench(quick);
  if (!bench.setUp()) {
    std::fprintf(stderr, "enforce_bench: cannot build the namespaces\n");
    return 1;
  }
  bench.run();
  return 0;
}
