// Peer identification: /proc parsing, the pid-reuse and user-namespace guards, and the
// refusal messages.
#include "control/peer_credentials.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "control/log_query.h"
#include "control/time_text.h"

namespace ztdns::control {
namespace {

TEST(PeerCredentials, ParsesProcStatus) {
  std::string status =
      "Name:\tcurl\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\nCapInh:\t0000000000000000\n"
      "CapEff:\t0000000000001000\n";
  EXPECT_EQ(parseCapEff(status), 0x1000u);
  EXPECT_TRUE((*parseCapEff(status) >> kCapNetAdmin) & 1);
  EXPECT_EQ(parseEffectiveUid(status), 0u);
  EXPECT_FALSE(parseCapEff("Name:\tx\n"));
  EXPECT_FALSE(parseEffectiveUid("Uid:\tabc\n"));
}

TEST(PeerCredentials, ParsesStartTimeAfterATrickyCommand) {
  // comm may contain spaces and ") ": the fields start after the last ')'.
  std::string stat =
      "4242 (evil) R 1 2 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 19";
  EXPECT_EQ(parseStartTime(stat), 987654u);
  EXPECT_FALSE(parseStartTime("4242 (short) R 1"));
}

TEST(PeerCredentials, InspectsItselfAndRefusesWhatCouldBeAReusedPid) {
  auto facts = inspectProcess(::getpid(), -1, ::geteuid(), bootTimeTicksNow());
  ASSERT_TRUE(facts.verified) << facts.why;
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  EXPECT_EQ(facts.executable, std::string(exe, static_cast<size_t>(n)));
  EXPECT_EQ(facts.netAdmin, ::geteuid() == 0);

  // A process that started after the connection was accepted cannot be the peer.
  auto later = inspectProcess(::getpid(), -1, ::geteuid(), 0);
  EXPECT_FALSE(later.verified);
  EXPECT_FALSE(later.netAdmin);
  EXPECT_NE(later.why.find("started after the connection"), std::string::npos) << later.why;

  auto otherUid = inspectProcess(::getpid(), -1, ::geteuid() + 1, bootTimeTicksNow());
  EXPECT_FALSE(otherUid.verified);

  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  auto gone = inspectProcess(child, -1, ::geteuid(), bootTimeTicksNow());
  EXPECT_FALSE(gone.verified);
  EXPECT_FALSE(inspectProcess(0, -1, 0, bootTimeTicksNow()).verified);
}

TEST(PeerCredentials, ReadsThePeerOfASocket) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto peer = readPeer(sv[0], ::getegid());
  ASSERT_TRUE(peer.ok()) << peer.error().message;
  EXPECT_EQ(peer->pid, ::getpid());
  EXPECT_EQ(peer->uid, ::geteuid());
  EXPECT_EQ(peer->root, ::geteuid() == 0);
  EXPECT_TRUE(peer->inReadGroup);  // the primary group counts
  EXPECT_FALSE(peer->executable.empty());
  auto noGroup = readPeer(sv[0], std::nullopt);
  ASSERT_TRUE(noGroup.ok());
  EXPECT_FALSE(noGroup->inReadGroup);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(PeerCredentials, RefusalMessages) {
  Peer nobody;
  nobody.uid = 65534;
  EXPECT_EQ(refusalMessage(nobody, true, 4242, "ztdns"),
            "permission denied: changing ZTDNS needs root or CAP_NET_ADMIN, and uid 65534 (nobody) "
            "has neither; run it "
            "with sudo");
  EXPECT_EQ(refusalMessage(nobody, false, std::nullopt, "ztdns"),
            "permission denied: reading ZTDNS needs root or CAP_NET_ADMIN (there is no group ztdns "
            "whose members could "
            "read), and uid 65534 (nobody) has neither");
  Peer member = nobody;
  member.inReadGroup = true;
  EXPECT_EQ(refusalMessage(member, false, 4242, "ztdns"), "");
  EXPECT_NE(refusalMessage(member, true, 4242, "ztdns"), "");
  Peer admin = nobody;
  admin.netAdmin = true;
  EXPECT_EQ(refusalMessage(admin, true, std::nullopt, "ztdns"), "");
  Peer root;
  root.root = true;
  EXPECT_EQ(refusalMessage(root, true, std::nullopt, "ztdns"), "");
}

TEST(LogQuery, FiltersBySinceProcessAndDestination) {
  auto now = *parseRfc3339("2026-05-01T12:00:00Z");
  nlohmann::json e = {{"time", "2026-05-01T11:30:00.000001Z"},
                      {"process", "/usr/bin/curl"},
                      {"unit", "backup.service"},
                      {"dst", "203.0.113.81"}};
  LogShowParams p;
  EXPECT_TRUE(logEventMatches(e, p, now));
  p.sinceSeconds = 3600;
  EXPECT_TRUE(logEventMatches(e, p, now));
  p.sinceSeconds = 600;
  EXPECT_FALSE(logEventMatches(e, p, now));
  p.sinceSeconds.reset();
  for (const char* who : {"/usr/bin/curl", "curl", "backup.service"}) {
    p.process = who;
    EXPECT_TRUE(logEventMatches(e, p, now)) << who;
  }
  p.process = "wget";
  EXPECT_FALSE(logEventMatches(e, p, now));
  p.process.reset();
  p.dst = *IpPrefix::parse("203.0.113.0/24");
  EXPECT_TRUE(logEventMatches(e, p, now));
  p.dst = *IpPrefix::parse("2001:db8::/32");
  EXPECT_FALSE(logEventMatches(e, p, now));
  e["dst"] = "::ffff:203.0.113.81";
  p.dst = *IpPrefix::parse("203.0.113.81");
  EXPECT_TRUE(logEventMatches(e, p, now)) << "v4-mapped destinations match their IPv4 prefix";
  EXPECT_FALSE(logEventMatches(nlohmann::json::array(), p, now));
}

}  // namespace
}  // namespace ztdns::control
