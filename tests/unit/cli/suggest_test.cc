// suggest exceptions on a generated audit workload: the exact proposals, prefix merging,
// flags, names and the ready-to-run commands.
#include "cli/suggest.h"

#include <gtest/gtest.h>

#include "control/time_text.h"

namespace ztdns::cli {
namespace {

const auto kT0 = *control::parseRfc3339("2026-05-01T10:00:00Z");

struct Gen {
  std::vector<ConnectionEvent> events;
  void add(const std::string& process, const std::string& unit, const std::string& proto,
           const std::string& dst, uint16_t port, int times, bool audit, int firstSecond = 0) {
    for (int i = 0; i < times; ++i) {
      ConnectionEvent e;
      e.time = kT0 + std::chrono::seconds(firstSecond + i);
      e.eventId = 2;
      e.action = audit ? "AUDIT" : "BLOCK";
      e.audit = audit;
      e.protocol = proto;
      e.src = *IpAddress::parse("192.0.2.10");
      e.srcPort = 40000;
      e.dst = *IpAddress::parse(dst);
      e.dstPort = port;
      e.pid = 100;
      e.process = process;
      e.uid = 1000;
      e.unit = unit;
      events.push_back(e);
    }
  }
};

Gen workload() {
  Gen g;
  // A backup agent that talks to a whole /24 and a /30 beside it (enforcing).
  for (int i = 0; i < 256; ++i)
    g.add("/usr/bin/backup-agent", "", "tcp", "198.51.100." + std::to_string(i), 443, 2, false);
  for (int i = 0; i < 4; ++i)
    g.add("/usr/bin/backup-agent", "", "tcp", "198.51.101." + std::to_string(i), 443, 2, false);
  // A conferencing app: STUN, media on high UDP ports, over both families (audit).
  g.add("/usr/bin/teams", "teams.service", "udp", "203.0.113.200", 3478, 5, true, 0);
  for (int p = 0; p < 10; ++p)
    g.add("/usr/bin/teams", "teams.service", "udp", "203.0.113.201",
          static_cast<uint16_t>(50000 + p), 1, true, 5 + p);
  g.add("/usr/bin/teams", "teams.service", "udp", "2001:db8:200::1", 3478, 3, true, 15);
  // An app with its own resolver: plaintext DNS and DoT to resolvers that are not configured.
  g.add("/usr/bin/rogue-app", "", "udp", "203.0.113.53", 53, 6, true);
  g.add("/usr/bin/rogue-app", "", "tcp", "203.0.113.44", 853, 2, true);
  // NTP to a private address, mDNS, cloud metadata.
  g.add("/usr/sbin/chronyd", "chrony.service", "udp", "192.168.1.1", 123, 4, true);
  g.add("/usr/sbin/avahi-daemon", "avahi-daemon.service", "udp", "224.0.0.251", 5353, 3, true);
  g.add("/usr/bin/cloud-init", "", "tcp", "169.254.169.254", 80, 2, true);
  // Noise: one unattributed event (under min=2), two already excepted, one to 0.0.0.0.
  g.add("", "", "tcp", "203.0.113.81", 80, 1, true);
  g.add("/usr/bin/curl", "", "tcp", "203.0.113.80", 443, 2, true);
  g.add("/usr/bin/curl", "", "tcp", "0.0.0.0", 443, 1, true);
  return g;
}

std::vector<std::string> prefixTexts(const Proposal& p) {
  std::vector<std::string> out;
  for (const auto& pp : p.prefixes)
    out.push_back(pp.prefix.toString() + " " + std::to_string(pp.events) + "/" +
                  std::to_string(pp.addresses));
  return out;
}

std::vector<std::string> portTexts(const Proposal& p) {
  std::vector<std::string> out;
  for (const auto& r : p.ports) out.push_back(r.text() + " " + std::to_string(r.events));
  return out;
}

TEST(SuggestExceptions, ExactProposalsForAGeneratedWorkload) {
  SuggestOptions o;
  o.minCount = 2;
  o.existing = {*IpPrefix::parse("203.0.113.80/32")};
  SuggestResult r = suggestExceptions(workload().events, o);

  EXPECT_EQ(r.eventsSeen, 520u + 18 + 8 + 4 + 3 + 2 + 1 + 2 + 1);
  EXPECT_EQ(r.alreadyExcepted, 2u);
  EXPECT_EQ(r.belowMin, 1u);
  EXPECT_EQ(r.unspecified, 1u);
  ASSERT_EQ(r.proposals.size(), 6u);

  const Proposal& backup = r.proposals[0];
  EXPECT_EQ(backup.name, "backup-agent");
  EXPECT_EQ(backup.process, "/usr/bin/backup-agent");
  EXPECT_EQ(backup.kind, DestinationKind::kPublic);
  EXPECT_EQ(backup.events, 520u);
  EXPECT_EQ(backup.blockEvents, 520u);
  EXPECT_EQ(backup.auditEvents, 0u);
  EXPECT_EQ(backup.addresses, 260u);
  EXPECT_EQ(prefixTexts(backup),
            (std::vector<std::string>{"198.51.100.0/24 512/256", "198.51.101.0/30 8/4"}));
  EXPECT_EQ(portTexts(backup), std::vector<std::string>{"tcp/443 520"});
  EXPECT_TRUE(backup.flags.empty());

  const Proposal& teams = r.proposals[1];
  EXPECT_EQ(teams.name, "teams");
  EXPECT_EQ(teams.units, std::vector<std::string>{"teams.service"});
  EXPECT_EQ(teams.events, 18u);
  EXPECT_EQ(teams.auditEvents, 18u);
  EXPECT_EQ(prefixTexts(teams),
            (std::vector<std::string>{"203.0.113.200/31 15/2", "2001:db8:200::1/128 3/1"}));
  EXPECT_EQ(portTexts(teams), (std::vector<std::string>{"udp/50000-50009 10", "udp/3478 8"}));
  EXPECT_EQ(teams.flags, (std::vector<std::string>{"stun-turn", "webrtc-udp"}));
  ASSERT_EQ(teams.commands.size(), 1u);
  EXPECT_EQ(teams.commands[0],
            "ztdns add exception name=teams description=\"suggested by ztdns for /usr/bin/teams: "
            "18 blocked connections "
            "(udp/50000-50009, udp/3478) 2026-05-01T10:00:00Z to 2026-05-01T10:00:17Z\" "
            "subnets=203.0.113.200/31,2001:db8:200::1/128");

  const Proposal& rogue = r.proposals[2];
  EXPECT_EQ(rogue.name, "rogue-app");
  EXPECT_EQ(prefixTexts(rogue),
            (std::vector<std::string>{"203.0.113.44/32 2/1", "203.0.113.53/32 6/1"}));
  EXPECT_EQ(rogue.flags, (std::vector<std::string>{"dns-over-tls", "plaintext-dns"}));

  const Proposal& chrony = r.proposals[3];
  EXPECT_EQ(chrony.name, "chronyd-private");
  EXPECT_EQ(chrony.kind, DestinationKind::kPrivate);
  EXPECT_EQ(prefixTexts(chrony), std::vector<std::string>{"192.168.1.1/32 4/1"});
  EXPECT_EQ(chrony.flags, (std::vector<std::string>{"private", "ntp"}));

  const Proposal& avahi = r.proposals[4];
  EXPECT_EQ(avahi.name, "avahi-daemon-multicast");
  EXPECT_EQ(avahi.flags, (std::vector<std::string>{"multicast", "discovery"}));

  const Proposal& cloud = r.proposals[5];
  EXPECT_EQ(cloud.name, "cloud-init-link-local");
  EXPECT_EQ(cloud.flags, std::vector<std::string>{"link-local"});
  EXPECT_EQ(cloud.commands[0].substr(cloud.commands[0].rfind(' ') + 1),
            "subnets=169.254.169.254/32");
}

TEST(SuggestExceptions, MinOneKeepsTheUnattributedEventAndNamesStayUnique) {
  SuggestOptions o;
  o.existingNames = {"teams"};
  SuggestResult r = suggestExceptions(workload().events, o);
  EXPECT_EQ(r.belowMin, 0u);
  ASSERT_EQ(r.proposals.size(), 8u);  // + unknown-process, + curl
  std::vector<std::string> names;
  for (const auto& p : r.proposals) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"backup-agent", "teams-2", "rogue-app",
                                             "chronyd-private", "avahi-daemon-multicast",
                                             "cloud-init-link-local", "curl", "unknown-process"}));
}

