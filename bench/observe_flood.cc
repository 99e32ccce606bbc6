// observe_flood: the logging pipeline under a flood of blocked connection attempts.
//
//   observe_flood [--rate N] [--seconds S] [--guard-rate G] [--events-per-second E]
//                 [--mode kernel|procfs] [--during-flood "SHELL COMMAND"]
//   observe_flood --generator-only [--rate N] [--seconds S]
//
// Default: in a private network namespace, an nftables table like enforce's (kernel rate
// guard of G/s in front of `log group 2932 prefix "ztdns block"`, then reject), the
// daemon-side pipeline in this process (ConnectionMonitor with BPF attribution + LogSink
// into a temporary directory), and a separate generator process making N blocked
// connection attempts per second (TCP connects and UDP datagrams, alternating, to 100
// destinations) for S seconds. Prints the pipeline's CPU and memory, what was written,
// summarised and guarded, as a Markdown table for docs/performance.md.
//
// Hooks for the full-daemon measurement (DNS p99 under flood):
//   --during-flood CMD  runs CMD (sh -c, same namespace) while the flood runs, e.g. a
//                       dnsperf against a stub, and prints its output;
//   --generator-only    only generates the flood in the current namespace, for use as
//                       `ip netns exec <client> observe_flood --generator-only` against a
//                       running ztdnsd lab.
// Bounded in time; exits 77 (skipped) without root.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "observe/connection_monitor.h"
#include "observe/log_query.h"
#include "observe/log_sink.h"
#include "observe/rate_guard.h"

using namespace ztdns::observe;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  unsigned rate = 10000;
  unsigned seconds = 10;
  unsigned guardRate = 5000;
  unsigned eventsPerSecond = 1000;
  bool generatorOnly = false;
  std::string mode = "kernel";
  std::string duringFlood;
};

const char* kTable = R"(set -e
ip link set lo up
ip link add zt0 type veth peer name zt1
ip addr add 192.0.2.10/24 dev zt0
ip link set zt0 up
ip link set zt1 up
ip route add default via 192.0.2.1
ip neigh replace 192.0.2.1 lladdr 02:00:00:00:00:01 dev zt0 nud permanent
nft -f - <<EOF
table inet ztdns {
  counter log_suppressed { }
  chain refuse {
    meta l4proto tcp reject with tcp reset
    reject with icmpx admin-prohibited
  }
  chain output {
    type filter hook output priority filter; policy accept;
    ct state established,related accept
    ip daddr 203.0.113.0/24 ct state new limit rate over GUARD/second burst GUARD packets counter name "log_suppressed" goto refuse
    ip daddr 203.0.113.0/24 ct state new log group 2932 prefix "ztdns block" goto refuse
  }
}
EOF
)";

// N attempts per second for S seconds, paced per millisecond. Returns attempts made.
uint64_t generate(unsigned rate, unsigned seconds) {
  auto start = Clock::now();
  auto end = start + std::chrono::seconds(seconds);
  uint64_t made = 0;
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  while (Clock::now() < end) {
    auto elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    uint64_t due = static_cast<uint64_t>(elapsed * rate);
    while (made < due) {
      bool tcp = made % 2 == 0;
      uint32_t host = 1 + static_cast<uint32_t>(made % 100);
      dst.sin_addr.s_addr = htonl((203u << 24) | (0u << 16) | (113u << 8) | host);
      dst.sin_port = htons(static_cast<uint16_t>(1024 + made % 60000));
      int fd =
          ::socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd >= 0) {
        if (tcp) {
          ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
        } else {
          ::sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
        }
        ::close(fd);
      }
      ++made;
    }
    std::this_thread::sleep_for(1ms);
  }
  return made;
}

long statusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0)
      return std::strtol(line.c_str() + std::strlen(field), nullptr, 10);
  }
  return -1;
}

double cpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (k == "--rate")
      a.rate = static_cast<unsigned>(std::stoul(next()));
    else if (k == "--seconds")
      a.seconds = std::min(60u, static_cast<unsigned>(std::stoul(next())));
    else if (k == "--guard-rate")
      a.guardRate = static_cast<unsigned>(std::stoul(next()));
    else if (k == "--events-per-second")
      a.eventsPerSecond = static_cast<unsigned>(std::stoul(next()));
    else if (k == "--mode")
      a.mode = next();
    else if (k == "--during-flood")
      a.duringFlood = next();
    else if (k == "--generator-only")
      a.generatorOnly = true;
    else {
      std::fprintf(stderr, "unknown argument %s\n", k.c_str());
      return 2;
    }
  }
  if (a.generatorOnly) {
    auto made = generate(a.rate, a.seconds);
    std::printf("generated %llu attempts in %u s\n", static_cast<unsigned long long>(made),
                a.seconds);
    return 0;
  }
  if (::geteuid() != 0) {
    std::printf("observe_flood: skipped (needs root for a network namespace, nftables and BPF)\n");
    return 77;
  }
  if (::unshare(CLONE_NEWNET) != 0) {
    std::perror("unshare(CLONE_NEWNET)");
    return 77;
  }
  std::string script = kTable;
  for (size_t p; (p = script.find("GUARD")) != std::string::npos;)
    script.replace(p, 5, std::to_string(a.guardRate));
  if (std::system(("sh -c '" + std::string("true") + "'").c_str()) != 0) return 1;
  FILE* sh = ::popen("sh", "w");
  std::fputs(script.c_str(), sh);
  if (::pclose(sh) != 0) {
    std::fprintf(stderr, "lab setup failed\n");
    return 1;
  }

  // The generator is a separate process, forked before any thread exists, released by a pipe.
  int go[2], result[2];
  if (::pipe(go) != 0 || ::pipe(result) != 0) return 1;
  pid_t gen = ::fork();
  if (gen == 0) {
    char c;
    if (::read(go[0], &c, 1) != 1) ::_exit(1);
    uint64_t made = generate(a.rate, a.seconds);
    [[maybe_unused]] auto n = ::write(result[1], &made, sizeof made);
    ::_exit(0);
  }

  char tmpl[] = "/tmp/ztdns-flood-XXXXXX";
  std::string logDir = ::mkdtemp(tmpl);
  int statsFd = bpf_enable_stats(BPF_STATS_RUN_TIME);  // BPF run time, while this fd is open
  LogSinkOptions so;
  so.directory = logDir;
  so.journal = LogSinkOptions::Journal::Off;
  auto sink = std::make_unique<LogSink>(so);
  ConnectionMonitorOptions mo;
  mo.attribution = a.mode == "procfs" ? ConnectionMonitorOptions::Attribution::Procfs
                                      : ConnectionMonitorOptions::Attribution::Kernel;
  mo.eventsPerSecond = a.eventsPerSecond;
  mo.healthInterval = 1s;
  mo.rateGuardInterval = 1s;
  NftCounterRateGuard guard("inet", "ztdns", "log_suppressed", a.guardRate);
  auto monitor = ConnectionMonitor::start(mo, *sink, nullptr, &guard);
  if (!monitor) {
    std::fprintf(stderr, "monitor: %s\n", monitor.error().message.c_str());
    return 1;
  }
  std::this_thread::sleep_for(300ms);  // baseline for the guard counter

  double cpu0 = cpuSeconds();
  long rss0 = statusKb("VmRSS:");
  long rssMax = rss0;
  auto t0 = Clock::now();
  [[maybe_unused]] auto w = ::write(go[1], "g", 1);
  FILE* during = a.duringFlood.empty() ? nullptr : ::popen(a.duringFlood.c_str(), "r");
  while (Clock::now() - t0 < std::chrono::seconds(a.seconds)) {
    std::this_thread::sleep_for(100ms);
    rssMax = std::max(rssMax, statusKb("VmRSS:"));
  }
  uint64_t made = 0;
  [[maybe_unused]] auto r = ::read(result[0], &made, sizeof made);
  ::waitpid(gen, nullptr, 0);
  double floodSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpuFlood = cpuSeconds() - cpu0;
  // Let the pipeline catch up, then flush summaries.
  std::this_thread::sleep_for(1500ms);
  (*monitor)->flushForTest();
  double cpuTotal = cpuSeconds() - cpu0;
  rssMax = std::max(rssMax, statusKb("VmRSS:"));
  auto ms = (*monitor)->stats();
  monitor->reset();
  sink->flush();
  auto ss = sink->stats();
  sink.reset();
  if (statsFd >= 0) ::close(statsFd);

  auto blocked = queryLog(logDir, Channel::Blocked, {});
  auto ops = queryLog(logDir, Channel::Operational, {});
  uint64_t summaries = 0, summarised = 0, guardEvents = 0, guarded = 0, lossEvents = 0;
  for (const auto& e : ops->events) {
    if (e.value("eventId", 0) == 103 && e.value("source", "") == "kernel") {
      ++guardEvents;
      guarded += e.value("count", 0ull);
    } else if (e.value("eventId", 0) == 103) {
      ++summaries;
      summarised += e.value("count", 0ull);
    } else if (e.value("eventId", 0) == 104) {
      ++lossEvents;
    }
  }
  uint64_t written = blocked ? blocked->events.size() : 0;
  uint64_t logBytes = 0;
  for (const auto& f : std::filesystem::directory_iterator(logDir)) logBytes += f.file_size();
  std::string during_output;
  if (during) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, during)) > 0) during_output.append(buf, n);
    ::pclose(during);
  }
  std::filesystem::remove_all(logDir);

  std::printf("| measure | value |\n| --- | --- |\n");
  std::printf("| attempts generated | %llu in %.1f s (%.0f/s) |\n",
              static_cast<unsigned long long>(made), floodSeconds,
              static_cast<double>(made) / floodSeconds);
  std::printf("| attribution mode | %s |\n", a.mode.c_str());
  std::printf("| NFLOG messages read | %llu |\n", static_cast<unsigned long long>(ms.packets));
  std::printf("| kernel rate guard (%u/s): attempts not logged, reported | %llu in %llu events |\n",
              a.guardRate, static_cast<unsigned long long>(guarded),
              static_cast<unsigned long long>(guardEvents));
  std::printf("| connection events written (limit %u/s) | %llu |\n", a.eventsPerSecond,
              static_cast<unsigned long long>(written));
  std::printf("| events summarised | %llu in %llu summaries |\n",
              static_cast<unsigned long long>(summarised),
              static_cast<unsigned long long>(summaries));
  std::printf("| flows deduplicated | %llu |\n", static_cast<unsigned long long>(ms.duplicates));
  std::printf("| written + summarised + deduplicated = NFLOG messages | %llu = %llu |\n",
              static_cast<unsigned long long>(written + summarised + ms.duplicates),
              static_cast<unsigned long long>(ms.packets));
  std::printf("| attributed by BPF / unknown | %llu / %llu (of written) |\n",
              static_cast<unsigned long long>(ms.byKernel),
              static_cast<unsigned long long>(ms.unknown));
  std::printf("| NFLOG overruns / sequence gaps | %llu / %llu |\n",
              static_cast<unsigned long long>(ms.nflog.overruns),
              static_cast<unsigned long long>(ms.nflog.sequenceGaps));
  std::printf("| BPF records / ring buffer full | %llu / %llu |\n",
              static_cast<unsigned long long>(ms.join.matched + ms.join.recordsWithoutPacket),
              static_cast<unsigned long long>(ms.ringBufferFull));
  uint64_t softirqRuns = ms.bpfRuns - ms.bpfPacketRuns;
  std::printf("| BPF drop/transmit program: runs, mean cost | %llu, %.0f ns |\n",
              static_cast<unsigned long long>(ms.bpfPacketRuns),
              ms.bpfPacketRuns ? static_cast<double>(ms.bpfPacketRunTimeNs) /
                                     static_cast<double>(ms.bpfPacketRuns)
                               : 0.0);
  std::printf("| BPF softirq flag programs: runs, mean cost | %llu, %.0f ns |\n",
              static_cast<unsigned long long>(softirqRuns),
              softirqRuns ? static_cast<double>(ms.bpfRunTimeNs - ms.bpfPacketRunTimeNs) /
                                static_cast<double>(softirqRuns)
                          : 0.0);
  std::printf("| pipeline CPU during the flood | %.2f s of %.1f s (%.1f%% of one core) |\n",
              cpuFlood, floodSeconds, 100.0 * cpuFlood / floodSeconds);
  std::printf("| pipeline CPU including drain | %.2f s |\n", cpuTotal);
  std::printf("| RSS before / peak | %ld KiB / %ld KiB |\n", rss0, rssMax);
  std::printf("| log lines lost / loss events | %llu / %llu |\n",
              static_cast<unsigned long long>(ss.channels[0].lost + ss.channels[2].lost),
              static_cast<unsigned long long>(lossEvents));
  std::printf("| log bytes written | %llu |\n", static_cast<unsigned long long>(logBytes));
  if (!during_output.empty()) std::printf("\n--during-flood output:\n%s\n", during_output.c_str());
  return 0;
}
