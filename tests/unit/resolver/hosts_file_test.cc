#include "resolver/hosts_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace ztdns::resolver {
namespace {

dns::Name lower(const char* text) {
  return dns::Name::fromText(text).value().lowered();
}

std::vector<std::string> found(const HostsFile& h, const char* name) {
  std::vector<std::string> out;
  if (const auto* list = h.find(lower(name))) {
    for (const auto& a : *list) out.push_back(a.toString());
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(HostsFile, ParsesNamesAliasesCommentsAndBothFamilies) {
  HostsFile h = HostsFile::parse(
      "# comment line\n"
      "127.0.0.1\tlocalhost\n"
      "::1 localhost ip6-localhost   # trailing comment\n"
      "203.0.113.200 Printer.LAN printer nas.lan\r\n"
      "2001:db8::200 printer.lan\n"
      "fe80::1%eth0 linklocal.lan\n"
      "not-an-ip name.lan\n"
      "192.0.2.5\n"
      "192.0.2.6 bad..name good.lan\n"
      "203.0.113.200 printer.lan\n");
  EXPECT_EQ(found(h, "localhost"), (Strings{"127.0.0.1", "::1"}));
  EXPECT_EQ(found(h, "PRINTER.lan"), (Strings{"203.0.113.200", "2001:db8::200"}));
  EXPECT_EQ(found(h, "printer"), (Strings{"203.0.113.200"}));
  EXPECT_EQ(found(h, "nas.lan"), (Strings{"203.0.113.200"}));
  EXPECT_EQ(found(h, "good.lan"), (Strings{"192.0.2.6"}));
  EXPECT_TRUE(found(h, "linklocal.lan").empty());
  EXPECT_TRUE(found(h, "name.lan").empty());
  EXPECT_TRUE(found(h, "elsewhere.test").empty());
}

TEST(HostsFile, LoadReportsAMissingFile) {
  auto missing = HostsFile::load("/nonexistent/ztdns/hosts");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/ztdns/hosts"), std::string::npos);

  char path[] = "/tmp/ztdns-hosts-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "192.0.2.9 file.lan\n";
  auto loaded = HostsFile::load(path);
  std::remove(path);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(found(*loaded, "file.lan"), (Strings{"192.0.2.9"}));
}

}  // namespace
}  // namespace ztdns::resolver
