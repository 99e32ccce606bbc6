// saveConfigAtomic: content, mode, no temp files, and a failed save leaves the old file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "test_util.h"

namespace ztdns::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

Config labConfig() {
  return *parseConfig(testing::labJson().dump()).config;
}

unsigned modeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(SaveConfigAtomic, WritesOurSchemaWithMode0600AndNoTempFiles) {
  TempDir dir;
  std::string path = dir.file("ztdns.json");
  Config c = labConfig();
  ASSERT_TRUE(saveConfigAtomic(path, c).ok());
  EXPECT_EQ(modeOf(path), 0600u);
  EXPECT_THAT(dir.entries(), ElementsAre("ztdns.json"));
  EXPECT_EQ(testing::readFile(path), formatConfig(c));
  LoadResult back = loadConfigFile(path);
  ASSERT_TRUE(back.config);
  EXPECT_EQ(*back.config, c);
}

TEST(SaveConfigAtomic, ReplacesAnExistingFileAndTightensItsMode) {
  TempDir dir;
  std::string path = dir.write("ztdns.json", "{\"enabled\": false}\n", 0644);
  Config c = labConfig();
  ASSERT_TRUE(saveConfigAtomic(path, c).ok());
  EXPECT_EQ(modeOf(path), 0600u);
  EXPECT_EQ(*loadConfigFile(path).config, c);
  EXPECT_THAT(dir.entries(), ElementsAre("ztdns.json"));
}

TEST(SaveConfigAtomic, UnwritableDirectoryFailsInWordsAndKeepsTheOldFile) {
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);  // the unprivileged child must reach it
  std::string sub = dir.path() + "/etc";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  const std::string old = "{\"enabled\": false}\n";
  std::string path = sub + "/ztdns.json";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs(old.c_str(), f);
  std::fclose(f);
  ::chmod(path.c_str(), 0644);
  ::chmod(sub.c_str(), 0555);  // nobody may create files in it
  std::string message = testing::runUnprivileged([&] {
    Status s = saveConfigAtomic(path, labConfig());
    return s.ok() ? std::string("saved") : s.error().message;
  });
  EXPECT_EQ(message, "cannot create a temporary file in " + sub + ": Permission denied");
  EXPECT_EQ(testing::readFile(path), old);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(sub)) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_THAT(names, ElementsAre("ztdns.json"));
}

TEST(SaveConfigAtomic, FailedRenameLeavesNoTempFile) {
  TempDir dir;
  std::string path = dir.file("ztdns.json");
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);  // a non-empty directory cannot be replaced
  dir.write("ztdns.json/keep", "x");
  Status s = saveConfigAtomic(path, labConfig());
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().message, HasSubstr("cannot rename "));
  EXPECT_THAT(s.error().message, HasSubstr(" to " + path + ": "));
  EXPECT_THAT(dir.entries(), ElementsAre("ztdns.json"));
  EXPECT_EQ(testing::readFile(dir.file("ztdns.json/keep")), "x");
}

TEST(SaveConfigAtomic, MissingDirectoryIsAnError) {
  TempDir dir;
  std::string path = dir.file("no/such/ztdns.json");
  Status s = saveConfigAtomic(path, labConfig());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "cannot create a temporary file in " + dir.file("no/such") +
                                   ": No such file or directory");
  EXPECT_TRUE(dir.entries().empty());
}

TEST(SaveConfigAtomic, NotAFilePath) {
  EXPECT_EQ(saveConfigAtomic("", Config()).error().message, "cannot save to \"\": not a file path");
  EXPECT_EQ(saveConfigAtomic("/tmp/", Config()).error().message,
            "cannot save to \"/tmp/\": not a file path");
}

TEST(LoadConfigFile, MissingUnreadableAndDirectory) {
  TempDir dir;
  std::string missing = dir.file("absent.json");
  EXPECT_THAT(loadConfigFile(missing).diagnostics.errors,
              ElementsAre("\"" + missing + "\" does not exist"));
  EXPECT_THAT(loadConfigFile(dir.path()).diagnostics.errors,
              ElementsAre("\"" + dir.path() + "\" is not a regular file"));
  LoadResult d = loadConfigFileOrDefaults(missing);
  ASSERT_TRUE(d.config);
  EXPECT_EQ(*d.config, Config());
  EXPECT_FALSE(d.config->enabled);
  EXPECT_THAT(
      d.diagnostics.warnings,
      ElementsAre("\"" + missing + "\" does not exist; using the defaults (ZTDNS disabled)"));
  // Other failures are not papered over by the defaults.
  EXPECT_FALSE(loadConfigFileOrDefaults(dir.path()).config);
  std::string bad = dir.write("bad.json", "{\"enabled\": 1}");
  EXPECT_FALSE(loadConfigFileOrDefaults(bad).config);

  ::chmod(dir.path().c_str(), 0755);
  std::string secret = dir.write("secret.json", "{}", 0600);
  std::string message = testing::runUnprivileged([&] {
    LoadResult r = loadConfigFile(secret);
    return r.diagnostics.errors.empty() ? std::string("read") : r.diagnostics.errors[0];
  });
  EXPECT_EQ(message, "\"" + secret + "\" is not readable: Permission denied");
}

}  // namespace
}  // namespace ztdns::config
