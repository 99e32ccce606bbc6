// Pure logic of the connection pipeline: NFLOG/BPF join, flow dedupe, flood suppression,
// prefixes, events and permit reasons.
#include <gtest/gtest.h>

#include <cstring>

#include "enforce/policy.h"
#include "fake_permit_reason_source.h"
#include "observe/attribution_joiner.h"
#include "observe/bpf/attribution_record.h"
#include "observe/connection_event.h"
#include "observe/flood_suppressor.h"
#include "observe/flow_dedup.h"
#include "observe/kernel_attribution.h"
#include "observe/permit_reasons.h"

namespace ztdns::observe {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::vector<uint8_t> udpPacket(uint16_t srcPort, uint16_t ipId = 1) {
  std::vector<uint8_t> p(36, 0);
  p[0] = 0x45, p[3] = 36, p[9] = 17;
  p[4] = static_cast<uint8_t>(ipId >> 8), p[5] = static_cast<uint8_t>(ipId);
  p[12] = 192, p[13] = 0, p[14] = 2, p[15] = 10;
  p[16] = 203, p[17] = 0, p[18] = 113, p[19] = 81;
  p[20] = static_cast<uint8_t>(srcPort >> 8), p[21] = static_cast<uint8_t>(srcPort);
  p[22] = 0, p[23] = 53, p[25] = 16;
  return p;
}

LoggedPacket logged(std::vector<uint8_t> payload, Clock::time_point received) {
  LoggedPacket p;
  p.prefix = enforce::log_prefix::kBlock;
  p.payload = std::move(payload);
  p.received = received;
  return p;
}

KernelRecord record(std::vector<uint8_t> payload, Clock::time_point at, uint32_t pid) {
  KernelRecord r;
  r.time = at;
  r.packet = std::move(payload);
  TaskIdentity t;
  t.pid = pid;
  t.hostPid = pid;
  r.task = t;
  return r;
}

PacketSummary summaryOf(const std::vector<uint8_t>& p) {
  return *parsePacket(p);
}

TEST(Joiner, RecordFirstThenMessage) {
  AttributionJoiner j;
  auto t0 = Clock::now();
  j.addRecord(record(udpPacket(1000), t0, 42), t0);
  j.addPacket(logged(udpPacket(1000), t0 + 1ms), summaryOf(udpPacket(1000)), t0 + 1ms);
  auto out = j.takeResolved();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].record && out[0].record->task);
  EXPECT_EQ(out[0].record->task->pid, 42u);
  EXPECT_EQ(j.heldRecords(), 0u);
  EXPECT_EQ(j.stats().matched, 1u);
}

TEST(Joiner, MessageFirstWaitsForItsRecord) {
  AttributionJoiner j;
  auto t0 = Clock::now();
  j.addPacket(logged(udpPacket(1000), t0 + 2ms), summaryOf(udpPacket(1000)), t0 + 2ms);
  EXPECT_TRUE(j.takeResolved().empty());
  EXPECT_EQ(j.waitingPackets(), 1u);
  j.addRecord(record(udpPacket(1000), t0, 7), t0 + 3ms);
  auto out = j.takeResolved();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].record->task->pid, 7u);
}

TEST(Joiner, MessageWithoutRecordResolvesAfterTheWait) {
  AttributionJoiner::Options o;
  o.packetWait = 100ms;
  AttributionJoiner j(o);
  auto t0 = Clock::now();
  j.addPacket(logged(udpPacket(1000), t0), summaryOf(udpPacket(1000)), t0);
  j.expire(t0 + 50ms);
  EXPECT_TRUE(j.takeResolved().empty());
  j.expire(t0 + 101ms);
  auto out = j.takeResolved();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].record);
  EXPECT_EQ(j.stats().packetsWithoutRecord, 1u);
}

TEST(Joiner, DifferentPacketsDoNotJoin) {
  AttributionJoiner j;
  auto t0 = Clock::now();
  j.addRecord(record(udpPacket(1000), t0, 1), t0);
  j.addPacket(logged(udpPacket(1001), t0 + 1ms), summaryOf(udpPacket(1001)), t0 + 1ms);
  EXPECT_TRUE(j.takeResolved().empty());
  EXPECT_EQ(j.heldRecords(), 1u);
}

