// The channel writers: files, rotation, the permitted switch, loss accounting, journald
// field mapping, Operational message formats.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "observe/channel_file.h"
#include "observe/connection_event.h"
#include "observe/journal.h"
#include "observe/log_query.h"
#include "observe/log_sink.h"
#include "observe/operational_events.h"

namespace ztdns::observe {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "ztdns-observe-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<nlohmann::json> readLines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

Event blocked(uint16_t port, const std::string& process = "/usr/bin/curl") {
  ConnectionEvent e;
  e.time = std::chrono::system_clock::now();
  e.action = ConnectionAction::Block;
  e.protocol = 6;
  e.src = *IpAddress::parse("192.0.2.10");
  e.dst = *IpAddress::parse("203.0.113.81");
  e.srcPort = 40000;
  e.dstPort = port;
  e.process.pid = 42;
  e.process.executable = process;
  return toEvent(e);
}

Event permitted(uint16_t port) {
  ConnectionEvent e;
  e.time = std::chrono::system_clock::now();
  e.action = ConnectionAction::Permit;
  e.protocol = 17;
  e.src = *IpAddress::parse("192.0.2.10");
  e.dst = *IpAddress::parse("203.0.113.80");
  e.srcPort = 40000;
  e.dstPort = port;
  e.reason = PermitReason{PermitType::Resolved, "www.allowed.test", "pdns1"};
  return toEvent(e);
}

LogSinkOptions optionsFor(const std::string& dir) {
  LogSinkOptions o;
  o.directory = dir;
  o.journal = LogSinkOptions::Journal::Off;
  o.retryInterval = 50ms;
  return o;
}

TEST(ChannelFile, RotatesBySizeAndKeepsGenerations) {
  TempDir dir;
  ChannelFile f(dir.path(), "X.jsonl", 100, 2);
  std::string line(39, 'a');
  line += '\n';  // 40 bytes
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(f.append(line));
  EXPECT_TRUE(fs::exists(dir.path() + "/X.jsonl"));
  EXPECT_TRUE(fs::exists(dir.path() + "/X.jsonl.1"));
  EXPECT_TRUE(fs::exists(dir.path() + "/X.jsonl.2"));
  EXPECT_FALSE(fs::exists(dir.path() + "/X.jsonl.3"));
  for (const char* n : {"/X.jsonl", "/X.jsonl.1", "/X.jsonl.2"}) {
    EXPECT_LE(fs::file_size(dir.path() + n), 100u) << n;
  }
  EXPECT_GE(f.rotations(), 4u);
}

TEST(ChannelFile, FullDiskLosesTheBatchAndRecovers) {
  TempDir dir;
  std::string path = dir.path() + "/X.jsonl";
  fs::create_symlink("/dev/full", path);  // every write fails with ENOSPC
  ChannelFile f(dir.path(), "X.jsonl", 0, 0);
  auto st = f.append("{\"a\":1}\n");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("No space left"), std::string::npos) << st.error().message;
  fs::remove(path);
  ASSERT_TRUE(f.append("{\"a\":2}\n"));
  auto lines = readLines(path);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["a"], 2);
}

TEST(LogSink, WritesOneJsonObjectPerLine) {
  TempDir dir;
  {
    LogSink sink(optionsFor(dir.path()));
    sink.emit(blocked(443));
    sink.emit(ops::serviceStart("ok", "0.1.0", true, true));
    ASSERT_TRUE(sink.flush());
  }
  auto b = readLines(dir.path() + "/BlockedConnections.jsonl");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0]["eventId"], 2);
  EXPECT_EQ(b[0]["action"], "BLOCK");
  EXPECT_EQ(b[0]["dstPort"], 443);
  EXPECT_EQ(b[0]["process"], "/usr/bin/curl");
  EXPECT_TRUE(parseTime(b[0]["time"].get<std::string>()));
  EXPECT_TRUE(b[0]["message"].is_string());
  auto o = readLines(dir.path() + "/Operational.jsonl");
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0]["eventId"], 7);
  EXPECT_EQ(o[0]["status"], "ok");
  // A time set by the producer (the packet's time) is kept.
  EXPECT_FALSE(fs::exists(dir.path() + "/PermittedConnections.jsonl"));
}

