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

// Config management often keeps the real file elsewhere and links /etc/ztdns/ztdns.json to
// it (a tester's find: the save replaced the link with a regular file).
TEST(SaveConfigAtomic, ASymlinkedFileIsSavedThroughTheLinkWhichStays) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/managed");
  std::string real = dir.write("managed/real.json", "{\"enabled\": false}\n", 0644);
  std::string link = dir.path() + "/ztdns.json";
  std::filesystem::create_symlink("managed/real.json", link);  // relative, as ln -s makes them
  std::string outer = dir.path() + "/outer.json";
  std::filesystem::create_symlink(link, outer);  // a link to the link
  Config c = labConfig();
  ASSERT_TRUE(saveConfigAtomic(outer, c).ok());
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_TRUE(std::filesystem::is_symlink(outer));
  EXPECT_EQ(testing::readFile(real), formatConfig(c));
  EXPECT_EQ(modeOf(real), 0600u);
  EXPECT_THAT(dir.entries(), ElementsAre("managed", "outer.json", "ztdns.json"));
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

TEST(LoadConfigFile, AFileLargerThanTheLimitIsRefusedBeforeItIsRead) {
  TempDir dir;
  std::string path = dir.write("ztdns.json", "{}");
  // Sparse: 64 MiB + 1 of size without the disk space; refused on its size alone.
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(kMaxConfigFileBytes + 1)), 0);
  LoadResult r = loadConfigFile(path);
  EXPECT_FALSE(r.config);
  EXPECT_THAT(r.diagnostics.errors,
              ElementsAre("\"" + path +
                          "\" is larger than 64 MiB, the most ztdnsd reads from a configuration "
                          "file"));
  EXPECT_FALSE(r.digest);
  EXPECT_FALSE(fileDigest(path)) << "the edit check reads no more than the loader";
  // Exactly the limit is read, and then judged as JSON: the NULs after "{}" are not the end
  // of the text, as the JSON library alone would take them.
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(kMaxConfigFileBytes)), 0);
  r = loadConfigFile(path);
  EXPECT_THAT(r.diagnostics.errors, ElementsAre("not valid JSON: a NUL byte at offset 2"));
  EXPECT_TRUE(r.digest);
}

TEST(LoadConfigFile, DeepNestingIsRefusedBeforeParsingWithTheLimit) {
  // The issue's file: 100,000 '[' then 100,000 ']' (200 KB). Parsing it took gigabytes;
  // the scan before parsing refuses it at once.
  TempDir dir;
  std::string path = dir.write("ztdns.json", std::string(100'000, '[') + std::string(100'000, ']'));
  LoadResult r = loadConfigFile(path);
  EXPECT_FALSE(r.config);
  EXPECT_THAT(r.diagnostics.errors,
              ElementsAre("the JSON nests deeper than 64 levels of [ and { (a configuration "
                          "needs fewer than 10)"));
  EXPECT_TRUE(r.digest) << "the bytes were read: a reload of them was refused, not skipped";
  // 64 levels are parsed (and then judged on their content).
  std::string deep = R"({"x": )" + std::string(63, '[') + std::string(63, ']') + "}";
  EXPECT_THAT(parseConfig(deep).diagnostics.errors, ElementsAre("x: unknown key"));
  deep = R"({"x": )" + std::string(64, '[') + std::string(64, ']') + "}";
  EXPECT_THAT(parseConfig(deep).diagnostics.errors[0], HasSubstr("deeper than 64 levels"));
}

TEST(ContentDigest, IsTheSha256OfTheBytesAndFollowsTheFile) {
  EXPECT_EQ(contentDigest(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  TempDir dir;
  std::string path = dir.file("ztdns.json");
  auto missing = fileDigest(path);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing) << "no file: no digest, and no error";

  std::string saved;
  Config c = labConfig();
  ASSERT_TRUE(saveConfigAtomic(path, c, &saved).ok());
  EXPECT_EQ(saved, contentDigest(formatConfig(c)));
  EXPECT_EQ(fileDigest(path).value(), saved);
  EXPECT_EQ(loadConfigFile(path).digest, saved);

  // One byte more (a hand edit that changes nothing in the config) is another digest.
  dir.write("ztdns.json", formatConfig(c) + " ");
  EXPECT_NE(fileDigest(path).value(), saved);
  ASSERT_EQ(::chmod(dir.path().c_str(), 0), 0);
  std::string unreadable = testing::runUnprivileged([&] {
    auto r = fileDigest(path);
    return r ? std::string("readable") : r.error().message;
  });
  ::chmod(dir.path().c_str(), 0700);
  EXPECT_THAT(unreadable, HasSubstr("is not readable"));
}

TEST(SaveConfigAtomic, RefusesAConfigTooLargeForTheLoaderToReadBack) {
  TempDir dir;
  std::string path = dir.write("ztdns.json", "{}\n");
  Config c;
  // 100,000 rules, each with a 700-character description: beyond 64 MiB once formatted.
  c.exemptionRules.resize(kMaxExemptionRules);
  for (size_t i = 0; i < c.exemptionRules.size(); ++i) {
    c.exemptionRules[i].displayName = "r" + std::to_string(i);
    c.exemptionRules[i].description = std::string(700, 'd');
  }
  std::string digest;
  Status st = saveConfigAtomic(path, c, &digest);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error().message, HasSubstr("more than the 64 MiB ztdnsd reads"));
  EXPECT_TRUE(digest.empty());
  EXPECT_EQ(testing::readFile(path), "{}\n") << "the old file stays";
}

}  // namespace
}  // namespace ztdns::config