TEST(Joiner, SameFingerprintIsFirstInFirstOut) {
  AttributionJoiner j;
  auto t0 = Clock::now();
  j.addRecord(record(udpPacket(1000), t0, 1), t0);
  j.addRecord(record(udpPacket(1000), t0 + 1ms, 2), t0 + 1ms);
  j.addPacket(logged(udpPacket(1000), t0 + 2ms), summaryOf(udpPacket(1000)), t0 + 2ms);
  j.addPacket(logged(udpPacket(1000), t0 + 3ms), summaryOf(udpPacket(1000)), t0 + 3ms);
  auto out = j.takeResolved();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].record->task->pid, 1u);
  EXPECT_EQ(out[1].record->task->pid, 2u);
}

TEST(Joiner, ARecordStampedAfterTheMessageArrivedIsNotItsRecord) {
  // The retransmit case: the first message lost its record; the record of a later packet
  // with the same bytes must not be taken for it.
  AttributionJoiner j;
  auto t0 = Clock::now();
  j.addPacket(logged(udpPacket(1000), t0), summaryOf(udpPacket(1000)), t0);
  j.addRecord(record(udpPacket(1000), t0 + 1s, 99), t0 + 1s);
  EXPECT_TRUE(j.takeResolved().empty());
  j.addPacket(logged(udpPacket(1000), t0 + 1s + 1ms), summaryOf(udpPacket(1000)), t0 + 1s + 1ms);
  auto out = j.takeResolved();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].logged.received, t0 + 1s + 1ms);
  EXPECT_EQ(out[0].record->task->pid, 99u);
  j.expire(t0 + 2s);
  out = j.takeResolved();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].record);  // the first message stays unattributed
}

TEST(Joiner, StaleRecordsExpireAndMemoryIsBounded) {
  AttributionJoiner::Options o;
  o.maxRecords = 10;
  o.recordTtl = 1s;
  AttributionJoiner j(o);
  auto t0 = Clock::now();
  for (uint16_t i = 0; i < 50; ++i) j.addRecord(record(udpPacket(i), t0, i), t0);
  EXPECT_EQ(j.heldRecords(), 10u);
  EXPECT_EQ(j.stats().recordsWithoutPacket, 40u);
  j.expire(t0 + 2s);
  EXPECT_EQ(j.heldRecords(), 0u);
  EXPECT_EQ(j.stats().recordsWithoutPacket, 50u);
}

TEST(Dedup, RepeatsOfAFlowAreOneEvent) {
  FlowDeduper d(30s);
  auto t0 = Clock::now();
  FlowKey k{17, *IpAddress::parse("192.0.2.10"), *IpAddress::parse("203.0.113.81"), 40000,
            53, ConnectionAction::Block};
  SenderId a{100, 5};
  EXPECT_TRUE(d.admit(k, a, t0));
  EXPECT_FALSE(d.admit(k, a, t0 + 1s));                // same process again
  EXPECT_FALSE(d.admit(k, std::nullopt, t0 + 2s));     // kernel-context retransmit
  EXPECT_TRUE(d.admit(k, SenderId{200, 9}, t0 + 3s));  // another process reused the tuple
  EXPECT_FALSE(d.admit(k, SenderId{200, 9}, t0 + 4s));
  EXPECT_TRUE(d.admit(k, SenderId{200, 9}, t0 + 40s));  // window over
  EXPECT_EQ(d.duplicates(), 3u);
  FlowKey other = k;
  other.srcPort = 40001;
  EXPECT_TRUE(d.admit(other, a, t0 + 41s));
}

TEST(Dedup, UnknownFirstSenderKeepsTheFirstEvent) {
  FlowDeduper d(30s);
  auto t0 = Clock::now();
  FlowKey k{6, *IpAddress::parse("192.0.2.10"), *IpAddress::parse("203.0.113.81"), 1,
            2, ConnectionAction::Audit};
  EXPECT_TRUE(d.admit(k, std::nullopt, t0));
  EXPECT_FALSE(d.admit(k, SenderId{1, 1}, t0 + 1s));
}