TEST(SuggestExceptions, SiblingMergingCoversExactlyWhatWasSeen) {
  auto hosts = [](std::vector<std::string> addrs) {
    std::vector<PrefixProposal> out;
    for (const auto& a : addrs) {
      auto ip = *IpAddress::parse(a);
      out.push_back({IpPrefix(ip, ip.isV4() ? 32 : 128), 1, 1});
    }
    return out;
  };
  auto texts = [](const std::vector<PrefixProposal>& ps) {
    std::vector<std::string> out;
    for (const auto& p : ps) out.push_back(p.prefix.toString());
    return out;
  };
  EXPECT_EQ(texts(mergeSiblings(hosts({"203.0.113.0", "203.0.113.1", "203.0.113.2", "203.0.113.3"}),
                                24, 48)),
            std::vector<std::string>{"203.0.113.0/30"});
  EXPECT_EQ(texts(mergeSiblings(hosts({"203.0.113.1", "203.0.113.2"}), 24, 48)),
            (std::vector<std::string>{"203.0.113.1/32", "203.0.113.2/32"}))
      << ".1 and .2 are not siblings: merging them would cover .0 and .3";
  EXPECT_EQ(texts(mergeSiblings(hosts({"203.0.113.0", "203.0.113.1", "203.0.113.2"}), 24, 48)),
            (std::vector<std::string>{"203.0.113.0/31", "203.0.113.2/32"}));
  std::vector<std::string> all;
  for (int i = 0; i < 256; ++i) all.push_back("203.0.113." + std::to_string(i));
  EXPECT_EQ(texts(mergeSiblings(hosts(all), 24, 48)), std::vector<std::string>{"203.0.113.0/24"});
  EXPECT_EQ(texts(mergeSiblings(hosts(all), 25, 48)),
            (std::vector<std::string>{"203.0.113.0/25", "203.0.113.128/25"}))
      << "never shorter than the floor";
  all.push_back("203.0.112.255");  // the neighbouring /24 does not join
  EXPECT_EQ(mergeSiblings(hosts(all), 16, 48).size(), 2u);
  EXPECT_EQ(texts(mergeSiblings(hosts({"2001:db8::", "2001:db8::1", "203.0.113.9"}), 24, 48)),
            (std::vector<std::string>{"203.0.113.9/32", "2001:db8::/127"}));
}