TEST(LogSink, PermittedChannelIsOffByDefaultAndSwitchable) {
  TempDir dir;
  LogSink sink(optionsFor(dir.path()));
  EXPECT_FALSE(sink.permittedEnabled());
  sink.emit(permitted(1));
  ASSERT_TRUE(sink.flush());
  EXPECT_FALSE(fs::exists(dir.path() + "/PermittedConnections.jsonl"));
  EXPECT_EQ(sink.stats().permittedDisabled, 1u);

  sink.setPermittedEnabled(true);
  sink.emit(permitted(2));
  ASSERT_TRUE(sink.flush());
  sink.setPermittedEnabled(false);
  sink.emit(permitted(3));
  ASSERT_TRUE(sink.flush());
  auto lines = readLines(dir.path() + "/PermittedConnections.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["dstPort"], 2);
  EXPECT_EQ(lines[0]["eventId"], 1);
  EXPECT_EQ(lines[0]["reason"]["type"], "resolved");
  EXPECT_EQ(sink.stats().permittedDisabled, 2u);
}

TEST(LogSink, RotatesWithConfiguredLimits) {
  TempDir dir;
  auto o = optionsFor(dir.path());
  o.settings.maxFileBytes = 2000;
  o.settings.keepFiles = 2;
  LogSink sink(o);
  for (uint16_t i = 0; i < 100; ++i) {
    sink.emit(blocked(i));
    if (i % 10 == 9) {
      ASSERT_TRUE(sink.flush());
    }
  }
  ASSERT_TRUE(sink.flush());
  EXPECT_TRUE(fs::exists(dir.path() + "/BlockedConnections.jsonl.1"));
  EXPECT_TRUE(fs::exists(dir.path() + "/BlockedConnections.jsonl.2"));
  EXPECT_FALSE(fs::exists(dir.path() + "/BlockedConnections.jsonl.3"));
  EXPECT_GT(sink.stats().rotations, 0u);
  // Nothing half-written, and the newest lines are in the current file.
  auto all = queryLog(dir.path(), Channel::Blocked, {});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->malformedLines, 0u);
  ASSERT_FALSE(all->events.empty());
  EXPECT_EQ(all->events.back()["dstPort"], 99);
}