TEST(Dedup, TableIsBounded) {
  FlowDeduper d(30s, 100);
  auto t0 = Clock::now();
  for (uint16_t i = 0; i < 1000; ++i) {
    FlowKey k{17, IpAddress(), IpAddress(), i, 53, ConnectionAction::Block};
    d.admit(k, std::nullopt, t0);
  }
  EXPECT_LE(d.size(), 100u);
}

ConnectionEvent blockEvent(const std::string& process, const std::string& dst, uint16_t port) {
  ConnectionEvent e;
  e.time = std::chrono::system_clock::now();
  e.action = ConnectionAction::Block;
  e.protocol = 6;
  e.src = *IpAddress::parse("192.0.2.10");
  e.dst = *IpAddress::parse(dst);
  e.srcPort = 40000;
  e.dstPort = port;
  e.process.executable = process;
  return e;
}

TEST(Suppressor, SummarisesBeyondTheRateWithExactCounts) {
  FloodSuppressor s(10);
  auto t0 = Clock::now();
  int admitted = 0;
  for (int i = 0; i < 110; ++i) {
    admitted += s.admit(blockEvent(i % 2 ? "/usr/bin/curl" : "/usr/bin/nc", "203.0.113.81",
                                   static_cast<uint16_t>(80 + i % 3)),
                        t0);
  }
  EXPECT_EQ(admitted, 10);
  EXPECT_EQ(s.suppressedTotal(), 100u);
  auto rows = s.flush();
  ASSERT_EQ(rows.size(), 2u);
  uint64_t total = 0;
  for (const auto& r : rows) {
    total += r.count;
    EXPECT_EQ(r.action, "BLOCK");
    EXPECT_EQ(r.dst, "203.0.113.81");
    EXPECT_EQ(r.dstPorts.size(), 3u);
    EXPECT_FALSE(r.overflow);
  }
  EXPECT_EQ(total, 100u);
  EXPECT_TRUE(s.flush().empty());
  // Tokens come back with time.
  EXPECT_TRUE(s.admit(blockEvent("/usr/bin/nc", "203.0.113.81", 80), t0 + 1s));
}

TEST(Suppressor, TableCapFoldsIntoOneRowWithoutLosingCounts) {
  FloodSuppressor s(0, 5);
  auto t0 = Clock::now();
  for (int i = 0; i < 100; ++i) {
    s.admit(blockEvent("/p" + std::to_string(i), "203.0.113.81", 80), t0);
  }
  EXPECT_EQ(s.keys(), 5u);
  auto rows = s.flush(3);
  ASSERT_EQ(rows.size(), 3u);
  uint64_t total = 0;
  for (const auto& r : rows) total += r.count;
  EXPECT_EQ(total, 100u);
  EXPECT_TRUE(rows.back().overflow);
  EXPECT_EQ(rows.back().process, "*");
  EXPECT_EQ(rows.back().count, 98u);
}

TEST(Prefixes, EveryEnforcePrefixHasAMeaning) {
  namespace lp = enforce::log_prefix;
  EXPECT_EQ(verdictFromPrefix(lp::kBlock)->action, ConnectionAction::Block);
  EXPECT_EQ(verdictFromPrefix(lp::kAudit)->action, ConnectionAction::Audit);
  EXPECT_EQ(verdictFromPrefix(std::string(lp::kAudit) + " ")->action, ConnectionAction::Audit);
  struct Row {
    const char* prefix;
    PermitType type;
  } rows[] = {
      {lp::kPermitResolved, PermitType::Resolved}, {lp::kPermitException, PermitType::Exception},
      {lp::kPermitServer, PermitType::Server},     {lp::kPermitDhcp, PermitType::Dhcp},
      {lp::kPermitNdp, PermitType::Ndp},           {lp::kPermitLoopback, PermitType::Loopback}};
  for (const auto& r : rows) {
    auto v = verdictFromPrefix(r.prefix);
    ASSERT_TRUE(v) << r.prefix;
    EXPECT_EQ(v->action, ConnectionAction::Permit);
    EXPECT_EQ(v->permit, r.type);
  }
  EXPECT_FALSE(verdictFromPrefix("something else"));
  EXPECT_FALSE(verdictFromPrefix(""));
}

