// `ztdnsd --check` as a process, the way an admin or a packaging script runs it: exit codes
// and output lines (nginx -t style).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "test_util.h"

namespace ztdns::config {
namespace {

using ::testing::ElementsAre;
using testing::TempDir;

struct ProcessRun {
  int exitCode = -1;
  std::string out;
  std::string err;
};

std::string drain(int fd) {
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return s;
}

// Output is small, so reading stdout fully before stderr cannot dead-lock.
ProcessRun runZtdnsd(std::vector<std::string> args) {
  int outPipe[2], errPipe[2];
  EXPECT_EQ(::pipe2(outPipe, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(errPipe, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(outPipe[1], 1);
    ::dup2(errPipe[1], 2);
    std::vector<char*> argv;
    std::string exe = ZTDNSD_PATH;
    argv.push_back(exe.data());
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    _exit(127);
  }
  ::close(outPipe[1]);
  ::close(errPipe[1]);
  ProcessRun r;
  r.out = drain(outPipe[0]);
  r.err = drain(errPipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    out.push_back(text.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

TEST(ZtdnsdCheck, ValidFileSucceeds) {
  TempDir dir;
  std::string path = dir.write("ztdns.json", testing::readFile(testing::dataFile("lab.json")));
  ProcessRun r = runZtdnsd({"--config", path, "--check"});
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_EQ(r.out, "ztdnsd: configuration file " + path + " test is successful\n");
  EXPECT_EQ(r.err, "");
}

TEST(ZtdnsdCheck, EveryErrorAndWarningIsPrintedWithThePath) {
  TempDir dir;
  auto j = testing::labJson();
  j["secureDnsServers"][1]["ipAddress"] = "1.2.3";
  j["minimumAllowTimeInSeconds"] = 100000;
  j["maximumConnectionTimeInSeconds"] = 3600;
  j["exemptionRules"][0]["ipAddresses"].push_back("203.0.113.77/24");
  std::string path = dir.write("ztdns.json", j.dump(2));
  ProcessRun r = runZtdnsd({"--config", path, "--check", "--run-dir", dir.path()});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(lines(r.err),
              ElementsAre(path + ": error: secureDnsServers[1].ipAddress: \"1.2.3\" is not an IP "
                                 "address",
                          path + ": error: minimumAllowTimeInSeconds: 100000 is above "
                                 "maximumConnectionTimeInSeconds (3600)",
                          path + ": warning: exemptionRules[0].ipAddresses[2]: \"203.0.113.77/24\" "
                                 "has host bits set; using 203.0.113.0/24",
                          "ztdnsd: configuration file " + path + " test failed (2 errors)"));
}

TEST(ZtdnsdCheck, IntuneExportPrintsWhatWasNotMapped) {
  ProcessRun r =
      runZtdnsd({"--check", "--config", testing::dataFile("intune_powershell_export.json")});
  EXPECT_EQ(r.exitCode, 0);
  std::string path = testing::dataFile("intune_powershell_export.json");
  auto errLines = lines(r.err);
  ASSERT_EQ(errLines.size(), 6u) << r.err;
  EXPECT_EQ(errLines[0], path +
                             ": note: an Intune windowsZtdnsConfiguration export; mapped onto "
                             "ztdnsd's schema with ZTDNS enabled");
  EXPECT_EQ(errLines[3].rfind(path + ": not mapped: loopbackDnsForwarderEnabled: ", 0), 0u);
  EXPECT_EQ(r.out, "ztdnsd: configuration file " + path + " test is successful\n");
}

TEST(ZtdnsdCheck, MissingFileFails) {
  TempDir dir;
  std::string path = dir.file("absent.json");
  ProcessRun r = runZtdnsd({"--config", path, "--check"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_THAT(lines(r.err),
              ElementsAre(path + ": error: \"" + path + "\" does not exist",
                          "ztdnsd: configuration file " + path + " test failed (1 error)"));
}

TEST(ZtdnsdCheck, SyntaxErrorFails) {
  TempDir dir;
  std::string path = dir.write("ztdns.json", "{\"enabled\": true,}");
  ProcessRun r = runZtdnsd({"--config", path, "--check"});
  EXPECT_EQ(r.exitCode, 1);
  ASSERT_EQ(lines(r.err).size(), 2u) << r.err;
  EXPECT_EQ(lines(r.err)[0].rfind(path + ": error: not valid JSON: parse error at line 1", 0), 0u);
}

TEST(ZtdnsdCommandLine, VersionHelpAndUsageErrors) {
  ProcessRun v = runZtdnsd({"--version"});
  EXPECT_EQ(v.exitCode, 0);
  EXPECT_EQ(v.out.rfind("ztdnsd ", 0), 0u);
  ProcessRun h = runZtdnsd({"--help"});
  EXPECT_EQ(h.exitCode, 0);
  EXPECT_NE(h.out.find("--state-dir"), std::string::npos);
  ProcessRun bad = runZtdnsd({"--frobnicate"});
  EXPECT_EQ(bad.exitCode, 2);
  EXPECT_NE(bad.err.find("--frobnicate"), std::string::npos);
}

// Starting with a missing config (the defaults, ZTDNS disabled) runs the whole daemon, so
// it is tested in a lab namespace (tests/e2e/test_daemon.sh); here only the refusal of a bad
// file, which happens before anything is started.
TEST(ZtdnsdCommandLine, AnInvalidConfigStopsTheStartWithEveryError) {
  TempDir dir;
  std::string bad = dir.write("bad.json", "{\"enabled\": \"yes\"}");
  ProcessRun b = runZtdnsd({"--config", bad, "--run-dir", dir.path(), "--state-dir", dir.path(),
                            "--log-dir", dir.path()});
  EXPECT_EQ(b.exitCode, 1);
  EXPECT_THAT(lines(b.err),
              ElementsAre(bad + ": error: enabled: must be true or false, not \"yes\""));
}

// A relative path would be resolved against whatever directory ztdnsd was started from. The
// refusal comes before the config is read; a bad config keeps these runs from ever starting
// the daemon, even were the refusal missing.
TEST(ZtdnsdCommandLine, RelativePathsAreUsageErrors) {
  TempDir dir;
  std::string bad = dir.write("bad.json", "{\"enabled\": \"yes\"}");
  const std::vector<std::string> dirFlags = {"--run-dir", "--state-dir", "--log-dir"};
  for (const auto& flag : dirFlags) {
    std::vector<std::string> args = {"--config", bad};
    for (const auto& f : dirFlags) {
      args.push_back(f);
      args.push_back(f == flag ? "relative-run" : dir.file(f.substr(2)));
    }
    ProcessRun r = runZtdnsd(args);
    EXPECT_EQ(r.exitCode, 2) << flag;
    EXPECT_EQ(r.err, "ztdnsd: " + flag + ": \"relative-run\" is not an absolute path\n");
    EXPECT_EQ(r.out, "");
  }
  ProcessRun c = runZtdnsd({"--config", "etc/ztdns.json"});
  EXPECT_EQ(c.exitCode, 2);
  EXPECT_EQ(c.err, "ztdnsd: --config: \"etc/ztdns.json\" is not an absolute path\n");
  // --check reads the file from here and exits, like nginx -t: a relative path is fine.
  ProcessRun check = runZtdnsd({"--check", "--config", "etc/ztdns.json"});
  EXPECT_EQ(check.exitCode, 1) << "etc/ztdns.json does not exist here";
  EXPECT_THAT(check.err, ::testing::HasSubstr("etc/ztdns.json"));
  EXPECT_THAT(dir.entries(), ElementsAre("bad.json")) << "nothing was created";
}

}  // namespace
}  // namespace ztdns::config
