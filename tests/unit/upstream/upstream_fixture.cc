#include "upstream_fixture.h"

#include <arpa/inet.h>

#include <sstream>

namespace ztdns::upstream::test {

std::unique_ptr<Pki> UpstreamNetTest::pki_;
std::unique_ptr<testing::TempDir> UpstreamNetTest::dir_;
std::string UpstreamNetTest::setupError_;

void UpstreamNetTest::SetUpTestSuite() {
  if (pki_) return;
  std::string why = testing::enterPrivateNetns();
  if (!why.empty()) {
    setupError_ = why;
    return;
  }
  const char* cmds[] = {
      // On lo: this VM's kernel has no dummy interfaces, and lo is private to the namespace.
      "ip addr add 198.51.100.53/32 dev lo",
      "ip addr add 198.51.100.54/32 dev lo",
      "ip addr add 2001:db8:53::53/128 dev lo nodad",
      "ip addr add 2001:db8:53::54/128 dev lo nodad",
      "nft add table inet zt_count",
      "nft add counter inet zt_count dns53",
      "nft add chain inet zt_count out '{ type filter hook output priority 0; }'",
      "nft add rule inet zt_count out udp dport 53 counter name dns53",
      "nft add rule inet zt_count out tcp dport 53 counter name dns53",
  };
  for (const char* c : cmds) {
    if (testing::runShell(std::string(c) + " 2>&1") != 0) {
      setupError_ = std::string("setup failed: ") + c;
      return;
    }
  }
  dir_ = std::make_unique<testing::TempDir>();
  testing::TestPki gen(dir_->path());
  auto p = std::make_unique<Pki>();
  p->ca = gen.makeCa("ca");
  p->otherCa = gen.makeCa("other-ca");
  p->clientCa = gen.makeCa("client-ca");
  p->pdns1 = gen.issue(p->ca, "pdns1", {kName1, {kName1}, {kPdns1, kPdns1v6}});
  p->pdns2 = gen.issue(p->ca, "pdns2", {kName2, {kName2}, {kPdns2, kPdns2v6}});
  p->wrongName = gen.issue(p->ca, "wrong-name", {"other", {"other.example.test"}, {}});
  p->untrusted = gen.issue(p->otherCa, "untrusted", {kName1, {kName1}, {kPdns1}});
  p->expired = gen.issue(p->ca, "expired", {kName1, {kName1}, {kPdns1}, -30, -1});
  p->ipOnly = gen.issue(p->ca, "ip-only", {"ip", {}, {kPdns1, kPdns1v6}});
  p->wildcard = gen.issue(p->ca, "wildcard", {"wild", {"*.example.test"}, {}});
  p->partialWildcard = gen.issue(p->ca, "partial", {"partial", {"pdns*.example.test"}, {}});
  p->client = gen.issue(p->clientCa, "client", {"ztdns client", {}, {}, -1, 30, true});
  pki_ = std::move(p);
}

void UpstreamNetTest::TearDownTestSuite() {}

void UpstreamNetTest::SetUp() {
  if (!setupError_.empty()) GTEST_SKIP() << "needs a private network namespace: " << setupError_;
  ASSERT_TRUE(pki_);
}

uint64_t UpstreamNetTest::port53Packets() {
  std::string out;
  testing::runShell("nft list counter inet zt_count dns53", &out);
  auto at = out.find("packets ");
  if (at == std::string::npos) return ~0ull;  // fails any == 0 assertion
  return std::stoull(out.substr(at + 8));
}

uint16_t UpstreamNetTest::freshPort() {
  static uint16_t next = 20000;
  return next++;
}

config::SecureDnsServer UpstreamNetTest::dotServer(const std::string& name, const char* ip,
                                                   uint16_t port, const std::string& subject,
                                                   int priority) const {
  config::SecureDnsServer s;
  s.displayName = name;
  s.ipAddress = *IpAddress::parse(ip);
  s.priority = priority;
  s.dnsOverTls = config::DotSettings{port, subject};
  return s;
}

config::SecureDnsServer UpstreamNetTest::dohServer(const std::string& name, const char* ip,
                                                   uint16_t port, const std::string& urlHost,
                                                   int priority) const {
  config::SecureDnsServer s;
  s.displayName = name;
  s.ipAddress = *IpAddress::parse(ip);
  s.priority = priority;
  s.dnsOverHttps = config::DohSettings{port, "https://" + urlHost + "/dns-query"};
  return s;
}

PoolOptions UpstreamNetTest::options(std::vector<config::SecureDnsServer> servers) const {
  PoolOptions o;
  o.servers = std::move(servers);
  o.rootCertificates = {pki().ca.certFile};
  // Short backoff so failback tests stay quick; the product defaults are in server_pool.h.
  o.initialBackoff = 200ms;
  o.maxBackoff = 1000ms;
  return o;
}

bool UpstreamNetTest::runUntil(const std::function<bool()>& pred,
                               std::chrono::milliseconds timeout) {
  auto until = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() >= until) return false;
    io_.run_one_for(5ms);
  }
  return true;
}

Result<Answer> UpstreamNetTest::resolve(ServerPool& pool, const char* name, uint16_t type,
                                        std::chrono::milliseconds deadline, uint16_t id) {
  auto q = wire::makeQuery(name, type, id);
  std::optional<Result<Answer>> got;
  pool.resolve(q, Clock::now() + deadline, [&](Result<Answer> r) { got.emplace(std::move(r)); });
  if (!runUntil([&] { return got.has_value(); }, deadline + 2s)) {
    return Error{"test: callback never ran"};
  }
  return std::move(*got);
}

std::string firstA(const std::vector<uint8_t>& a) {
  auto qe = wire::questionEnd(a);
  if (!qe || a.size() < 12) return "";
  size_t an = wire::readU16(a.data() + 6);
  size_t off = *qe;
  for (size_t i = 0; i < an; ++i) {
    while (off < a.size() && a[off] != 0 && (a[off] & 0xC0) != 0xC0) off += 1 + a[off];
    off += (off < a.size() && (a[off] & 0xC0) == 0xC0) ? 2 : 1;
    if (off + 10 > a.size()) return "";
    uint16_t type = wire::readU16(a.data() + off);
    uint16_t rdlen = wire::readU16(a.data() + off + 8);
    off += 10;
    if (type == 1 && rdlen == 4 && off + 4 <= a.size()) {
      char buf[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, a.data() + off, buf, sizeof buf);
      return buf;
    }
    off += rdlen;
  }
  return "";
}

}  // namespace ztdns::upstream::test