TEST(ConnectionEventJson, BlockedAuditAndUnknown) {
  auto e = blockEvent("/usr/bin/curl", "203.0.113.81", 443);
  e.process.pid = 1234;
  e.process.uid = 1000;
  e.process.unit = "session.scope";
  e.attribution = "kernel";
  auto ev = toEvent(e);
  EXPECT_EQ(ev.channel, Channel::Blocked);
  EXPECT_EQ(ev.eventId, event_id::kBlock);
  EXPECT_EQ(ev.action, "BLOCK");
  EXPECT_EQ(ev.fields["protocol"], "tcp");
  EXPECT_EQ(ev.fields["src"], "192.0.2.10");
  EXPECT_EQ(ev.fields["srcPort"], 40000);
  EXPECT_EQ(ev.fields["dst"], "203.0.113.81");
  EXPECT_EQ(ev.fields["dstPort"], 443);
  EXPECT_EQ(ev.fields["pid"], 1234);
  EXPECT_EQ(ev.fields["process"], "/usr/bin/curl");
  EXPECT_EQ(ev.fields["uid"], 1000);
  EXPECT_EQ(ev.fields["unit"], "session.scope");
  EXPECT_FALSE(ev.fields.contains("audit"));
  EXPECT_FALSE(ev.fields.contains("reason"));
  EXPECT_NE(ev.message.find("BLOCK - Connection [192.0.2.10]:40000 -> [203.0.113.81]:443 tcp by "
                            "process (1234) /usr/bin/curl"),
            std::string::npos);
  auto t = parseTime(ev.fields["time"].get<std::string>());
  ASSERT_TRUE(t);

  e.action = ConnectionAction::Audit;
  e.process = ProcessRef{};
  auto audit = toEvent(e);
  EXPECT_EQ(audit.channel, Channel::Blocked);
  EXPECT_EQ(audit.eventId, event_id::kBlock);
  EXPECT_EQ(audit.fields["audit"], true);
  EXPECT_TRUE(audit.fields["pid"].is_null());
  EXPECT_EQ(audit.fields["process"], "unknown");
  EXPECT_TRUE(audit.fields["unit"].is_null());
}

TEST(ConnectionEventJson, EveryPermitReasonShape) {
  auto e = blockEvent("/usr/bin/curl", "203.0.113.80", 443);
  e.action = ConnectionAction::Permit;
  e.reason = PermitReason{PermitType::Resolved, "www.allowed.test", "pdns1"};
  auto ev = toEvent(e);
  EXPECT_EQ(ev.channel, Channel::Permitted);
  EXPECT_EQ(ev.eventId, event_id::kPermit);
  EXPECT_EQ(
      ev.fields["reason"],
      (nlohmann::json{{"type", "resolved"}, {"name", "www.allowed.test"}, {"server", "pdns1"}}));
  EXPECT_NE(ev.message.find("because of resolved www.allowed.test from server pdns1"),
            std::string::npos);
  e.reason = PermitReason{PermitType::Exception, "media relay", ""};
  EXPECT_EQ(toEvent(e).fields["reason"],
            (nlohmann::json{{"type", "exception"}, {"name", "media relay"}}));
  for (auto [type, name] :
       {std::pair{PermitType::Server, "server"}, std::pair{PermitType::Dhcp, "dhcp"},
        std::pair{PermitType::Ndp, "ndp"}, std::pair{PermitType::Loopback, "loopback"}}) {
    e.reason = PermitReason{type, "", ""};
    EXPECT_EQ(toEvent(e).fields["reason"], (nlohmann::json{{"type", name}}));
  }
  e.reason = PermitReason{PermitType::Resolved, "", ""};  // allow already expired
  auto expired = toEvent(e);
  EXPECT_TRUE(expired.fields["reason"]["name"].is_null());
}

