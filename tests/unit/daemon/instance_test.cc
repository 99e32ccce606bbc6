// Instance::claimNetworkNamespace: one holder per abstract name in a network namespace, the
// second told the holder's pid, and the name free again when the holder dies, even by
// SIGKILL. Each test uses its own name, so it never meets a real ztdnsd's claim.
#include "daemon/instance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace ztdns::daemon {
namespace {

using ::testing::HasSubstr;

std::string testName(const char* what) {
  return "ztdnsd-test-" + std::to_string(::getpid()) + "-" + what;
}

TEST(NamespaceClaim, ASecondClaimIsRefusedWithTheHoldersPid) {
  const std::string name = testName("second");
  auto first = Instance::claimNetworkNamespace(name);
  ASSERT_TRUE(first) << first.error().message;
  for (int i = 0; i < 40; ++i) {  // more than the backlog: nobody accepts here
    auto second = Instance::claimNetworkNamespace(name);
    ASSERT_FALSE(second);
    if (i == 0) {
      EXPECT_THAT(second.error().message,
                  HasSubstr("another ztdnsd (pid " + std::to_string(::getpid()) +
                            ") already runs in this network namespace; only one ztdnsd may own "
                            "table inet ztdns"));
      EXPECT_THAT(second.error().message, HasSubstr("@" + name));
    } else {
      EXPECT_THAT(second.error().message, HasSubstr("another ztdnsd (pid "))
          << "refused, with or without the pid, once the backlog is full";
    }
  }
  first->reset();
  auto again = Instance::claimNetworkNamespace(name);
  EXPECT_TRUE(again) << "released when the holder closes it";
}

TEST(NamespaceClaim, TheNameIsFreeAgainAfterTheHolderIsKilled) {
  const std::string name = testName("killed");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto claim = Instance::claimNetworkNamespace(name);
    char c = claim ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(c, 'y');
  auto refused = Instance::claimNetworkNamespace(name);
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, HasSubstr("(pid " + std::to_string(child) + ")"));
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  auto adopted = Instance::claimNetworkNamespace(name);
  EXPECT_TRUE(adopted) << "no stale claim after kill -9: " << adopted.error().message;
}

}  // namespace
}  // namespace ztdns::daemon