TEST(LogSink, UnwritableDirectoryNeverBlocksAndTheLossIsReported) {
  TempDir dir;
  std::string logDir = dir.path() + "/log";
  {
    std::ofstream blocker(logDir);  // a file where the directory should be: ENOTDIR
  }
  LogSink sink(optionsFor(logDir));
  auto slowest = std::chrono::nanoseconds(0);
  for (uint16_t i = 0; i < 2000; ++i) {
    auto t = std::chrono::steady_clock::now();
    sink.emit(blocked(i));
    slowest = std::max(slowest, std::chrono::steady_clock::now() - t);
  }
  // emit() only queues: generous bound for a noisy shared machine.
  EXPECT_LT(slowest, 50ms);
  ASSERT_TRUE(sink.flush());
  auto st = sink.stats();
  EXPECT_EQ(st.channels[0].written, 0u);
  EXPECT_EQ(st.channels[0].lost, 2000u);

  // The directory comes back: the next write works and the loss is reported.
  fs::remove(logDir);
  fs::create_directories(logDir);
  sink.emit(blocked(9999));
  ASSERT_TRUE(sink.flush());
  auto ops = queryLog(logDir, Channel::Operational, {});
  ASSERT_TRUE(ops);
  bool found = false;
  for (const auto& e : ops->events) {
    if (e["eventId"] == event_id::kLogLoss && e["channel"] == "BlockedConnections.jsonl") {
      found = true;
      EXPECT_EQ(e["count"], 2000);
      EXPECT_NE(e["reason"].get<std::string>().find("Not a directory"), std::string::npos)
          << e.dump();
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(readLines(logDir + "/BlockedConnections.jsonl").size(), 1u);
}

TEST(LogSink, FullQueueDropsAreCountedAsLoss) {
  TempDir dir;
  auto o = optionsFor(dir.path());
  o.queueCapacity = 4;
  LogSink sink(o);
  for (uint16_t i = 0; i < 5000; ++i) sink.emit(blocked(i));
  ASSERT_TRUE(sink.flush());
  auto st = sink.stats();
  EXPECT_EQ(st.channels[0].written + st.channels[0].queueDropped, 5000u);
  sink.emit(blocked(1));
  ASSERT_TRUE(sink.flush());
  if (st.channels[0].queueDropped > 0) {
    auto ops = queryLog(dir.path(), Channel::Operational, {});
    ASSERT_TRUE(ops);
    uint64_t reported = 0;
    for (const auto& e : ops->events) {
      if (e["eventId"] == event_id::kLogLoss) reported += e["count"].get<uint64_t>();
    }
    EXPECT_EQ(reported, st.channels[0].queueDropped);
  }
}

TEST(Journal, FieldNames) {
  EXPECT_EQ(journalFieldName("srcPort"), "SRC_PORT");
  EXPECT_EQ(journalFieldName("eventId"), "EVENT_ID");
  EXPECT_EQ(journalFieldName("dst"), "DST");
  EXPECT_EQ(journalFieldName("icmpType"), "ICMP_TYPE");
  EXPECT_EQ(journalFieldName("a-b.c"), "A_B_C");
}

TEST(Journal, EveryFieldBecomesAJournalField) {
  auto e = permitted(443);
  auto fields = journalFields(e);
  auto has = [&](const std::string& kv) {
    return std::find(fields.begin(), fields.end(), kv) != fields.end();
  };
  EXPECT_TRUE(has("SYSLOG_IDENTIFIER=ztdns"));
  EXPECT_TRUE(has("ZTDNS_CHANNEL=PermittedConnections"));
  EXPECT_TRUE(has("ZTDNS_EVENT_ID=1"));
  EXPECT_TRUE(has("ZTDNS_ACTION=PERMIT"));
  EXPECT_TRUE(has("MESSAGE=" + e.message));
  EXPECT_TRUE(has("ZTDNS_PROTOCOL=udp"));
  EXPECT_TRUE(has("ZTDNS_SRC=192.0.2.10"));
  EXPECT_TRUE(has("ZTDNS_SRC_PORT=40000"));
  EXPECT_TRUE(has("ZTDNS_DST=203.0.113.80"));
  EXPECT_TRUE(has("ZTDNS_DST_PORT=443"));
  EXPECT_TRUE(has("ZTDNS_PROCESS=unknown"));
  EXPECT_TRUE(has("ZTDNS_REASON_TYPE=resolved"));
  EXPECT_TRUE(has("ZTDNS_REASON_NAME=www.allowed.test"));
  EXPECT_TRUE(has("ZTDNS_REASON_SERVER=pdns1"));
  EXPECT_TRUE(has("PRIORITY=6"));
  EXPECT_TRUE(std::any_of(fields.begin(), fields.end(),
                          [](const auto& f) { return f.rfind("ZTDNS_TIME=", 0) == 0; }));
  // null fields (pid, uid, unit unknown) are left out rather than written as "null".
  EXPECT_FALSE(std::any_of(fields.begin(), fields.end(),
                           [](const auto& f) { return f.rfind("ZTDNS_PID=", 0) == 0; }));
  auto b = journalFields(blocked(80));
  EXPECT_TRUE(std::find(b.begin(), b.end(), "ZTDNS_CHANNEL=BlockedConnections") != b.end());
  EXPECT_TRUE(std::find(b.begin(), b.end(), "ZTDNS_PID=42") != b.end());
  auto s = journalFields(ops::exceptionAdded("relay", {*IpPrefix::parse("203.0.113.200/29")},
                                             ops::Actor{1, "/usr/bin/ztdns", 0}));
  EXPECT_TRUE(std::find(s.begin(), s.end(), "ZTDNS_CHANNEL=Operational") != s.end());
  EXPECT_TRUE(std::find(s.begin(), s.end(), "ZTDNS_PREFIXES=[\"203.0.113.200/29\"]") != s.end());
}

TEST(Operational, MessageFormatsAndIds) {
  ops::Actor by{4321, "/usr/local/bin/ztdns", 0};
  struct Row {
    Event e;
    int id;
    const char* action;
    const char* text;
  } rows[] = {
      {ops::serviceStart("ok", "0.1.0", true, false), 7, "START",
       "START - ZTDNS service with status ok"},
      {ops::serviceStop("ok"), 8, "STOP", "STOP - ZTDNS service with status ok"},
      {ops::stateChanged(true, true, by), 6, "UPDATE",
       "UPDATE - State to enabled (audit) by process (4321) /usr/local/bin/ztdns"},
      {ops::serversUpdated({"pdns1 198.51.100.53 DoT"}, by), 3, "UPDATE",
       "UPDATE - Trusted servers (pdns1 198.51.100.53 DoT) by process (4321)"},
      {ops::exceptionAdded("relay", {*IpPrefix::parse("203.0.113.200/29")}, by), 5, "ADD",
       "ADD - Exceptions relay (203.0.113.200/29) by process (4321)"},
      {ops::exceptionRemoved("relay", by), 4, "REMOVE",
       "REMOVE - Exceptions relay by process (4321)"},
      {ops::upstreamHealth("pdns1", false, "TLS: certificate has expired"), 101, "HEALTH",
       "HEALTH - Server pdns1 is down: TLS: certificate has expired"},
      {ops::upstreamHealth("pdns1", true, ""), 101, "HEALTH", "HEALTH - Server pdns1 is up"},
      {ops::allowCapacity("entries evicted early", 12, 262144, 262144), 102, "CAPACITY",
       "CAPACITY - Allow set full (262144/262144): 12 entries evicted early"},
      {ops::kernelRateGuard(500, 5000), 103, "SUPPRESSED",
       "SUPPRESSED - 500 connection attempts over the kernel log rate"},
      {ops::configUpdated("permitted log enabled", by), 105, "UPDATE",
       "UPDATE - Configuration: permitted log enabled by process (4321)"},
      {ops::enforcementError("netlink: EBUSY"), 106, "ERROR",
       "ERROR - Enforcement change failed, previous policy kept: netlink: EBUSY"},
      {ops::attributionMode("kernel", "BPF"), 107, "ATTRIBUTION",
       "ATTRIBUTION - Processes are named by kernel"},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(r.e.channel, Channel::Operational);
    EXPECT_EQ(r.e.eventId, r.id) << r.text;
    EXPECT_EQ(r.e.action, r.action);
    EXPECT_NE(r.e.message.find(r.text), std::string::npos) << r.e.message;
  }
  EXPECT_EQ(ops::stateChanged(false, false, by).fields["pid"], 4321);
  EXPECT_EQ(ops::stateChanged(false, false, by).fields["process"], "/usr/local/bin/ztdns");
  SuppressedSummary s;
  s.action = "BLOCK";
  s.process = "/usr/bin/curl";
  s.dst = "203.0.113.81";
  s.protocol = "tcp";
  s.dstPorts = {80, 443};
  s.count = 9000;
  auto e = ops::suppressed(s, "BlockedConnections");
  EXPECT_EQ(e.eventId, event_id::kSuppressed);
  EXPECT_EQ(e.fields["count"], 9000);
  EXPECT_EQ(e.fields["dstPorts"], (nlohmann::json{80, 443}));
  EXPECT_NE(e.message.find("9000 similar events suppressed in BlockedConnections: BLOCK "
                           "/usr/bin/curl -> 203.0.113.81"),
            std::string::npos);
  auto actor = ops::actorFromPid(::getpid());
  EXPECT_EQ(actor.executable, fs::read_symlink("/proc/self/exe").string());
}

}  // namespace
}  // namespace ztdns::observe