TEST(ExceptionTable, LongestPrefixWins) {
  config::ExemptionRule wide{"wide", "", {*IpPrefix::parse("203.0.113.0/24")}};
  config::ExemptionRule narrow{
      "relay", "", {*IpPrefix::parse("203.0.113.200/29"), *IpPrefix::parse("2001:db8:200::/48")}};
  ExceptionTable t({wide, narrow});
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.match(*IpAddress::parse("203.0.113.201")), "relay");
  EXPECT_EQ(t.match(*IpAddress::parse("203.0.113.9")), "wide");
  EXPECT_EQ(t.match(*IpAddress::parse("2001:db8:200::1")), "relay");
  EXPECT_EQ(t.match(*IpAddress::parse("::ffff:203.0.113.9")), "wide");
  EXPECT_FALSE(t.match(*IpAddress::parse("198.51.100.1")));
}

TEST(PermitReasons, PlugsTheAllowSetLookupAndRules) {
  PermitReasons r([](const IpAddress& a) -> std::optional<ResolvedOrigin> {
    if (a.toString() == "203.0.113.80") return ResolvedOrigin{"www.allowed.test", "pdns1"};
    return std::nullopt;
  });
  EXPECT_EQ(r.resolvedOrigin(*IpAddress::parse("203.0.113.80"))->server, "pdns1");
  EXPECT_FALSE(r.resolvedOrigin(*IpAddress::parse("203.0.113.81")));
  EXPECT_FALSE(r.exceptionName(*IpAddress::parse("203.0.113.200")));
  r.setExceptions({config::ExemptionRule{"relay", "", {*IpPrefix::parse("203.0.113.200/32")}}});
  EXPECT_EQ(r.exceptionName(*IpAddress::parse("203.0.113.200")), "relay");
}

TEST(KernelRecord, ParsesTrustedAndKernelContextRecords) {
  ztdns_attr_record raw{};
  raw.kind = ZTDNS_ATTR_KIND_DROP;
  raw.flags = ZTDNS_ATTR_F_TRUSTED | ZTDNS_ATTR_F_EXE | ZTDNS_ATTR_F_PIDNS;
  raw.host_tgid = 500;
  raw.tgid = 5;
  raw.uid = 1000;
  raw.ktime_ns = 123456789;
  std::memcpy(raw.comm, "curl", 4);
  const char names[] = "curl\0bin\0usr";
  std::memcpy(raw.names, names, sizeof names);
  raw.names_len = sizeof names;
  raw.name_count = 3;
  auto pkt = udpPacket(1);
  std::memcpy(raw.pkt, pkt.data(), pkt.size());
  raw.pkt_len = static_cast<uint32_t>(pkt.size());
  auto r = parseKernelRecord(&raw, sizeof raw, /*initPidNamespace=*/false);
  ASSERT_TRUE(r && r->task);
  EXPECT_EQ(r->kind, KernelRecord::Kind::Drop);
  EXPECT_EQ(r->task->pid, 5u);  // the reader's namespace view
  EXPECT_EQ(r->task->hostPid, 500u);
  EXPECT_EQ(r->task->exeWalk, "/usr/bin/curl");
  EXPECT_EQ(r->task->comm, "curl");
  EXPECT_EQ(r->packet, pkt);
  EXPECT_EQ(parseKernelRecord(&raw, sizeof raw, true)->task->pid, 500u);
  raw.flags = ZTDNS_ATTR_F_SOFTIRQ;
  auto k = parseKernelRecord(&raw, sizeof raw, true);
  ASSERT_TRUE(k);
  EXPECT_FALSE(k->task);
  EXPECT_FALSE(parseKernelRecord(&raw, sizeof raw - 1, true));
  raw.flags = ZTDNS_ATTR_F_TRUSTED;  // not in our pid namespace and not the initial one
  EXPECT_FALSE(parseKernelRecord(&raw, sizeof raw, false)->task->pid);
}

TEST(KernelRecord, PathWalkNeedsEveryComponent) {
  const char names[] = "curl\0bin\0usr";
  EXPECT_EQ(pathFromLeafFirst(names, sizeof names, 3), "/usr/bin/curl");
  EXPECT_EQ(pathFromLeafFirst(names, sizeof names, 4), "");  // truncated walk: no guess
  EXPECT_EQ(pathFromLeafFirst(names, 0, 0), "");
}

}  // namespace
}  // namespace ztdns::observe