TEST(SuggestExceptions, JsonCarriesEverything) {
  SuggestOptions o;
  o.minCount = 2;
  auto j = toJson(suggestExceptions(workload().events, o));
  ASSERT_EQ(j["proposals"].size(), 7u);  // curl is no longer excepted here
  EXPECT_EQ(j["proposals"][1]["name"], "teams");
  EXPECT_EQ(j["proposals"][1]["prefixes"][0]["prefix"], "203.0.113.200/31");
  EXPECT_EQ(j["proposals"][1]["flags"][0], "stun-turn");
  EXPECT_EQ(j["proposals"][1]["first"], "2026-05-01T10:00:00Z");
  EXPECT_EQ(j["unspecified"], 1);
}

TEST(SuggestExceptions, DescriptionsAreSafeInsideDoubleQuotes) {
  Gen g;
  g.add("/opt/we\"ird $(app)`/bin", "", "tcp", "203.0.113.7", 443, 1, true);
  auto r = suggestExceptions(g.events, {});
  ASSERT_EQ(r.proposals.size(), 1u);
  EXPECT_EQ(r.proposals[0].name, "bin");
  const std::string& desc = r.proposals[0].description;
  for (char c : std::string("\"$`\\")) EXPECT_EQ(desc.find(c), std::string::npos) << desc;
}

}  // namespace
}  // namespace ztdns::cli
