// "No plaintext, ever", checked structurally: in src/upstream only tls_connection.cc
// creates or connects sockets, it only makes TCP sockets, and nothing mentions UDP or
// name resolution. A new socket path has to pass review by changing this test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(NoPlaintext, OnlyTheTlsConnectionMakesSockets) {
  const std::regex socketish(
      R"(\bsocket\s*\(|::connect\s*\(|async_connect|tcp::socket|udp|getaddrinfo|resolver|gethostbyname|sendto|sendmsg)",
      std::regex::icase);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(ZTDNS_UPSTREAM_SRC)) {
    auto name = e.path().filename().string();
    if (e.path().extension() != ".cc" && e.path().extension() != ".h") continue;
    ++files;
    std::string text = slurp(e.path());
    // Comments may talk about these words; code may not.
    text = std::regex_replace(text, std::regex(R"(//[^\n]*)"), "");
    bool hit = std::regex_search(text, socketish);
    if (name == "tls_connection.cc" || name == "tls_connection.h") {
      EXPECT_TRUE(hit) << name << " should hold the socket factory";
      EXPECT_EQ(text.find("udp"), std::string::npos) << name;
      EXPECT_EQ(text.find("resolve"), std::string::npos) << name;
    } else {
      EXPECT_FALSE(hit) << name << " opens, connects or resolves outside tls_connection.cc";
    }
  }
  EXPECT_GT(files, 10);
}

}  // namespace
